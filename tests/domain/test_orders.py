"""Orders: priority, the four binary matches, escrow, time in force, market orders,
self-trade prevention, limits, halts and closes, fees, and best execution with the maker.

Every amount asserted here is worked out by hand from the prices in the test.
"""

from __future__ import annotations

import pytest

from augury.domain import commands as cmd
from augury.domain import events as ev
from augury.domain import ledger, lmsr, router
from augury.domain.commands import PlaceOrder, SelfTrade, Side, TimeInForce, Token
from augury.domain.exchange import Exchange
from augury.domain.fingerprint import fingerprint
from augury.domain.limits import Limits
from augury.domain.market import Status
from augury.domain.rejections import Code
from augury.domain.units import ONE

from .conftest import (
    CLOSE,
    T0,
    binary,
    cash,
    categorical,
    check,
    escrow,
    held,
    make_exchange,
    of_type,
    open_account,
    order_id,
    reject,
    run,
)

YES, NO = Token.YES, Token.NO
BUY, SELL = Side.BUY, Side.SELL


def world(limits: Limits | None = None, **market: object) -> Exchange:
    """Accounts a, b, c, d with 100 credits each, a creator with 1000, binary market m."""
    ex = make_exchange(limits)
    open_account(ex, "creator", 1_000 * ONE)
    for account in "abcd":
        open_account(ex, account, 100 * ONE)
    binary(ex, "m", **market)  # type: ignore[arg-type]
    return ex


def place(
    ex: Exchange,
    account: str,
    side: Side,
    price: int | None,
    qty: int | None = ONE,
    token: Token = YES,
    market: str = "m",
    outcome: int = 0,
    now: int = T0,
    **kw: object,
) -> tuple[ev.Event, ...]:
    order = PlaceOrder(account, market, outcome, side, token, qty=qty, price=price, **kw)  # type: ignore[arg-type]
    return run(ex, order, now)


def mint(ex: Exchange, account: str, qty: int, market: str = "m") -> None:
    run(ex, cmd.MintSets(account, market, qty))


def collateral(ex: Exchange, market: str = "m") -> int:
    return ex.ledger.balance(ledger.collateral(market))


def fills(events: tuple[ev.Event, ...]) -> list[tuple[int, int, int]]:
    """(resting order, YES price in ticks, qty) of every book fill, in order."""
    return [(e.resting_order, e.price, e.qty) for e in of_type(events, ev.BookFill)]


def closed(events: tuple[ev.Event, ...]) -> list[tuple[int, str, int]]:
    return [(e.order_id, e.reason, e.released) for e in of_type(events, ev.OrderClosed)]


def resting_ids(ex: Exchange, market: str = "m", outcome: int = 0) -> list[int]:
    return [o.id for o in ex.markets[market].books[outcome].orders()]


# -- priority and the trade price -----------------------------------------------------------
def test_better_price_first_then_arrival_order() -> None:
    ex = world()
    for account in "bcd":
        mint(ex, account, ONE)
    first = order_id(place(ex, "b", SELL, 600_000))
    second = order_id(place(ex, "c", SELL, 600_000))
    better = order_id(place(ex, "d", SELL, 590_000))
    events = place(ex, "a", BUY, 600_000, qty=2 * ONE)
    assert fills(events) == [(better, 590, ONE), (first, 600, ONE)]
    assert cash(ex, "a") == 100 * ONE - 590_000 - 600_000
    assert held(ex, "m", "a") == [2 * ONE, 0]
    assert cash(ex, "d") == 99 * ONE + 590_000
    assert cash(ex, "b") == 99 * ONE + 600_000
    assert cash(ex, "c") == 99 * ONE
    assert resting_ids(ex) == [second]
    assert ex.markets["m"].books[0].levels(False, 5) == [(600, ONE, 1)]


def test_a_partly_filled_order_keeps_its_place_in_the_queue() -> None:
    ex = world()
    mint(ex, "b", 2 * ONE)
    mint(ex, "c", ONE)
    first = order_id(place(ex, "b", SELL, 500_000))
    second = order_id(place(ex, "c", SELL, 500_000))
    assert fills(place(ex, "a", BUY, 500_000, qty=400_000)) == [(first, 500, 400_000)]
    third = order_id(place(ex, "b", SELL, 500_000))
    assert resting_ids(ex) == [first, second, third]
    events = place(ex, "d", BUY, 500_000, qty=2 * ONE)
    assert fills(events) == [(first, 500, 600_000), (second, 500, ONE), (third, 500, 400_000)]
    assert ex.orders[third].remaining == 600_000


