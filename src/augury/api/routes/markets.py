"""Markets and market data: create, list, get, halt/resume, book, quote, trades, candles."""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Callable
from functools import partial
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from starlette.concurrency import run_in_threadpool

from augury.api import live, reads
from augury.api import responses as r
from augury.api.deps import Admin, MarketCreator, ServicesDep
from augury.api.errors import VALIDATION_ERROR, ApiError, refused
from augury.api.routes.common import Cursor, IdempotencyKey, Limit, page
from augury.api.schemas import MarketBody, ReasonBody
from augury.domain import commands as dc
from augury.domain import scalar
from augury.domain.exchange import Exchange
from augury.domain.rejections import Code, Rejected
from augury.domain.scalar import ScalarRange
from augury.roles.services import Services
from augury.settings import parse_instant_us

router = APIRouter(tags=["markets"])

MarketPath = Annotated[str, Path(min_length=1, max_length=64)]
Outcome = Annotated[int, Query(ge=0, le=63)]
CANDLES_MAX = 1_000


async def _market_or_404(services: Services, market: str) -> dict[str, Any]:
    await services.barrier()
    found = await run_in_threadpool(reads.get_market, services.projector.engine, market)
    if found is None:
        raise refused(Code.UNKNOWN_MARKET.value, f"no market {market!r}")
    result: dict[str, Any] = found
    return result


@router.post(
    "/markets",
    status_code=201,
    summary="Create a market (market_creator, admin)",
    response_model=r.MarketOut,
)
async def create_market(
    body: MarketBody, principal: MarketCreator, services: ServicesDep, key: IdempotencyKey
) -> dict[str, Any]:
    """The creator funds the maker's subsidy (``ceil(b ln n)``) from its own credits."""
    market_id = body.id or _market_id(principal.account, key)
    outcomes = tuple(body.outcomes) if body.outcomes else ("Yes", "No")
    scalar_range = None
    spec = body.resolution_spec
    if body.scalar is not None:  # the domain checks the range (invalid_market)
        sb = body.scalar
        scalar_range = ScalarRange(sb.low, sb.high, sb.step, sb.units)
        outcomes = ()
        if body.buckets is not None:  # a categorical market of ranges
            outcomes, spec = _bucketed(scalar_range, body.buckets, spec)
            scalar_range = None
    identity = services.identity
    reserved = await run_in_threadpool(
        partial(
            identity.reserve_market_meta,
            market_id,
            description=body.description,
            rules=body.rules,
            category=body.category,
            resolution_spec=spec,
            created_by=principal.account,
        )
    )
    if not reserved and not key:  # with a key, the engine tells a retry from a clash
        raise refused(Code.MARKET_EXISTS.value, f"market {market_id!r} exists")
    command = dc.CreateMarket(
        market=market_id,
        creator=principal.account,
        question=body.question,
        outcomes=outcomes,
        close_at=body.close_time,
        liquidity=body.liquidity,
        tick=body.tick_size,
        fee_bps=body.fee_bps,
        categorical=body.type == "categorical",
        spec=json.dumps(spec, separators=(",", ":")) if spec else "",
        block_affiliated_trading=body.block_affiliated_trading,
        affiliated_trading_reason=body.affiliated_trading_reason,
        scalar=scalar_range,
    )
    try:
        await services.submit(command, principal.account, key)
    except BaseException:
        if reserved:
            await run_in_threadpool(identity.delete_market_meta, market_id)
        raise
    return await _market_or_404(services, market_id)


def _bucketed(
    rng: ScalarRange, n: int, spec: dict[str, Any]
) -> tuple[tuple[str, ...], dict[str, Any]]:
    """A bucketed market's outcomes (``scalar.buckets``) and its spec with the ranges'
    boundaries as ``numeric.buckets`` (a spec without a numeric section is left as is:
    the linter says what is missing)."""
    found = scalar.problem(rng)
    if found is not None:
        raise refused(Code.INVALID_MARKET.value, f"{found[1]} [{found[0]}]")
    try:
        names, bounds = scalar.buckets(rng, n)
    except ValueError as exc:
        raise refused(Code.INVALID_MARKET.value, str(exc)) from None
    numeric = spec.get("numeric")
    if isinstance(numeric, dict):
        spec = {**spec, "numeric": {**numeric, "buckets": list(bounds)}}
    return names, spec


def _market_id(account: str, key: str) -> str:
    """A fresh id; derived from the Idempotency-Key when there is one, so a retry of the
    same request names the same market."""
    if not key:
        return f"m-{secrets.token_hex(6)}"
    return "m-" + hashlib.sha256(f"{account}\n{key}".encode()).hexdigest()[:12]


