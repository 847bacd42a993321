"""The live reads on the hot path: book, maker quote, balances, one open order, a preview.

An API node answers these from its state (``services.query``: the engine thread in
``augury serve``, the replica on an ``augury api`` node), and each costs the node far
less than FastAPI's request handling around it (docs/benchmarks.md, "Live reads on the
hot path"). Like ``POST /orders`` (``fast_orders``), each is a plain ASGI route matched
before the routers, under every middleware, the rate limits and the error handlers:

- ``GET /markets/{market}/book`` (``outcome``, ``depth``) and ``GET
  /markets/{market}/quote``: public, no authentication;
- ``GET /portfolio/balances``: authenticated (``deps.current_principal``, the same
  cache), the ``read`` scope;
- ``GET /orders/{order_id}``: the same, for an order still open in the live state; one
  that is not (closed, another account's, unknown) goes to the FastAPI route, which
  reads the history;
- ``POST /orders/preview``: the same scope; the body decoded by msgspec into a strict
  struct and checked against ``PreviewBody``'s rules (as ``fast_orders`` does for
  ``OrderBody``), the preview made by ``routes.trading.previewed``, as the route does.

Anything else goes through the router again to the FastAPI route it shadows, which
answers exactly as before: a query string other than the route's own parameters as
plain decimal digits once each (``outcome=1&depth=5``), a path parameter out of range.
The answers are the dicts the FastAPI routes return, encoded without re-validation;
``tests/api/test_fast_reads.py`` compares both paths' answers byte for byte.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import msgspec
from fastapi import FastAPI
from starlette.requests import Request
from starlette.types import Receive, Scope, Send

from augury.api import live
from augury.api.deps import current_principal, require_scope
from augury.api.errors import refused
from augury.api.fast_orders import (
    ORDER_ID_MAX,
    OUTCOME_MAX,
    Handler,
    HotRoute,
    Literals,
    amounts,
    is_json,
    read_body,
    replay_body,
    send_json,
)
from augury.api.routes.trading import previewed
from augury.api.schemas import PreviewBody
from augury.domain.exchange import Exchange
from augury.domain.rejections import Rejected
from augury.roles.services import Services

MARKET_LEN_MAX = 64
"""``routes.markets.MarketPath``: 1 to 64 characters."""
DEPTH_DEFAULT = 20
PARAM_RE = re.compile(rb"(outcome|depth)=(0|[1-9][0-9]{0,2})")
"""One query parameter the hot path takes as it stands."""


PREVIEW_LITERALS = Literals.of(PreviewBody)


class _Preview(msgspec.Struct, forbid_unknown_fields=True):
    """``schemas.PreviewBody`` as it arrives: amounts still strings."""

    market: str
    side: str
    outcome: int = 0
    token: str = "yes"
    type: str = "market"
    price: str | None = None
    qty: str | None = None
    budget: str | None = None
    tif: str | None = None
    self_trade: str = "cancel_resting"


_decode_preview = msgspec.json.Decoder(_Preview).decode


def preview_fields(body: bytes) -> tuple[str, dict[str, Any]] | None:
    """(the order's type, ``PreviewBody``'s other fields) if ``PreviewBody`` takes the
    body as it is with the same values; None for anything else (the route answers it)."""
    try:
        p = _decode_preview(body)
        if not PREVIEW_LITERALS.take(p):
            return None
        fields = {
            "market": p.market,
            "outcome": p.outcome,
            "side": p.side,
            "token": p.token,
            **amounts(p),
            "tif": p.tif,
            "self_trade": p.self_trade,
        }
    except Exception:  # refused, or odd: the FastAPI route answers it exactly
        return None
    return p.type, fields


def _book_params(query: bytes) -> tuple[int, int] | None:
    """(outcome, depth) of a query string the book route would read the same way; None
    for any other (the FastAPI route answers it)."""
    outcome, depth = 0, DEPTH_DEFAULT
    if not query:
        return outcome, depth
    seen: set[bytes] = set()
    for part in query.split(b"&"):
        found = PARAM_RE.fullmatch(part)
        if found is None or found.group(1) in seen:
            return None
        seen.add(found.group(1))
        value = int(found.group(2))
        if found.group(1) == b"outcome":
            outcome = value
        else:
            depth = value
    if outcome > OUTCOME_MAX or not 1 <= depth <= live.BOOK_DEPTH_MAX:
        return None
    return outcome, depth


def _market(scope: Scope) -> str | None:
    market: str = scope["path_params"]["market"]
    return market if 1 <= len(market) <= MARKET_LEN_MAX else None


async def _send_live(
    send: Send, services: Services, fn: Callable[[Exchange], dict[str, Any]]
) -> None:
    """Answer ``fn``'s read of the live state (a domain refusal: its problem+json)."""
    try:
        payload = await services.query(fn)
    except Rejected as rejection:
        raise refused(rejection.code.value, rejection.message) from None
    await send_json(send, 200, payload)


