"""Fixed-point units shared by the whole exchange.

Credits and shares are integers in micro-units (1 credit = 1,000,000 micros; one
winning share pays 1 credit). Prices are integer ticks of a per-market tick size,
itself given in micro-credits. Time is integer microseconds since the Unix epoch.

Nothing here may ever produce or accept a float: rounding is always explicit and
named for the side it favours.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from math import gcd
from typing import Final, TypeAlias

Micros: TypeAlias = int
"""An amount of credits or shares in millionths."""

Ticks: TypeAlias = int
"""A price as a whole number of a market's ticks."""

TimeUs: TypeAlias = int
"""A UTC instant in integer microseconds since the Unix epoch."""

ONE: Final = 1_000_000
"""One credit (or one share) in micros."""

DEFAULT_TICK_MICROS: Final = 1_000
"""The default tick size: 0.001 credit."""


def div_up(numerator: int, denominator: int) -> int:
    """Integer division rounded towards +infinity (what the exchange charges)."""
    assert denominator > 0
    return -((-numerator) // denominator)


def div_down(numerator: int, denominator: int) -> int:
    """Integer division rounded towards -infinity (what the exchange pays)."""
    assert denominator > 0
    return numerator // denominator


def lot_micros(tick_micros: Micros) -> Micros:
    """The smallest share quantity whose value at any tick is a whole micro-credit.

    An order's quantity must be a multiple of this, so book trades never round.
    """
    assert 0 < tick_micros < ONE
    return ONE // gcd(ONE, tick_micros)


def notional(qty: Micros, price_micros: Micros) -> Micros:
    """Exact value in micro-credits of ``qty`` micro-shares at ``price_micros`` per share.

    Callers guarantee ``qty`` is lot-aligned, so the division is exact.
    """
    value, rest = divmod(qty * price_micros, ONE)
    assert rest == 0, "notional of a quantity that is not lot-aligned"
    return value


def parse_micros(text: str) -> Micros:
    """Parse a decimal string ("12.5") into micros, refusing more than 6 decimals."""
    try:
        value = Decimal(text.strip())
    except InvalidOperation as exc:
        raise ValueError(f"not a decimal number: {text!r}") from exc
    if not value.is_finite():
        raise ValueError(f"not a finite number: {text!r}")
    scaled = value * ONE
    if scaled != scaled.to_integral_value():
        raise ValueError(f"more than 6 decimal places: {text!r}")
    return int(scaled)


def format_micros(amount: Micros) -> str:
    """Render micros as a decimal string with no trailing zeros ("12.5", "-0.000001")."""
    sign = "-" if amount < 0 else ""
    whole, frac = divmod(abs(amount), ONE)
    if frac == 0:
        return f"{sign}{whole}"
    return f"{sign}{whole}.{frac:06d}".rstrip("0")