def test_the_resting_price_is_the_trade_price_and_the_buyer_gets_the_difference_back() -> None:
    ex = world()
    mint(ex, "b", ONE)
    ask = order_id(place(ex, "b", SELL, 400_000))
    events = place(ex, "a", BUY, 700_000)
    accepted = of_type(events, ev.OrderAccepted)[0]
    assert accepted.escrow == 700_000
    assert fills(events) == [(ask, 400, ONE)]
    fill = of_type(events, ev.BookFill)[0]
    assert fill.taker_escrow_used == 700_000
    assert ("cash:a", 300_000) in fill.postings  # the improvement goes straight back
    assert cash(ex, "a") == 100 * ONE - 400_000
    assert escrow(ex, "a") == 0
    assert cash(ex, "b") == 99 * ONE + 400_000


def test_a_seller_hitting_a_higher_bid_gets_the_bid() -> None:
    ex = world()
    mint(ex, "b", ONE)
    bid = order_id(place(ex, "a", BUY, 700_000))
    assert fills(place(ex, "b", SELL, 400_000)) == [(bid, 700, ONE)]
    assert cash(ex, "b") == 99 * ONE + 700_000
    assert cash(ex, "a") == 100 * ONE - 700_000
    assert held(ex, "m", "a") == [ONE, 0]


# -- the four binary matches ------------------------------------------------------------------
# Each ends in the same place: a holds 1 YES having paid 0.6, b holds 1 NO having paid
# 0.4, and the market holds exactly one credit of collateral.
MATCHES = {
    # name: (a mints, b mints, a's order, b's order, change of collateral by the fill)
    "buy_yes_vs_sell_yes_transfer": (0, 1, (BUY, YES, 600_000), (SELL, YES, 600_000), 0),
    "buy_yes_vs_buy_no_mint": (0, 0, (BUY, YES, 600_000), (BUY, NO, 400_000), ONE),
    "sell_no_vs_sell_yes_burn": (1, 1, (SELL, NO, 400_000), (SELL, YES, 600_000), -ONE),
    "sell_no_vs_buy_no_transfer": (1, 0, (SELL, NO, 400_000), (BUY, NO, 400_000), 0),
}


@pytest.mark.parametrize("a_rests", [True, False], ids=["a_rests", "b_rests"])
@pytest.mark.parametrize("name", sorted(MATCHES))
def test_the_four_binary_matches(name: str, a_rests: bool) -> None:
    a_mints, b_mints, a_order, b_order, collateral_change = MATCHES[name]
    ex = world()
    if a_mints:
        mint(ex, "a", ONE)
    if b_mints:
        mint(ex, "b", ONE)
    pool_before = collateral(ex)
    first, second = (
        (("a", a_order), ("b", b_order)) if a_rests else (("b", b_order), ("a", a_order))
    )
    resting = order_id(place(ex, first[0], first[1][0], first[1][2], token=first[1][1]))
    events = place(ex, second[0], second[1][0], second[1][2], token=second[1][1])
    assert fills(events) == [(resting, 600, ONE)]  # YES ticks, whichever side rests
    fill = of_type(events, ev.BookFill)[0]
    assert sum(amount for account, amount in fill.postings if account == "collateral:m") == (
        collateral_change
    )
    assert collateral(ex) == pool_before + collateral_change == ONE
    assert cash(ex, "a") == 100 * ONE - 600_000
    assert cash(ex, "b") == 100 * ONE - 400_000
    assert held(ex, "m", "a") == [ONE, 0]
    assert held(ex, "m", "b") == [0, ONE]
    assert ex.markets["m"].contrib == {"a": 600_000, "b": 400_000}
    assert escrow(ex, "a") == escrow(ex, "b") == 0
    assert not ex.orders


def test_yes_on_outcome_one_is_no_on_outcome_zero_in_a_binary_market() -> None:
    one, zero = world(), world()
    for ex, outcome, token in ((one, 1, YES), (zero, 0, NO)):
        mint(ex, "b", 2 * ONE)
        place(ex, "a", BUY, 350_000, outcome=outcome, token=token)  # rests at YES 0.65
        place(ex, "b", SELL, 300_000, outcome=outcome, token=token)  # fills the bid at 0.35
        place(ex, "b", SELL, 300_000, outcome=outcome, token=token)  # rests
    assert fingerprint(one) == fingerprint(zero)
    assert held(one, "m", "a") == [0, ONE]
    assert cash(one, "b") == 98 * ONE + 350_000
    assert one.markets["m"].books[0].levels(True, 5) == [(700, ONE, 1)]


