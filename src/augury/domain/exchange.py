"""The exchange: apply one command at ``now``, get events or a typed rejection.

``Exchange.execute`` is the whole public contract of the domain: commands in, either
``Result(ok=True, events=...)`` or ``Result(ok=False, code=..., message=...)`` out,
with the state unchanged on rejection. The same command sequence at the same times
always yields byte-identical serialized events.
"""

from __future__ import annotations

import re
from typing import Final

import msgspec

from augury.domain import affiliation, amend, ledger, lmsr, scalar, settlement, trading
from augury.domain import commands as cmd
from augury.domain import events as ev
from augury.domain.commands import PlaceOrder
from augury.domain.limits import Limits
from augury.domain.market import Market, Status
from augury.domain.rejections import Code, Rejected
from augury.domain.resolution import process
from augury.domain.state import State
from augury.domain.trading import handle_place
from augury.domain.units import ONE, lot_micros

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")


class Result(msgspec.Struct, frozen=True, gc=False):
    """What one command did: its events, or why it was refused.

    ``gc=False`` as for events: it holds only events and strings, so no cycle.
    """

    ok: bool
    events: tuple[ev.Event, ...] = ()
    code: str = ""
    message: str = ""


_RESULT: Final = Result  # Final: a C static in the compiled build, not a global lookup


class Exchange(State):
    """All markets and accounts, changed one command at a time."""

    def execute(self, command: cmd.Command, now: int) -> Result:
        """Apply ``command`` at time ``now`` (UTC microseconds)."""
        out: list[ev.Event] = []
        try:
            if isinstance(command, PlaceOrder):  # the hot command: a direct call
                handle_place(self, command, now, out)
            else:
                _dispatch(self, command, now, out)
        except Rejected as rejection:
            assert not out, "a handler emitted events before refusing"
            return Result(ok=False, code=rejection.code.value, message=rejection.message)
        return _RESULT(True, tuple(out))

    def next_timer(self) -> int | None:
        """The earliest instant at which a ``Tick`` would do something, if any."""
        times = [t for t, _ in self.expiries[:1]]  # the heap's top is always a live order
        for m in self.markets.values():
            if m.status in (Status.OPEN, Status.HALTED):
                times.append(m.close_at)
            at = process.next_timer(self, m)
            if at is not None:
                times.append(at)
        return min(times) if times else None


def _dispatch(ex: Exchange, c: cmd.Command, now: int, out: list[ev.Event]) -> None:
    """Run the handler of ``c``'s command family (every command but PlaceOrder)."""
    if isinstance(c, cmd.CancelOrder):
        trading.handle_cancel(ex, c, now, out)
    elif isinstance(c, cmd.CancelAll):
        trading.handle_cancel_all(ex, c, now, out)
    elif isinstance(c, cmd.AmendOrder):
        amend.handle_amend(ex, c, now, out)
    elif isinstance(c, cmd.Tick):
        _tick(ex, c, now, out)
    elif isinstance(c, cmd.OpenAccount):
        _open_account(ex, c, now, out)
    elif isinstance(c, cmd.GrantCredits):
        _grant(ex, c, now, out)
    elif isinstance(c, cmd.CreateMarket):
        _create_market(ex, c, now, out)
    elif isinstance(c, cmd.HaltMarket):
        _halt(ex, c, now, out)
    elif isinstance(c, cmd.ResumeMarket):
        _resume(ex, c, now, out)
    elif isinstance(c, cmd.CloseMarket):
        _close(ex, c, now, out)
    elif isinstance(c, cmd.MintSets):
        _mint(ex, c, now, out)
    elif isinstance(c, cmd.RedeemSets):
        _redeem(ex, c, now, out)
    elif isinstance(c, cmd.ConvertNo):
        _convert(ex, c, now, out)
    elif isinstance(c, cmd.ResolveMarket):
        _resolve(ex, c, now, out)
    elif isinstance(c, cmd.VoidMarket):
        _void(ex, c, now, out)
    else:
        _dispatch_resolution(ex, c, now, out)