@router.get("/markets", summary="List markets", response_model=r.MarketPage)
async def list_markets(
    services: ServicesDep,
    q: Annotated[str | None, Query(max_length=200, description="Words in the question.")] = None,
    category: Annotated[str | None, Query(max_length=64)] = None,
    status: Literal["open", "halted", "closed", "resolved", "voided"] | None = None,
    sort: reads.MarketSort = "newest",
    cursor: Cursor = None,
    limit: Limit = 50,
) -> dict[str, Any]:
    await services.barrier()
    items, next_cursor = await run_in_threadpool(
        partial(
            reads.list_markets,
            services.projector.engine,
            q=q,
            category=category,
            status=status,
            sort=sort,
            cursor=cursor,
            limit=limit,
        )
    )
    return page(items, next_cursor)


@router.get("/markets/{market}", summary="Get a market", response_model=r.MarketOut)
async def get_market(market: MarketPath, services: ServicesDep) -> dict[str, Any]:
    return await _market_or_404(services, market)


@router.post("/markets/{market}/halt", summary="Halt trading (admin)", response_model=r.MarketOut)
async def halt_market(
    market: MarketPath,
    principal: Admin,
    services: ServicesDep,
    key: IdempotencyKey,
    body: ReasonBody | None = None,
) -> dict[str, Any]:
    reason = body.reason if body else ""
    await services.submit(dc.HaltMarket(market, reason), principal.account, key)
    return await _market_or_404(services, market)


@router.post(
    "/markets/{market}/resume", summary="Resume trading (admin)", response_model=r.MarketOut
)
async def resume_market(
    market: MarketPath,
    principal: Admin,
    services: ServicesDep,
    key: IdempotencyKey,
    body: ReasonBody | None = None,
) -> dict[str, Any]:
    reason = body.reason if body else ""
    await services.submit(dc.ResumeMarket(market, reason), principal.account, key)
    return await _market_or_404(services, market)


async def _live(services: Services, fn: Callable[[Exchange], dict[str, Any]]) -> dict[str, Any]:
    try:
        result: dict[str, Any] = await services.query(fn)
    except Rejected as rejection:
        raise refused(rejection.code.value, rejection.message) from None
    return result


@router.get(
    "/markets/{market}/book", summary="Order book (aggregated levels)", response_model=r.BookOut
)
async def order_book(
    market: MarketPath,
    services: ServicesDep,
    outcome: Outcome = 0,
    depth: Annotated[int, Query(ge=1, le=live.BOOK_DEPTH_MAX)] = 20,
) -> dict[str, Any]:
    """Prices are YES prices of the outcome's book (a binary market has one book)."""
    return await _live(services, lambda ex: live.book(ex, market, outcome, depth))


@router.get(
    "/markets/{market}/quote", summary="Market maker's prices", response_model=r.MakerQuoteOut
)
async def maker_quote(market: MarketPath, services: ServicesDep) -> dict[str, Any]:
    return await _live(services, lambda ex: live.maker_quote(ex, market))


@router.get("/markets/{market}/trades", summary="Recent trades", response_model=r.TradePage)
async def trades(
    market: MarketPath,
    services: ServicesDep,
    outcome: Annotated[int | None, Query(ge=0, le=63)] = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> dict[str, Any]:
    await _market_or_404(services, market)
    items, next_cursor = await run_in_threadpool(
        partial(
            reads.recent_trades,
            services.projector.engine,
            market,
            outcome=outcome,
            cursor=cursor,
            limit=limit,
        )
    )
    return page(items, next_cursor)


@router.get(
    "/markets/{market}/candles", summary="Price history as candles", response_model=r.CandlesOut
)
async def candles(
    market: MarketPath,
    services: ServicesDep,
    outcome: Outcome = 0,
    interval: Literal["1m", "1h", "1d"] = "1h",
    start: Annotated[
        str | None, Query(alias="from", max_length=40, description="RFC 3339, inclusive.")
    ] = None,
    end: Annotated[
        str | None, Query(alias="to", max_length=40, description="RFC 3339, exclusive.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=CANDLES_MAX)] = 500,
) -> dict[str, Any]:
    """Buckets start on UTC minute/hour/day boundaries; prices are YES prices (a scalar
    market's LONG prices, each candle also in the question's units: ``implied``)."""
    from_us = _instant_param(start, "from")
    to_us = _instant_param(end, "to")
    view = await _market_or_404(services, market)
    items = await run_in_threadpool(
        partial(
            reads.candles,
            services.projector.engine,
            market,
            outcome=outcome,
            interval=interval,
            from_us=from_us,
            to_us=to_us,
            limit=limit,
            rng=reads.scalar_range(view),
        )
    )
    return {"market": market, "outcome": outcome, "interval": interval, "items": items}


def _instant_param(value: str | None, name: str) -> int | None:
    if value is None:
        return None
    try:
        return parse_instant_us(value)
    except ValueError:
        raise ApiError(
            422, VALIDATION_ERROR, f"{name}: must be an RFC 3339 instant with a time zone"
        ) from None
