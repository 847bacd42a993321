"""Probability paths, Brier and log scores: worked examples and invariants."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from augury.domain.scoring import (
    PathPoint,
    PricePoint,
    brier,
    log_score,
    probability_path,
    score_market,
)
from augury.domain.scoring.forecast import P_MIN, at

ONE = 1_000_000
HOUR = 3_600_000_000


def test_a_binary_market_by_hand() -> None:
    # 0.30 stands from 1h to 3h, 0.60 from 3h to the end at 4h; YES happened
    path = probability_path(
        [PricePoint(HOUR, 0, 300_000), PricePoint(3 * HOUR, 0, 600_000)], 2, False
    )
    assert path == [PathPoint(HOUR, (0.3, 0.7)), PathPoint(3 * HOUR, (0.6, 0.4))]
    score = score_market(path, (ONE, 0), 4 * HOUR, categorical=False)
    assert score.points == 2 and score.first_us == HOUR and score.scored_us == 3 * HOUR
    assert score.close_probs == (0.6, 0.4)
    assert math.isclose(score.brier_close or 0, 0.16)  # (0.6 - 1)^2
    assert math.isclose(score.log_close or 0, -math.log(0.6))
    assert math.isclose(score.brier_avg or 0, (2 * 0.49 + 1 * 0.16) / 3)  # 0.38
    assert math.isclose(score.log_avg or 0, (2 * -math.log(0.3) - math.log(0.6)) / 3)


def test_no_resolution_weighs_the_no_side() -> None:
    path = probability_path([PricePoint(0, 0, 200_000)], 2, False)
    score = score_market(path, (0, ONE), HOUR, categorical=False)
    assert math.isclose(score.brier_close or 0, 0.04)  # (0.2 - 0)^2
    assert math.isclose(score.log_close or 0, -math.log(0.8))


def test_a_split_resolution_weighs_both_log_terms() -> None:
    assert math.isclose(log_score((0.5, 0.5), (0.5, 0.5)), math.log(2))
    assert brier((0.5, 0.5), (0.5, 0.5), categorical=False) == 0.0


def test_categorical_vectors_normalize_and_fill_untraded_outcomes() -> None:
    points = [
        PricePoint(10, 0, 500_000),  # B and C not traded: they share the other half
        PricePoint(20, 1, 600_000),  # 0.5 + 0.6 > 1: C gets nothing, the rest normalized
        PricePoint(30, 2, 100_000),
        PricePoint(30, 0, 300_000),  # same instant: applied together, one vector
    ]
    path = probability_path(points, 3, True)
    assert [p.t_us for p in path] == [10, 20, 30]
    assert path[0].probs == (0.5, 0.25, 0.25)
    assert path[1].probs == (0.5 / 1.1, 0.6 / 1.1, 0.0)
    assert all(math.isclose(a, b) for a, b in zip(path[2].probs, (0.3, 0.6, 0.1), strict=True))
    score = score_market(path[:2], (0, 0, ONE), 20, categorical=True)
    # multi-outcome Brier of the vector at close against C: (0.4545)^2 + (0.5454)^2 + 1
    assert math.isclose(score.brier_close or 0, (0.5 / 1.1) ** 2 + (0.6 / 1.1) ** 2 + 1)
    assert math.isclose(score.log_close or 0, -math.log(P_MIN))  # C at 0 is clamped


def test_a_market_with_no_price_before_its_end_has_no_score() -> None:
    score = score_market([PathPoint(10, (0.5, 0.5))], (ONE, 0), 5, categorical=False)
    assert score.points == 0 and score.brier_close is None and score.brier_avg is None
    assert at([PathPoint(10, (0.5, 0.5))], 9) is None


def test_prices_after_the_end_are_ignored_and_a_zero_span_averages_to_the_close() -> None:
    path = [PathPoint(10, (0.9, 0.1)), PathPoint(20, (0.1, 0.9))]
    score = score_market(path, (ONE, 0), 10, categorical=False)
    assert score.points == 1 and score.scored_us == 0
    assert score.brier_avg == score.brier_close == (0.9 - 1) ** 2


prices = st.integers(1, ONE - 1)
weights2 = st.sampled_from([(ONE, 0), (0, ONE), (ONE // 2, ONE // 2), (250_000, 750_000)])


@st.composite
def binary_paths(draw: st.DrawFn) -> tuple[list[PricePoint], int]:
    gaps = draw(st.lists(st.integers(0, 10 * HOUR), min_size=1, max_size=20))
    t, points = 0, []
    for gap in gaps:
        t += gap
        points.append(PricePoint(t, 0, draw(prices)))
    return points, t + draw(st.integers(0, 5 * HOUR))


@given(binary_paths(), weights2)
def test_binary_brier_is_between_0_and_1_and_the_average_between_the_extremes(
    drawn: tuple[list[PricePoint], int], weights: tuple[int, int]
) -> None:
    points, end = drawn
    path = probability_path(points, 2, False)
    score = score_market(path, weights, end, categorical=False)
    assert score.brier_close is not None and score.brier_avg is not None
    assert 0 <= score.brier_close <= 1 and 0 <= score.brier_avg <= 1
    each = [brier(p.probs, (weights[0] / ONE, weights[1] / ONE), False) for p in path]
    assert min(each) - 1e-12 <= score.brier_avg <= max(each) + 1e-12
    assert score.log_close is not None and score.log_close >= 0


@given(st.lists(prices, min_size=3, max_size=3), st.integers(0, 2))
def test_categorical_brier_is_between_0_and_2(three: list[int], winner: int) -> None:
    points = [PricePoint(0, k, p) for k, p in enumerate(three)]
    path = probability_path(points, 3, True)
    assert math.isclose(math.fsum(path[0].probs), 1)
    outcome = tuple(ONE if k == winner else 0 for k in range(3))
    score = score_market(path, outcome, 1, categorical=True)
    assert score.brier_close is not None and 0 <= score.brier_close <= 2


@given(st.integers(2, 8), st.data())
def test_a_perfect_forecaster_scores_zero(outcomes: int, data: st.DataObject) -> None:
    winner = data.draw(st.integers(0, outcomes - 1))
    certain = tuple(1.0 if k == winner else 0.0 for k in range(outcomes))
    assert brier(certain, certain, categorical=outcomes > 2) == 0
    assert log_score(certain, certain) == 0
    path = [PathPoint(0, certain), PathPoint(HOUR, certain)]
    weights = tuple(ONE if k == winner else 0 for k in range(outcomes))
    score = score_market(path, weights, 2 * HOUR, categorical=True)
    assert score.brier_close == score.brier_avg == score.log_avg == 0


@given(prices, st.integers(1, 50), weights2)
def test_a_constant_path_averages_to_its_close(
    price: int, steps: int, weights: tuple[int, int]
) -> None:
    points = [PricePoint(i * HOUR, 0, price) for i in range(steps)]
    score = score_market(probability_path(points, 2, False), weights, steps * HOUR, False)
    assert score.brier_avg is not None and score.brier_close is not None
    assert math.isclose(score.brier_avg, score.brier_close, abs_tol=1e-15)
    assert math.isclose(score.log_avg or 0, score.log_close or 0, abs_tol=1e-12)
