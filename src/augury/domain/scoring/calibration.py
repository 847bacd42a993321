"""Calibration: how often did what was priced at p happen?

A prediction is a probability and what happened (the outcome's resolution weight,
0..1; a fractional resolution counts fractionally). Predictions are put in ``buckets``
equal buckets of probability: bucket k holds ``[k/B, (k+1)/B)``, the last one also 1.
Each bucket reports its count, the mean predicted probability and the mean observed
frequency (None when empty). Every prediction lands in exactly one bucket.

**Across resolved markets** (:func:`market_predictions`): each market is sampled at
``samples`` instants spread evenly over its priced life (from its first price to its
end, at the midpoints of ``samples`` equal slices), so every market weighs the same
whatever its length or trading activity; at each instant, a binary market gives one
prediction (outcome 0's probability against outcome 0's weight), a categorical one a
prediction per outcome. A market never traded before its end gives none.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final, NamedTuple

from augury.domain.scoring.forecast import PathPoint, at, weights_vector

BUCKETS_DEFAULT: Final = 10
SAMPLES_DEFAULT: Final = 24
"""Instants sampled per market for the calibration across markets."""


class Prediction(NamedTuple):
    prob: float  # 0..1
    observed: float  # 0..1: the outcome's resolution weight


@dataclass(frozen=True)
class Bucket:
    index: int
    lower: float
    upper: float
    count: int
    predicted: float | None  # mean probability in the bucket
    observed: float | None  # mean observed frequency in the bucket


def bucket_of(prob: float, buckets: int) -> int:
    """The bucket index of ``prob`` (a hair of tolerance for binary rounding at edges)."""
    assert 0.0 <= prob <= 1.0 and buckets >= 1, (prob, buckets)
    return min(buckets - 1, math.floor(prob * buckets + 1e-9))


def calibration(predictions: Iterable[Prediction], buckets: int = BUCKETS_DEFAULT) -> list[Bucket]:
    """The buckets of ``predictions`` (see the module docstring)."""
    probs: list[list[float]] = [[] for _ in range(buckets)]
    seen: list[list[float]] = [[] for _ in range(buckets)]
    for prediction in predictions:
        k = bucket_of(prediction.prob, buckets)
        probs[k].append(prediction.prob)
        seen[k].append(prediction.observed)
    out = []
    for k in range(buckets):
        count = len(probs[k])
        out.append(
            Bucket(
                k,
                k / buckets,
                (k + 1) / buckets,
                count,
                math.fsum(probs[k]) / count if count else None,
                math.fsum(seen[k]) / count if count else None,
            )
        )
    return out


def sample_instants(first_us: int, end_us: int, samples: int) -> list[int]:
    """``samples`` instants: the midpoints of equal slices of [first_us, end_us]."""
    assert samples >= 1 and end_us >= first_us
    span = end_us - first_us
    return [first_us + span * (2 * j + 1) // (2 * samples) for j in range(samples)]


def market_predictions(
    path: Sequence[PathPoint],
    weights: Sequence[int],
    end_us: int,
    categorical: bool,
    samples: int = SAMPLES_DEFAULT,
) -> list[Prediction]:
    """The predictions one resolved market contributes (see the module docstring)."""
    outcome = weights_vector(weights)
    if not path or path[0].t_us > end_us:
        return []
    out: list[Prediction] = []
    for instant in sample_instants(path[0].t_us, end_us, samples):
        probs = at(path, instant)
        assert probs is not None
        if categorical:
            out.extend(Prediction(p, o) for p, o in zip(probs, outcome, strict=True))
        else:
            out.append(Prediction(probs[0], outcome[0]))
    return out