def _dispatch_resolution(ex: Exchange, c: cmd.Command, now: int, out: list[ev.Event]) -> None:
    if isinstance(c, cmd.SetResolutionSpec):
        process.handle_set_spec(ex, c, now, out)
    elif isinstance(c, cmd.DeclareAffiliation):
        process.handle_affiliation(ex, c, now, out)
    elif isinstance(c, cmd.RecordObservation):
        process.handle_observation(ex, c, now, out)
    elif isinstance(c, cmd.ProposeOutcome):
        process.handle_propose(ex, c, now, out)
    elif isinstance(c, cmd.DisputeProposal):
        process.handle_dispute(ex, c, now, out)
    elif isinstance(c, cmd.CastVote):
        process.handle_vote(ex, c, now, out)
    elif isinstance(c, cmd.PostClarification):
        process.handle_clarify(ex, c, now, out)
    elif isinstance(c, cmd.RaiseAlert):
        process.handle_alert(ex, c, now, out)
    elif isinstance(c, cmd.ReviewAlert):
        process.handle_review(ex, c, now, out)
    else:
        raise TypeError(f"not a command of the exchange: {type(c).__name__}")


def _require_id(value: str, what: str, limits: Limits) -> None:
    # fullmatch, not match: "$" also matches before a trailing newline ("alice\n")
    if not 0 < len(value) <= limits.id_length_max or not _ID.fullmatch(value):
        raise Rejected(
            Code.INVALID_ACCOUNT_ID if what == "account" else Code.INVALID_MARKET,
            f"{what} id must be 1..{limits.id_length_max} of letters, digits, '_', '.', '-'",
        )


def _require_qty(market: Market, qty: int, limits: Limits) -> None:
    if qty <= 0:
        raise Rejected(Code.QTY_TOO_SMALL, "qty must be positive")
    if qty % market.lot:
        raise Rejected(Code.QTY_NOT_ON_LOT, f"qty must be a multiple of the lot {market.lot}")
    if qty > limits.order_qty_max:
        raise Rejected(Code.QTY_TOO_LARGE, f"qty may be at most {limits.order_qty_max}")


def _require_live(market: Market) -> None:
    """Refuse once a market is resolved or voided."""
    if market.status is Status.RESOLVED:
        raise Rejected(Code.MARKET_RESOLVED, "The market is already resolved.")
    if market.status is Status.VOIDED:
        raise Rejected(Code.MARKET_VOIDED, "The market is already voided.")


# -- accounts ----------------------------------------------------------------------------
def _open_account(ex: Exchange, c: cmd.OpenAccount, now: int, out: list[ev.Event]) -> None:
    _require_id(c.account, "account", ex.limits)
    if c.account in ex.accounts:
        raise Rejected(Code.ACCOUNT_EXISTS, f"account {c.account!r} exists")
    ex.emit(ev.AccountOpened(c.account), out)


def _grant(ex: Exchange, c: cmd.GrantCredits, now: int, out: list[ev.Event]) -> None:
    ex.require_account(c.account)
    if not 0 < c.amount <= ex.limits.grant_max:
        raise Rejected(Code.INVALID_AMOUNT, f"amount must be 1..{ex.limits.grant_max} micros")
    if len(c.memo) > ex.limits.text_length_max:
        raise Rejected(Code.INVALID_AMOUNT, "memo too long")
    postings = ((ledger.ISSUANCE, -c.amount), (ledger.cash(c.account), c.amount))
    ex.emit(ev.CreditsGranted(c.account, c.amount, c.memo, postings), out)


