"""Random command sequences against the whole exchange, every invariant after every step.

A hypothesis state machine drives several accounts through binary and categorical
markets, with and without the LMSR maker, at two tick sizes and two fee rates: limit
orders of every time in force (post-only too), market orders by quantity and budget,
cancels, complete sets, NO conversion, halts, time passing (expiries, close),
resolution (one-hot and fractional) and void. Prices cluster around the maker's price
or the book's mid, so orders really trade.

After every command it checks that:

- ``invariants.violations`` is empty, and no live resting order is crossed with the
  maker (recomputed here from the LMSR charge of one lot, not through the router);
- a rejected command emitted nothing and left the live fingerprint equal to that of a
  replica ``State()`` fed only the accepted commands' events (the state before it);
- that replica's fingerprint equals the live one (after every 4th accepted command and
  at teardown, where the whole log is also replayed from its JSON encoding);
- every fill respects both prices and self-trade prevention, never fills a lapsed GTD
  order, the maker's charge is the LMSR charge at that moment and never below what the
  order pays, fees are the rounded-up rate on the order's notional, fill-or-kill fills
  completely, post-only never takes, IOC/FOK/market orders never stay open;
- settlement pays each holder its shares' worth (rounded down) and void refunds no more
  than each account put in, leaving only rounding behind.

``AUGURY_STRESS=N`` runs N times as many examples (a stress run for CI or by hand).
"""

from __future__ import annotations

import os
from collections import Counter

import hypothesis.strategies as st
from hypothesis import HealthCheck, event, note, settings
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from augury.domain import codec, lmsr
from augury.domain import commands as c
from augury.domain import events as ev
from augury.domain.book import Order
from augury.domain.exchange import Exchange, Result
from augury.domain.fingerprint import fingerprint
from augury.domain.invariants import violations
from augury.domain.market import Market, Status
from augury.domain.router import maker_delta, signed_value
from augury.domain.state import State
from augury.domain.units import ONE, div_up

T0 = 1_700_000_000_000_000
SECOND = 1_000_000
ACCOUNTS = ("ann", "ben", "cid", "dee", "eve", "fay")
MARKETS_MAX = 6
REPLICA_CHECK_EVERY = 4
"""Compare the event-fed replica with the live state after every 4th accepted command."""
EXAMPLES = 60 * int(os.environ.get("AUGURY_STRESS", "1"))
"""Examples per run; ``AUGURY_STRESS=N`` multiplies them for a stress run."""

STATS: Counter[str] = Counter()
"""Totals over one run of the machine, checked (and printed) by the test at the end."""