# -- escrow ----------------------------------------------------------------------------------------
def test_escrow_is_reserved_on_place_and_released_on_cancel() -> None:
    ex = world()
    yes = order_id(place(ex, "a", BUY, 370_000, qty=2_500_000))
    assert escrow(ex, "a") == 925_000  # 2.5 shares at 0.37
    no = order_id(place(ex, "a", BUY, 250_000, qty=ONE, token=NO))
    assert escrow(ex, "a") == 925_000 + 250_000  # a NO buy reserves its NO price
    assert cash(ex, "a") == 100 * ONE - 1_175_000
    mint(ex, "a", 3 * ONE)
    sell = order_id(place(ex, "a", SELL, 900_000, qty=2 * ONE))
    assert held(ex, "m", "a") == [ONE, 3 * ONE]  # sells reserve shares, not credits
    assert escrow(ex, "a") == 1_175_000
    events = run(ex, cmd.CancelOrder("a", yes))
    assert closed(events) == [(yes, "cancelled", 925_000)]
    assert escrow(ex, "a") == 250_000
    run(ex, cmd.CancelOrder("a", no))
    run(ex, cmd.CancelOrder("a", sell))
    assert held(ex, "m", "a") == [3 * ONE, 3 * ONE]
    assert escrow(ex, "a") == 0
    assert cash(ex, "a") == 97 * ONE


# -- time in force ------------------------------------------------------------------------------
def test_gtc_rests() -> None:
    ex = world()
    events = place(ex, "a", BUY, 420_000, qty=3 * ONE)
    oid = order_id(events)
    assert [type(e) for e in events] == [ev.OrderAccepted, ev.OrderRested]
    assert resting_ids(ex) == [oid]
    assert ex.markets["m"].books[0].levels(True, 5) == [(420, 3 * ONE, 1)]
    assert ex.open_orders["a"].keys() == {oid}


def test_ioc_fills_what_it_can_and_drops_the_rest() -> None:
    ex = world()
    mint(ex, "b", ONE)
    ask = order_id(place(ex, "b", SELL, 500_000))
    events = place(ex, "a", BUY, 500_000, qty=3 * ONE, tif=TimeInForce.IOC)
    oid = order_id(events)
    assert fills(events) == [(ask, 500, ONE)]
    assert closed(events) == [(ask, "filled", 0), (oid, "filled", ONE)]
    assert cash(ex, "a") == 100 * ONE - 500_000
    assert not ex.orders and resting_ids(ex) == []
    # with nothing to take it closes unfilled, giving everything back
    events = place(ex, "a", BUY, 500_000, qty=3 * ONE, tif=TimeInForce.IOC)
    assert closed(events) == [(order_id(events), "unfilled", 1_500_000)]
    assert cash(ex, "a") == 100 * ONE - 500_000


def test_fok_fills_completely_or_is_refused_without_effect() -> None:
    ex = world()
    mint(ex, "b", 2 * ONE)
    cheap = order_id(place(ex, "b", SELL, 500_000))
    dear = order_id(place(ex, "b", SELL, 550_000))
    fok = PlaceOrder("a", "m", 0, BUY, qty=3 * ONE, price=550_000, tif=TimeInForce.FOK)
    assert reject(ex, fok) == Code.FOK_NOT_FILLABLE
    assert resting_ids(ex) == [cheap, dear]
    events = place(ex, "a", BUY, 550_000, qty=2 * ONE, tif=TimeInForce.FOK)
    assert fills(events) == [(cheap, 500, ONE), (dear, 550, ONE)]
    assert cash(ex, "a") == 100 * ONE - 1_050_000
    assert held(ex, "m", "a") == [2 * ONE, 0]


def test_post_only_is_refused_when_it_would_cross_and_rests_when_not() -> None:
    ex = world()
    mint(ex, "b", ONE)
    place(ex, "b", SELL, 600_000)
    crossing = PlaceOrder("a", "m", 0, BUY, qty=ONE, price=600_000, post_only=True)
    assert reject(ex, crossing) == Code.POST_ONLY_WOULD_CROSS
    events = place(ex, "a", BUY, 590_000, post_only=True)
    assert [type(e) for e in events] == [ev.OrderAccepted, ev.OrderRested]
    assert ex.markets["m"].books[0].levels(True, 5) == [(590, ONE, 1)]


