"""Exchange, markets, events, series, order books, trades and candlesticks, read-only.

Public like Kalshi's (a signature is not needed, and not checked, on these). Every
figure comes from Augury's read models (``augury.api.reads``, after a barrier) and live
reads (``augury.api.live``), as Augury's own API answers them.
"""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from augury.api import live, reads
from augury.api.kalshi import mapping
from augury.api.kalshi import models as km
from augury.api.kalshi.common import (
    answer,
    event_by_ticker,
    kalshi_markets,
    live_read,
    market_by_ticker,
    seconds_us,
    services_of,
)
from augury.api.kalshi.errors import KalshiRoute, bad_request, not_found
from augury.domain import fixed
from augury.domain.exchange import Exchange
from augury.domain.units import ONE

router = APIRouter(route_class=KalshiRoute)

Limit = Annotated[int, Query(ge=1, le=1000)]
Cursor = Annotated[str | None, Query(max_length=200)]
TickerList = Annotated[str | None, Query(max_length=4_000)]
PERIODS = {1: "1m", 60: "1h", 1440: "1d"}
"""Kalshi's ``period_interval`` (minutes) -> Augury's candle interval."""
CANDLES_MAX = 5_000


@router.get("/exchange/status")
async def exchange_status(request: Request) -> Response:
    """Active when the engine answers (a stopped or overloaded one is a 503)."""
    running = await services_of(request).query(_running)
    return answer({"exchange_active": running, "trading_active": running})


def _running(_exchange: Exchange) -> bool:
    return True


@router.get("/exchange/schedule")
async def exchange_schedule() -> Response:
    """Augury trades around the clock: one standing week, open all day, no maintenance."""
    day = [{"open_time": "00:00", "close_time": "24:00"}]
    week = {
        name: day
        for name in ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
    }
    hours = {"start_time": "1970-01-01T00:00:00Z", "end_time": "9999-12-31T00:00:00Z", **week}
    return answer({"schedule": {"standard_hours": [hours], "maintenance_windows": []}})


def _split(text: str | None) -> list[str]:
    return [part for part in (text or "").split(",") if part]


async def _series_categories(request: Request, series_ticker: str) -> tuple[str, ...]:
    services = services_of(request)
    await services.barrier()
    names = await run_in_threadpool(reads.categories, services.projector.engine)
    return tuple(c for c in names if mapping.series_ticker(c) == series_ticker)


async def _market_page(
    request: Request,
    *,
    limit: int,
    cursor: str | None,
    event_ticker: str | None,
    series_ticker: str | None,
    status: str | None,
    tickers: str | None,
    min_close_ts: int | None,
    max_close_ts: int | None,
) -> tuple[list[dict[str, Any]], str]:
    """A page of Augury markets (``limit`` of them) for Kalshi's filters."""
    services = services_of(request)
    ids: set[str] | None = None
    for text in _split(event_ticker) + _split(tickers):
        if ids is None:
            ids = set()
        parsed = mapping.parse_market_ticker(text)
        if parsed is not None:
            ids.add(parsed[0])
    categories = None if series_ticker is None else await _series_categories(request, series_ticker)
    statuses = None
    if status is not None:
        statuses = tuple(s for name in _split(status) for s in mapping.STATUS_FILTER.get(name, ()))
        if not all(name in mapping.STATUS_FILTER for name in _split(status)):
            raise bad_request(f"status: one of {', '.join(mapping.STATUS_FILTER)}")
    await services.barrier()
    views, next_cursor = await run_in_threadpool(
        partial(
            reads.list_markets,
            services.projector.engine,
            q=None,
            category=None,
            status=None,
            sort="oldest",
            cursor=cursor or None,
            limit=limit,
            ids=None if ids is None else tuple(sorted(ids)),
            categories=categories,
            statuses=statuses,
            close_from_us=seconds_us(min_close_ts),
            close_to_us=seconds_us(max_close_ts),
        )
    )
    return views, next_cursor or ""


