"""The one home of what a fill looks like (augury.domain.views) and of order defaults."""

from __future__ import annotations

from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from augury.domain import commands as dc
from augury.domain import events as ev
from augury.domain import views
from augury.domain.units import ONE


@given(st.integers(0, 10**15), st.integers(1, 10**12))
def test_average_price_is_the_nearest_micro_halves_up(value: int, qty: int) -> None:
    got = views.average_price(value, qty)
    assert got is not None
    exact = Fraction(value * ONE, qty)
    assert abs(got - exact) <= Fraction(1, 2)
    if abs(got - exact) == Fraction(1, 2):
        assert got > exact  # halves go up


def test_average_price_examples() -> None:
    assert views.average_price(0, 0) is None
    assert views.average_price(2_000_000, 3_000_000) == 666_667  # 0.6666.. -> 666,667
    assert views.average_price(1_000_000, 3_000_000) == 333_333
    assert views.average_price(1, 2 * ONE) == 1  # 0.5 micro -> 1 (halves up)


def test_a_maker_fill_price_for_yes_and_for_no() -> None:
    fill = _maker_fill(delta=(3_000_000, 0), value=2_000_000, qty=3_000_000)
    assert views.maker_fill_price(fill) == 666_667
    assert views.maker_fill_is_yes(fill) and views.maker_fill_yes_price(fill) == 666_667
    no = _maker_fill(delta=(0, 3_000_000), value=2_000_000, qty=3_000_000)
    assert not views.maker_fill_is_yes(no) and views.maker_fill_yes_price(no) == 333_333


def test_who_pays_a_book_fill_fee() -> None:
    fill = ev.BookFill("m", 0, 400, 10 * ONE, 7, 3, 0, 0, 12_345, (), (), ())
    assert views.book_fill_fee(fill, 7) == 12_345  # the taker
    assert views.book_fill_fee(fill, 3) == 0  # the resting order
    assert views.book_fill_price(fill, 1_000, True) == 400_000
    assert views.book_fill_price(fill, 1_000, False) == 600_000


def test_time_in_force_defaults() -> None:
    assert dc.time_in_force(None, True) is dc.TimeInForce.GTC
    assert dc.time_in_force(None, False) is dc.TimeInForce.IOC
    assert dc.time_in_force("fok", False) is dc.TimeInForce.FOK
    assert dc.time_in_force("gtd", True) is dc.TimeInForce.GTD


def _maker_fill(delta: tuple[int, ...], value: int, qty: int) -> ev.MakerFill:
    return ev.MakerFill("m", 0, 1, "a", delta, qty, value, value, 0, 0, 0, (), (), ())
