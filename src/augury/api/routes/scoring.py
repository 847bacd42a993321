"""Scoring: market forecasts, calibration, trader results and leaderboards (public reads).

The numbers come from the read models (``markets``, 1h ``candles``, ``fills``,
``orders``, ``account_flows``) through the pure functions of
``augury.domain.scoring``. A market's probability series is the close of each hourly
candle of its books, placed at the end of its hour (the close is known only then;
the last hour ends at the market's end), so a score never looks ahead. The market's end
is its close time, or its settlement if that came first. See docs/scoring.md.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Sequence
from fractions import Fraction
from functools import partial
from typing import Annotated, Any, Final

import msgspec
from fastapi import APIRouter, Path, Query
from sqlalchemy import Connection, Engine, and_, case, func, select
from sqlalchemy.sql.elements import ColumnElement
from starlette.concurrency import run_in_threadpool

from augury.api import scoring_models as sm
from augury.api.deps import ServicesDep
from augury.api.errors import ApiError, refused
from augury.domain import scoring as sc
from augury.domain.rejections import Code
from augury.domain.scalar import ScalarRange, value_of_weight
from augury.domain.scoring.numeric import score_numeric
from augury.domain.units import ONE, format_micros
from augury.projections import tables as t
from augury.settings import PAGE_SIZE_MAX, format_instant

router = APIRouter(tags=["scoring"])

MARKET_NOT_RESOLVED: Final = "market_not_resolved"
HOUR_US: Final = 3_600_000_000
SERIES_POINTS_MAX: Final = 1_000
SETTLED: Final = ("resolved", "voided")

MarketPath = Annotated[str, Path(min_length=1, max_length=64)]
AccountPath = Annotated[str, Path(min_length=1, max_length=64)]
WindowQuery = Annotated[
    sc.Window, Query(description="Markets settled in the last 30 or 7 days, or all.")
]


def decimal6(value: float | Fraction | None) -> str | None:
    """A ratio as a decimal string rounded to 6 decimals (half to even)."""
    return None if value is None else format_micros(round(value * ONE))


# -- reads ---------------------------------------------------------------------------------
def _end_us(row: Any) -> int:
    return min(int(row.close_at), int(row.updated_us))


def _paths(conn: Connection, markets: Sequence[Any]) -> dict[str, list[sc.PathPoint]]:
    """Each market's probability path from its 1h candles."""
    if not markets:
        return {}
    by_id = {row.market: row for row in markets}
    c = t.candles
    query = (
        select(c.c.market, c.c.outcome, c.c.bucket_us, c.c.close)
        .where(c.c.interval == "1h", c.c.market.in_(list(by_id)))
        .order_by(c.c.market, c.c.bucket_us, c.c.outcome)
    )
    points: dict[str, list[sc.PricePoint]] = defaultdict(list)
    for r in conn.execute(query):
        end = _end_us(by_id[r.market])
        points[r.market].append(sc.PricePoint(min(r.bucket_us + HOUR_US, end), r.outcome, r.close))
    return {
        market: sc.probability_path(points[market], row.outcome_count, row.categorical)
        for market, row in by_id.items()
    }


def _settled(conn: Connection, since: int | None, statuses: Sequence[str] = SETTLED) -> list[Any]:
    m = t.markets
    query = select(m).where(m.c.status.in_(statuses))
    if since is not None:
        query = query.where(m.c.updated_us >= since)
    return list(conn.execute(query.order_by(m.c.market)))


def _numeric(
    raw: str | None, path: list[sc.PathPoint], weights: list[int], end: int
) -> dict[str, Any] | None:
    """A scalar market's numeric scores (docs/scoring.md, "Numeric forecasts")."""
    if not raw:
        return None
    rng = msgspec.json.decode(raw, type=ScalarRange)
    s = score_numeric(path, rng, value_of_weight(rng, weights[0]), end)
    return {
        "units": rng.units,
        "close_value": decimal6(s.close_value),
        "resolved_value": decimal6(s.resolved_value),
        "squared_error_close": decimal6(s.squared_close),
        "absolute_error_close": decimal6(s.absolute_close),
        "squared_error_time_avg": decimal6(s.squared_avg),
        "absolute_error_time_avg": decimal6(s.absolute_avg),
        "interval": None if s.interval is None else [decimal6(v) for v in s.interval],
        "interval_score": decimal6(s.interval_score),
    }


