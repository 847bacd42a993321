"""Best execution: a taking order walks the book and the LMSR maker, cheapest lot first.

The property test builds a random book (resting orders of several accounts, some of
them expired but not yet removed) on a market whose maker has been moved to a random
price, sends one random taking order, and then replays that command's events one by
one on a copy of the state, checking each fill against the state at that moment:

- a MakerFill of the taking order paid, per share, no more (a sell: received no less)
  than the best live resting price it could have met instead, and than its limit;
- a BookFill of the taking order met the best live resting order, and the maker's next
  lot (priced with the lmsr functions on the maker's state at that moment) was not
  better than that resting price (one micro-credit of rounding allowed);

and afterwards that the maker and the books are not crossed (``router.next_cross`` and
an independent one-lot check of every live resting order), including in categorical
markets, where trading one outcome moves every other outcome's price.

Unit tests check, per intent and market type, that walking maker and book together
costs less than either venue alone; regressions pin down specific walks.
"""

from __future__ import annotations

import os
from typing import Any

import hypothesis.strategies as st
import pytest
from hypothesis import HealthCheck, event, given, settings

from augury.domain import commands as c
from augury.domain import events as ev
from augury.domain import lmsr
from augury.domain.book import Order, is_yes, pays_cash
from augury.domain.exchange import Exchange
from augury.domain.fingerprint import fingerprint
from augury.domain.invariants import violations
from augury.domain.market import Market
from augury.domain.router import maker_delta, next_cross, signed_value
from augury.domain.state import State
from augury.domain.units import ONE

STRESS = int(os.environ.get("AUGURY_STRESS", "1"))
"""``AUGURY_STRESS=N`` runs N times as many examples."""
T0 = 1_700_000_000_000_000
SECOND = 1_000_000
CLOSE = T0 + 3_600 * SECOND
TRADERS = ("r0", "r1", "r2", "r3")
SETS = 200 * ONE
"""Complete sets every trader mints (categorical: part converted to NO of each outcome)."""