def test_gtd_expires_on_the_tick_at_its_time() -> None:
    ex = world()
    oid = order_id(place(ex, "a", BUY, 500_000, tif=TimeInForce.GTD, expires_at=T0 + 10))
    assert ex.next_timer() == T0 + 10
    assert run(ex, cmd.Tick(), T0 + 9) == ()
    assert escrow(ex, "a") == 500_000
    events = run(ex, cmd.Tick(), T0 + 10)
    assert closed(events) == [(oid, "expired", 500_000)]
    assert cash(ex, "a") == 100 * ONE and escrow(ex, "a") == 0
    assert resting_ids(ex) == []
    assert ex.next_timer() == CLOSE


def test_an_expired_order_awaiting_its_tick_never_fills() -> None:
    ex = world()
    mint(ex, "b", ONE)
    ask = order_id(place(ex, "b", SELL, 500_000, tif=TimeInForce.GTD, expires_at=T0 + 10))
    events = place(ex, "a", BUY, 500_000, now=T0 + 10)
    bid = order_id(events)
    assert fills(events) == []
    assert closed(events) == [(ask, "expired", ONE)]  # the incoming order retires it
    assert [type(e) for e in events][-1] is ev.OrderRested
    assert held(ex, "m", "b") == [ONE, ONE]
    assert resting_ids(ex) == [bid]
    assert run(ex, cmd.Tick(), T0 + 11) == ()  # nothing left to expire


def test_next_timer_sees_a_live_expiry_behind_a_cancelled_one() -> None:
    ex = world()
    first = order_id(place(ex, "a", BUY, 100_000, tif=TimeInForce.GTD, expires_at=T0 + 10))
    second = order_id(place(ex, "a", BUY, 100_000, tif=TimeInForce.GTD, expires_at=T0 + 20))
    run(ex, cmd.CancelOrder("a", first))
    timer = ex.next_timer()
    assert timer is not None and timer <= T0 + 20
    # ticking at each announced time reaches the live expiry before the close
    for _ in range(3):
        timer = ex.next_timer()
        assert timer is not None
        events = run(ex, cmd.Tick(), timer)
        if events:
            break
    assert closed(events) == [(second, "expired", 100_000)]
    assert timer == T0 + 20


# -- market orders --------------------------------------------------------------------------------
def _three_asks(ex: Exchange) -> list[int]:
    mint(ex, "b", 3 * ONE)
    return [order_id(place(ex, "b", SELL, price)) for price in (400_000, 450_000, 500_000)]


def test_market_buy_by_qty_walks_the_book_and_refunds_its_worst_case_escrow() -> None:
    ex = world()
    asks = _three_asks(ex)
    events = place(ex, "a", BUY, None, qty=2 * ONE)
    oid = order_id(events)
    assert of_type(events, ev.OrderAccepted)[0].escrow == 1_998_000  # 2 at 0.999
    assert fills(events) == [(asks[0], 400, ONE), (asks[1], 450, ONE)]
    assert closed(events)[-1] == (oid, "filled", 0)
    assert cash(ex, "a") == 100 * ONE - 850_000
    assert escrow(ex, "a") == 0
    assert resting_ids(ex) == [asks[2]]


def test_market_sell_by_qty_walks_the_bids() -> None:
    ex = world()
    mint(ex, "a", 2 * ONE)
    high = order_id(place(ex, "b", BUY, 600_000))
    low = order_id(place(ex, "c", BUY, 550_000))
    events = place(ex, "a", SELL, None, qty=1_500_000)
    assert fills(events) == [(high, 600, ONE), (low, 550, 500_000)]
    assert cash(ex, "a") == 98 * ONE + 600_000 + 275_000
    assert held(ex, "m", "a") == [500_000, 2 * ONE]


def test_market_buy_by_budget_spends_exactly_what_the_book_offers() -> None:
    ex = world()
    asks = _three_asks(ex)
    events = place(ex, "a", BUY, None, qty=None, budget=ONE)
    # 1 at 0.40 + 1 at 0.45 + 0.3 at 0.50 = 1.00 exactly
    assert fills(events) == [(asks[0], 400, ONE), (asks[1], 450, ONE), (asks[2], 500, 300_000)]
    assert cash(ex, "a") == 99 * ONE
    assert held(ex, "m", "a") == [2_300_000, 0]
    assert closed(events)[-1] == (order_id(events), "filled", 0)


