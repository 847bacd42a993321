"""A resolved market's probability over time, and its Brier and log scores.

Inputs are integers: prices in micro-credits per YES share (= probability in micros),
outcome weights in micros (they sum to ``ONE``), instants in UTC microseconds. Scores
are floats: they are statistics, never balances (money stays integer everywhere).

**The probability vector.** A binary market has one book, outcome 0's: its YES price
``p`` gives ``(p, 1 - p)``. A categorical market has one book per outcome and their
prices need not add up to 1, so at each instant the vector is each outcome's last
price, normalized to sum 1; an outcome not traded yet gets an equal share of what the
traded ones leave (``max(0, 1 - their sum)``), and if that is nothing, it gets 0.

**Scores** (lower is better, 0 for a perfect forecast of a 0/1 outcome):

* Brier: binary ``(p0 - w0)^2`` in [0, 1]; categorical ``sum_k (p_k - w_k)^2`` in
  [0, 2] (the original multi-category Brier score).
* Log: ``-sum_k w_k ln(p_k)`` (the log loss, natural log; a fractional resolution
  weighs each outcome's term), with ``p_k`` clamped to at least ``P_MIN`` (1 micro).

**At close** is the score of the last vector at or before ``end_us`` (the market's
close, or its settlement if that came first). **Time-averaged** weighs each vector by
how long it stood, from its instant to the next one (or ``end_us``); the time before the
first price is not scored. If no time passes between the first price and the end, the
average is the at-close score.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Sequence
from typing import Final, NamedTuple

from augury.domain.units import ONE

P_MIN: Final = 1e-6
"""The least probability the log score uses (a price is at least one micro)."""

Vector = tuple[float, ...]


class PricePoint(NamedTuple):
    t_us: int
    outcome: int  # the book's outcome (always 0 in a binary market)
    price: int  # micro-credits per YES share of ``outcome``


class PathPoint(NamedTuple):
    t_us: int
    probs: Vector  # one probability per outcome, summing to 1


class MarketScore(NamedTuple):
    points: int  # vectors in the path up to the end
    first_us: int | None  # instant of the first price
    close_probs: Vector | None  # the vector at close
    brier_close: float | None
    log_close: float | None
    brier_avg: float | None
    log_avg: float | None
    scored_us: int  # time covered by the time average


def probability_path(
    points: Sequence[PricePoint], outcomes: int, categorical: bool
) -> list[PathPoint]:
    """Time-ordered vectors, one per distinct instant of ``points`` (which must be
    sorted by time); prices at one instant are applied together."""
    assert outcomes >= 2
    last: list[int | None] = [None] * outcomes
    path: list[PathPoint] = []
    for i, point in enumerate(points):
        assert 0 <= point.outcome < outcomes and 0 < point.price < ONE, point
        assert i == 0 or points[i - 1].t_us <= point.t_us, "points must be in time order"
        if not categorical and point.outcome != 0:
            continue  # a binary market's prices are outcome 0's
        last[point.outcome] = point.price
        if i + 1 < len(points) and points[i + 1].t_us == point.t_us:
            continue
        path.append(PathPoint(point.t_us, _vector(last, categorical)))
    return path


def _vector(last: list[int | None], categorical: bool) -> Vector:
    if not categorical:
        p = last[0]
        assert p is not None
        return (p / ONE, (ONE - p) / ONE)
    known = [p for p in last if p is not None]
    missing = len(last) - len(known)
    fill = max(0, ONE - sum(known)) / missing if missing else 0.0
    values = [float(p) if p is not None else fill for p in last]
    total = math.fsum(values)
    return tuple(v / total for v in values)


def weights_vector(weights: Sequence[int]) -> Vector:
    assert all(0 <= w <= ONE for w in weights) and sum(weights) == ONE, weights
    return tuple(w / ONE for w in weights)


def brier(probs: Vector, outcome: Vector, categorical: bool) -> float:
    """Brier score of a probability vector against the resolution (see the module)."""
    if not categorical:
        return (probs[0] - outcome[0]) ** 2
    return math.fsum((p - o) ** 2 for p, o in zip(probs, outcome, strict=True))


def log_score(probs: Vector, outcome: Vector) -> float:
    """The log loss ``-sum w_k ln p_k`` (p clamped to ``P_MIN``)."""
    loss = -math.fsum(o * math.log(max(p, P_MIN)) for p, o in zip(probs, outcome, strict=True) if o)
    return loss + 0.0  # no negative zero


def score_market(
    path: Sequence[PathPoint], weights: Sequence[int], end_us: int, categorical: bool
) -> MarketScore:
    """Brier and log score at close and time-averaged (see the module docstring)."""
    outcome = weights_vector(weights)
    live = [point for point in path if point.t_us <= end_us]
    if not live:
        return MarketScore(0, None, None, None, None, None, None, 0)
    close = live[-1].probs
    brier_close = brier(close, outcome, categorical)
    log_close = log_score(close, outcome)
    span = end_us - live[0].t_us
    brier_avg = time_average(
        live, end_us, [brier(p.probs, outcome, categorical) for p in live], brier_close
    )
    log_avg = time_average(live, end_us, [log_score(p.probs, outcome) for p in live], log_close)
    return MarketScore(
        len(live), live[0].t_us, close, brier_close, log_close, brier_avg, log_avg, span
    )


def time_average(
    live: Sequence[PathPoint], end_us: int, scores: Sequence[float], at_close: float
) -> float:
    """The scores of ``live``'s points, each weighed by how long it stood (until the next
    point, the last until ``end_us``); ``at_close`` when no time passes."""
    span = end_us - live[0].t_us
    if not span:
        return at_close
    parts = []
    for i, point in enumerate(live):
        until = live[i + 1].t_us if i + 1 < len(live) else end_us
        parts.append((until - point.t_us) * scores[i])
    return math.fsum(parts) / span


def at(path: Sequence[PathPoint], t_us: int) -> Vector | None:
    """The vector standing at ``t_us`` (the last at or before it), None before the first."""
    i = bisect_right(path, t_us, key=lambda point: point.t_us)
    return path[i - 1].probs if i else None
