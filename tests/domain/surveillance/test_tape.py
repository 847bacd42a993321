"""The tape: real exchange events become trades (buyer, seller, YES price) and order lifetimes."""

from __future__ import annotations

from augury.domain import commands as c
from augury.domain.commands import Side, Token
from augury.domain.surveillance import MAKER, OrderLife, StreamItem, Tape, Trade
from augury.domain.units import ONE

from .synth import START, Sim


def _sim(liquidity: int = 0) -> Sim:
    sim = Sim()
    for name in ("a", "b"):
        sim.account(name, 10)
    sim.market("m", liquidity=liquidity)
    return sim


def _records(sim: Sim) -> list[object]:
    tape = Tape(sim.context())
    return [r for item in sim.items for r in tape.feed(item)]


def test_book_fill_names_buyer_and_seller_in_yes_terms() -> None:
    sim = _sim()
    sim.run(c.PlaceOrder("a", "m", 0, Side.BUY, Token.NO, 5 * ONE, 997_000), START)
    sim.run(c.PlaceOrder("b", "m", 0, Side.BUY, Token.YES, 2 * ONE, 3_000), START + 1)
    trades = [r for r in _records(sim) if isinstance(r, Trade)]
    assert len(trades) == 1
    t = trades[0]
    assert (t.buyer, t.seller, t.taker, t.price, t.qty) == ("b", "a", "b", 3_000, 2 * ONE)
    assert t.ts_us == START + 1


def test_maker_fill_price_is_the_yes_price_per_share() -> None:
    sim = _sim(liquidity=100 * ONE)
    sim.run(c.PlaceOrder("a", "m", 0, Side.BUY, Token.NO, ONE, 600_000), START)
    (trade,) = [r for r in _records(sim) if isinstance(r, Trade)]
    assert (trade.buyer, trade.seller) == (MAKER, "a")
    assert 490_000 < trade.price < 500_000  # NO bought a little above 0.5: YES a little below


def test_cancelled_order_has_its_lifetime() -> None:
    sim = _sim()
    events = sim.run(c.PlaceOrder("a", "m", 0, Side.BUY, Token.YES, 5 * ONE, 400_000), START)
    sim.run(c.CancelOrder("a", events[0].order_id), START + 3_000_000)  # type: ignore[attr-defined]
    (life,) = [r for r in _records(sim) if isinstance(r, OrderLife)]
    assert life.reason == "cancelled" and life.bid and life.qty == 5 * ONE
    assert life.ts_closed_us - life.ts_placed_us == 3_000_000


def test_items_out_of_order_are_refused() -> None:
    sim = _sim()
    tape = Tape()
    later = sim.items[-1]
    tape.feed(later)
    try:
        tape.feed(StreamItem(later.seq - 1, 0, sim.items[0].event))
    except AssertionError:
        return
    raise AssertionError("an item out of journal order was accepted")


def test_the_events_of_one_record_share_its_seq() -> None:
    sim = _sim()
    tape = Tape()
    for item in sim.items:
        tape.feed(StreamItem(7, item.ts_us, item.event))  # one journal record, many events
    assert tape.last_seq == 7