def market_score(engine: Engine, market: str) -> dict[str, Any]:
    with engine.connect() as conn:
        row = conn.execute(select(t.markets).where(t.markets.c.market == market)).first()
        if row is None:
            raise refused(Code.UNKNOWN_MARKET.value, f"no market {market!r}")
        if row.status != "resolved":
            raise ApiError(
                409,
                MARKET_NOT_RESOLVED,
                f"market {market!r} is {row.status}: only a resolved market is scored",
            )
        path = _paths(conn, [row])[market]
    weights = json.loads(row.weights)
    end = _end_us(row)
    score = sc.score_market(path, weights, end, row.categorical)
    live = [p for p in path if p.t_us <= end]
    step = max(1, math.ceil(len(live) / SERIES_POINTS_MAX))
    shown = live[::step]
    if live and shown[-1] != live[-1]:
        shown = [*shown[: SERIES_POINTS_MAX - 1], live[-1]]
    return {
        "market": market,
        "question": row.question,
        "categorical": row.categorical,
        "outcomes": json.loads(row.outcomes),
        "weights": [format_micros(w) for w in weights],
        "first_price_time": None if score.first_us is None else format_instant(score.first_us),
        "end_time": format_instant(end),
        "points": score.points,
        "scored_seconds": score.scored_us // 1_000_000,
        "close_probabilities": _probs(score.close_probs),
        "brier_close": decimal6(score.brier_close),
        "log_close": decimal6(score.log_close),
        "brier_time_avg": decimal6(score.brier_avg),
        "log_time_avg": decimal6(score.log_avg),
        "numeric": _numeric(row.scalar, path, weights, end),
        "series": [
            {"time": format_instant(p.t_us), "probabilities": _probs(p.probs)} for p in shown
        ],
        "series_thinned": step > 1,
    }


def _probs(probs: tuple[float, ...] | None) -> list[str] | None:
    return None if probs is None else [format_micros(round(p * ONE)) for p in probs]


def _buckets(buckets: list[sc.Bucket]) -> list[dict[str, Any]]:
    return [
        {
            "lower": decimal6(b.lower),
            "upper": decimal6(b.upper),
            "count": b.count,
            "predicted": decimal6(b.predicted),
            "observed": decimal6(b.observed),
        }
        for b in buckets
    ]


def market_calibration(engine: Engine, buckets: int, samples: int) -> dict[str, Any]:
    with engine.connect() as conn:
        markets = _settled(conn, None, ("resolved",))
        paths = _paths(conn, markets)
    predictions: list[sc.Prediction] = []
    scored = 0
    for row in markets:
        found = sc.market_predictions(
            paths[row.market], json.loads(row.weights), _end_us(row), row.categorical, samples
        )
        scored += bool(found)
        predictions.extend(found)
    return {
        "markets": scored,
        "samples_per_market": samples,
        "predictions": len(predictions),
        "buckets": _buckets(sc.calibration(predictions, buckets)),
    }


def _flow_sums(conn: Connection, since: int | None, account: str | None) -> list[sc.FlowSum]:
    f, m = t.account_flows, t.markets
    where: list[ColumnElement[bool]] = [
        m.c.status.in_(SETTLED),
        f.c.kind.in_(sc.PROFIT_KINDS),
    ]
    if since is not None:
        where.append(m.c.updated_us >= since)
    if account is not None:
        where.append(f.c.account == account)
    debit = func.sum(case((f.c.amount < 0, -f.c.amount), else_=0))
    query = (
        select(f.c.account, f.c.market, func.sum(f.c.amount), debit)
        .select_from(f.join(m, m.c.market == f.c.market))
        .where(and_(*where))
        .group_by(f.c.account, f.c.market)
    )
    return [sc.FlowSum(a, mk, int(net), int(debits)) for a, mk, net, debits in conn.execute(query)]


def _exposures(conn: Connection, since: int | None, account: str | None) -> list[sc.Exposure]:
    f, o, m = t.fills, t.orders, t.markets
    out: list[sc.Exposure] = []
    for account_col, order_col in (
        (f.c.taker_account, f.c.taker_order),
        (f.c.resting_account, f.c.resting_order),
    ):
        where: list[ColumnElement[bool]] = [m.c.status == "resolved"]
        if since is not None:
            where.append(m.c.updated_us >= since)
        if account is not None:
            where.append(account_col == account)
        query = (
            select(account_col, f.c.market, f.c.outcome, f.c.price, f.c.qty, o.c.side, o.c.token)
            .add_columns(m.c.weights)
            .select_from(f.join(m, m.c.market == f.c.market).join(o, o.c.order_id == order_col))
            .where(and_(*where))
            .order_by(f.c.seq, f.c.idx)
        )
        weights: dict[str, list[int]] = {}
        for acct, market, outcome, price, qty, side, token, raw in conn.execute(query):
            w = weights.get(market)
            if w is None:
                w = weights[market] = json.loads(raw)
            long = sc.is_long(side, token)
            out.append(sc.exposure(acct, market, long, price, qty, w[outcome]))
    return out