@router.get("/markets")
async def get_markets(
    request: Request,
    limit: Limit = 100,
    cursor: Cursor = None,
    event_ticker: TickerList = None,
    series_ticker: Annotated[str | None, Query(max_length=64)] = None,
    status: Annotated[str | None, Query(max_length=100)] = None,
    tickers: TickerList = None,
    min_close_ts: int | None = None,
    max_close_ts: int | None = None,
) -> Response:
    """A page holds ``limit`` Augury markets: a categorical one gives one Kalshi market
    per outcome, so a page may hold more Kalshi markets than ``limit``."""
    views, next_cursor = await _market_page(
        request,
        limit=limit,
        cursor=cursor,
        event_ticker=event_ticker,
        series_ticker=series_ticker,
        status=status,
        tickers=tickers,
        min_close_ts=min_close_ts,
        max_close_ts=max_close_ts,
    )
    built = await kalshi_markets(services_of(request), views)
    wanted = set(_split(tickers)) or None
    markets = [m for _, m in built if wanted is None or m.ticker in wanted]
    return answer({"markets": markets, "cursor": next_cursor})


async def _orderbook(request: Request, ticker: str, depth: int) -> km.OrderbookFp:
    services = services_of(request)
    view, outcome = await market_by_ticker(services, ticker)
    depth = depth or live.BOOK_DEPTH_MAX
    book = await live_read(services, lambda ex: live.book(ex, view["id"], outcome, depth))
    yes = [
        [fixed.dollars(mapping.micros(lv["price"])), fixed.count(mapping.micros(lv["qty"]))]
        for lv in reversed(book["bids"])
    ]
    no = [
        [fixed.dollars(ONE - mapping.micros(lv["price"])), fixed.count(mapping.micros(lv["qty"]))]
        for lv in reversed(book["asks"])
    ]
    return km.OrderbookFp(yes_dollars=yes, no_dollars=no)


@router.get("/markets/orderbooks")
async def get_orderbooks(
    request: Request, tickers: Annotated[list[str], Query(max_length=100)]
) -> Response:
    names = [t for text in tickers for t in _split(text)]
    books = [km.MarketOrderbook(t, await _orderbook(request, t, 0)) for t in names]
    return answer({"orderbooks": books})


@router.get("/markets/trades")
async def get_trades(
    request: Request,
    ticker: Annotated[str, Query(min_length=1, max_length=80)],
    limit: Limit = 100,
    cursor: Cursor = None,
    min_ts: int | None = None,
    max_ts: int | None = None,
) -> Response:
    """The trades of one market (``ticker`` is required here), newest first."""
    services = services_of(request)
    view, outcome = await market_by_ticker(services, ticker)
    items, next_cursor = await run_in_threadpool(
        partial(
            reads.tape,
            services.projector.engine,
            view["id"],
            outcome=outcome if view["categorical"] else None,
            from_us=seconds_us(min_ts),
            to_us=seconds_us(max_ts),
            cursor=cursor or None,
            limit=limit,
        )
    )
    trades = []
    for item in items:
        yes = mapping.micros(item["price"])
        side = "bid" if (item["taker_side"] == "buy") == (item["taker_token"] == "yes") else "ask"
        trades.append(
            km.Trade(
                trade_id=item["id"],
                ticker=ticker,
                count_fp=fixed.count(mapping.micros(item["qty"])),
                yes_price_dollars=fixed.dollars(yes),
                no_price_dollars=fixed.dollars(ONE - yes),
                taker_outcome_side="yes" if side == "bid" else "no",
                taker_book_side=side,
                taker_side="yes" if side == "bid" else "no",
                created_time=item["time"],
                is_block_trade=False,
            )
        )
    return answer({"trades": trades, "cursor": next_cursor or ""})


async def _candles(
    request: Request, ticker: str, start_ts: int, end_ts: int, period_interval: int
) -> list[km.Candlestick]:
    interval = PERIODS.get(period_interval)
    if interval is None:
        raise bad_request("period_interval: one of 1, 60, 1440")
    if end_ts < start_ts:
        raise bad_request("end_ts must not be before start_ts")
    services = services_of(request)
    view, outcome = await market_by_ticker(services, ticker)
    rows = await run_in_threadpool(
        partial(
            reads.candles,
            services.projector.engine,
            view["id"],
            outcome=outcome,
            interval=interval,
            from_us=start_ts * 1_000_000,
            to_us=(end_ts + 1) * 1_000_000,
            limit=CANDLES_MAX,
        )
    )
    out = []
    for row in rows:
        prices = {
            k: fixed.dollars(mapping.micros(row[k])) for k in ("open", "high", "low", "close")
        }
        ohlc = km.BidAsk(prices["open"], prices["low"], prices["high"], prices["close"])
        out.append(
            km.Candlestick(
                end_period_ts=_instant_s(row["start"]) + period_interval * 60,
                yes_bid=ohlc,
                yes_ask=ohlc,
                price=km.PriceStats(
                    open_dollars=prices["open"],
                    low_dollars=prices["low"],
                    high_dollars=prices["high"],
                    close_dollars=prices["close"],
                ),
                volume_fp=fixed.count(mapping.micros(row["volume"])),
                open_interest_fp=fixed.count(0),
            )
        )
    return out