# -- building markets --------------------------------------------------------------------
class Venue:
    """An exchange with one market "m", funded traders holding shares, and a shadow state.

    Every accepted command is checked: invariants, no crossing, and, for orders, each
    fill against the shadow state at that moment (the shadow then applies the events).
    """

    def __init__(
        self, n: int = 2, liquidity: int = 50 * ONE, tick: int = 1_000, fee_bps: int = 0
    ) -> None:
        self.ex = Exchange()
        self.shadow = State()  # fed only events: "the state at that moment" for the checks
        self.fills = {"maker": 0, "book": 0}
        self.refused = ""
        self.now = T0
        for account in ("creator", "taker", "mover", *TRADERS):
            self.ok(c.OpenAccount(account))
            self.ok(c.GrantCredits(account, 100_000 * ONE))
        outcomes = tuple(f"o{j}" for j in range(n))
        self.ok(
            c.CreateMarket(
                "m", "creator", "Which?", outcomes, CLOSE, liquidity, tick, fee_bps, n > 2
            )
        )
        for account in ("taker", "mover", *TRADERS):
            self.ok(c.MintSets(account, "m", SETS))
            if n > 2:
                for outcome in range(n):
                    self.ok(c.ConvertNo(account, "m", outcome, SETS // 8, to_yes=False))

    @property
    def market(self) -> Market:
        return self.ex.markets["m"]

    def ok(self, command: c.Command) -> tuple[ev.Event, ...]:
        events = self.try_(command, may_refuse=False)
        assert events is not None
        return events

    def try_(self, command: c.Command, may_refuse: bool = True) -> tuple[ev.Event, ...] | None:
        """Execute a command that may be refused (then it must change nothing).

        The events of an accepted order are replayed on ``shadow`` one by one, each
        fill checked against the state just before it.
        """
        before = fingerprint(self.ex) if may_refuse else None
        result = self.ex.execute(command, self.now)
        if not result.ok:
            assert may_refuse, f"{command!r}: {result.code}: {result.message}"
            self.refused = result.code
            assert result.events == () and fingerprint(self.ex) == before
            return None
        assert violations(self.ex, self.now) == []
        if isinstance(command, c.PlaceOrder):
            check_command_fills(self.shadow, result.events, self.now, self.fills)
        else:
            for e in result.events:
                self.shadow.apply(e)
        if "m" in self.ex.markets:
            check_uncrossed(self.market, self.now)
        return result.events

    def own_price(self, outcome: int, token: c.Token) -> int:
        """The maker's marginal price of (outcome, token), in micro-credits."""
        yes = lmsr.marginal_prices(self.market.liquidity, self.market.q)[outcome]
        return yes if token is c.Token.YES else ONE - yes


def on_tick(price: int, tick: int) -> int:
    return min(max((price + tick // 2) // tick * tick, tick), ONE - tick)


def held(market: Market, account: str, outcome: int, token: c.Token) -> int:
    index = outcome if token is c.Token.YES else market.no_token(outcome)
    amount = market.held(account, index)
    return amount - amount % market.lot


# -- what "better" means ------------------------------------------------------------------
def own_micros(market: Market, order: Order, yes_ticks: int) -> int:
    """A YES-ticks book price in ``order``'s own terms, in micro-credits per share."""
    ticks = yes_ticks if is_yes(order.intent) else market.top - yes_ticks
    return ticks * market.tick


def first_live_opposite(market: Market, order: Order, now: int) -> Order | None:
    """The resting order ``order`` would meet next on its book (priority order, live only)."""
    book = market.books[order.outcome]
    candidates = book.iter_asks(book.top - 1) if order.bid else book.iter_bids(1)
    return next((o for o in candidates if o.live_at(now)), None)


def next_lot_charge(market: Market, order: Order) -> int:
    """The maker's charge (signed) for one more lot traded the way ``order`` trades."""
    delta = maker_delta(market, order.intent, order.outcome, market.lot)
    return lmsr.trade_charge(market.liquidity, market.q, delta)


def is_crossed(market: Market, order: Order) -> bool:
    """Would the maker trade a lot with a resting ``order`` at its price or better?"""
    value = signed_value(order.intent, market.lot, order.own_price * market.tick)
    return next_lot_charge(market, order) <= value


def check_command_fills(
    state: State, events: tuple[ev.Event, ...], now: int, stats: dict[str, int]
) -> None:
    """Replay one PlaceOrder's events on ``state``, checking each taking fill before it."""
    accepted = events[0]
    assert isinstance(accepted, ev.OrderAccepted)
    taker_id = accepted.order_id
    for e in events:
        if isinstance(e, ev.MakerFill) and e.order_id == taker_id:
            order = state.orders[taker_id]
            if not order.resting:  # else the maker moved through it after it came to rest
                check_maker_fill(state.markets[e.market], order, e, now)
                stats["maker"] += 1
        elif isinstance(e, ev.BookFill) and e.taker_order == taker_id:
            check_book_fill(state.markets[e.market], state.orders[taker_id], e, now)
            stats["book"] += 1
        state.apply(e)


def check_maker_fill(market: Market, order: Order, e: ev.MakerFill, now: int) -> None:
    """The maker was no worse than the order's limit and than the best live resting order."""
    assert e.charge <= signed_value(order.intent, e.qty, order.own_price * market.tick)
    resting = first_live_opposite(market, order, now)
    if resting is not None:
        best = own_micros(market, order, resting.price)
        assert e.charge <= signed_value(order.intent, e.qty, best), (
            f"the maker filled {e.qty} for {e.charge} although order {resting.id} "
            f"rested at {best} per share"
        )


def check_book_fill(market: Market, order: Order, e: ev.BookFill, now: int) -> None:
    """The book fill met the best live order, and the maker's next lot was no better."""
    resting = first_live_opposite(market, order, now)
    assert resting is not None and resting.id == e.resting_order, "price-time priority"
    if not market.has_maker:
        return
    lot = market.lot
    book_value = lot * own_micros(market, order, e.price) // ONE
    maker = next_lot_charge(market, order)
    if pays_cash(order.intent):
        assert maker >= book_value - 1, (
            f"bought a lot from the book for {book_value} while the maker asked {maker}"
        )
    else:
        assert -maker <= book_value + 1, (
            f"sold a lot to the book for {book_value} while the maker paid {-maker}"
        )


def check_uncrossed(market: Market, now: int) -> None:
    assert next_cross(market, now) is None
    if not market.has_maker:
        return
    for book in market.books:
        for order in book.orders():
            if order.live_at(now):
                assert not is_crossed(market, order), f"order {order.id} crossed with the maker"


# -- the property test ------------------------------------------------------------------------
SIDES = st.sampled_from(c.Side)
TOKENS = st.sampled_from(c.Token)
QUARTERS = st.integers(1, 60).map(lambda k: k * ONE // 4)

RESTING = st.fixed_dictionaries(
    {
        "trader": st.integers(0, len(TRADERS) - 1),
        "meets_taker": st.sampled_from((True, True, False)),
        "outcome": st.integers(0, 3),
        "side": SIDES,
        "token": TOKENS,
        "offset": st.integers(-80_000, 20_000),
        "qty": st.one_of(QUARTERS, st.integers(1, 30).map(lambda k: k * 1_000)),
        "expires_s": st.one_of(st.none(), st.integers(1, 20)),
    }
)
TAKER = st.fixed_dictionaries(
    {
        "account": st.sampled_from(("taker", "taker", "r0")),
        "outcome": st.integers(0, 3),
        "side": SIDES,
        "token": TOKENS,
        "kind": st.sampled_from(("limit", "limit", "market_qty", "market_budget")),
        "offset": st.integers(-20_000, 120_000),
        "qty": st.integers(1, 120).map(lambda k: k * ONE // 4),
        "budget": st.integers(1, 40 * ONE),
        "tif": st.sampled_from((c.TimeInForce.GTC, c.TimeInForce.IOC, c.TimeInForce.FOK)),
        "self_trade": st.sampled_from(c.SelfTrade),
        "later_s": st.integers(0, 30),
    }
)
MARKETS = st.fixed_dictionaries(
    {
        "n": st.sampled_from((2, 2, 3, 4)),
        "liquidity": st.one_of(
            st.integers(20, 60).map(lambda k: k * ONE), st.integers(20, 200).map(lambda k: k * ONE)
        ),
        "tick": st.sampled_from((1_000, 10_000)),
        "fee_bps": st.sampled_from((0, 50)),
        "moves": st.lists(st.tuples(st.integers(0, 3), SIDES, QUARTERS), max_size=3),
    }
)


def place_resting(venue: Venue, spec: dict[str, Any], taker: dict[str, Any]) -> None:
    """A GTC/GTD order priced off the maker; one that crosses it trades on arrival first.

    Most are on the taker's book, on the side the taker meets: a sell of the taker's
    token or a buy of the other one when the taker buys, and the reverse.
    """
    market = venue.market
    account = TRADERS[spec["trader"]]
    side, token, qty = spec["side"], spec["token"], spec["qty"]
    outcome = spec["outcome"] % market.n
    if spec["meets_taker"]:
        outcome = taker["outcome"] % market.n
        flip = {c.Side.BUY: c.Side.SELL, c.Side.SELL: c.Side.BUY}
        side = flip[taker["side"]] if token is taker["token"] else taker["side"]
    offset = spec["offset"] if side is c.Side.BUY else -spec["offset"]
    if side is c.Side.SELL:
        qty = min(qty, held(market, account, outcome, token))
        if qty == 0:
            return
    gtd = spec["expires_s"] is not None
    venue.try_(
        c.PlaceOrder(
            account,
            "m",
            outcome,
            side,
            token,
            qty=qty,
            price=on_tick(venue.own_price(outcome, token) + offset, market.tick),
            tif=c.TimeInForce.GTD if gtd else c.TimeInForce.GTC,
            expires_at=venue.now + spec["expires_s"] * SECOND if gtd else None,
        )
    )


def taking_order(venue: Venue, spec: dict[str, Any]) -> c.PlaceOrder | None:
    market = venue.market
    outcome = spec["outcome"] % market.n
    side, token, qty = spec["side"], spec["token"], spec["qty"]
    if side is c.Side.SELL:
        qty = min(qty, held(market, spec["account"], outcome, token))
        if qty == 0:
            return None
    common: dict[str, Any] = {"self_trade": spec["self_trade"]}
    if spec["kind"] == "market_budget" and side is c.Side.BUY:
        budget = spec["budget"]
        return c.PlaceOrder(spec["account"], "m", outcome, side, token, budget=budget, **common)
    if spec["kind"] != "limit":
        return c.PlaceOrder(spec["account"], "m", outcome, side, token, qty=qty, **common)
    offset = spec["offset"] if side is c.Side.BUY else -spec["offset"]
    price = on_tick(venue.own_price(outcome, token) + offset, market.tick)
    return c.PlaceOrder(
        spec["account"], "m", outcome, side, token, qty, price, tif=spec["tif"], **common
    )


@settings(max_examples=150 * STRESS, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(MARKETS, st.lists(RESTING, min_size=1, max_size=20), TAKER)
def test_every_fill_is_the_best_available(
    spec: dict[str, Any], resting: list[dict[str, Any]], taker: dict[str, Any]
) -> None:
    venue = Venue(spec["n"], spec["liquidity"], spec["tick"], spec["fee_bps"])
    for outcome, side, qty in spec["moves"]:  # move the maker off its starting price
        venue.try_(c.PlaceOrder("mover", "m", outcome % spec["n"], side, qty=qty))
    for order in resting:
        place_resting(venue, order, taker)
    venue.now += taker["later_s"] * SECOND  # GTD orders may lapse without a Tick
    command = taking_order(venue, taker)
    if command is None:
        return
    before = dict(venue.fills)
    if venue.try_(command) is None:
        event(f"taking order refused: {venue.refused}")
        return
    assert fingerprint(venue.shadow) == fingerprint(venue.ex)
    maker, book = (venue.fills[k] - before[k] for k in ("maker", "book"))
    event(f"taking order: maker fills: {min(maker, 3)}, book fills: {min(book, 3)}")


LADDER = st.lists(
    st.fixed_dictionaries(
        {
            "outcome": st.integers(1, 3),
            "side": SIDES,
            "token": TOKENS,
            "away": st.integers(1, 60).map(lambda k: k * 1_000),
            "qty": QUARTERS,
            "lapses": st.booleans(),
        }
    ),
    min_size=1,
    max_size=12,
)


@settings(max_examples=60 * STRESS, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from((3, 4)),
    st.integers(10, 60).map(lambda k: k * ONE),
    st.sampled_from((1_000, 10_000)),
    LADDER,
    SIDES,
    TOKENS,
    st.integers(1, 160).map(lambda k: k * ONE // 4),
)
def test_trading_one_outcome_uncrosses_the_others(
    n: int,
    liquidity: int,
    tick: int,
    ladder: list[dict[str, Any]],
    side: c.Side,
    token: c.Token,
    qty: int,
) -> None:
    """Orders resting on the other outcomes, some lapsed but not yet removed, never stay
    crossed with the maker when a trade on outcome 0 moves their prices."""
    venue = Venue(n, liquidity, tick)
    for spec in ladder:  # a passive order on another outcome, ``away`` off the maker
        outcome = spec["outcome"] % (n - 1) + 1
        passive = -spec["away"] if spec["side"] is c.Side.BUY else spec["away"]
        price = on_tick(venue.own_price(outcome, spec["token"]) + passive, tick)
        order_qty = spec["qty"]
        if spec["side"] is c.Side.SELL:
            order_qty = min(order_qty, held(venue.market, "r1", outcome, spec["token"]))
        lapses = spec["lapses"]
        venue.try_(
            c.PlaceOrder(
                "r1",
                "m",
                outcome,
                spec["side"],
                spec["token"],
                qty=order_qty,
                price=price,
                tif=c.TimeInForce.GTD if lapses else c.TimeInForce.GTC,
                expires_at=venue.now + SECOND if lapses else None,
            )
        )
    venue.now += 2 * SECOND  # the lapsing orders are no longer live, but still rest
    if side is c.Side.SELL:
        qty = min(qty, held(venue.market, "taker", 0, token))
    venue.ok(c.PlaceOrder("taker", "m", 0, side, token, qty=qty))  # checks uncrossing
    venue.ok(c.Tick())  # removes the lapsed orders: nothing may be crossed behind them


# -- regressions ------------------------------------------------------------------------------
def test_a_lapsed_order_does_not_hide_a_crossed_live_order() -> None:
    """In a categorical market, buying one outcome lowers the others through their bids.

    The best bid on outcome 0 is a GTD order that has lapsed but awaits its Tick; the
    live bid just below it must still be filled against the maker once the maker's
    price falls through it, before and after the Tick removes the lapsed order.
    """
    venue = Venue(n=3, liquidity=50 * ONE)
    lapsing = c.PlaceOrder(
        "r1",
        "m",
        0,
        c.Side.BUY,
        qty=5 * ONE,
        price=300_000,
        tif=c.TimeInForce.GTD,
        expires_at=venue.now + SECOND,
    )
    venue.ok(lapsing)
    venue.ok(c.PlaceOrder("r2", "m", 0, c.Side.BUY, qty=5 * ONE, price=290_000))
    venue.now += 2 * SECOND
    venue.ok(c.PlaceOrder("taker", "m", 1, c.Side.BUY, qty=40 * ONE))
    assert lmsr.marginal_prices(venue.market.liquidity, venue.market.q)[0] < 290_000
    check_uncrossed(venue.market, venue.now)
    venue.ok(c.Tick())
    check_uncrossed(venue.market, venue.now)


def own_ask_above_the_maker() -> Venue:
    """A binary market whose maker is at 0.50 and whose only ask is the taker's, at 0.60."""
    venue = Venue(n=2, liquidity=50 * ONE)
    venue.ok(c.PlaceOrder("taker", "m", 0, c.Side.SELL, qty=5 * ONE, price=600_000))
    return venue


def test_cancel_incoming_still_takes_better_maker_lots() -> None:
    venue = own_ask_above_the_maker()
    buy = c.PlaceOrder(
        "taker",
        "m",
        0,
        c.Side.BUY,
        qty=2 * ONE,
        price=650_000,
        tif=c.TimeInForce.IOC,
        self_trade=c.SelfTrade.CANCEL_INCOMING,
    )
    events = venue.ok(buy)
    # The maker sells 2 shares below 0.53, far better than the own ask at 0.60.
    assert sum(e.qty for e in events if isinstance(e, ev.MakerFill)) == 2 * ONE


def test_cancel_resting_keeps_an_own_order_the_walk_never_reaches() -> None:
    venue = own_ask_above_the_maker()
    own_ask = next(iter(venue.ex.open_orders["taker"]))
    buy = c.PlaceOrder(
        "taker",
        "m",
        0,
        c.Side.BUY,
        qty=2 * ONE,
        price=650_000,
        tif=c.TimeInForce.IOC,
        self_trade=c.SelfTrade.CANCEL_RESTING,
    )
    events = venue.ok(buy)
    assert sum(e.qty for e in events if isinstance(e, ev.MakerFill)) == 2 * ONE
    assert own_ask in venue.ex.orders, "the own ask at 0.60 was cancelled for nothing"


# -- maker + book versus either alone -------------------------------------------------------
INTENTS = [
    (c.Side.BUY, c.Token.YES),
    (c.Side.SELL, c.Token.YES),
    (c.Side.BUY, c.Token.NO),
    (c.Side.SELL, c.Token.NO),
]


def walk_cost(
    n: int, side: c.Side, token: c.Token, maker: bool, book: bool, qty: int
) -> tuple[int, set[type[ev.Event]]]:
    """What the taker pays (negative: receives) for ``qty`` of outcome 0 by market order.

    The book, when there is one, holds three orders of 4 shares each at 2, 5 and 9 cents
    worse than the maker's starting price, on the side the taker meets.
    """
    venue = Venue(n=n, liquidity=50 * ONE if maker else 0)
    start = ONE // n if token is c.Token.YES else ONE - ONE // n  # the maker's price
    if book:
        worse = 1 if side is c.Side.BUY else -1
        opposite = c.Side.SELL if side is c.Side.BUY else c.Side.BUY
        for cents in (2, 5, 9):
            price = on_tick(start + worse * cents * 10_000, venue.market.tick)
            venue.ok(c.PlaceOrder("r1", "m", 0, opposite, token, qty=4 * ONE, price=price))
    cash = venue.ex.ledger.balance("cash:taker")
    shares = held(venue.market, "taker", 0, token)
    events = venue.ok(c.PlaceOrder("taker", "m", 0, side, token, qty=qty))
    traded = held(venue.market, "taker", 0, token) - shares
    assert traded == (qty if side is c.Side.BUY else -qty), "the order did not fill"
    return cash - venue.ex.ledger.balance("cash:taker"), {type(e) for e in events}


@pytest.mark.parametrize("n", [2, 3])
@pytest.mark.parametrize(("side", "token"), INTENTS)
def test_walking_maker_and_book_beats_either_alone(n: int, side: c.Side, token: c.Token) -> None:
    qty = 10 * ONE
    both, kinds = walk_cost(n, side, token, maker=True, book=True, qty=qty)
    book_only, _ = walk_cost(n, side, token, maker=False, book=True, qty=qty)
    maker_only, _ = walk_cost(n, side, token, maker=True, book=False, qty=qty)
    assert {ev.MakerFill, ev.BookFill} <= kinds, "the walk should use both venues"
    assert both < book_only
    assert both < maker_only