def test_market_buy_by_budget_includes_fees() -> None:
    ex = world(fee_bps=100)
    asks = _three_asks(ex)
    events = place(ex, "a", BUY, None, qty=None, budget=ONE)
    # 1 at 0.40 (fee 0.004), 1 at 0.45 (fee 0.0045), then 0.28 at 0.50 = 0.14 (fee 0.0014):
    # 0.9999 spent; one more lot (0.0005 + its fee) would not fit in the 0.0001 left.
    assert fills(events) == [(asks[0], 400, ONE), (asks[1], 450, ONE), (asks[2], 500, 280_000)]
    assert [e.fee for e in of_type(events, ev.BookFill)] == [4_000, 4_500, 1_400]
    assert ex.ledger.balance(ledger.FEES) == 9_900
    assert closed(events)[-1] == (order_id(events), "filled", 100)
    assert cash(ex, "a") == 100 * ONE - 999_900
    assert cash(ex, "b") == 97 * ONE + 400_000 + 450_000 + 140_000  # makers pay no fee


def test_market_buy_by_budget_from_the_maker_never_exceeds_the_budget() -> None:
    for fee_bps in (0, 250):
        ex = world(liquidity=50 * ONE, fee_bps=fee_bps)
        events = place(ex, "a", BUY, None, qty=None, budget=7 * ONE)
        (fill,) = of_type(events, ev.MakerFill)
        spent = 100 * ONE - cash(ex, "a")
        assert spent == fill.charge + fill.fee <= 7 * ONE
        assert fill.charge == lmsr.buy_charge(50 * ONE, [0, 0], 0, fill.qty)
        assert fill.fee == -(-fill.charge * fee_bps // 10_000)
        # one more lot would not have fitted
        more = lmsr.buy_charge(50 * ONE, [0, 0], 0, fill.qty + 1_000)
        assert more + -(-more * fee_bps // 10_000) > 7 * ONE


def test_categorical_budget_buy_of_no_spends_its_budget_on_the_maker() -> None:
    ex = make_exchange()
    open_account(ex, "creator", 1_000 * ONE)
    open_account(ex, "a", 100 * ONE)
    categorical(ex, "c", liquidity=100 * ONE)
    events = place(ex, "a", BUY, None, qty=None, budget=10 * ONE, token=NO, market="c")
    (fill,) = of_type(events, ev.MakerFill)
    # NO on A costs about 2/3 a share here: 10 credits buy about 14.6 shares, not 10
    assert fill.qty > 14 * ONE
    more = lmsr.buy_no_charge(100 * ONE, [0, 0, 0], 0, fill.qty + 1_000)
    assert fill.charge <= 10 * ONE < more


# -- self-trade prevention ------------------------------------------------------------------------
def test_self_trade_cancel_resting_cancels_the_own_order_and_trades_behind_it() -> None:
    ex = world()
    mint(ex, "a", 2 * ONE)
    mint(ex, "b", ONE)
    own = order_id(place(ex, "a", SELL, 500_000))
    other = order_id(place(ex, "b", SELL, 500_000))
    events = place(ex, "a", BUY, 500_000)
    assert closed(events)[0] == (own, "self_trade", ONE)
    assert fills(events) == [(other, 500, ONE)]
    assert held(ex, "m", "a") == [3 * ONE, 2 * ONE]
    assert cash(ex, "a") == 98 * ONE - 500_000
    assert cash(ex, "b") == 99 * ONE + 500_000
    assert not ex.orders


def test_self_trade_cancel_incoming_stops_the_order_and_keeps_the_resting_one() -> None:
    ex = world()
    mint(ex, "a", ONE)
    mint(ex, "b", ONE)
    other = order_id(place(ex, "b", SELL, 490_000))
    own = order_id(place(ex, "a", SELL, 500_000))
    events = place(ex, "a", BUY, 500_000, qty=2 * ONE, self_trade=SelfTrade.CANCEL_INCOMING)
    oid = order_id(events)
    assert fills(events) == [(other, 490, ONE)]
    assert closed(events)[-1] == (oid, "self_trade", 500_000)
    assert resting_ids(ex) == [own]
    assert cash(ex, "a") == 99 * ONE - 490_000
    assert held(ex, "m", "a") == [ONE, ONE]


def test_self_trade_allow_trades_with_oneself() -> None:
    ex = world()
    mint(ex, "a", ONE)
    own = order_id(place(ex, "a", SELL, 500_000))
    events = place(ex, "a", BUY, 500_000, self_trade=SelfTrade.ALLOW)
    assert fills(events) == [(own, 500, ONE)]
    fill = of_type(events, ev.BookFill)[0]
    assert ex.markets["m"].contrib == {"a": ONE}
    assert fill.taker_order == order_id(events)
    assert cash(ex, "a") == 99 * ONE
    assert held(ex, "m", "a") == [ONE, ONE]


# -- idempotency and limits ------------------------------------------------------------------------
def test_a_duplicate_client_order_id_is_refused_and_the_first_order_stands() -> None:
    ex = world()
    first = order_id(place(ex, "a", BUY, 300_000, client_order_id="k-1"))
    duplicate = PlaceOrder("a", "m", 0, BUY, qty=ONE, price=300_000, client_order_id="k-1")
    assert reject(ex, duplicate) == Code.DUPLICATE_CLIENT_ORDER_ID
    assert ex.client_ids[("a", "k-1")] == first
    assert resting_ids(ex) == [first]
    assert escrow(ex, "a") == 300_000
    second = order_id(place(ex, "a", BUY, 300_000, client_order_id="k-2"))
    assert second == first + 1


def test_open_orders_limit() -> None:
    ex = world(Limits(open_orders_per_account=2))
    mint(ex, "b", ONE)
    one = order_id(place(ex, "a", BUY, 300_000))
    place(ex, "a", BUY, 310_000)
    third = PlaceOrder("a", "m", 0, BUY, qty=ONE, price=320_000)
    assert reject(ex, third) == Code.TOO_MANY_OPEN_ORDERS
    place(ex, "b", SELL, 310_000)  # fills a's second order: one slot frees up
    place(ex, "a", BUY, 320_000)
    assert reject(ex, third) == Code.TOO_MANY_OPEN_ORDERS
    run(ex, cmd.CancelOrder("a", one))
    place(ex, "a", BUY, 330_000)
    assert len(ex.open_orders["a"]) == 2


def test_cancel_all_per_market_and_everywhere() -> None:
    ex = world()
    binary(ex, "m2")
    a1 = order_id(place(ex, "a", BUY, 300_000))
    a2 = order_id(place(ex, "a", BUY, 200_000, token=NO))
    a3 = order_id(place(ex, "a", BUY, 400_000, market="m2"))
    b1 = order_id(place(ex, "b", BUY, 300_000))
    events = run(ex, cmd.CancelAll("a", "m"))
    assert sorted(closed(events)) == [(a1, "cancelled", 300_000), (a2, "cancelled", 200_000)]
    assert ex.open_orders["a"].keys() == {a3}
    assert escrow(ex, "a") == 400_000
    events = run(ex, cmd.CancelAll("a"))
    assert closed(events) == [(a3, "cancelled", 400_000)]
    assert cash(ex, "a") == 100 * ONE and escrow(ex, "a") == 0
    assert resting_ids(ex) == [b1]
    assert run(ex, cmd.CancelAll("a")) == ()  # nothing left: accepted, no events


# -- halts and closes ------------------------------------------------------------------------------
def test_a_halted_market_refuses_orders_but_cancels_work_until_resumed() -> None:
    ex = world()
    mint(ex, "b", 2 * ONE)
    ask = order_id(place(ex, "b", SELL, 500_000))
    bid = order_id(place(ex, "a", BUY, 400_000))
    run(ex, cmd.HaltMarket("m", "source outage"))
    assert ex.markets["m"].status is Status.HALTED
    assert reject(ex, PlaceOrder("a", "m", 0, BUY, qty=ONE, price=500_000)) == (Code.MARKET_HALTED)
    assert reject(ex, cmd.MintSets("a", "m", ONE)) == Code.MARKET_HALTED
    assert closed(run(ex, cmd.CancelOrder("a", bid))) == [(bid, "cancelled", 400_000)]
    run(ex, cmd.RedeemSets("b", "m", ONE))  # taking collateral out still works
    assert resting_ids(ex) == [ask]  # resting orders survive a halt
    run(ex, cmd.ResumeMarket("m", "source back"))
    assert fills(place(ex, "a", BUY, 500_000)) == [(ask, 500, ONE)]


def test_reaching_the_close_time_refuses_orders_and_tick_closes_the_market() -> None:
    ex = world()
    mint(ex, "b", ONE)
    ask = order_id(place(ex, "b", SELL, 600_000))
    bid = order_id(place(ex, "a", BUY, 400_000))
    order = PlaceOrder("c", "m", 0, BUY, qty=ONE, price=600_000)
    assert reject(ex, order, CLOSE) == Code.MARKET_CLOSED
    assert run(ex, cmd.Tick(), CLOSE - 1) == ()
    events = run(ex, cmd.Tick(), CLOSE)
    assert sorted(closed(events)) == [(ask, "market_closed", ONE), (bid, "market_closed", 400_000)]
    assert isinstance(events[-1], ev.MarketStatusChanged) and events[-1].status == "closed"
    assert ex.markets["m"].status is Status.CLOSED
    assert cash(ex, "a") == 100 * ONE and held(ex, "m", "b") == [ONE, ONE]
    assert reject(ex, order, CLOSE + 1) == Code.MARKET_CLOSED
    assert run(ex, cmd.Tick(), CLOSE + 1) == ()
    assert ex.next_timer() is None


def test_close_market_cancels_resting_orders() -> None:
    ex = world()
    bid = order_id(place(ex, "a", BUY, 400_000))
    events = run(ex, cmd.CloseMarket("m", "early"))
    assert closed(events) == [(bid, "market_closed", 400_000)]
    assert events[-1] == ev.MarketStatusChanged("m", "closed", "early")


# -- fees ------------------------------------------------------------------------------------------
def test_the_taker_pays_the_fee_into_the_fees_account() -> None:
    ex = world(fee_bps=100)  # 1%
    mint(ex, "b", 2 * ONE)
    place(ex, "b", SELL, 500_000)
    events = place(ex, "a", BUY, 600_000)
    assert of_type(events, ev.OrderAccepted)[0].escrow == 606_000  # price plus 1%
    assert [e.fee for e in of_type(events, ev.BookFill)] == [5_000]  # 1% of the trade price
    assert cash(ex, "a") == 100 * ONE - 505_000
    assert cash(ex, "b") == 98 * ONE + 500_000  # the resting side pays nothing
    # a selling taker pays out of its proceeds
    place(ex, "c", BUY, 700_000)
    place(ex, "b", SELL, 300_000)
    assert cash(ex, "b") == 98 * ONE + 500_000 + 700_000 - 7_000
    assert cash(ex, "c") == 100 * ONE - 700_000
    assert ex.ledger.balance(ledger.FEES) == 12_000


def test_fees_round_up_on_the_order_total_not_on_each_fill() -> None:
    ex = world(fee_bps=1)  # 0.01%: 0.05 micro on each lot at 0.5
    mint(ex, "b", ONE)
    for _ in range(3):
        place(ex, "b", SELL, 500_000, qty=1_000)
    events = place(ex, "a", BUY, 500_000, qty=3_000)
    assert of_type(events, ev.OrderAccepted)[0].escrow == 1_500 + 1
    assert [e.fee for e in of_type(events, ev.BookFill)] == [1, 0, 0]
    assert ex.ledger.balance(ledger.FEES) == 1
    assert cash(ex, "a") == 100 * ONE - 1_501


# -- best execution with the maker -----------------------------------------------------------------
B = 100 * ONE
LOT = 1_000


def _lot_cost(q: list[int]) -> int:
    """The exact (rounded-up) cost of the maker's next YES lot at state q."""
    return lmsr.buy_charge(B, q, 0, LOT)


def test_a_buy_takes_the_maker_while_cheaper_than_the_book_then_the_book_then_the_maker() -> None:
    ex = world(liquidity=B)
    assert cash(ex, "creator") == 1_000 * ONE - lmsr.subsidy(B, 2)
    mint(ex, "b", 10 * ONE)
    ask = order_id(place(ex, "b", SELL, 550_000, qty=10 * ONE))
    events = place(ex, "a", BUY, 600_000, qty=60 * ONE)
    oid = order_id(events)
    kinds = [type(e) for e in events if isinstance(e, ev.BookFill | ev.MakerFill)]
    assert kinds == [ev.MakerFill, ev.BookFill, ev.MakerFill]
    first, second = of_type(events, ev.MakerFill)
    # 1) the maker, lot by lot, while each lot costs no more than the 0.55 ask
    x1 = lmsr.max_qty_below_average(B, [0, 0], 0, 550_000, LOT, "buy")
    assert first.qty == x1 > 0
    assert first.charge == lmsr.buy_charge(B, [0, 0], 0, x1) <= x1 * 55 // 100
    assert _lot_cost([x1, 0]) > 550  # the next lot would cost more than the book
    # 2) the book's 10 shares at 0.55
    assert fills(events) == [(ask, 550, 10 * ONE)]
    # 3) the maker again, up to the order's 0.60 limit
    x2 = lmsr.max_qty_below_average(B, [x1, 0], 0, 600_000, LOT, "buy")
    assert second.qty == x2 > 0
    assert second.charge == lmsr.buy_charge(B, [x1, 0], 0, x2) <= x2 * 60 // 100
    assert _lot_cost([x1 + x2, 0]) > 600
    # the rest rests at 0.60, and the maker is not crossed with it
    rest = 60 * ONE - x1 - 10 * ONE - x2
    assert ex.orders[oid].remaining == rest > 0
    assert ex.markets["m"].books[0].levels(True, 5) == [(600, rest, 1)]
    assert router.next_cross(ex.markets["m"], T0) is None
    assert ex.markets["m"].q == [x1 + x2, 0]
    assert cash(ex, "a") == 100 * ONE - first.charge - 5_500_000 - second.charge - rest * 6 // 10
    assert escrow(ex, "a") == rest * 6 // 10
    assert held(ex, "m", "a") == [x1 + 10 * ONE + x2, 0]


def test_a_sell_takes_the_better_of_the_book_bid_and_the_maker() -> None:
    ex = world(liquidity=B)
    mint(ex, "a", 30 * ONE)
    bid = order_id(place(ex, "b", BUY, 450_000, qty=5 * ONE))
    events = place(ex, "a", SELL, 400_000, qty=30 * ONE, tif=TimeInForce.IOC)
    first, second = of_type(events, ev.MakerFill)
    x1 = lmsr.max_qty_below_average(B, [0, 0], 0, 450_000, LOT, "sell")
    assert first.qty == x1 and first.charge == lmsr.sell_charge(B, [0, 0], 0, x1)
    assert -first.charge >= x1 * 45 // 100  # the maker paid at least the bid
    assert fills(events) == [(bid, 450, 5 * ONE)]
    # the maker would take more down to 0.40; the order has only this much left
    x2 = 30 * ONE - x1 - 5 * ONE
    assert 0 < x2 < lmsr.max_qty_below_average(B, [-x1, 0], 0, 400_000, LOT, "sell")
    assert second.qty == x2 and second.charge == lmsr.sell_charge(B, [-x1, 0], 0, x2)
    assert -second.charge >= x2 * 4 // 10
    assert closed(events) == [(bid, "filled", 0), (order_id(events), "filled", 0)]
    assert held(ex, "m", "a") == [0, 30 * ONE]
    assert cash(ex, "a") == 70 * ONE - first.charge + 2_250_000 - second.charge


def test_buying_yes_on_one_outcome_fills_a_bid_the_maker_passes_on_another() -> None:
    ex = make_exchange()
    open_account(ex, "creator", 1_000 * ONE)
    open_account(ex, "a", 1_000 * ONE)
    open_account(ex, "b", 100 * ONE)
    categorical(ex, "c", liquidity=B)
    market = ex.markets["c"]
    assert lmsr.marginal_prices(B, market.q) == (333_334, 333_333, 333_333)
    bid = order_id(place(ex, "b", BUY, 300_000, qty=ONE, market="c", outcome=1))
    events = place(ex, "a", BUY, 900_000, qty=100 * ONE, market="c", outcome=0)
    taken, uncrossed = of_type(events, ev.MakerFill)
    assert taken.qty == 100 * ONE and taken.delta == (100 * ONE, 0, 0)
    assert uncrossed.order_id == bid and uncrossed.qty == ONE
    assert uncrossed.delta == (0, ONE, 0)
    q_before = [100 * ONE, 0, 0]
    assert uncrossed.charge == lmsr.buy_charge(B, q_before, 1, ONE)
    assert uncrossed.value == 300_000  # the resting order pays its own limit
    assert uncrossed.charge <= uncrossed.value and uncrossed.fee == 0
    assert closed(events)[-1] == (bid, "filled", 0)
    prices = lmsr.marginal_prices(B, market.q)
    assert prices[0] > 333_334 and prices[1] < 300_000 and prices[2] < 300_000
    assert router.next_cross(market, T0) is None
    assert held(ex, "c", "b")[1] == ONE and cash(ex, "b") == 100 * ONE - 300_000


def test_an_expired_best_bid_does_not_hide_a_crossed_live_bid_behind_it() -> None:
    """Regression: next_cross used to look only at the best level of each side."""
    ex = make_exchange()
    open_account(ex, "creator", 1_000 * ONE)
    open_account(ex, "a", 1_000 * ONE)
    open_account(ex, "b", 100 * ONE)
    open_account(ex, "c", 100 * ONE)
    categorical(ex, "c", liquidity=B)
    stale = order_id(
        place(ex, "b", BUY, 300_000, market="c", outcome=1, tif=TimeInForce.GTD, expires_at=T0 + 10)
    )
    live = order_id(place(ex, "c", BUY, 280_000, market="c", outcome=1))
    events = place(ex, "a", BUY, 900_000, qty=100 * ONE, market="c", outcome=0, now=T0 + 20)
    assert [e.order_id for e in of_type(events, ev.MakerFill)][-1] == live
    assert router.next_cross(ex.markets["c"], T0 + 20) is None
    events = run(ex, cmd.Tick(), T0 + 21)
    assert closed(events) == [(stale, "expired", 300_000)]
    check(ex, T0 + 21)
