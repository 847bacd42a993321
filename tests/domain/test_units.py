"""Fixed-point units: rounding helpers, lots, notional values, parsing and formatting."""

from __future__ import annotations

from decimal import Decimal
from math import gcd

import pytest
from hypothesis import given
from hypothesis import strategies as st

from augury.domain.units import (
    DEFAULT_TICK_MICROS,
    ONE,
    div_down,
    div_up,
    format_micros,
    lot_micros,
    notional,
    parse_micros,
)

# Every tick a market may have (a divisor of ONE inside the default limits' range).
TICKS = [t for t in range(100, 100_001) if ONE % t == 0]


@pytest.mark.parametrize(
    ("numerator", "denominator", "up", "down"),
    [
        (0, 7, 0, 0),
        (14, 7, 2, 2),
        (15, 7, 3, 2),
        (20, 7, 3, 2),
        (-15, 7, -2, -3),
        (-14, 7, -2, -2),
        (1, 1_000_000, 1, 0),
        (-1, 1_000_000, 0, -1),
    ],
)
def test_div_up_and_down_round_towards_their_named_side(
    numerator: int, denominator: int, up: int, down: int
) -> None:
    assert div_up(numerator, denominator) == up
    assert div_down(numerator, denominator) == down


@given(st.integers(-(10**30), 10**30), st.integers(1, 10**18))
def test_div_up_and_down_bracket_the_exact_quotient(numerator: int, denominator: int) -> None:
    up, down = div_up(numerator, denominator), div_down(numerator, denominator)
    assert down * denominator <= numerator <= up * denominator
    assert up - down == (0 if numerator % denominator == 0 else 1)


def test_div_refuses_a_non_positive_denominator() -> None:
    with pytest.raises(AssertionError):
        div_up(1, 0)
    with pytest.raises(AssertionError):
        div_down(1, -1)


@pytest.mark.parametrize(
    ("tick", "lot"),
    [
        (DEFAULT_TICK_MICROS, 1_000),  # 0.001: a lot of 0.001 share
        (100, 10_000),
        (10_000, 100),
        (100_000, 10),
        (40_000, 25),
        (62_500, 16),
        (1, ONE),
        (3, ONE),  # a tick that shares no factor with ONE needs whole shares
        (999_999, ONE),
    ],
)
def test_lot_micros(tick: int, lot: int) -> None:
    assert lot_micros(tick) == lot


def test_lot_micros_refuses_ticks_outside_zero_to_one() -> None:
    for tick in (0, ONE, -1):
        with pytest.raises(AssertionError):
            lot_micros(tick)


@pytest.mark.parametrize("tick", TICKS)
def test_a_lot_is_the_smallest_quantity_with_whole_values_at_every_tick(tick: int) -> None:
    lot = lot_micros(tick)
    assert all(lot * k * tick % ONE == 0 for k in range(1, ONE // tick))
    # nothing smaller works at the first tick (the divisors of lot are the candidates)
    smaller = [d for d in range(1, lot) if lot % d == 0]
    assert all(d * tick % ONE != 0 for d in smaller)
    assert lot == ONE // gcd(ONE, tick)


def test_notional_examples() -> None:
    assert notional(ONE, 600_000) == 600_000
    assert notional(2_500_000, 370_000) == 925_000
    assert notional(1_000, 1_000) == 1  # one lot at one tick: one micro-credit
    assert notional(0, 999_000) == 0
    assert notional(25, 40_000) == 1


def test_notional_refuses_a_quantity_off_the_lot() -> None:
    with pytest.raises(AssertionError, match="lot-aligned"):
        notional(1_500, 1_000)
    with pytest.raises(AssertionError):
        notional(1, 999_000)


@given(st.sampled_from(TICKS), st.integers(0, 10**6), st.data())
def test_notional_is_exact_for_lot_aligned_quantities(
    tick: int, lots: int, data: st.DataObject
) -> None:
    price = tick * data.draw(st.integers(1, ONE // tick - 1))
    qty = lots * lot_micros(tick)
    assert notional(qty, price) * ONE == qty * price


@pytest.mark.parametrize(
    ("text", "micros"),
    [
        ("0", 0),
        ("1", ONE),
        ("12.5", 12_500_000),
        ("0.000001", 1),
        ("-0.000001", -1),
        ("  3.25  ", 3_250_000),
        ("1.500000", 1_500_000),
        ("1.5000000", 1_500_000),  # trailing zeros beyond 6 places lose nothing
        ("1e-6", 1),
        ("2E3", 2_000 * ONE),
        ("-7", -7 * ONE),
        ("123456789.123456", 123_456_789_123_456),
    ],
)
def test_parse_micros(text: str, micros: int) -> None:
    assert parse_micros(text) == micros


@pytest.mark.parametrize(
    "text",
    ["0.0000001", "1.1234567", "0.30000000000000004", "1e-7", "-0.0000005"],
)
def test_parse_micros_refuses_more_than_six_decimals(text: str) -> None:
    with pytest.raises(ValueError, match="more than 6 decimal places"):
        parse_micros(text)


@pytest.mark.parametrize("text", ["", "abc", "1,5", "1.2.3", "0x10", "one"])
def test_parse_micros_refuses_what_is_not_a_number(text: str) -> None:
    with pytest.raises(ValueError, match="not a decimal number"):
        parse_micros(text)


@pytest.mark.parametrize("text", ["inf", "-Infinity", "NaN", "sNaN"])
def test_parse_micros_refuses_non_finite_numbers(text: str) -> None:
    with pytest.raises(ValueError, match="not a finite number"):
        parse_micros(text)


@pytest.mark.parametrize(
    ("micros", "text"),
    [
        (0, "0"),
        (ONE, "1"),
        (12_500_000, "12.5"),
        (1, "0.000001"),
        (-1, "-0.000001"),
        (-12_500_000, "-12.5"),
        (1_000_010, "1.00001"),
        (10 * ONE, "10"),
        (123_456_789_123_456, "123456789.123456"),
    ],
)
def test_format_micros(micros: int, text: str) -> None:
    assert format_micros(micros) == text


def test_format_and_parse_return_ints_never_floats() -> None:
    assert type(parse_micros("0.1")) is int
    assert parse_micros("0.1") + parse_micros("0.2") == parse_micros("0.3")


@given(st.integers(-(10**24), 10**24))
def test_format_then_parse_round_trips(micros: int) -> None:
    text = format_micros(micros)
    assert parse_micros(text) == micros
    assert Decimal(text) * ONE == micros
    assert not text.endswith(".") and (text == "0" or not text.endswith("0") or "." not in text)


@given(
    st.decimals(
        min_value=Decimal("-1e15"),
        max_value=Decimal("1e15"),
        places=6,
        allow_nan=False,
        allow_infinity=False,
    )
)
def test_parse_then_format_round_trips_to_the_same_value(value: Decimal) -> None:
    micros = parse_micros(str(value))
    assert Decimal(micros) == value * ONE
    assert Decimal(format_micros(micros)) == value
    assert parse_micros(format_micros(micros)) == micros


@given(st.integers(-(10**12), 10**12), st.integers(1, 9))
def test_parse_refuses_any_seventh_decimal_digit(whole_micros: int, digit: int) -> None:
    text = format_micros(whole_micros)
    if "." not in text:
        text += "."
    text = text + "0" * (6 - len(text.split(".")[1])) + str(digit)
    with pytest.raises(ValueError, match="more than 6 decimal places"):
        parse_micros(text)
