"""Fixed-point strings of a set number of places (``augury.domain.fixed``)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from augury.domain import fixed


@pytest.mark.parametrize(
    ("micros", "places", "text"),
    [
        (560_000, 4, "0.5600"),
        (1_000_000, 4, "1.0000"),
        (0, 4, "0.0000"),
        (10_000_000, 2, "10.00"),
        (1, 4, "0.000001"),
        (123_450, 4, "0.12345"),
        (-1_500_000, 2, "-1.50"),
        (7_000_000, 0, "7"),
    ],
)
def test_fixed_keeps_every_micro(micros: int, places: int, text: str) -> None:
    assert fixed.fixed(micros, places) == text


def test_dollars_count_and_cents() -> None:
    assert fixed.dollars(999_900_000) == "999.9000"
    assert fixed.count(3_000_000) == "3.00"
    assert fixed.cents_down(1_000_000_000) == 100_000
    assert fixed.cents_down(19_999) == 1  # never more than is there
    assert fixed.cents_down(-1) == -1


@given(st.integers(min_value=0, max_value=10**15), st.integers(min_value=0, max_value=6))
def test_a_fixed_string_parses_back_to_its_micros(micros: int, places: int) -> None:
    assert fixed.parse_fixed(fixed.fixed(micros, places)) == micros


@pytest.mark.parametrize(
    "text", ["", "-1", "+1", "1e3", " 1", "1.", ".5", "1.2.3", "0.0000001", "nan", "1,5", "x" * 40]
)
def test_parse_fixed_refuses_anything_but_a_plain_decimal(text: str) -> None:
    with pytest.raises(ValueError):
        fixed.parse_fixed(text)
