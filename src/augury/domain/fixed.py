"""Fixed-point decimal strings of a set number of places, and whole cents.

Some wire formats (Kalshi's ``*_dollars`` and ``*_fp`` fields) carry amounts as decimal
strings with at least a fixed number of places ("0.5600", "10.00"). These functions turn
the exchange's integer micros into such strings and back, exactly: a micro that does not
fit the places is shown (the string grows to six places), never rounded away, and no
float is ever involved. One credit is one dollar here, so a cent is 10,000 micros.
"""

from __future__ import annotations

from typing import Final

from augury.domain.units import ONE, Micros, div_down, parse_micros

MICROS_PER_CENT: Final = ONE // 100
DOLLAR_PLACES: Final = 4
"""Places of a ``*_dollars`` string ("0.5600")."""
COUNT_PLACES: Final = 2
"""Places of a ``*_fp`` count string ("10.00")."""


def fixed(amount: Micros, places: int) -> str:
    """``amount`` micros as a decimal string of at least ``places`` places (at most 6:
    more when the amount needs them, so nothing is lost): fixed(560_000, 4) == "0.5600"."""
    assert 0 <= places <= 6
    sign = "-" if amount < 0 else ""
    whole, frac = divmod(abs(amount), ONE)
    digits = f"{frac:06d}".rstrip("0")
    digits = digits.ljust(places, "0")
    return f"{sign}{whole}.{digits}" if digits else f"{sign}{whole}"


def dollars(amount: Micros) -> str:
    """Credits as dollars, one to one: "0.5600"."""
    return fixed(amount, DOLLAR_PLACES)


def count(qty: Micros) -> str:
    """A share quantity: "10.00"."""
    return fixed(qty, COUNT_PLACES)


def parse_fixed(text: str) -> Micros:
    """A plain decimal string ("0.56", "10.00") as micros; ValueError if it is not one
    (a sign, an exponent, spaces or more than 6 places are refused)."""
    if not text or len(text) > 32 or not all(c.isdigit() or c == "." for c in text):
        raise ValueError(f"not a plain decimal number: {text!r}")
    if text.count(".") > 1 or text.startswith(".") or text.endswith("."):
        raise ValueError(f"not a plain decimal number: {text!r}")
    return parse_micros(text)


def cents_down(amount: Micros) -> int:
    """Whole cents of ``amount``, rounded down (never more than is there)."""
    return div_down(amount, MICROS_PER_CENT)


__all__ = [
    "COUNT_PLACES",
    "DOLLAR_PLACES",
    "MICROS_PER_CENT",
    "cents_down",
    "count",
    "dollars",
    "fixed",
    "parse_fixed",
]