def _stats_view(s: sc.TraderStats) -> dict[str, Any]:
    return {
        "account": s.account,
        "profit": format_micros(s.profit),
        "capital": format_micros(s.capital),
        "return": decimal6(s.return_),
        "score": decimal6(s.edge),
        "markets": s.markets,
        "fills": s.fills,
        "shares": format_micros(s.shares),
    }


def leaderboard(
    engine: Engine, by: sc.RankBy, window: sc.Window, limit: int, now_us: int
) -> dict[str, Any]:
    since = sc.window_start(now_us, window)
    with engine.connect() as conn:
        stats = sc.trader_stats(_flow_sums(conn, since, None), _exposures(conn, since, None))
    ranked = sc.leaderboard(stats.values(), by, limit)
    return {
        "by": by,
        "window": window,
        "since": None if since is None else format_instant(since),
        "as_of": format_instant(now_us),
        "min_shares": format_micros(sc.SCORE_MIN_SHARES),
        "items": [{"rank": r.rank, **_stats_view(r.stats)} for r in ranked],
    }


def trader(
    engine: Engine, account: str, window: sc.Window, buckets: int, now_us: int
) -> dict[str, Any]:
    since = sc.window_start(now_us, window)
    b = t.balances
    with engine.connect() as conn:
        if conn.execute(select(b.c.account).where(b.c.account == account)).first() is None:
            raise refused(Code.UNKNOWN_ACCOUNT.value, f"no account {account!r}")
        exposures = _exposures(conn, since, account)
        stats = sc.trader_stats(_flow_sums(conn, since, account), exposures)
    mine = stats.get(account, sc.TraderStats(account))
    calibration = sc.calibration(sc.trade_predictions(exposures), buckets)
    return {
        **_stats_view(mine),
        "window": window,
        "since": None if since is None else format_instant(since),
        "as_of": format_instant(now_us),
        "calibration": _buckets(calibration),
    }


# -- routes --------------------------------------------------------------------------------
Buckets = Annotated[int, Query(ge=2, le=50, description="Probability buckets.")]


@router.get(
    "/scoring/markets/{market}",
    summary="A resolved market's probability over time and its scores",
    response_model=sm.MarketScoreOut,
)
async def get_market_score(market: MarketPath, services: ServicesDep) -> dict[str, Any]:
    """Brier and log score (lower is better) at close and time-averaged; 409
    ``market_not_resolved`` unless the market is resolved."""
    await services.barrier()
    result: dict[str, Any] = await run_in_threadpool(
        market_score, services.projector.engine, market
    )
    return result


@router.get(
    "/scoring/calibration",
    summary="Calibration across resolved markets",
    response_model=sm.CalibrationOut,
)
async def get_calibration(
    services: ServicesDep,
    buckets: Buckets = sc.BUCKETS_DEFAULT,
    samples: Annotated[
        int, Query(ge=1, le=1_000, description="Instants sampled per market.")
    ] = sc.SAMPLES_DEFAULT,
) -> dict[str, Any]:
    await services.barrier()
    result: dict[str, Any] = await run_in_threadpool(
        market_calibration, services.projector.engine, buckets, samples
    )
    return result


@router.get(
    "/leaderboard", summary="Traders ranked by profit or score", response_model=sm.LeaderboardOut
)
async def get_leaderboard(
    services: ServicesDep,
    by: sc.RankBy = "profit",
    window: WindowQuery = "all",
    limit: Annotated[int, Query(ge=1, le=PAGE_SIZE_MAX, description="Entries.")] = 50,
) -> dict[str, Any]:
    await services.barrier()
    result: dict[str, Any] = await run_in_threadpool(
        partial(leaderboard, services.projector.engine, by, window, limit, services.now_us())
    )
    return result


@router.get(
    "/scoring/traders/{account}",
    summary="A trader's profit, return, score and calibration",
    response_model=sm.TraderOut,
)
async def get_trader(
    account: AccountPath,
    services: ServicesDep,
    window: WindowQuery = "all",
    buckets: Buckets = sc.BUCKETS_DEFAULT,
) -> dict[str, Any]:
    await services.barrier()
    result: dict[str, Any] = await run_in_threadpool(
        partial(trader, services.projector.engine, account, window, buckets, services.now_us())
    )
    return result
