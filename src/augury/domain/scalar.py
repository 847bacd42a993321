"""Scalar (numeric) markets: the range, the payout rule, the implied value. Pure.

A scalar market asks for a number ("how many ships will transit the strait in March?").
It has a range ``[low, high]``, a ``step`` and ``units``, and two outcomes, LONG (outcome
0, traded exactly as a binary market's YES) and SHORT (outcome 1, the binary NO).

Representation: every value (``low``, ``high``, ``step``, a source's reading, a proposed
or resolved value, the tolerance of a spec) is an integer number of **micros of the
question's unit** (1 unit = 1,000,000, as 1 credit is), so "12.5 ships" is 12,500,000.
No float enters a value.

The payout rule (the one rounding rule): the value is clamped to ``[low, high]``; a LONG
share pays ``floor((value - low) * ONE / (high - low))`` micro-credits and a SHORT share
``ONE - LONG``. A LONG+SHORT pair therefore always pays exactly one credit, and the
weights ``(LONG, SHORT)`` go through the ordinary settlement by outcome weights
(:func:`augury.domain.settlement.settle`), which rounds each holder's total down and books
the residue to ``rounding``: no credit is created or lost.

Resolution: a scalar market's resolved value lies on its step grid,
``low + k * step`` for ``k`` in ``0 .. steps``; the resolution process (proposals,
votes, bonds) carries that index ``k`` where a binary market carries its outcome index
(:func:`index_of` rounds a value to the nearest grid point, halves up, after clamping).

The implied value of a LONG price ``p`` (micro-credits) is
``low + floor(p * (high - low) / ONE)``: the market's expected value in the question's
units, shown next to the price.
"""

from __future__ import annotations

import itertools
import re
from typing import Annotated

import msgspec

from augury.domain.units import ONE, format_micros

LONG = 0
SHORT = 1
OUTCOMES: tuple[str, str] = ("LONG", "SHORT")
"""The two outcomes of every scalar market, in this order."""

STEPS_MAX = 1_000_000
"""At most this many steps in a range (the grid a resolved value lies on)."""
VALUE_MAX = 10**18
"""Every value's magnitude is at most this (10^12 units): JSON-safe in sums and products."""
UNITS_MAX = 40
"""The units' length in characters ("ships", "km", "% of GDP")."""