# -- markets -----------------------------------------------------------------------------
def _create_market(ex: Exchange, c: cmd.CreateMarket, now: int, out: list[ev.Event]) -> None:
    limits = ex.limits
    _require_id(c.market, "market", limits)
    if c.market in ex.markets:
        raise Rejected(Code.MARKET_EXISTS, f"market {c.market!r} exists")
    ex.require_account(c.creator)
    outcomes = c.outcomes
    if c.scalar is not None:
        outcomes = _scalar_outcomes(c)
    n = len(outcomes)
    if c.categorical and not 3 <= n <= limits.outcomes_max:
        raise Rejected(Code.INVALID_MARKET, f"a categorical market has 3..{limits.outcomes_max}")
    if not c.categorical and n != 2:
        raise Rejected(Code.INVALID_MARKET, "a binary market has exactly two outcomes")
    names = [name.strip() for name in outcomes]
    if any(not 0 < len(name) <= 200 for name in names) or len(set(names)) != n:
        raise Rejected(Code.INVALID_MARKET, "outcome names must be distinct, 1..200 characters")
    if not 0 < len(c.question.strip()) <= limits.text_length_max:
        raise Rejected(Code.INVALID_MARKET, "the question must be 1..4000 characters")
    if not limits.tick_min <= c.tick <= limits.tick_max or ONE % c.tick:
        raise Rejected(
            Code.INVALID_MARKET,
            f"tick must divide {ONE} and lie in {limits.tick_min}..{limits.tick_max} micros",
        )
    if c.close_at <= now:
        raise Rejected(Code.CLOSE_TIME_PASSED, "close_at must be in the future")
    if not 0 <= c.fee_bps <= limits.fee_bps_max:
        raise Rejected(Code.INVALID_MARKET, f"fee_bps must be 0..{limits.fee_bps_max}")
    reason = affiliation.setting(c, limits)
    lot = lot_micros(c.tick)
    if c.liquidity and not (lot <= c.liquidity <= limits.liquidity_max):
        raise Rejected(Code.INVALID_MARKET, f"liquidity must be 0 or {lot}..{limits.liquidity_max}")
    spec = None
    if c.spec:
        spec, warnings = process.checked_spec(
            ex, c.spec, tuple(names), c.close_at, c.creator, c.scalar
        )
    subsidy = lmsr.subsidy(c.liquidity, n) if c.liquidity else 0
    available = ex.ledger.balance(ledger.cash(c.creator))
    if available < subsidy:
        raise Rejected(
            Code.INSUFFICIENT_FUNDS, f"the subsidy needs {subsidy} micros, {available} available"
        )
    postings: tuple[ev.Posting, ...] = ()
    contrib: tuple[ev.Contribution, ...] = ()
    if subsidy:
        postings = ((ledger.cash(c.creator), -subsidy), (ledger.maker(c.market), subsidy))
        contrib = ((c.creator, subsidy),)
    ex.emit(
        ev.MarketCreated(
            market=c.market,
            creator=c.creator,
            question=c.question.strip(),
            outcomes=tuple(names),
            categorical=c.categorical,
            close_at=c.close_at,
            liquidity=c.liquidity,
            tick=c.tick,
            lot=lot,
            fee_bps=c.fee_bps,
            subsidy=subsidy,
            postings=postings,
            contrib=contrib,
            block_affiliated_trading=c.block_affiliated_trading,
            affiliated_trading_reason=reason,
            scalar=c.scalar,
        ),
        out,
    )
    if spec is not None:
        ex.emit(process.spec_event(c.market, 1, spec, c.creator, "", warnings), out)


def _scalar_outcomes(c: cmd.CreateMarket) -> tuple[str, ...]:
    """A scalar market's outcomes (LONG, SHORT), once its range is checked."""
    assert c.scalar is not None
    if c.categorical:
        raise Rejected(Code.INVALID_MARKET, "a scalar market is not categorical")
    if c.outcomes not in ((), scalar.OUTCOMES):
        raise Rejected(Code.INVALID_MARKET, "a scalar market's outcomes are LONG and SHORT")
    found = scalar.problem(c.scalar)
    if found is not None:
        raise Rejected(Code.INVALID_MARKET, f"{found[1]} [{found[0]}]")
    return scalar.OUTCOMES


def _halt(ex: Exchange, c: cmd.HaltMarket, now: int, out: list[ev.Event]) -> None:
    market = ex.require_market(c.market)
    trading.require_open(market, now)
    ex.emit(ev.MarketStatusChanged(market.id, Status.HALTED.value, c.reason), out)


def _resume(ex: Exchange, c: cmd.ResumeMarket, now: int, out: list[ev.Event]) -> None:
    market = ex.require_market(c.market)
    if market.status is not Status.HALTED:
        raise Rejected(Code.MARKET_NOT_HALTED, f"the market is {market.status.value}")
    if now >= market.close_at:
        raise Rejected(Code.MARKET_CLOSED, "the market's close time has passed")
    ex.emit(ev.MarketStatusChanged(market.id, Status.OPEN.value, c.reason), out)


def _close(ex: Exchange, c: cmd.CloseMarket, now: int, out: list[ev.Event]) -> None:
    market = ex.require_market(c.market)
    _require_live(market)
    if market.status is Status.CLOSED:
        raise Rejected(Code.MARKET_CLOSED, "the market is already closed")
    trading.close_market(ex, market, c.reason or "closed by operator", out)


# -- complete sets -------------------------------------------------------------------------
def _mint(ex: Exchange, c: cmd.MintSets, now: int, out: list[ev.Event]) -> None:
    market = ex.require_market(c.market)
    ex.require_account(c.account)
    trading.require_open(market, now)
    affiliation.require_unaffiliated(ex, market, c.account)
    _require_qty(market, c.qty, ex.limits)
    available = ex.ledger.balance(ledger.cash(c.account))
    if available < c.qty:
        raise Rejected(Code.INSUFFICIENT_FUNDS, f"needs {c.qty} micros, {available} available")
    postings = ((ledger.cash(c.account), -c.qty), (ledger.collateral(market.id), c.qty))
    shares = tuple((c.account, j, c.qty) for j in range(market.n))
    ex.emit(
        ev.SetsMinted(market.id, c.account, c.qty, postings, shares, ((c.account, c.qty),)), out
    )


