"""Calibration buckets: worked examples and invariants."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from augury.domain.scoring import (
    PathPoint,
    Prediction,
    bucket_of,
    calibration,
    market_predictions,
    sample_instants,
)

ONE = 1_000_000


def test_buckets_by_hand() -> None:
    predictions = [
        Prediction(0.05, 0.0),
        Prediction(0.15, 1.0),
        Prediction(0.15, 0.0),
        Prediction(0.1, 0.5),  # a 50/50 resolution counts half
        Prediction(0.95, 1.0),
        Prediction(1.0, 1.0),  # 1 belongs to the last bucket
    ]
    buckets = calibration(predictions, 10)
    assert [b.count for b in buckets] == [1, 3, 0, 0, 0, 0, 0, 0, 0, 2]
    assert buckets[1].predicted is not None and abs(buckets[1].predicted - 0.4 / 3) < 1e-12
    assert buckets[1].observed == 0.5
    assert (buckets[2].predicted, buckets[2].observed) == (None, None)
    assert (buckets[9].lower, buckets[9].upper, buckets[9].observed) == (0.9, 1.0, 1.0)


def test_bucket_edges_are_exact_for_micro_prices() -> None:
    assert [bucket_of(k / 10, 10) for k in range(11)] == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9]
    assert bucket_of(299_999 / ONE, 10) == 2 and bucket_of(300_000 / ONE, 10) == 3


def test_samples_are_the_midpoints_of_equal_slices() -> None:
    assert sample_instants(0, 600, 6) == [50, 150, 250, 350, 450, 550]
    assert sample_instants(7, 7, 3) == [7, 7, 7]


def test_a_market_gives_one_prediction_per_sample_and_outcome() -> None:
    path = [PathPoint(0, (0.2, 0.3, 0.5)), PathPoint(300, (0.1, 0.1, 0.8))]
    found = market_predictions(path, (0, 0, ONE), 600, categorical=True, samples=4)
    # instants 75, 225 (first vector), 375, 525 (second)
    assert [p.prob for p in found[:3]] == [0.2, 0.3, 0.5]
    assert [p.prob for p in found[6:9]] == [0.1, 0.1, 0.8]
    assert [p.observed for p in found[9:]] == [0.0, 0.0, 1.0]
    binary = market_predictions([PathPoint(0, (0.7, 0.3))], (ONE, 0), 10, False, samples=5)
    assert binary == [Prediction(0.7, 1.0)] * 5
    assert market_predictions([PathPoint(20, (0.7, 0.3))], (ONE, 0), 10, False) == []


@given(
    st.lists(st.tuples(st.floats(0, 1), st.sampled_from([0.0, 0.5, 1.0]))),
    st.integers(1, 40),
)
def test_counts_sum_to_the_samples_and_means_stay_in_their_bucket(
    raw: list[tuple[float, float]], buckets: int
) -> None:
    found = calibration([Prediction(p, o) for p, o in raw], buckets)
    assert len(found) == buckets and sum(b.count for b in found) == len(raw)
    for b in found:
        if b.count:
            assert b.predicted is not None and b.observed is not None
            assert b.lower - 1e-9 <= b.predicted <= b.upper + 1e-9
            assert 0 <= b.observed <= 1
