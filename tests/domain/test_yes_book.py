"""Orders named on the YES book, in the exchange's terms (``augury.domain.yes_book``)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from augury.domain.commands import Side, Token
from augury.domain.units import ONE
from augury.domain.yes_book import BookSide, from_yes_book, net_position, yes_book_side, yes_price


def test_a_bid_buys_yes_unless_it_closes_a_no_holding() -> None:
    assert from_yes_book("bid", 600_000, 3 * ONE, 0, 0) == (Side.BUY, Token.YES, 600_000)
    assert from_yes_book("bid", 600_000, 3 * ONE, 0, 3 * ONE) == (Side.SELL, Token.NO, 400_000)
    # holding fewer NO than the order's quantity: it opens YES instead
    assert from_yes_book("bid", 600_000, 3 * ONE, 0, 2 * ONE) == (Side.BUY, Token.YES, 600_000)


def test_an_ask_sells_yes_held_else_buys_no() -> None:
    assert from_yes_book("ask", 600_000, ONE, ONE, 0) == (Side.SELL, Token.YES, 600_000)
    assert from_yes_book("ask", 600_000, ONE, 0, 0) == (Side.BUY, Token.NO, 400_000)


sides = st.sampled_from(["bid", "ask"])
amounts = st.integers(min_value=0, max_value=10 * ONE)


@given(sides, st.integers(min_value=1, max_value=ONE - 1), amounts, amounts, amounts)
def test_the_order_stands_on_the_side_and_yes_price_it_was_given(
    side: str, price: int, qty: int, held_yes: int, held_no: int
) -> None:
    book_side: BookSide = "bid" if side == "bid" else "ask"
    got_side, token, own = from_yes_book(book_side, price, qty, held_yes, held_no)
    assert yes_book_side(got_side, token) == book_side
    assert yes_price(own, token) == price


def test_net_position() -> None:
    assert net_position(3 * ONE, ONE) == 2 * ONE
    assert net_position(0, ONE) == -ONE