async def book(
    scope: Scope, receive: Receive, send: Send, request: Request, services: Services
) -> Receive | None:
    """``GET /markets/{market}/book``, as ``routes.markets.order_book``."""
    market = _market(scope)
    params = _book_params(scope.get("query_string", b""))
    if market is None or params is None:
        return receive
    outcome, depth = params
    await _send_live(send, services, lambda ex: live.book(ex, market, outcome, depth))
    return None


async def quote(
    scope: Scope, receive: Receive, send: Send, request: Request, services: Services
) -> Receive | None:
    """``GET /markets/{market}/quote``, as ``routes.markets.maker_quote``."""
    market = _market(scope)
    if market is None or scope.get("query_string"):
        return receive
    await _send_live(send, services, lambda ex: live.maker_quote(ex, market))
    return None


async def balances(
    scope: Scope, receive: Receive, send: Send, request: Request, services: Services
) -> Receive | None:
    """``GET /portfolio/balances``, as ``routes.portfolio.balances``."""
    if scope.get("query_string"):
        return receive
    principal = await current_principal(request, services)
    require_scope(principal, "read")
    account = principal.account
    payload = await services.query(lambda ex: live.balances(ex, account))
    await send_json(send, 200, payload)
    return None


async def open_order(
    scope: Scope, receive: Receive, send: Send, request: Request, services: Services
) -> Receive | None:
    """``GET /orders/{order_id}`` of an open order, as ``routes.trading.get_order``."""
    order_id = scope["path_params"]["order_id"]
    if not 1 <= order_id <= ORDER_ID_MAX or scope.get("query_string"):
        return receive
    principal = await current_principal(request, services)
    require_scope(principal, "read")
    account = principal.account
    found = await services.query(lambda ex: live.open_order(ex, account, order_id))
    if found is None:  # closed, unknown or not this account's: the route reads history
        return receive
    await send_json(send, 200, found)
    return None


async def preview(
    scope: Scope, receive: Receive, send: Send, request: Request, services: Services
) -> Receive | None:
    """``POST /orders/preview``, as ``routes.trading.preview_order`` (FastAPI decodes the
    body before it authenticates: a body not taken as it stands is handed over first)."""
    body = await read_body(receive)
    if body is None:
        return None
    found = preview_fields(body) if is_json(request.headers.get("content-type")) else None
    if found is None or scope.get("query_string"):
        return replay_body(body, receive)
    principal = await current_principal(request, services)
    require_scope(principal, "read")
    order_type, fields = found
    await send_json(send, 200, await previewed(services, principal.account, order_type, fields))
    return None


def install(app: FastAPI, prefix: str) -> tuple[HotRoute, ...]:
    """Put the hot reads in front of the app's routes (once the routers are included:
    it checks that the routes it shadows are where it expects them)."""
    # (the shadowed route's name, a sample of its path's parameters, path, handler)
    routes: tuple[tuple[str, dict[str, Any], str, Handler], ...] = (
        ("order_book", {"market": "m"}, "/markets/{market}/book", book),
        ("maker_quote", {"market": "m"}, "/markets/{market}/quote", quote),
        ("balances", {}, "/portfolio/balances", balances),
        ("get_order", {"order_id": 1}, "/orders/{order_id:id}", open_order),
        ("preview_order", {}, "/orders/preview", preview),
    )
    for name, sample, path, _ in routes:
        expected = prefix + path.replace("{market}", "m").replace("{order_id:id}", "1")
        if str(app.url_path_for(name, **sample)) != expected:
            raise RuntimeError(f"the route {name} moved: fast_reads would shadow nothing")
    hot = tuple(
        HotRoute(app.router, prefix + path, "POST" if handler is preview else "GET", handler)
        for *_, path, handler in routes
    )
    app.router.routes[0:0] = hot
    return hot