class ScalarRange(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A scalar market's range, step and units; values in micros of the unit."""

    low: int
    high: int
    step: Annotated[int, msgspec.Meta(ge=1)]
    units: str


def problem(r: ScalarRange) -> tuple[str, str] | None:
    """Why the range is unusable, as ``(code, message)`` (the linter's stable codes
    ``scalar_range``, ``scalar_step``, ``scalar_units``), or None. Market creation and
    the resolution linter both ask here."""
    if not -VALUE_MAX <= r.low < r.high <= VALUE_MAX:
        return "scalar_range", f"the range needs low < high, both within +-{VALUE_MAX} micros"
    width = r.high - r.low
    if r.step < 1 or width % r.step:
        return "scalar_step", "the step must be positive and divide high - low exactly"
    if width // r.step > STEPS_MAX:
        return "scalar_step", f"the range may have at most {STEPS_MAX} steps"
    units = r.units.strip()
    if not 0 < len(units) <= UNITS_MAX or units != r.units or not units.isprintable():
        return "scalar_units", f"the units must be 1..{UNITS_MAX} printable characters"
    return None


def clamp(r: ScalarRange, value: int) -> int:
    """The value moved into ``[low, high]`` (a reading outside the range clamps)."""
    return min(max(value, r.low), r.high)


def long_payout(r: ScalarRange, value: int) -> int:
    """Micro-credits one LONG share pays when the market resolves to ``value``."""
    return (clamp(r, value) - r.low) * ONE // (r.high - r.low)


def weights(r: ScalarRange, value: int) -> tuple[int, int]:
    """The settlement weights ``(LONG, SHORT)`` for ``value``; they sum to ``ONE``."""
    long = long_payout(r, value)
    return (long, ONE - long)


def steps(r: ScalarRange) -> int:
    """The number of steps in the range; grid indices are ``0 .. steps``."""
    return (r.high - r.low) // r.step


def value_at(r: ScalarRange, index: int) -> int:
    """The value of grid index ``index``."""
    return r.low + index * r.step


def index_of(r: ScalarRange, value: int) -> int:
    """The grid index nearest the clamped value (halves round up)."""
    offset = clamp(r, value) - r.low
    return (2 * offset + r.step) // (2 * r.step)


def implied_value(r: ScalarRange, price: int) -> int:
    """The value a LONG price (micro-credits per share) implies, rounded down."""
    return r.low + price * (r.high - r.low) // ONE


def value_of_weight(r: ScalarRange, long_weight: int) -> int:
    """The grid value whose LONG payout is ``long_weight`` (the value a settlement's
    weights say the market resolved to): the one grid point ``v`` with
    ``long_payout(v) == long_weight``, as there is at most one (a step is at least
    ``(high - low) / ONE``: at most ``STEPS_MAX`` steps)."""
    width = r.high - r.low
    index = -(-long_weight * width // (ONE * r.step))  # ceil
    return value_at(r, min(index, steps(r)))


def price_of(r: ScalarRange, value: int) -> int:
    """The LONG price at which the implied value is ``value`` (the payout of ``value``)."""
    return long_payout(r, value)


BUCKETS_MIN = 3
BUCKETS_MAX = 64


def buckets(r: ScalarRange, n: int) -> tuple[tuple[str, ...], tuple[int, ...]]:
    """A bucketed market from a scalar range: ``n`` outcome names and the ``n - 1``
    rising boundaries of its ranges (for a numeric spec's ``buckets``).

    The range is cut into ``n`` ranges of equal width, each boundary rounded down to the
    step grid; the first range is open below ("under 500 ships") and the last above
    ("1500 ships or more"), so every reading falls in exactly one. Raises ValueError
    when ``n`` is outside 3..64 or the range has fewer than ``n`` steps.
    """
    if not BUCKETS_MIN <= n <= BUCKETS_MAX:
        raise ValueError(f"a bucketed market has {BUCKETS_MIN}..{BUCKETS_MAX} ranges")
    if steps(r) < n:
        raise ValueError(f"the range has {steps(r)} steps, fewer than {n} ranges")
    total = steps(r)
    bounds = tuple(value_at(r, i * total // n) for i in range(1, n))
    names = [f"under {format_value(r, bounds[0])}"]
    names += [
        f"{format_micros(lo)} to under {format_value(r, hi)}"
        for lo, hi in itertools.pairwise(bounds)
    ]
    names.append(f"{format_value(r, bounds[-1])} or more")
    return tuple(names), bounds


_NUMBER = re.compile(r"[-+\u2212]?(?:\d{1,3}(?:[,\u00a0\u202f ]\d{3})+|\d+)(?:\.\d+)?")


def parse_value(text: str) -> int | None:
    """The first number in ``text`` in micros of its unit, or None.

    Accepts an optional sign (``-``, ``+`` or the minus sign U+2212), digits with
    optional thousands separators (comma, space, no-break spaces) and a decimal point:
    "1,234.5 ships" is 1,234,500,000. More than six decimals round to the nearest micro
    (halves away from zero). What a source reads (a JSON number, a CSV cell, an HTML
    text, a regex capture) goes through here, so every kind reads numbers alike.
    """
    match = _NUMBER.search(text)
    if match is None:
        return None
    raw = match.group(0).replace("\u2212", "-")
    negative = raw.startswith("-")
    digits = raw.lstrip("+-")
    for sep in ", \u00a0\u202f":
        digits = digits.replace(sep, "")
    whole, _, frac = digits.partition(".")
    micros = int(whole) * ONE
    if frac:
        scaled = int(frac) * ONE * 2 // 10 ** len(frac)  # twice the fraction, in micros
        micros += (scaled + 1) // 2
    value = -micros if negative else micros
    return value if abs(value) <= VALUE_MAX else None


def format_value(r: ScalarRange, value: int) -> str:
    """``value`` for humans in the question's units ("1234.5 ships")."""
    return f"{format_micros(value)} {r.units}"