def _instant_s(text: str) -> int:
    from augury.settings import parse_instant_us

    return parse_instant_us(text) // 1_000_000


@router.get("/markets/candlesticks")
async def batch_candlesticks(
    request: Request,
    market_tickers: Annotated[str, Query(min_length=1, max_length=4_000)],
    start_ts: int,
    end_ts: int,
    period_interval: int,
) -> Response:
    markets = [
        {
            "market_ticker": t,
            "candlesticks": await _candles(request, t, start_ts, end_ts, period_interval),
        }
        for t in _split(market_tickers)[:100]
    ]
    return answer({"markets": markets})


@router.get("/series/{series_ticker}/markets/{ticker}/candlesticks")
async def market_candlesticks(
    request: Request,
    series_ticker: str,
    ticker: str,
    start_ts: int,
    end_ts: int,
    period_interval: int,
) -> Response:
    candles = await _candles(request, ticker, start_ts, end_ts, period_interval)
    return answer({"ticker": ticker, "candlesticks": candles})


@router.get("/markets/{ticker}/orderbook")
async def get_orderbook(
    request: Request, ticker: str, depth: Annotated[int, Query(ge=0, le=100)] = 0
) -> Response:
    return answer({"orderbook_fp": await _orderbook(request, ticker, depth)})


@router.get("/markets/{ticker}")
async def get_market(request: Request, ticker: str) -> Response:
    services = services_of(request)
    view, outcome = await market_by_ticker(services, ticker)
    built = await kalshi_markets(services, [view], only=outcome)
    return answer({"market": built[0][1]})


@router.get("/series")
async def get_series_list(
    request: Request, category: Annotated[str | None, Query(max_length=64)] = None
) -> Response:
    services = services_of(request)
    await services.barrier()
    names = await run_in_threadpool(reads.categories, services.projector.engine)
    chosen = [c for c in names if category is None or c == category]
    seen: dict[str, km.Series] = {}
    for name in chosen:
        seen.setdefault(mapping.series_ticker(name), mapping.series(name))
    return answer({"series": list(seen.values())})


@router.get("/series/{series_ticker}")
async def get_series(request: Request, series_ticker: str) -> Response:
    found = await _series_categories(request, series_ticker)
    if not found:
        raise not_found("series")
    return answer({"series": mapping.series(found[0])})


@router.get("/events")
async def get_events(
    request: Request,
    limit: Annotated[int, Query(ge=1, le=200)] = 100,
    cursor: Cursor = None,
    with_nested_markets: bool = False,
    status: Annotated[str | None, Query(max_length=100)] = None,
    series_ticker: Annotated[str | None, Query(max_length=64)] = None,
    min_close_ts: int | None = None,
) -> Response:
    views, next_cursor = await _market_page(
        request,
        limit=limit,
        cursor=cursor,
        event_ticker=None,
        series_ticker=series_ticker,
        status=status,
        tickers=None,
        min_close_ts=min_close_ts,
        max_close_ts=None,
    )
    nested: dict[str, list[km.Market]] = {}
    if with_nested_markets:
        for view, market in await kalshi_markets(services_of(request), views):
            nested.setdefault(view["id"], []).append(market)
    events = [mapping.event(v, nested.get(v["id"]) if with_nested_markets else None) for v in views]
    return answer({"events": events, "cursor": next_cursor})


@router.get("/events/{event_ticker}")
async def get_event(
    request: Request, event_ticker: str, with_nested_markets: bool = False
) -> Response:
    services = services_of(request)
    view = await event_by_ticker(services, event_ticker)
    markets = [m for _, m in await kalshi_markets(services, [view])]
    event = mapping.event(view, markets if with_nested_markets else None)
    return answer({"event": event, "markets": markets})