def _redeem(ex: Exchange, c: cmd.RedeemSets, now: int, out: list[ev.Event]) -> None:
    market = ex.require_market(c.market)
    ex.require_account(c.account)
    _require_live(market)
    _require_qty(market, c.qty, ex.limits)
    if c.outcome is None or not market.categorical:
        tokens = tuple(range(market.n))
        outcome = -1
    else:
        if not 0 <= c.outcome < market.n:
            raise Rejected(Code.INVALID_OUTCOME, f"outcome must be 0..{market.n - 1}")
        tokens = (c.outcome, market.no_token(c.outcome))
        outcome = c.outcome
    for token in tokens:
        if market.held(c.account, token) < c.qty:
            raise Rejected(Code.INSUFFICIENT_SHARES, "not enough shares of every outcome")
    postings = ((ledger.collateral(market.id), -c.qty), (ledger.cash(c.account), c.qty))
    shares = tuple((c.account, token, -c.qty) for token in tokens)
    ex.emit(
        ev.SetsRedeemed(
            market.id, c.account, c.qty, outcome, postings, shares, ((c.account, -c.qty),)
        ),
        out,
    )


def _convert(ex: Exchange, c: cmd.ConvertNo, now: int, out: list[ev.Event]) -> None:
    market = ex.require_market(c.market)
    ex.require_account(c.account)
    if not market.categorical:
        raise Rejected(Code.NOT_CATEGORICAL, "NO converts to YES only in categorical markets")
    _require_live(market)
    if not 0 <= c.outcome < market.n:
        raise Rejected(Code.INVALID_OUTCOME, f"outcome must be 0..{market.n - 1}")
    _require_qty(market, c.qty, ex.limits)
    others = [j for j in range(market.n) if j != c.outcome]
    no = market.no_token(c.outcome)
    sign = 1 if c.to_yes else -1
    giving = [no] if c.to_yes else others
    for token in giving:
        if market.held(c.account, token) < c.qty:
            raise Rejected(Code.INSUFFICIENT_SHARES, "not enough shares to convert")
    shares = ((c.account, no, -sign * c.qty), *((c.account, j, sign * c.qty) for j in others))
    ex.emit(ev.NoConverted(market.id, c.account, c.outcome, c.qty, c.to_yes, shares), out)


# -- settlement ------------------------------------------------------------------------------
def _resolve(ex: Exchange, c: cmd.ResolveMarket, now: int, out: list[ev.Event]) -> None:
    market = ex.require_market(c.market)
    _require_live(market)
    weights = tuple(c.weights)
    if c.value is not None:
        if market.scalar is None or weights:
            raise Rejected(Code.INVALID_WEIGHTS, "a value (no weights) resolves a scalar market")
        if abs(c.value) > scalar.VALUE_MAX:
            raise Rejected(Code.INVALID_WEIGHTS, f"the value must be within +-{scalar.VALUE_MAX}")
        grid = scalar.index_of(market.scalar, c.value)
        weights = scalar.weights(market.scalar, scalar.value_at(market.scalar, grid))
        process.finalize_by_admin(ex, market, weights, c.reason, now, out, grid)
        settlement.settle(ex, market, weights, c.reason, out)
        return
    if len(weights) != market.n or any(not 0 <= w <= ONE for w in weights):
        raise Rejected(Code.INVALID_WEIGHTS, f"give {market.n} weights, each 0..{ONE}")
    if sum(weights) != ONE:
        raise Rejected(Code.INVALID_WEIGHTS, f"weights must sum to {ONE}")
    process.finalize_by_admin(ex, market, weights, c.reason, now, out)
    settlement.settle(ex, market, weights, c.reason, out)


def _void(ex: Exchange, c: cmd.VoidMarket, now: int, out: list[ev.Event]) -> None:
    market = ex.require_market(c.market)
    _require_live(market)
    process.finalize_by_admin(ex, market, None, c.reason, now, out)
    settlement.void(ex, market, c.reason, out)


def _tick(ex: Exchange, c: cmd.Tick, now: int, out: list[ev.Event]) -> None:
    """Expire orders, close markets, then move every resolution whose time has come."""
    trading.handle_tick(ex, c, now, out)
    for market in ex.markets.values():
        at = process.next_timer(ex, market)
        if at is not None and at <= now:
            process.advance(ex, market, now, out)