MARKET_PARAMS = st.fixed_dictionaries(
    {
        "liquidity": st.one_of(st.just(0), st.integers(20, 200).map(lambda k: k * ONE)),
        "tick": st.sampled_from((1_000, 10_000)),
        "fee_bps": st.sampled_from((0, 50)),
        "close_in_s": st.integers(60, 900),
        "spread": st.integers(1, 30).map(lambda k: k * 1_000),
    }
)
ACCOUNT = st.integers(0, 5)
MARKET = st.integers(0, 7)
OUTCOME = st.integers(0, 3)
# Quantities are multiples of 1_000 micro-shares, a whole lot at both tick sizes.
SIZES = st.one_of(
    st.integers(1, 40).map(lambda k: k * ONE // 4),
    st.integers(1, 50).map(lambda k: k * 1_000),
)
CLIENT_IDS = st.one_of(st.none(), st.none(), st.integers(0, 7).map(lambda k: f"c{k}"))


def yes_price(market: Market, outcome: int) -> int:
    """Where ``outcome``'s YES trades now, in micro-credits: the maker's price or the mid."""
    if market.has_maker:
        return lmsr.marginal_prices(market.liquidity, market.q)[outcome]
    book = market.books[outcome if market.categorical else 0]
    bid = book.best_bid * market.tick if book.best_bid else 0
    ask = book.best_ask * market.tick if book.best_ask < book.top else 0
    mid = (bid + ask) // 2 if bid and ask else bid or ask or ONE // market.n
    if not market.categorical and outcome == 1 and (bid or ask):
        mid = ONE - mid  # the single book of a binary market is in outcome 0's terms
    return mid


def book_side(market: Market, outcome: int, token: c.Token) -> tuple[int, bool]:
    """(index of the book an order trades on, whether it is on that book's YES side)."""
    if not market.categorical and outcome == 1:
        return 0, token is c.Token.NO  # YES on the second outcome is NO on the first
    return outcome, token is c.Token.YES


def best_opposite(market: Market, outcome: int, token: c.Token, side: c.Side) -> int | None:
    """The best resting price an order would meet, in its own terms (None: none rests)."""
    index, yes = book_side(market, outcome, token)
    book = market.books[index]
    if (side is c.Side.BUY) == yes:  # a bid meets the asks
        ticks = book.best_ask if book.best_ask < book.top else 0
    else:
        ticks = book.best_bid
    if not ticks:
        return None
    return ticks * market.tick if yes else ONE - ticks * market.tick


def near_price(
    market: Market, outcome: int, token: c.Token, offset: int, around: int | None = None
) -> int:
    """A limit price in the order's own terms, ``offset`` micro-credits from ``around``.

    ``around`` defaults to the market's price (the maker's, or the book's mid).
    """
    own = around
    if own is None:
        own = yes_price(market, outcome)
        if token is c.Token.NO:
            own = ONE - own
    tick = market.tick
    price = (own + offset + tick // 2) // tick * tick
    return min(max(price, tick), ONE - tick)


def token_index(market: Market, outcome: int, token: c.Token) -> int:
    """The holdings index of (outcome, token) in ``market``."""
    if token is c.Token.YES:
        return outcome
    return market.no_token(outcome)


def whole_lots(market: Market, qty: int) -> int:
    return qty - qty % market.lot


def is_crossed(market: Market, order: Order) -> bool:
    """Would the maker trade a lot with ``order`` at the order's own price or better?"""
    delta = maker_delta(market, order.intent, order.outcome, market.lot)
    charge = lmsr.trade_charge(market.liquidity, market.q, delta)
    return charge <= signed_value(order.intent, market.lot, order.own_price * market.tick)


class ExchangeMachine(RuleBasedStateMachine):
    """One exchange, a replica fed only events, and the clock."""

    def __init__(self) -> None:
        super().__init__()
        self.ex = Exchange()
        self.replica = State()
        self.log: list[ev.Event] = []
        self.now = T0
        self.accounts: list[str] = []
        self.market_ids: list[str] = []
        self.steps = 0
        self.taker_id = 0
        self.taker_filled = 0
        self.accepted = 0
        self.seeding = False
        self.taking = False  # whether the rule running means its order to trade on arrival
        self.clean = True  # False while a command is being checked (teardown then skips)

    # -- running commands --------------------------------------------------------------
    def run(self, command: c.Command) -> Result:
        """Execute ``command`` now and check everything that must hold of its outcome.

        The replica holds the state before the command (it only ever sees accepted
        commands' events), so a refused command must leave the live state's fingerprint
        equal to the replica's.
        """
        self.taker_id = 0
        self.taker_filled = 0
        self.clean = False
        result = self.ex.execute(command, self.now)
        STATS["commands"] += 1
        if not result.ok:
            note(f"refused {type(command).__name__}: {result.code}: {result.message}")
            event(f"refused: {result.code}")
            STATS["refused"] += 1
            assert result.events == ()
            assert fingerprint(self.ex) == fingerprint(self.replica), (
                f"the refused {command!r} changed the state (or the replica had diverged)"
            )
            self.clean = True
            return result
        for e in result.events:
            self._check_event(e)
            self.replica.apply(e)
            self._check_applied(e)
        self.log.extend(result.events)
        self.accepted += 1
        if self.accepted % REPLICA_CHECK_EVERY == 0:
            self.check_replica()
        if isinstance(command, c.PlaceOrder):
            self._check_placed(command, result)
        self.clean = True
        return result

    def check_replica(self) -> None:
        """The state rebuilt from events alone equals the live one."""
        assert fingerprint(self.replica) == fingerprint(self.ex), "the event replica diverged"

    def _check_event(self, e: ev.Event) -> None:
        """Checks of one event against the state just before it applies."""
        r = self.replica
        if isinstance(e, ev.OrderAccepted) and not self.taker_id:
            self.taker_id = e.order_id
        elif isinstance(e, ev.BookFill):
            market = r.markets[e.market]
            taker, resting = r.orders[e.taker_order], r.orders[e.resting_order]
            assert resting.resting and not taker.resting and taker.bid != resting.bid
            assert taker.id == self.taker_id, "only the incoming order takes from the book"
            assert e.price == resting.price and e.qty > 0 and e.qty % market.lot == 0
            assert resting.live_at(self.now), "a lapsed GTD order traded"
            if taker.account == resting.account:
                assert taker.self_trade == c.SelfTrade.ALLOW, "self-trade prevention failed"
            for order in (taker, resting):
                assert e.price <= order.price if order.bid else e.price >= order.price
                if order.qty:
                    assert e.qty <= order.remaining
            if not market.fee_bps:
                assert e.fee == 0
            self.taker_filled += e.qty
            STATS["BookFill"] += 1
            event("fill: book")
        elif isinstance(e, ev.MakerFill):
            market = r.markets[e.market]
            order = r.orders[e.order_id]
            assert market.has_maker and e.qty > 0 and e.qty % market.lot == 0
            assert e.delta == maker_delta(market, order.intent, order.outcome, e.qty)
            assert e.charge == lmsr.trade_charge(market.liquidity, market.q, e.delta)
            limit = signed_value(order.intent, e.qty, order.own_price * market.tick)
            assert e.charge <= e.value <= limit, "the maker gave an edge or the limit was passed"
            if order.resting:  # the maker moved through a resting order: it fills at its price
                assert e.value == limit and e.fee == 0
                assert order.live_at(self.now), "the maker filled a lapsed GTD order"
                STATS["MakerFill (uncross)"] += 1
            else:
                assert e.order_id == self.taker_id and e.value == e.charge
                self.taker_filled += e.qty
            STATS["MakerFill"] += 1
            event("fill: maker")
        elif isinstance(e, ev.MarketSettled):
            self._check_settled(r.markets[e.market], e)
        elif isinstance(e, ev.MarketVoided):
            self._check_voided(r.markets[e.market], e)

    def _check_settled(self, market: Market, e: ev.MarketSettled) -> None:
        """Every holder is paid its shares' worth under the weights, rounded down."""
        assert not any(o.market == market.id for o in self.replica.orders.values())
        n, weights = market.n, e.weights
        expected = {}
        for account, held in market.positions.items():
            worth = sum(held[j] * weights[j] for j in range(n))
            if market.categorical:
                worth += sum(held[n + i] * (ONE - weights[i]) for i in range(n))
            if worth // ONE:
                expected[account] = worth // ONE
        assert dict(e.payouts) == expected
        # Exactly the collateral is owed in total; only the floors are left over.
        assert 0 <= e.residue <= len(market.positions) + 1
        STATS["MarketSettled"] += 1

    def _check_voided(self, market: Market, e: ev.MarketVoided) -> None:
        """Each account gets back at most what it put in; only rounding is left over."""
        assert not any(o.market == market.id for o in self.replica.orders.values())
        for account, amount in e.refunds:
            assert 0 < amount <= market.contrib[account]
        owed = [amount for amount in market.contrib.values() if amount > 0]
        assert 0 <= e.residue <= len(owed)
        STATS["MarketVoided"] += 1

    def _check_applied(self, e: ev.Event) -> None:
        """Checks of the state just after one event applied."""
        if isinstance(e, ev.BookFill | ev.MakerFill):
            oid = e.taker_order if isinstance(e, ev.BookFill) else e.order_id
            order = self.replica.orders[oid]
            bps = self.replica.markets[order.market].fee_bps
            if oid == self.taker_id and not order.resting:
                assert order.fee_paid == div_up(order.fee_notional * bps, 10_000)

    def _check_placed(self, command: c.PlaceOrder, result: Result) -> None:
        accepted = result.events[0]
        assert isinstance(accepted, ev.OrderAccepted)
        if not self.seeding:
            STATS["orders accepted"] += 1
            if self.taker_filled:
                STATS["orders that took liquidity"] += 1
            if self.taking:
                STATS["taking orders accepted"] += 1
                STATS["taking orders filled"] += self.taker_filled > 0
        if command.tif is c.TimeInForce.FOK:
            assert self.taker_filled == command.qty, "fill-or-kill filled partly"
        if command.post_only:
            assert self.taker_filled == 0, "a post-only order took liquidity"
        if command.price is None or command.tif in (c.TimeInForce.IOC, c.TimeInForce.FOK):
            assert accepted.order_id not in self.ex.orders, "an immediate order stayed open"

    # -- choosing things -----------------------------------------------------------------
    def market(self, index: int) -> Market:
        return self.ex.markets[self.market_ids[index % len(self.market_ids)]]

    def trading_market(self, index: int) -> Market:
        """A market open for trading now, if there is one (orders elsewhere are refused)."""
        markets = [self.ex.markets[m] for m in self.market_ids]
        open_ = [m for m in markets if m.status is Status.OPEN and self.now < m.close_at]
        return open_[index % len(open_)] if open_ else self.market(index)

    def account(self, index: int) -> str:
        return self.accounts[index % len(self.accounts)]

    def sized(
        self, account: str, market: Market, outcome: int, token: c.Token, side: c.Side, qty: int
    ) -> tuple[c.Side, int]:
        """Shrink a sell to what the account holds; an account holding nothing buys instead."""
        if side is c.Side.BUY:
            return side, qty
        held = whole_lots(market, market.held(account, token_index(market, outcome, token)))
        return (c.Side.SELL, min(qty, held)) if held else (c.Side.BUY, qty)

    def create(self, market_id: str, creator: str, params: dict[str, int], n: int) -> None:
        """Create a market; its creator is first granted the maker's subsidy."""
        outcomes = tuple(f"o{j}" for j in range(n))
        if params["liquidity"]:
            self.run(c.GrantCredits(creator, lmsr.subsidy(params["liquidity"], n), "subsidy"))
        self.run(
            c.CreateMarket(
                market=market_id,
                creator=creator,
                question=f"Which of {n}?",
                outcomes=outcomes,
                close_at=self.now + params["close_in_s"] * SECOND,
                liquidity=params["liquidity"],
                tick=params["tick"],
                fee_bps=params["fee_bps"],
                categorical=n > 2,
            )
        )
        if market_id not in self.ex.markets:
            return
        self.market_ids.append(market_id)
        # Seed every book with a bid and an ask ``spread`` off the market's price, so that
        # takers find a book from the start (both are buys: nobody holds shares yet).
        market = self.ex.markets[market_id]
        dealers = self.accounts[-2:]
        self.seeding = True
        for outcome in range(market.n if market.categorical else 1):
            for dealer, token in zip(dealers, c.Token, strict=True):
                price = near_price(market, outcome, token, -params["spread"])
                self.run(
                    c.PlaceOrder(dealer, market_id, outcome, c.Side.BUY, token, 4 * ONE, price)
                )
        self.seeding = False

    # -- rules ----------------------------------------------------------------------------
    @initialize(
        n_accounts=st.integers(4, 6),
        binary=MARKET_PARAMS,
        categorical=MARKET_PARAMS,
        n=st.integers(3, 4),
        credits=st.integers(200, 2_000),
        sets=st.integers(4, 40),
    )
    def setup(
        self,
        n_accounts: int,
        binary: dict[str, int],
        categorical: dict[str, int],
        n: int,
        credits: int,
        sets: int,
    ) -> None:
        """Funded accounts, a binary and a categorical market, complete sets for everyone."""
        for name in ACCOUNTS[:n_accounts]:
            assert self.run(c.OpenAccount(name)).ok
            assert self.run(c.GrantCredits(name, credits * ONE)).ok
            self.accounts.append(name)
        self.create("bin", self.accounts[0], binary, 2)
        self.create("cat", self.accounts[1], categorical, n)
        assert len(self.market_ids) == 2
        for name in self.accounts:  # shares to sell from the start
            for market_id in self.market_ids:
                assert self.run(c.MintSets(name, market_id, sets * ONE // 2)).ok

    @rule(
        a=ACCOUNT,
        m=MARKET,
        outcome=OUTCOME,
        side=st.sampled_from(c.Side),
        token=st.sampled_from(c.Token),
        offset=st.integers(-15_000, 5_000),
        qty=SIZES,
        gtd=st.booleans(),
        post_only=st.sampled_from((False, False, True)),
        expiry_s=st.integers(1, 60),
        client_order_id=CLIENT_IDS,
    )
    def rest_order(
        self,
        a: int,
        m: int,
        outcome: int,
        side: c.Side,
        token: c.Token,
        offset: int,
        qty: int,
        gtd: bool,
        post_only: bool,
        expiry_s: int,
        client_order_id: str | None,
    ) -> None:
        """A GTC or GTD order, mostly priced on its own side of the market, to rest."""
        market, account = self.trading_market(m), self.account(a)
        outcome %= market.n
        side, qty = self.sized(account, market, outcome, token, side, qty)
        if side is c.Side.SELL:
            offset = -offset
        self.taking = False
        self.run(
            c.PlaceOrder(
                account=account,
                market=market.id,
                outcome=outcome,
                side=side,
                token=token,
                qty=qty,
                price=near_price(market, outcome, token, offset),
                tif=c.TimeInForce.GTD if gtd else c.TimeInForce.GTC,
                expires_at=self.now + expiry_s * SECOND if gtd else None,
                post_only=post_only,
                client_order_id=client_order_id,
            )
        )

    @rule(
        a=ACCOUNT,
        m=MARKET,
        outcome=OUTCOME,
        side=st.sampled_from(c.Side),
        token=st.sampled_from(c.Token),
        offset=st.integers(-5_000, 30_000),
        qty=SIZES,
        tif=st.sampled_from(c.TimeInForce),
        post_only=st.sampled_from((False, False, False, True)),
        expiry_s=st.integers(1, 60),
        self_trade=st.sampled_from(c.SelfTrade),
    )
    def take_order(
        self,
        a: int,
        m: int,
        outcome: int,
        side: c.Side,
        token: c.Token,
        offset: int,
        qty: int,
        tif: c.TimeInForce,
        post_only: bool,
        expiry_s: int,
        self_trade: c.SelfTrade,
    ) -> None:
        """A limit order of any time in force, mostly priced to trade on arrival.

        Its price is set off the best resting price it would meet, if any, so that it
        walks the maker up to the book and then takes the book too.
        """
        market, account = self.trading_market(m), self.account(a)
        outcome %= market.n
        side, qty = self.sized(account, market, outcome, token, side, qty)
        offset += market.tick  # so that the simplest draw (0) still crosses
        if side is c.Side.SELL:
            offset = -offset
        around = best_opposite(market, outcome, token, side)
        post_only = post_only and tif in (c.TimeInForce.GTC, c.TimeInForce.GTD)
        self.taking = not post_only
        self.run(
            c.PlaceOrder(
                account=account,
                market=market.id,
                outcome=outcome,
                side=side,
                token=token,
                qty=qty,
                price=near_price(market, outcome, token, offset, around),
                tif=tif,
                expires_at=self.now + expiry_s * SECOND if tif is c.TimeInForce.GTD else None,
                post_only=post_only,
                self_trade=self_trade,
            )
        )

    @rule(
        a=ACCOUNT,
        m=MARKET,
        outcome=OUTCOME,
        side=st.sampled_from(c.Side),
        token=st.sampled_from(c.Token),
        qty=SIZES,
        budget=st.one_of(st.none(), st.integers(1, 8 * ONE)),
        fok=st.booleans(),
        self_trade=st.sampled_from(c.SelfTrade),
    )
    def market_order(
        self,
        a: int,
        m: int,
        outcome: int,
        side: c.Side,
        token: c.Token,
        qty: int,
        budget: int | None,
        fok: bool,
        self_trade: c.SelfTrade,
    ) -> None:
        """A market order: a buy by quantity or budget, a sell by quantity."""
        market, account = self.trading_market(m), self.account(a)
        outcome %= market.n
        side, qty = self.sized(account, market, outcome, token, side, qty)
        if side is c.Side.SELL:
            budget = None
        by_budget = budget is not None
        self.taking = True
        self.run(
            c.PlaceOrder(
                account=account,
                market=market.id,
                outcome=outcome,
                side=side,
                token=token,
                qty=None if by_budget else qty,
                budget=budget,
                tif=c.TimeInForce.FOK if fok and not by_budget else c.TimeInForce.IOC,
                self_trade=self_trade,
            )
        )

    # Orders are most of what happens: the taking rules count twice.
    take_order_again = take_order
    market_order_again = market_order

    @rule(
        a=ACCOUNT,
        m=st.one_of(st.none(), MARKET),
        pick=st.integers(0, 60),
        kind=st.sampled_from(("own", "own", "any", "all")),
    )
    def cancel(self, a: int, m: int | None, pick: int, kind: str) -> None:
        """Cancel one own order, an arbitrary id (maybe another's) or all (of a market)."""
        account = self.account(a)
        if kind == "all":
            self.run(c.CancelAll(account, None if m is None else self.market(m).id))
            return
        open_ids = sorted(self.ex.open_orders[account])
        order_id = open_ids[pick % len(open_ids)] if kind == "own" and open_ids else pick
        self.run(c.CancelOrder(account, order_id))

    @rule(
        a=ACCOUNT,
        pick=st.integers(0, 60),
        kind=st.sampled_from(("smaller", "smaller", "price", "larger", "any")),
        qty=SIZES,
        ticks=st.integers(-3, 3),
    )
    def amend(self, a: int, pick: int, kind: str, qty: int, ticks: int) -> None:
        """Amend one own resting order: smaller in place, a new price, a larger size, or
        anything at all (maybe refused, which must then change nothing)."""
        account = self.account(a)
        open_ids = sorted(self.ex.open_orders[account])
        if not open_ids:
            return
        order = self.ex.open_orders[account][open_ids[pick % len(open_ids)]]
        market = self.ex.markets[order.market]
        price = order.own_price * market.tick
        remaining = order.remaining
        if kind == "smaller":
            new_qty = whole_lots(market, max(market.lot, remaining * (qty % 97 + 1) // 100))
        elif kind == "larger":
            new_qty = remaining + whole_lots(market, qty)
        else:
            new_qty = remaining if kind == "price" else whole_lots(market, qty)
            price += ticks * market.tick
        before = dict(self.ex.open_orders[account])
        result = self.run(c.AmendOrder(account, order.id, price, new_qty))
        if not result.ok:
            assert self.ex.open_orders[account] == before, "a refused amendment moved orders"
            return
        reduced = [e for e in result.events if isinstance(e, ev.OrderReduced)]
        STATS["amend: reduced" if reduced else "amend: replaced"] += 1
        if reduced:
            assert len(result.events) == 1 and reduced[0].order_id == order.id
            assert order.remaining == new_qty and order.resting, "reduced in place"
        else:
            first = result.events[0]
            assert isinstance(first, ev.OrderClosed) and first.order_id == order.id
            assert first.reason == "replaced" and order.id not in self.ex.open_orders[account]

    @rule(
        a=ACCOUNT,
        m=MARKET,
        kind=st.sampled_from(("mint", "redeem", "redeem_pair", "to_yes", "to_no")),
        outcome=OUTCOME,
        qty=SIZES,
    )
    def sets(self, a: int, m: int, kind: str, outcome: int, qty: int) -> None:
        """Mint or redeem complete sets, or convert NO <-> the other outcomes' YES."""
        market, account = self.market(m), self.account(a)
        outcome %= market.n
        if kind == "mint":
            self.run(c.MintSets(account, market.id, qty))
            return
        n = market.n
        if kind in ("redeem", "redeem_pair"):
            pair = kind == "redeem_pair" and market.categorical
            tokens = [outcome, market.no_token(outcome)] if pair else list(range(n))
        elif kind == "to_yes":
            tokens = [market.no_token(outcome)] if market.categorical else []
        else:
            tokens = [j for j in range(n) if j != outcome] if market.categorical else []
        held = whole_lots(market, min((market.held(account, t) for t in tokens), default=0))
        qty = min(qty, held) if held else qty
        if kind.startswith("redeem"):
            pair_outcome = outcome if kind == "redeem_pair" else None
            self.run(c.RedeemSets(account, market.id, qty, pair_outcome))
        else:
            self.run(c.ConvertNo(account, market.id, outcome, qty, to_yes=kind == "to_yes"))

    @rule(
        a=ACCOUNT,
        m=MARKET,
        kind=st.sampled_from(("halt", "grant", "create")),
        amount=st.integers(1, 500),
        params=MARKET_PARAMS,
        n=st.sampled_from((2, 3, 4)),
    )
    def operate(
        self, a: int, m: int, kind: str, amount: int, params: dict[str, int], n: int
    ) -> None:
        """Halt or resume a market, grant credits, or create another market (up to 6)."""
        market, account = self.market(m), self.account(a)
        if kind == "halt":
            if market.status is Status.HALTED:
                self.run(c.ResumeMarket(market.id, "resumed"))
            else:
                self.run(c.HaltMarket(market.id, "halted"))
        elif kind == "grant":
            self.run(c.GrantCredits(account, amount * ONE, memo="top-up"))
        elif len(self.market_ids) < MARKETS_MAX:
            self.create(f"m{len(self.market_ids)}", account, params, n)

    @rule(seconds=st.integers(1, 60), tick=st.sampled_from((True, True, False)))
    def advance(self, seconds: int, tick: bool) -> None:
        """Let time pass; without a Tick, expired orders linger (not live) on the books."""
        self.now += seconds * SECOND
        if tick:
            assert self.run(c.Tick()).ok
            due = self.ex.next_timer()
            assert due is None or due > self.now, "a Tick left something due"

    @precondition(lambda self: self.steps >= 15)
    @rule(
        m=MARKET,
        kind=st.sampled_from(("close", "one_hot", "fractional", "void")),
        winner=OUTCOME,
        raw=st.lists(st.integers(0, 100), min_size=4, max_size=4),
        a=ACCOUNT,
        params=MARKET_PARAMS,
        n=st.sampled_from((2, 3, 4)),
    )
    def end_market(
        self,
        m: int,
        kind: str,
        winner: int,
        raw: list[int],
        a: int,
        params: dict[str, int],
        n: int,
    ) -> None:
        """Close, resolve (one-hot or fractional) or void a market; open another in its place."""
        market = self.market(m)
        if kind == "close":
            self.run(c.CloseMarket(market.id, "closed early"))
        elif kind == "void":
            self.run(c.VoidMarket(market.id, "no answer"))
        else:
            weights = [0] * market.n
            raw = raw[: market.n]
            if kind == "one_hot" or not sum(raw):
                weights[winner % market.n] = ONE
            else:
                weights = [w * ONE // sum(raw) for w in raw]
                weights[0] += ONE - sum(weights)
            if self.run(c.ResolveMarket(market.id, tuple(weights), kind)).ok:
                assert market.status is Status.RESOLVED and market.settlement == tuple(weights)
        if len(self.market_ids) < MARKETS_MAX:
            self.create(f"m{len(self.market_ids)}", self.account(a), params, n)

    @rule(
        a=ACCOUNT,
        m=MARKET,
        kind=st.sampled_from(
            (
                "off_tick",
                "off_lot",
                "price_range",
                "weights",
                "unknown",
                "no_qty",
                "budget_limit",
                "post_only_ioc",
                "sell_budget",
            )
        ),
    )
    def refused(self, a: int, m: int, kind: str) -> None:
        """Malformed commands: each must be refused and change nothing."""
        market, account = self.market(m), self.account(a)
        buy = c.PlaceOrder(account, market.id, 0, c.Side.BUY, qty=ONE, price=ONE // 2)
        command: c.Command = {
            "off_tick": c.PlaceOrder(account, market.id, 0, c.Side.BUY, qty=ONE, price=500_001),
            "off_lot": c.MintSets(account, market.id, market.lot + 1),
            "price_range": c.PlaceOrder(account, market.id, 0, c.Side.SELL, qty=ONE, price=ONE),
            "weights": c.ResolveMarket(market.id, (ONE,) * market.n),
            "unknown": c.PlaceOrder("nobody", market.id, 0, c.Side.BUY, qty=ONE, price=ONE // 2),
            "no_qty": c.PlaceOrder(account, market.id, 0, c.Side.BUY),
            "budget_limit": c.PlaceOrder(
                buy.account, buy.market, 0, c.Side.BUY, price=ONE // 2, budget=ONE
            ),
            "post_only_ioc": c.PlaceOrder(
                buy.account,
                buy.market,
                0,
                c.Side.BUY,
                qty=ONE,
                price=ONE // 2,
                tif=c.TimeInForce.IOC,
                post_only=True,
            ),
            "sell_budget": c.PlaceOrder(account, market.id, 0, c.Side.SELL, budget=ONE),
        }[kind]
        assert not self.run(command).ok

    # -- after every step --------------------------------------------------------------------
    @invariant()
    def invariants_hold(self) -> None:
        self.steps += 1
        assert violations(self.ex, self.now) == []

    @invariant()
    def maker_not_crossed_with_live_orders(self) -> None:
        for order in self.ex.orders.values():
            if not order.resting or not order.live_at(self.now):
                continue
            market = self.ex.markets[order.market]
            if market.has_maker:
                assert not is_crossed(market, order), (
                    f"{market.id}: resting order {order.id} crossed with the maker"
                )

    def teardown(self) -> None:
        """Replay the whole log, through its JSON encoding, into a fresh state."""
        if not self.clean:
            return  # a step already failed; do not bury its error under this one
        self.check_replica()
        replayed = State()
        for e in codec.decode_events(codec.encode(self.log)):
            replayed.apply(e)
        assert fingerprint(replayed) == fingerprint(self.ex)


SETTINGS = settings(
    max_examples=EXAMPLES,
    stateful_step_count=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


def test_random_command_sequences_keep_every_invariant() -> None:
    STATS.clear()
    run_state_machine_as_test(ExchangeMachine, settings=SETTINGS)
    print("state machine totals:", dict(sorted(STATS.items())))
    # The run must exercise trading, not just refusals.
    assert STATS["BookFill"] >= EXAMPLES
    assert STATS["MakerFill"] >= EXAMPLES
    assert STATS["amend: reduced"] and STATS["amend: replaced"], "amendments never ran"
    assert STATS["taking orders filled"] * 2 >= STATS["taking orders accepted"]
    assert STATS["refused"] * 2 <= STATS["commands"]
