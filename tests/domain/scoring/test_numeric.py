"""Numeric forecast scores: a scalar market's implied value against its resolved value."""

from __future__ import annotations

import math

import hypothesis.strategies as st
import pytest
from hypothesis import given

from augury.domain.scalar import ScalarRange
from augury.domain.scoring.forecast import PathPoint, brier, score_market
from augury.domain.scoring.numeric import (
    implied,
    interval_score,
    score_numeric,
    squared_error,
)
from augury.domain.units import ONE

SHIPS = ScalarRange(low=0, high=2_000 * ONE, step=ONE, units="ships")
H = 3_600_000_000


def path(*probs: float) -> list[PathPoint]:
    return [PathPoint(i * H, (p, 1 - p)) for i, p in enumerate(probs)]


def test_a_market_that_converged_scores_well() -> None:
    s = score_numeric(path(0.5, 0.6, 0.62), SHIPS, 1_240 * ONE, 3 * H)
    assert s.points == 3 and s.close_value == pytest.approx(1240)
    assert s.absolute_close == pytest.approx(0) and s.squared_close == pytest.approx(0)
    assert s.absolute_avg == pytest.approx((240 + 40 + 0) / 3)
    assert s.interval == pytest.approx((1000, 1240))
    assert s.interval_score == pytest.approx(240)  # the value lies inside: its width


def test_values_outside_the_range_are_scored_clamped() -> None:
    s = score_numeric(path(1.0), SHIPS, 9_999 * ONE, H)
    assert s.resolved_value == 2000 and s.absolute_close == pytest.approx(0)


def test_no_price_no_score() -> None:
    s = score_numeric([], SHIPS, ONE, H)
    assert s.points == 0 and s.squared_close is None and s.interval_score is None


@given(st.floats(0, 1), st.integers(0, 2_000))
def test_the_squared_error_is_the_brier_score_of_long(p: float, ships: int) -> None:
    long_weight = ships * ONE // 2_000 / ONE
    forecast = implied(SHIPS, p)
    b = brier((p, 1 - p), (long_weight, 1 - long_weight), False)
    assert squared_error(SHIPS, forecast, ships) == pytest.approx(b, abs=1e-9)
    binary = score_market(path(p), [ships * ONE // 2_000, ONE - ships * ONE // 2_000], H, False)
    assert binary.brier_close == pytest.approx(squared_error(SHIPS, forecast, ships), abs=1e-9)


def test_the_squared_error_is_proper_for_the_mean() -> None:
    """Over a distribution of outcomes, the expected score is least at its mean."""
    outcomes = [(100.0, 0.2), (900.0, 0.5), (1_700.0, 0.3)]
    mean = math.fsum(v * w for v, w in outcomes)

    def expected(forecast: float) -> float:
        return math.fsum(w * squared_error(SHIPS, forecast, v) for v, w in outcomes)

    assert all(expected(mean) <= expected(f) for f in range(0, 2_001, 25))


@given(st.integers(-(10**6), 10**6), st.integers(0, 10**6), st.integers(-(10**6), 10**6))
def test_the_interval_score_penalizes_misses(lower: int, width: int, value: int) -> None:
    upper = lower + width
    score = interval_score(lower, upper, value, 0.5)
    assert score >= width
    if lower <= value <= upper:
        assert score == pytest.approx(width)
    else:
        assert score > width


def test_the_interval_score_refuses_nonsense() -> None:
    with pytest.raises(ValueError, match="alpha"):
        interval_score(1, 0, 0.5, 0.5)
    with pytest.raises(ValueError, match="alpha"):
        interval_score(0, 1, 0.5, 1.0)
