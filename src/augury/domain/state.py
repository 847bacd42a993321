"""The exchange's state and the appliers that change it, one per event type.

Appliers are the only code that mutates state. Handlers decide what happens and emit
events; emitting an event applies it, and replaying a journal applies the same
events in the same order, so live state and replayed state cannot diverge. An
applier never validates user input (that was the handler's job) but asserts what
must already be true.

The events of every order (accepted, rested, filled, closed) are emitted through
``emit_*`` methods that build the event and apply it from the same arguments, so the
hot path never reads back the fields of an event it has just made. Their replay
appliers decode the event's fields into those same arguments and call the same
``_apply_*`` method: one mutation per event type, live or replayed.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from typing import Any, Final

import msgspec

from augury.domain import events as ev
from augury.domain.book import BUY_NO, BUY_YES, SELL_NO, SELL_YES, Order
from augury.domain.ledger import Ledger, cash, escrow
from augury.domain.limits import DEFAULT_LIMITS, Limits
from augury.domain.market import Market, Status
from augury.domain.rejections import Code, Rejected
from augury.domain.resolution import record
from augury.domain.resolution.record import Alert, MarketResolution
from augury.domain.resolution.spec import norm_org
from augury.domain.units import ONE

# Final aliases of the hot event types: a compiled build holds them in C statics
# rather than looking each up in the module's globals on every event.
_ORDER_ACCEPTED: Final = ev.OrderAccepted
_ORDER_RESTED: Final = ev.OrderRested
_BOOK_FILL: Final = ev.BookFill
_ORDER_CLOSED: Final = ev.OrderClosed

Postings = tuple[ev.Posting, ...]
Shares = tuple[ev.ShareMove, ...]
Contribs = tuple[ev.Contribution, ...]


def intent_of(side: str, token: str) -> int:
    if side == "buy":
        return BUY_YES if token == "yes" else BUY_NO
    return SELL_YES if token == "yes" else SELL_NO


class State:
    """Everything the exchange knows: accounts, markets, orders, the ledger, and the
    limits it enforces. The command handlers (``trading``, ``settlement``,
    ``resolution.process``) take a ``State``: the exchange dispatches to them, they
    never import the exchange back."""

    def __init__(self, limits: Limits = DEFAULT_LIMITS) -> None:
        self.limits = limits
        self.accounts: set[str] = set()
        self.markets: dict[str, Market] = {}
        self.orders: dict[int, Order] = {}
        self.open_orders: dict[str, dict[int, Order]] = {}
        self.client_ids: dict[tuple[str, str], int] = {}
        self.expiries: list[tuple[int, int]] = []
        self.ledger = Ledger()
        self.next_order_id = 1
        self.resolutions: dict[str, MarketResolution] = {}
        self.affiliations: dict[str, tuple[str, ...]] = {}  # account -> organizations
        self.alerts: dict[int, Alert] = {}
        self.alert_keys: set[tuple[str, str, str]] = set()  # (market, detector, key)
        # market -> owners of its sources whose affiliates may not trade it (normalized):
        # derived from the markets and their specs, so a snapshot need not hold it.
        self.blocked_orgs: dict[str, frozenset[str]] = {}
        self._ledger_keys: dict[str, tuple[str, str]] = {}  # a cache, not state
        # market -> its resolution.incremental.Evaluator: a cache, not state (rebuilt
        # from the record's observations when missing, e.g. after a snapshot).
        self.evaluators: dict[str, Any] = {}
        self._appliers: dict[type[ev.Event], Callable[[Any], None]] = {
            ev.AccountOpened: self._account_opened,
            ev.CreditsGranted: self._credits_granted,
            ev.MarketCreated: self._market_created,
            ev.MarketStatusChanged: self._market_status_changed,
            ev.OrderAccepted: self._order_accepted,
            ev.OrderRested: self._order_rested,
            ev.BookFill: self._book_fill,
            ev.MakerFill: self._maker_fill,
            ev.OrderClosed: self._order_closed,
            ev.OrderReduced: self._order_reduced,
            ev.SetsMinted: self._sets_moved,
            ev.SetsRedeemed: self._sets_moved,
            ev.NoConverted: self._no_converted,
            ev.MarketSettled: self._market_settled,
            ev.MarketVoided: self._market_voided,
            ev.ResolutionSpecSet: self._resolution_spec_set,
            ev.AffiliationDeclared: self._affiliation_declared,
            ev.ObservationRecorded: self._observation_recorded,
            ev.OutcomeProposed: self._outcome_proposed,
            ev.ProposalDisputed: self._proposal_disputed,
            ev.ResolutionHeld: self._resolution_held,
            ev.VoteCast: self._vote_cast,
            ev.ResolutionFinalized: self._resolution_finalized,
            ev.ClarificationPosted: self._clarification_posted,
            ev.AlertRaised: self._alert_raised,
            ev.AlertReviewed: self._alert_reviewed,
        }

    # -- entry points -------------------------------------------------------------
    # -- lookups that refuse --------------------------------------------------------
    def require_account(self, account: str) -> None:
        if account not in self.accounts:
            raise Rejected(Code.UNKNOWN_ACCOUNT, f"no account {account!r}")

    def require_market(self, market: str) -> Market:
        found = self.markets.get(market)
        if found is None:
            raise Rejected(Code.UNKNOWN_MARKET, f"no market {market!r}")
        return found

    def apply(self, event: ev.Event) -> None:
        """Apply one event (live, or while replaying a journal)."""
        self._appliers[type(event)](event)

    def emit(self, event: ev.Event, out: list[ev.Event]) -> None:
        """Apply an event decided by a handler and record it in the command's output."""
        self._appliers[type(event)](event)
        out.append(event)

    def ledger_keys(self, account: str) -> tuple[str, str]:
        """The ledger accounts ``cash:<account>`` and ``escrow:<account>``, built once."""
        keys = self._ledger_keys.get(account)
        if keys is None:
            keys = self._ledger_keys[account] = (cash(account), escrow(account))
        return keys

    # -- the order events: build, apply from the same arguments, record ---------------
    def emit_accepted(
        self,
        order: Order,
        market: Market,
        side: str,
        token: str,
        postings: Postings,
        shares: Shares,
        out: list[ev.Event],
    ) -> None:
        """Accept a new ``order`` (as :meth:`order_from` would build it from the event)."""
        event = _ORDER_ACCEPTED(
            order.id,
            order.account,
            order.market,
            order.outcome,
            side,
            token,
            order.price,
            order.qty,
            order.budget,
            order.tif,
            order.expires_at,
            order.post_only,
            order.client_order_id,
            order.self_trade,
            order.escrow,
            postings,
            shares,
        )
        self._apply_accepted(order, market, postings, shares)
        out.append(event)

    def emit_rested(self, order: Order, market: Market, out: list[ev.Event]) -> None:
        event = _ORDER_RESTED(order.id)
        self._apply_rested(order, market)
        out.append(event)

    def emit_book_fill(
        self,
        market: Market,
        taker: Order,
        resting: Order,
        price: int,
        qty: int,
        taker_escrow_used: int,
        resting_escrow_used: int,
        fee: int,
        postings: Postings,
        shares: Shares,
        contrib: Contribs,
        out: list[ev.Event],
    ) -> None:
        event = _BOOK_FILL(
            market.id,
            taker.outcome,
            price,
            qty,
            taker.id,
            resting.id,
            taker_escrow_used,
            resting_escrow_used,
            fee,
            postings,
            shares,
            contrib,
        )
        self._apply_book_fill(
            market,
            taker,
            resting,
            price,
            qty,
            taker_escrow_used,
            resting_escrow_used,
            fee,
            postings,
            shares,
            contrib,
        )
        out.append(event)

    def emit_closed(
        self,
        order: Order,
        market: Market,
        reason: str,
        released: int,
        postings: Postings,
        shares: Shares,
        out: list[ev.Event],
    ) -> None:
        event = _ORDER_CLOSED(order.id, reason, released, postings, shares)
        self._apply_closed(order, market, released, postings, shares)
        out.append(event)

    # -- shared movers --------------------------------------------------------------
    def _move(self, market: Market, shares: Shares, contrib: Contribs) -> None:
        for account, token, delta in shares:
            held = market.holding(account)
            amount = held[token] + delta
            assert amount >= 0, "negative holding"
            held[token] = amount
        mc = market.contrib
        for account, delta in contrib:
            mc[account] = mc.get(account, 0) + delta

    # -- appliers -------------------------------------------------------------------
    def _account_opened(self, e: ev.AccountOpened) -> None:
        assert e.account not in self.accounts
        self.accounts.add(e.account)
        self.open_orders[e.account] = {}

    def _credits_granted(self, e: ev.CreditsGranted) -> None:
        self.ledger.post(e.postings)

    def _market_created(self, e: ev.MarketCreated) -> None:
        assert e.market not in self.markets
        market = Market(
            e.market,
            e.creator,
            e.question,
            e.outcomes,
            e.categorical,
            e.close_at,
            e.liquidity,
            e.tick,
            e.lot,
            e.fee_bps,
            e.subsidy,
            e.block_affiliated_trading,
            e.affiliated_trading_reason,
            e.scalar,
        )
        self.markets[e.market] = market
        self.resolutions[e.market] = MarketResolution(e.market)
        self.ledger.post(e.postings)
        self._move(market, (), e.contrib)

    def _market_status_changed(self, e: ev.MarketStatusChanged) -> None:
        self.markets[e.market].status = Status(e.status)

    def order_from(self, e: ev.OrderAccepted, market: Market) -> Order:
        """The live order an ``OrderAccepted`` event creates (not yet registered)."""
        intent = intent_of(e.side, e.token)
        yes = intent in (BUY_YES, SELL_YES)
        return Order(
            e.order_id,
            e.account,
            e.market,
            e.outcome,
            intent,
            e.price,
            e.price if yes else market.top - e.price,
            e.qty,
            e.budget,
            e.escrow,
            e.tif,
            e.expires_at,
            e.post_only,
            e.client_order_id,
            e.self_trade,
        )

    def _order_accepted(self, e: ev.OrderAccepted) -> None:
        market = self.markets[e.market]
        self._apply_accepted(self.order_from(e, market), market, e.postings, e.shares)

    def _apply_accepted(
        self, order: Order, market: Market, postings: Postings, shares: Shares
    ) -> None:
        order_id = order.id
        assert order_id == self.next_order_id
        self.next_order_id = order_id + 1
        self.orders[order_id] = order
        self.open_orders[order.account][order_id] = order
        if order.client_order_id:
            self.client_ids[(order.account, order.client_order_id)] = order_id
        if order.expires_at:
            heapq.heappush(self.expiries, (order.expires_at, order_id))
        self.ledger.post(postings)
        if shares:
            self._move(market, shares, ())

    def _order_rested(self, e: ev.OrderRested) -> None:
        order = self.orders[e.order_id]
        self._apply_rested(order, self.markets[order.market])

    def _apply_rested(self, order: Order, market: Market) -> None:
        market.books[order.outcome].add(order)

    def _book_fill(self, e: ev.BookFill) -> None:
        self._apply_book_fill(
            self.markets[e.market],
            self.orders[e.taker_order],
            self.orders[e.resting_order],
            e.price,
            e.qty,
            e.taker_escrow_used,
            e.resting_escrow_used,
            e.fee,
            e.postings,
            e.shares,
            e.contrib,
        )

    def _apply_book_fill(
        self,
        market: Market,
        taker: Order,
        resting: Order,
        price: int,
        qty: int,
        taker_escrow_used: int,
        resting_escrow_used: int,
        fee: int,
        postings: Postings,
        shares: Shares,
        contrib: Contribs,
    ) -> None:
        own_price = price if taker.intent in (BUY_YES, SELL_YES) else market.top - price
        _fill_order(taker, qty, taker_escrow_used, qty * own_price * market.tick // ONE, fee)
        _fill_order(resting, qty, resting_escrow_used, 0, 0)
        self.ledger.post(postings)
        self._move(market, shares, contrib)

    def _maker_fill(self, e: ev.MakerFill) -> None:
        market = self.markets[e.market]
        order = self.orders[e.order_id]
        _fill_order(order, e.qty, e.escrow_used, abs(e.value), e.fee)
        q = market.q
        for i, d in enumerate(e.delta):
            q[i] += d
        market.maker_sets += e.sets_delta
        assert market.maker_sets == max(q), "maker inventory not minimal"
        self.ledger.post(e.postings)
        self._move(market, e.shares, e.contrib)

    def _order_closed(self, e: ev.OrderClosed) -> None:
        order = self.orders[e.order_id]
        self._apply_closed(order, self.markets[order.market], e.released, e.postings, e.shares)

    def _apply_closed(
        self, order: Order, market: Market, released: int, postings: Postings, shares: Shares
    ) -> None:
        order_id = order.id
        orders = self.orders
        del orders[order_id]
        if order.resting:
            market.books[order.outcome].remove(order)
        del self.open_orders[order.account][order_id]
        order.escrow -= released
        assert order.escrow == 0, "order closed with escrow left"
        expiries = self.expiries
        while expiries and expiries[0][1] not in orders:
            heapq.heappop(expiries)  # keep the top live, so next_timer is exact
        self.ledger.post(postings)
        if shares:
            self._move(market, shares, ())

    def _order_reduced(self, e: ev.OrderReduced) -> None:
        order = self.orders[e.order_id]
        assert order.resting and 0 < e.remaining < order.remaining, "not a reduction"
        order.qty -= order.remaining - e.remaining
        order.remaining = e.remaining
        order.escrow -= e.released
        assert order.escrow >= 0, "escrow overdrawn"
        self.ledger.post(e.postings)
        if e.shares:
            self._move(self.markets[order.market], e.shares, ())

    def _sets_moved(self, e: ev.SetsMinted | ev.SetsRedeemed) -> None:
        self.ledger.post(e.postings)
        self._move(self.markets[e.market], e.shares, e.contrib)

    def _no_converted(self, e: ev.NoConverted) -> None:
        self._move(self.markets[e.market], e.shares, ())

    def _market_settled(self, e: ev.MarketSettled) -> None:
        market = self.markets[e.market]
        self.ledger.post(e.postings)
        _clear_holdings(market)
        market.status = Status.RESOLVED
        market.settlement = e.weights

    def _market_voided(self, e: ev.MarketVoided) -> None:
        market = self.markets[e.market]
        self.ledger.post(e.postings)
        _clear_holdings(market)
        market.status = Status.VOIDED

    # -- resolution --------------------------------------------------------------------
    def _resolution_spec_set(self, e: ev.ResolutionSpecSet) -> None:
        r = self.resolutions[e.market]
        assert e.version == r.spec_version + 1, "spec versions are consecutive"
        self.resolutions[e.market] = record.spec_set(r, e)
        self.block_affiliates(e.market)

    def block_affiliates(self, market: str) -> None:
        """Derive ``blocked_orgs`` of ``market`` from its current spec: the owners of its
        sources, when the market blocks affiliated trading (or its spec asks to)."""
        r = self.resolutions[market]
        if self.markets[market].block_affiliated_trading and r.spec:
            # as record.blocked_orgs reads it: the journaled spec as plain JSON
            sources = msgspec.json.decode(r.spec).get("sources", ())
            orgs = frozenset(norm_org(s["owner"]) for s in sources)
        else:
            orgs = record.blocked_orgs(r)
        if orgs:
            self.blocked_orgs[market] = orgs
        else:
            self.blocked_orgs.pop(market, None)

    def _affiliation_declared(self, e: ev.AffiliationDeclared) -> None:
        orgs = set(self.affiliations.get(e.account, ()))
        if e.affiliated:
            orgs.add(e.organization)
        else:
            orgs.discard(e.organization)
        if orgs:
            self.affiliations[e.account] = tuple(sorted(orgs))
        else:
            self.affiliations.pop(e.account, None)

    def _observation_recorded(self, e: ev.ObservationRecorded) -> None:
        self.resolutions[e.market] = record.observed(self.resolutions[e.market], e)

    def _outcome_proposed(self, e: ev.OutcomeProposed) -> None:
        self.ledger.post(e.postings)
        self.resolutions[e.market] = record.proposed(self.resolutions[e.market], e)

    def _proposal_disputed(self, e: ev.ProposalDisputed) -> None:
        self.ledger.post(e.postings)
        self.resolutions[e.market] = record.disputed(self.resolutions[e.market], e)

    def _resolution_held(self, e: ev.ResolutionHeld) -> None:
        self.resolutions[e.market] = record.held(self.resolutions[e.market], e)

    def _vote_cast(self, e: ev.VoteCast) -> None:
        self.resolutions[e.market] = record.voted(self.resolutions[e.market], e)

    def _resolution_finalized(self, e: ev.ResolutionFinalized) -> None:
        self.ledger.post(e.postings)
        self.resolutions[e.market] = record.finalized(self.resolutions[e.market])
        self.evaluators.pop(e.market, None)  # final: nothing more to decide

    def _clarification_posted(self, e: ev.ClarificationPosted) -> None:
        self.resolutions[e.market] = record.clarified(self.resolutions[e.market], e)

    def _alert_raised(self, e: ev.AlertRaised) -> None:
        assert e.alert_id not in self.alerts
        self.alerts[e.alert_id] = Alert(
            e.alert_id,
            e.market,
            e.detector,
            e.severity,
            e.accounts,
            e.seqs,
            e.reason,
            e.score,
            e.key,
            e.holds,
            e.at_us,
        )
        if e.key:
            self.alert_keys.add((e.market, e.detector, e.key))
        self.resolutions[e.market] = record.alert_raised(self.resolutions[e.market], e)

    def _alert_reviewed(self, e: ev.AlertReviewed) -> None:
        alert = self.alerts[e.alert_id]
        self.alerts[e.alert_id] = msgspec.structs.replace(
            alert, verdict=e.verdict, reviewer=e.reviewer
        )
        self.resolutions[e.market] = record.alert_reviewed(self.resolutions[e.market], e)


def _clear_holdings(market: Market) -> None:
    market.positions.clear()
    market.contrib.clear()
    market.q = [0] * market.n
    market.maker_sets = 0


def _fill_order(order: Order, qty: int, escrow_used: int, notional: int, fee: int) -> None:
    if order.qty:
        order.remaining -= qty
        assert order.remaining >= 0
    order.filled += qty
    order.escrow -= escrow_used
    assert order.escrow >= 0, "escrow overdrawn"
    order.fee_notional += notional
    order.fee_paid += fee
