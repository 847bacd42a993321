"""What every route of the facade shares: the services, the signed caller, answers as
JSON, a market found by its ticker or its shape, Kalshi markets built from Augury's
reads."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar

import msgspec
from fastapi import Request
from starlette.concurrency import run_in_threadpool
from starlette.requests import HTTPConnection
from starlette.responses import Response

from augury.api import live, reads
from augury.api.deps import Principal
from augury.api.kalshi import mapping
from augury.api.kalshi import models as km
from augury.api.kalshi.auth import Verifier, require
from augury.api.kalshi.errors import KalshiError, bad_request, not_found
from augury.api.public_keys import public_keys_of
from augury.domain.exchange import Exchange
from augury.domain.rejections import Rejected
from augury.roles.node_engine import NodeEngine
from augury.roles.services import Services
from augury.settings import parse_instant_us

T = TypeVar("T")

DAY_US = 86_400_000_000
_encoder = msgspec.json.Encoder()


@dataclass(frozen=True, slots=True)
class Shape:
    """What never changes about a market: enough to read and write its tickers."""

    market: str
    categorical: bool
    outcomes: int


class Shapes:
    """Market shapes by id, read from the live state once each (``peek``: a shape
    never changes, and an unknown ticker costs no engine query either)."""

    def __init__(self) -> None:
        self._known: dict[str, Shape] = {}

    def of(self, services: Services, market_id: str) -> Shape | None:
        found = self._known.get(market_id)
        if found is not None:
            return found

        def read(ex: Exchange) -> Shape | None:
            market = ex.markets.get(market_id)
            return None if market is None else Shape(market.id, market.categorical, market.n)

        found = peek(services, read)
        if found is not None:
            self._known[market_id] = found
        return found

    def by_ticker(self, services: Services, ticker: str) -> tuple[Shape, int]:
        """(the shape, the outcome) of a Kalshi market ticker; 404 unless one."""
        parsed = mapping.parse_market_ticker(ticker)
        shape = None if parsed is None else self.of(services, parsed[0])
        if parsed is None or shape is None or shape.categorical != (parsed[1] is not None):
            raise not_found("market")
        outcome = parsed[1] or 0
        if outcome >= shape.outcomes:
            raise not_found("market")
        return shape, outcome


class Facade:
    """The facade's own state on a running app: the public keys, the verifier, the
    markets' shapes."""

    def __init__(self, state: object, services: Services) -> None:
        self.keys = public_keys_of(state, services.identity)
        self.verifier = Verifier(self.keys)
        self.shapes = Shapes()


def services_of(request: HTTPConnection) -> Services:
    services: Services = request.app.state.services
    return services


def facade_of(request: HTTPConnection) -> Facade:
    state = request.app.state
    found: Facade | None = getattr(state, "kalshi", None)
    if found is None:
        found = state.kalshi = Facade(state, services_of(request))
    return found


async def caller(request: Request, scope: str) -> Principal:
    """The signed caller of ``request``, with ``scope`` (read, trade or admin)."""
    principal = await facade_of(request).verifier.principal(request, request.method)
    require(principal, scope)
    return principal


def answer(value: Any, status: int = 200) -> Response:
    return Response(_encoder.encode(value), status, media_type="application/json")


def decode(body: bytes, kind: type[Any]) -> Any:
    """A request body as ``kind``; 400 in Kalshi's shape when it is not one."""
    try:
        return msgspec.json.decode(body, type=kind)
    except msgspec.ValidationError as error:
        raise bad_request(str(error)) from None
    except msgspec.DecodeError:
        raise bad_request("the body is not JSON") from None


def _kalshi_rejection(rejection: Rejected) -> KalshiError:
    return KalshiError(
        404 if "unknown" in rejection.code.value else 400,
        rejection.code.value,
        rejection.message,
    )


async def live_read(services: Services, fn: Any) -> Any:
    try:
        return await services.query(fn)
    except Rejected as rejection:
        raise _kalshi_rejection(rejection) from None


