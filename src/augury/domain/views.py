"""What a fill looks like from the outside: the one home of the prices and fees shown.

Every surface that shows a fill (the answer to an order, the WebSocket tape and fills,
the read models' fills and candles, a preview, the CLI) takes its figures from these
pure functions, so they report the same integers for the same fill.

The rules:

* A book fill's price is the resting order's price (ticks times the tick size).
* A maker fill's price is its average: what the order paid or received (``value``, before
  fees) divided by the shares, rounded to the nearest micro, halves up. An order's average
  price over all its fills is the same division over its totals.
* A price "for YES" is the price itself for a YES order and one credit minus it for NO.
* The taker of a book fill pays its fee; the resting order pays none. A maker fill's fee
  is the order's.
"""

from __future__ import annotations

from augury.domain import events as ev
from augury.domain.units import ONE, Micros


def average_price(value: Micros, qty: Micros) -> Micros | None:
    """``value`` / ``qty`` per share, nearest micro (halves up); None when ``qty`` is 0."""
    assert value >= 0 and qty >= 0
    if qty == 0:
        return None
    return (2 * value * ONE + qty) // (2 * qty)


def maker_fill_price(event: ev.MakerFill) -> Micros:
    """A maker fill's price in the order's own token."""
    price = average_price(abs(event.value), event.qty)
    assert price is not None, "a maker fill of no shares"
    return price


def maker_fill_is_yes(event: ev.MakerFill) -> bool:
    """Did the order trade YES of its outcome? (The maker's vector moved on that outcome.)"""
    return event.delta[event.outcome] != 0


def maker_fill_yes_price(event: ev.MakerFill) -> Micros:
    """A maker fill's price expressed for YES of its outcome."""
    own = maker_fill_price(event)
    return own if maker_fill_is_yes(event) else ONE - own


def own_price(yes_ticks: int, tick: Micros, yes: bool) -> Micros:
    """A price journaled in YES ticks, as a YES (``yes``) or a NO order of its outcome
    sees it: the ticks (or one credit less them) times the tick size."""
    return (yes_ticks if yes else ONE // tick - yes_ticks) * tick


def book_fill_price(event: ev.BookFill, tick: Micros, yes: bool) -> Micros:
    """A book fill's price for a YES (``yes``) or a NO order of its outcome."""
    return own_price(event.price, tick, yes)


def book_fill_fee(event: ev.BookFill, order_id: int) -> Micros:
    """The fee order ``order_id`` paid on a book fill (the taker pays, the resting order not)."""
    return event.fee if order_id == event.taker_order else 0


__all__ = [
    "average_price",
    "book_fill_fee",
    "book_fill_price",
    "maker_fill_is_yes",
    "maker_fill_price",
    "maker_fill_yes_price",
    "own_price",
]
