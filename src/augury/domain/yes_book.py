"""An order stated on one outcome's YES book (a bid or an ask at a YES price), in the
exchange's own terms (buy or sell, YES or NO token, a price in the order's own token),
and back.

A venue that speaks only of the YES book (Kalshi's ``side: bid|ask``) nets YES and NO:
a bid by an account short of YES (holding NO) closes that short, an ask by an account
long of YES sells it, and otherwise an ask opens a NO position. Here that is decided
from what the account holds now: the order sells the opposite token when at least its
whole quantity is held, else it buys. The placement itself (prices, ticks, lots,
escrow, fees) stays the trading rules' (``trading.py``); this only names the order.
"""

from __future__ import annotations

from typing import Literal

from augury.domain.commands import Side, Token
from augury.domain.units import ONE, Micros

BookSide = Literal["bid", "ask"]


def from_yes_book(
    book_side: BookSide, yes_price: Micros, qty: Micros, held_yes: Micros, held_no: Micros
) -> tuple[Side, Token, Micros]:
    """(side, token, price in that token) of a ``book_side`` order at ``yes_price``."""
    assert qty >= 0 and held_yes >= 0 and held_no >= 0
    if book_side == "bid":
        if held_no >= qty > 0:
            return Side.SELL, Token.NO, ONE - yes_price
        return Side.BUY, Token.YES, yes_price
    if held_yes >= qty > 0:
        return Side.SELL, Token.YES, yes_price
    return Side.BUY, Token.NO, ONE - yes_price


def yes_book_side(side: str, token: str) -> BookSide:
    """Which side of the YES book an order of ``side`` and ``token`` stands on."""
    buys = side == Side.BUY
    yes = token == Token.YES
    return "bid" if buys == yes else "ask"


def yes_price(own_price: Micros, token: str) -> Micros:
    """An order's own price as a YES price."""
    return own_price if token == Token.YES else ONE - own_price


def net_position(held_yes: Micros, held_no: Micros) -> Micros:
    """YES held minus NO held (a NO holding is a short of YES)."""
    return held_yes - held_no


__all__ = ["BookSide", "from_yes_book", "net_position", "yes_book_side", "yes_price"]
