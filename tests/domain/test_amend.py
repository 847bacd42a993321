"""Amending a resting order: smaller in place (same id, same place in the queue), or
closed and replaced in one command that is refused whole when the replacement would be.

Amounts are worked out by hand from the prices in each test (tick 1,000 micros, no fee).
"""

from __future__ import annotations

from augury.domain import commands as cmd
from augury.domain import events as ev
from augury.domain.commands import Side, TimeInForce, Token
from augury.domain.rejections import Code
from augury.domain.units import ONE

from .conftest import T0, cash, categorical, escrow, held, of_type, order_id, reject, run
from .test_orders import closed, fills, mint, place, resting_ids, world

BUY, SELL = Side.BUY, Side.SELL


def amend(account: str, oid: int, price: int, qty: int, coid: str | None = None) -> cmd.AmendOrder:
    return cmd.AmendOrder(account, oid, price, qty, coid)


def test_a_smaller_size_at_the_same_price_keeps_the_id_and_the_queue_place() -> None:
    ex = world()
    first = order_id(place(ex, "a", BUY, 400_000, qty=3 * ONE))
    second = order_id(place(ex, "b", BUY, 400_000, qty=ONE))
    assert escrow(ex, "a") == 1_200_000
    events = run(ex, amend("a", first, 400_000, ONE))
    cash_key, escrow_key = ex.ledger_keys("a")
    postings = ((escrow_key, -800_000), (cash_key, 800_000))
    assert events == (ev.OrderReduced(first, ONE, 800_000, postings, ()),)
    assert escrow(ex, "a") == 400_000 and cash(ex, "a") == 100 * ONE - 400_000
    assert resting_ids(ex) == [first, second]  # still first in the queue
    order = ex.orders[first]
    assert (order.qty, order.remaining, order.filled) == (ONE, ONE, 0)
    mint(ex, "c", ONE)
    assert fills(place(ex, "c", SELL, 400_000, qty=ONE)) == [(first, 400, ONE)]
    assert first not in ex.orders and escrow(ex, "a") == 0


def test_reducing_a_partly_filled_order_lowers_its_size_by_as_much() -> None:
    ex = world()
    oid = order_id(place(ex, "a", BUY, 300_000, qty=4 * ONE))
    mint(ex, "b", ONE)
    place(ex, "b", SELL, 300_000, qty=ONE)
    run(ex, amend("a", oid, 300_000, 2 * ONE))
    order = ex.orders[oid]
    assert (order.qty, order.filled, order.remaining) == (3 * ONE, ONE, 2 * ONE)
    assert escrow(ex, "a") == 600_000


def test_a_resting_sell_reduced_gives_back_its_shares() -> None:
    ex = world()
    mint(ex, "a", 3 * ONE)
    oid = order_id(place(ex, "a", SELL, 700_000, qty=3 * ONE))
    assert held(ex, "m", "a") == [0, 3 * ONE]
    events = run(ex, amend("a", oid, 700_000, ONE))
    assert events == (ev.OrderReduced(oid, ONE, 2 * ONE, (), (("a", 0, 2 * ONE),)),)
    assert held(ex, "m", "a") == [2 * ONE, 3 * ONE]


def test_a_new_price_replaces_the_order_at_the_back_of_the_queue() -> None:
    ex = world()
    first = order_id(place(ex, "a", BUY, 400_000, qty=2 * ONE, client_order_id="mine"))
    second = order_id(place(ex, "b", BUY, 450_000, qty=ONE))
    events = run(ex, amend("a", first, 450_000, ONE))
    assert closed(events) == [(first, "replaced", 800_000)]
    accepted = of_type(events, ev.OrderAccepted)
    assert len(accepted) == 1 and accepted[0].order_id != first
    new = accepted[0].order_id
    assert accepted[0].client_order_id == "mine"  # the client_order_id follows the order
    assert ex.client_ids[("a", "mine")] == new
    assert resting_ids(ex) == [second, new]  # behind b at 450
    assert escrow(ex, "a") == 450_000 and cash(ex, "a") == 100 * ONE - 450_000
    # the same price and a larger size also goes to the back
    third = order_id(place(ex, "c", BUY, 450_000, qty=ONE))
    events = run(ex, amend("a", new, 450_000, 2 * ONE))
    newer = order_id(events)
    assert resting_ids(ex) == [second, third, newer] and escrow(ex, "a") == 900_000


def test_a_replacement_that_crosses_trades_on_arrival() -> None:
    ex = world()
    mint(ex, "b", ONE)
    ask = order_id(place(ex, "b", SELL, 500_000, qty=ONE))
    bid = order_id(place(ex, "a", BUY, 400_000, qty=2 * ONE, tif=TimeInForce.GTC))
    events = run(ex, amend("a", bid, 500_000, 2 * ONE))
    assert fills(events) == [(ask, 500, ONE)]
    new = of_type(events, ev.OrderAccepted)[0].order_id
    assert ex.orders[new].remaining == ONE and ex.orders[new].resting
    assert escrow(ex, "a") == 500_000 and cash(ex, "a") == 100 * ONE - ONE


