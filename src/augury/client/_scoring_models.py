"""The scoring answers as typed msgspec Structs: probability series, market scores,
calibration, trader statistics and leaderboards."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import msgspec

from augury.client._models import Model


class ProbabilityPoint(Model):
    time: datetime
    probabilities: list[Decimal]


class NumericScore(Model):
    """A scalar market's numeric scores, lower is better: the squared error of the
    implied value over the range squared (proper for the mean), the absolute error in
    units (the CRPS of a point forecast), and the interval score of the last day's range
    of implied values as a 50% interval."""

    units: str
    close_value: Decimal | None
    resolved_value: Decimal
    squared_error_close: Decimal | None
    absolute_error_close: Decimal | None
    squared_error_time_avg: Decimal | None
    absolute_error_time_avg: Decimal | None
    interval: list[Decimal] | None
    interval_score: Decimal | None


class MarketScore(Model):
    """A resolved market's probability over time and its Brier and log scores (lower is
    better); probabilities and scores are Decimals rounded to 6 decimals."""

    market: str
    question: str
    categorical: bool
    outcomes: list[str]
    weights: list[Decimal]
    first_price_time: datetime | None
    end_time: datetime
    points: int
    scored_seconds: int
    close_probabilities: list[Decimal] | None
    brier_close: Decimal | None
    log_close: Decimal | None
    brier_time_avg: Decimal | None
    log_time_avg: Decimal | None
    series: list[ProbabilityPoint]
    series_thinned: bool
    numeric: NumericScore | None = None
    """A scalar market: its implied value scored against the resolved value."""


class CalibrationBucket(Model):
    lower: Decimal
    upper: Decimal
    count: int
    predicted: Decimal | None
    observed: Decimal | None


class Calibration(Model):
    markets: int
    samples_per_market: int
    predictions: int
    buckets: list[CalibrationBucket]


class TraderStats(Model):
    account: str
    profit: Decimal
    capital: Decimal
    return_: Decimal | None = msgspec.field(name="return")
    """``return`` in the API (a Python keyword)."""
    score: Decimal | None
    markets: int
    fills: int
    shares: Decimal


class LeaderboardEntry(TraderStats):
    rank: int


class Leaderboard(Model):
    by: str
    window: str
    since: datetime | None
    as_of: datetime
    min_shares: Decimal
    """The shares a trader must have traded to get a ``score``."""
    items: list[LeaderboardEntry]


class TraderScore(TraderStats):
    window: str
    since: datetime | None
    as_of: datetime
    calibration: list[CalibrationBucket]
