"""Response shapes of the scoring routes (``routes/scoring.py``); see docs/scoring.md.

As everywhere in the API, amounts are decimal strings; so are probabilities, scores and
ratios (rounded to 6 decimals). Counts are integers, instants RFC 3339 strings.
"""

from __future__ import annotations

from pydantic import Field

from augury.api.responses import Amount, Instant, Out

Decimal6 = str
"""A probability, score or ratio as a decimal string with at most 6 decimals."""


class ProbabilityPoint(Out):
    time: Instant
    probabilities: list[Decimal6]


class NumericScoreOut(Out):
    """A scalar market's numeric scores (lower is better; docs/scoring.md)."""

    units: str
    close_value: Decimal6 | None
    resolved_value: Decimal6
    squared_error_close: Decimal6 | None
    """((implied - resolved) / (high - low))^2: proper for the mean; LONG's Brier score."""
    absolute_error_close: Decimal6 | None
    """|implied - resolved| in units: the CRPS of the implied value as a point forecast."""
    squared_error_time_avg: Decimal6 | None
    absolute_error_time_avg: Decimal6 | None
    interval: list[Decimal6] | None
    """The implied values' range over the last day: a 50% interval."""
    interval_score: Decimal6 | None


class MarketScoreOut(Out):
    market: str
    question: str
    categorical: bool
    outcomes: list[str]
    weights: list[Amount]
    first_price_time: Instant | None
    end_time: Instant
    points: int
    scored_seconds: int
    close_probabilities: list[Decimal6] | None
    brier_close: Decimal6 | None
    log_close: Decimal6 | None
    brier_time_avg: Decimal6 | None
    log_time_avg: Decimal6 | None
    numeric: NumericScoreOut | None = None
    """A scalar market: its implied value scored against the resolved value."""
    series: list[ProbabilityPoint]
    series_thinned: bool


class BucketOut(Out):
    lower: Decimal6
    upper: Decimal6
    count: int
    predicted: Decimal6 | None
    observed: Decimal6 | None


class CalibrationOut(Out):
    markets: int
    samples_per_market: int
    predictions: int
    buckets: list[BucketOut]


class TraderStatsOut(Out):
    account: str
    profit: Amount
    capital: Amount
    return_: Decimal6 | None = Field(alias="return")
    score: Decimal6 | None
    markets: int
    fills: int
    shares: Amount


class LeaderboardEntry(TraderStatsOut):
    rank: int


class LeaderboardOut(Out):
    by: str
    window: str
    since: Instant | None
    as_of: Instant
    min_shares: Amount
    items: list[LeaderboardEntry]


class TraderOut(TraderStatsOut):
    window: str
    since: Instant | None
    as_of: Instant
    calibration: list[BucketOut]
