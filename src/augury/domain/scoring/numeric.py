"""Proper scores for numeric forecasts: a scalar market's implied value against the value
it resolved to.

A scalar market's LONG price ``p`` (a probability in :mod:`.forecast`'s path) implies the
value ``E = low + p * (high - low)`` (:func:`augury.domain.scalar.implied_value`): the
market's forecast of the expected (clamped) value. Scores (lower is better, 0 for a
perfect forecast), as floats like every forecast statistic (never balances):

* **Squared error**, normalized by the range: ``((E - v) / (high - low))^2`` in [0, 1],
  with ``v`` the resolved value clamped to the range. It is a proper score for the mean
  (its expectation is least when ``E`` is the expected value), and it equals the Brier
  score of the LONG price against LONG's payout, so binary and scalar markets compare.
* **Absolute error** ``|E - v|`` in the question's units: the CRPS of the forecast read
  as a point mass at ``E`` (CRPS reduces to the absolute error for a point forecast),
  proper for the median. Reported in units so a reader sees "off by 40 ships".
* **Interval score** (Gneiting and Raftery 2007) of a central ``(1 - alpha)`` interval
  ``[l, u]``: ``(u - l) + (2 / alpha) * ((l - v) if v < l) + (2 / alpha) * ((v - u) if
  v > u)``, proper for the interval's quantiles. The market score uses the range of the
  implied values over the last ``INTERVAL_HOURS`` before the end as a 50% interval.

At close and time-averaged, as in :mod:`.forecast` (each value weighs the time it stood;
the time before the first price is not scored).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final, NamedTuple

from augury.domain.scalar import ScalarRange, clamp
from augury.domain.scoring.forecast import PathPoint, time_average
from augury.domain.units import ONE

INTERVAL_HOURS: Final = 24
INTERVAL_ALPHA: Final = 0.5
_HOUR_US = 3_600_000_000


class NumericScore(NamedTuple):
    points: int
    close_value: float | None
    """The implied value at close, in the question's units."""
    resolved_value: float
    """The value it resolved to, clamped to the range, in the question's units."""
    squared_close: float | None
    absolute_close: float | None
    squared_avg: float | None
    absolute_avg: float | None
    interval: tuple[float, float] | None
    """The range of implied values over the last day before the end (units)."""
    interval_score: float | None


def implied(rng: ScalarRange, probability: float) -> float:
    """The value (in units) a LONG probability implies."""
    return (rng.low + probability * (rng.high - rng.low)) / ONE


def squared_error(rng: ScalarRange, forecast: float, value: float) -> float:
    """``((forecast - value) / (high - low))^2``, both in units."""
    width = (rng.high - rng.low) / ONE
    return ((forecast - value) / width) ** 2


def interval_score(lower: float, upper: float, value: float, alpha: float) -> float:
    """The interval score of a central ``(1 - alpha)`` interval ``[lower, upper]``."""
    if not 0 < alpha < 1 or upper < lower:
        raise ValueError("need 0 < alpha < 1 and lower <= upper")
    score = upper - lower
    if value < lower:
        score += 2 / alpha * (lower - value)
    elif value > upper:
        score += 2 / alpha * (value - upper)
    return score


def score_numeric(
    path: Sequence[PathPoint], rng: ScalarRange, resolved: int, end_us: int
) -> NumericScore:
    """The numeric scores of a scalar market's path (LONG is outcome 0 of each vector)
    against ``resolved`` (micros of the unit, clamped here)."""
    value = clamp(rng, resolved) / ONE
    live = [p for p in path if p.t_us <= end_us]
    if not live:
        return NumericScore(0, None, value, None, None, None, None, None, None)
    values = [implied(rng, p.probs[0]) for p in live]
    close = values[-1]
    squared_close, absolute_close = squared_error(rng, close, value), abs(close - value)
    squared = [squared_error(rng, v, value) for v in values]
    squared_avg = time_average(live, end_us, squared, squared_close)
    absolute_avg = time_average(live, end_us, [abs(v - value) for v in values], absolute_close)
    since = end_us - INTERVAL_HOURS * _HOUR_US
    recent = [v for p, v in zip(live, values, strict=True) if p.t_us >= since] or [close]
    lower, upper = min(recent), max(recent)
    score = interval_score(lower, upper, value, INTERVAL_ALPHA)
    return NumericScore(
        len(live),
        close,
        value,
        squared_close,
        absolute_close,
        squared_avg,
        absolute_avg,
        (lower, upper),
        score,
    )
