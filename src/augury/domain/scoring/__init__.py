"""Scoring: how good were the markets' probabilities and the traders' prices.

Pure functions (no I/O, no clock: "now" is a parameter, no randomness). Money stays
integer micros; ratios that rank traders are exact fractions; forecast scores (Brier,
log, calibration means) are floats, since they are statistics and never balances.

* ``flows``: the cash flows between an account and a market, from ledger postings
  (the ``account_flows`` read model is built with it).
* ``forecast``: a resolved market's probability path, Brier and log score at close and
  time-averaged.
* ``calibration``: predicted vs observed frequency in probability buckets.
* ``traders``: profit, return, edge, trade-price calibration and leaderboards.

See docs/scoring.md.
"""

from __future__ import annotations

from augury.domain.scoring.calibration import (
    BUCKETS_DEFAULT,
    SAMPLES_DEFAULT,
    Bucket,
    Prediction,
    bucket_of,
    calibration,
    market_predictions,
    sample_instants,
)
from augury.domain.scoring.flows import FLOW_KINDS, PROFIT_KINDS, Flow, account_nets, flows_of
from augury.domain.scoring.forecast import (
    MarketScore,
    PathPoint,
    PricePoint,
    brier,
    log_score,
    probability_path,
    score_market,
)
from augury.domain.scoring.traders import (
    SCORE_MIN_SHARES,
    WINDOWS,
    Exposure,
    FlowSum,
    RankBy,
    Ranked,
    TraderStats,
    Window,
    exposure,
    flow_sums,
    is_long,
    leaderboard,
    trade_predictions,
    trader_stats,
    window_start,
)

__all__ = [
    "BUCKETS_DEFAULT",
    "FLOW_KINDS",
    "PROFIT_KINDS",
    "SAMPLES_DEFAULT",
    "SCORE_MIN_SHARES",
    "WINDOWS",
    "Bucket",
    "Exposure",
    "Flow",
    "FlowSum",
    "MarketScore",
    "PathPoint",
    "Prediction",
    "PricePoint",
    "RankBy",
    "Ranked",
    "TraderStats",
    "Window",
    "account_nets",
    "brier",
    "bucket_of",
    "calibration",
    "exposure",
    "flow_sums",
    "flows_of",
    "is_long",
    "leaderboard",
    "log_score",
    "market_predictions",
    "probability_path",
    "sample_instants",
    "score_market",
    "trade_predictions",
    "trader_stats",
    "window_start",
]
