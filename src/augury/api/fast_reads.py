"""The live reads on the hot path: book, maker quote, balances and one open order.

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
  reads the history.

Anything else goes through the router again to the FastAPI route it shadows, which
answers exactly as before: a query string other than the route's own parameters as
plain decimal digits once each (``outcome=1&depth=5``), a path parameter out of range.
The answers are the dicts the FastAPI routes return, encoded without re-validation;
``tests/api/test_fast_reads.py`` compares both paths' answers byte for byte.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI
from starlette.requests import Request
from starlette.types import Receive, Scope, Send

from augury.api import live
from augury.api import responses as r
from augury.api.deps import current_principal, require_scope
from augury.api.errors import refused
from augury.api.fast_orders import ORDER_ID_MAX, Handler, HotRoute, _send_json
from augury.api.services import Services
from augury.domain.rejections import Rejected

MARKET_LEN_MAX = 64
"""``routes.markets.MarketPath``: 1 to 64 characters."""
OUTCOME_MAX = 63
DEPTH_DEFAULT = 20
PARAM_RE = re.compile(rb"(outcome|depth)=(0|[1-9][0-9]{0,2})")
"""One query parameter the hot path takes as it stands."""


def _defaults(model: type[r.Out]) -> dict[str, Any]:
    """The fields of ``model`` that have a default, with it, in the model's order."""
    fields = model.model_fields.items()
    return {name: field.default for name, field in fields if not field.is_required()}


ORDER_DEFAULTS = _defaults(r.OrderOut)
"""What ``OrderOut`` adds to ``live.open_order``'s dict (``created_at``, ``updated_at``)."""


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


async def book(
    scope: Scope, receive: Receive, send: Send, request: Request, services: Services
) -> Receive | None:
    """``GET /markets/{market}/book``, as ``routes.markets.order_book``."""
    market = _market(scope)
    params = _book_params(scope.get("query_string", b""))
    if market is None or params is None:
        return receive
    outcome, depth = params
    try:
        payload = await services.query(lambda ex: live.book(ex, market, outcome, depth))
    except Rejected as rejection:
        raise refused(rejection.code.value, rejection.message) from None
    await _send_json(send, 200, payload)
    return None


async def quote(
    scope: Scope, receive: Receive, send: Send, request: Request, services: Services
) -> Receive | None:
    """``GET /markets/{market}/quote``, as ``routes.markets.maker_quote``."""
    market = _market(scope)
    if market is None or scope.get("query_string"):
        return receive
    try:
        payload = await services.query(lambda ex: live.maker_quote(ex, market))
    except Rejected as rejection:
        raise refused(rejection.code.value, rejection.message) from None
    await _send_json(send, 200, payload)
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
    await _send_json(send, 200, payload)
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
    await _send_json(
        send, 200, {**found, **{k: v for k, v in ORDER_DEFAULTS.items() if k not in found}}
    )
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
    )
    for name, sample, path, _ in routes:
        expected = prefix + path.replace("{market}", "m").replace("{order_id:id}", "1")
        if str(app.url_path_for(name, **sample)) != expected:
            raise RuntimeError(f"the route {name} moved: fast_reads would shadow nothing")
    hot = tuple(HotRoute(app.router, prefix + path, "GET", handler) for *_, path, handler in routes)
    app.router.routes[0:0] = hot
    return hot