def peek(services: Services, fn: Callable[[Exchange], T]) -> T:
    """``fn`` on the exchange's live state as it is now, on the event loop: no query.

    Only for reads of a single value or two that need no view consistent across the
    state (a position, a market's shape). A query (``live_read``) waits until every
    command queued before it is durable, which splits the engine's group commit and
    costs placing an order as much as the order itself (docs/benchmarks.md). Here the
    in-process engine's thread may be executing meanwhile: each dict or list lookup is
    atomic (the GIL), so ``fn`` sees a value the state held, at least as recent as
    every answered command (the engine executes before it answers). An API node reads
    its replica, on this same loop, as its own ``query`` does.
    """
    engine = services.engine
    exchange = engine.replica.exchange if isinstance(engine, NodeEngine) else engine.exchange
    try:
        return fn(exchange)
    except Rejected as rejection:
        raise _kalshi_rejection(rejection) from None


def seconds_us(ts: int | None) -> int | None:
    """Epoch seconds (Kalshi's query filters) as microseconds."""
    return None if ts is None else ts * 1_000_000


def instant_s(text: str) -> int:
    return parse_instant_us(text) // 1_000_000


async def market_by_ticker(services: Services, ticker: str) -> tuple[dict[str, Any], int]:
    """(the read model's market, the outcome index) of a Kalshi market ticker; 404."""
    parsed = mapping.parse_market_ticker(ticker)
    if parsed is None:
        raise not_found("market")
    market_id, outcome = parsed
    await services.barrier()
    view = await run_in_threadpool(reads.get_market, services.projector.engine, market_id)
    if view is None or view["categorical"] != (outcome is not None):
        raise not_found("market")
    if outcome is not None and outcome >= len(view["outcomes"]):
        raise not_found("market")
    return view, outcome or 0


async def event_by_ticker(services: Services, ticker: str) -> dict[str, Any]:
    market_id = mapping.market_id_of(ticker)
    if market_id is None:
        raise not_found("event")
    await services.barrier()
    view = await run_in_threadpool(reads.get_market, services.projector.engine, market_id)
    if view is None:
        raise not_found("event")
    result: dict[str, Any] = view
    return result


def _tops(ex: Exchange, wanted: list[tuple[str, int, int]]) -> list[dict[str, Any]]:
    """Per (market, outcome, YES token): the top of the book and the YES shares held."""
    out = []
    for market_id, outcome, token in wanted:
        book = live.book(ex, market_id, outcome, 1)
        bids, asks = book["bids"], book["asks"]
        out.append(
            {
                "bid": mapping.micros(bids[0]["price"]) if bids else None,
                "bid_qty": mapping.micros(bids[0]["qty"]) if bids else 0,
                "ask": mapping.micros(asks[0]["price"]) if asks else None,
                "ask_qty": mapping.micros(asks[0]["qty"]) if asks else 0,
                "open_interest": live.outstanding(ex, market_id, token),
                "phase": _phase(ex, market_id),
            }
        )
    return out


def _phase(ex: Exchange, market_id: str) -> str:
    """Where the market's resolution stands (collecting, proposed, disputed, held, final)."""
    found = ex.resolutions.get(market_id)
    return "" if found is None else str(found.phase.value)


async def kalshi_markets(
    services: Services, views: list[dict[str, Any]], only: int | None = None
) -> list[tuple[dict[str, Any], km.Market]]:
    """The Kalshi markets of Augury markets ``views`` (every outcome of a categorical
    one, or outcome ``only``), with their tops, open interest and trade totals."""
    wanted: list[tuple[dict[str, Any], int]] = []
    for view in views:
        outcomes = mapping.outcomes_of(view) if only is None else [only]
        wanted.extend((view, outcome) for outcome in outcomes)
    if not wanted:
        return []
    keys = [(v["id"], o, o) for v, o in wanted]
    tops = await live_read(services, partial(_tops, wanted=keys))
    since = services.now_us() - DAY_US
    ids = sorted({v["id"] for v in views})
    stats = await run_in_threadpool(reads.trade_stats, services.projector.engine, ids, since)
    return [
        (view, mapping.kalshi_market(view, outcome, top, stats.get((view["id"], outcome))))
        for (view, outcome), top in zip(wanted, tops, strict=True)
    ]


def now_ms() -> int:
    return time.time_ns() // 1_000_000