def test_a_replacement_that_would_be_refused_leaves_the_order_as_it_was() -> None:
    ex = world()
    oid = order_id(place(ex, "a", BUY, 500_000, qty=100 * ONE))  # every credit a has
    # 120 at 0.50 needs 60 credits, 50 available once the old order's 50 come back: ok
    assert order_id(run(ex, amend("a", oid, 500_000, 120 * ONE))) != oid
    oid = max(ex.open_orders["a"])
    assert reject(ex, amend("a", oid, 900_000, 120 * ONE)) == Code.INSUFFICIENT_FUNDS
    assert reject(ex, amend("a", oid, 500_001, ONE)) == Code.PRICE_NOT_ON_TICK
    assert reject(ex, amend("a", oid, ONE, ONE)) == Code.PRICE_OUT_OF_RANGE
    assert reject(ex, amend("a", oid, 500_000, 120 * ONE + 1)) == Code.QTY_NOT_ON_LOT
    assert reject(ex, amend("a", oid, 500_000, 0)) == Code.QTY_TOO_SMALL
    assert reject(ex, amend("a", oid, 500_000, 120 * ONE)) == Code.INVALID_ORDER  # no change
    assert ex.orders[oid].remaining == 120 * ONE and ex.orders[oid].resting


def test_post_only_and_client_order_ids_hold_for_the_replacement() -> None:
    ex = world()
    mint(ex, "b", ONE)
    place(ex, "b", SELL, 500_000, qty=ONE)
    oid = order_id(place(ex, "a", BUY, 400_000, post_only=True, client_order_id="p"))
    order_id(place(ex, "a", BUY, 300_000, client_order_id="taken"))
    assert reject(ex, amend("a", oid, 500_000, ONE)) == Code.POST_ONLY_WOULD_CROSS
    assert reject(ex, amend("a", oid, 400_000, ONE, "taken")) == Code.DUPLICATE_CLIENT_ORDER_ID
    events = run(ex, amend("a", oid, 400_000, ONE, "renamed"))  # a new id alone replaces
    new = order_id(events)
    assert ex.orders[new].client_order_id == "renamed" and ex.orders[new].post_only


def test_only_an_own_open_resting_order_can_be_amended() -> None:
    ex = world()
    oid = order_id(place(ex, "a", BUY, 400_000, qty=2 * ONE))
    assert reject(ex, amend("b", oid, 400_000, ONE)) == Code.UNKNOWN_ORDER
    assert reject(ex, amend("a", oid + 99, 400_000, ONE)) == Code.UNKNOWN_ORDER
    assert reject(ex, cmd.AmendOrder("nobody", oid, 400_000, ONE)) == Code.UNKNOWN_ACCOUNT
    run(ex, cmd.CancelOrder("a", oid))
    assert reject(ex, amend("a", oid, 400_000, ONE)) == Code.UNKNOWN_ORDER
    gtd = order_id(place(ex, "a", BUY, 400_000, tif=TimeInForce.GTD, expires_at=T0 + 10))
    assert reject(ex, amend("a", gtd, 400_000, ONE), T0 + 10) == Code.UNKNOWN_ORDER  # lapsed


def test_a_halted_market_takes_reductions_but_not_replacements() -> None:
    ex = world()
    oid = order_id(place(ex, "a", BUY, 400_000, qty=2 * ONE, token=Token.NO))
    run(ex, cmd.HaltMarket("m", "source down"))
    assert reject(ex, amend("a", oid, 450_000, 2 * ONE)) == Code.MARKET_HALTED
    run(ex, amend("a", oid, 400_000, ONE))
    assert ex.orders[oid].remaining == ONE and escrow(ex, "a") == 400_000


def test_a_replacement_keeps_the_time_in_force_and_expiry_and_still_expires() -> None:
    ex = world()
    gtd = order_id(place(ex, "a", BUY, 300_000, tif=TimeInForce.GTD, expires_at=T0 + 10))
    new = order_id(run(ex, amend("a", gtd, 350_000, ONE)))
    order = ex.orders[new]
    assert (order.tif, order.expires_at) == ("gtd", T0 + 10)
    events = run(ex, cmd.Tick(), T0 + 10)
    assert closed(events) == [(new, "expired", 350_000)] and escrow(ex, "a") == 0


def test_a_categorical_no_order_is_amended_on_its_own_book() -> None:
    ex = world()
    categorical(ex, "c")
    oid = order_id(place(ex, "a", BUY, 200_000, qty=2 * ONE, token=Token.NO, market="c", outcome=1))
    assert escrow(ex, "a") == 400_000
    run(ex, amend("a", oid, 200_000, ONE))  # in place
    assert ex.orders[oid].remaining == ONE and escrow(ex, "a") == 200_000
    new = order_id(run(ex, amend("a", oid, 250_000, ONE)))  # replaced on outcome 1's book
    order = ex.orders[new]
    assert (order.market, order.outcome, order.own_price * 1_000) == ("c", 1, 250_000)
    assert resting_ids(ex, "c", 1) == [new] and escrow(ex, "a") == 250_000


def test_what_rests_ahead_of_an_order_shrinks_when_the_one_before_is_reduced() -> None:
    ex = world()
    first = order_id(place(ex, "a", BUY, 400_000, qty=3 * ONE))
    second = order_id(place(ex, "b", BUY, 400_000, qty=ONE))
    book = ex.markets["m"].books[0]
    assert (book.ahead_of(ex.orders[first]), book.ahead_of(ex.orders[second])) == (0, 3 * ONE)
    run(ex, amend("a", first, 400_000, ONE))
    assert (book.ahead_of(ex.orders[first]), book.ahead_of(ex.orders[second])) == (0, ONE)
    new = order_id(run(ex, amend("a", first, 400_000, 2 * ONE)))  # larger: to the back
    assert (book.ahead_of(ex.orders[second]), book.ahead_of(ex.orders[new])) == (0, ONE)
