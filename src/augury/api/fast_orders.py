"""The hot path of trading: ``POST /orders`` and ``DELETE /orders/{id}`` as plain ASGI routes.

FastAPI's machinery (dependency solving, route matching through the included routers,
pydantic body and response-model validation) cost the event loop several times what
Augury itself does per order (docs/benchmarks.md, "Service (issue 4)"). These two
routes are matched first (``install`` puts them at the front of the app's routes, so
every middleware, the rate limits and the error handlers still apply) and do the same
work directly:

- authenticate with the same code as the FastAPI dependencies
  (``deps.current_principal``: API key or session cookie + CSRF, the same cache) and
  require the ``trade`` scope;
- decode the body with msgspec into a strict struct and check it with the same rules
  as ``schemas.OrderBody`` (the same amount and instant parsers);
- hold the ``Idempotency-Key`` with the same code as the FastAPI routes
  (``routes.common.idempotency_key``);
- submit, and answer with the same dict the FastAPI route returns
  (``routes.trading.placed`` / ``cancelled``), encoded without re-validation.

Anything the hot path does not accept as it stands (a body msgspec or the checks
refuse, a content type other than JSON, an invalid ``Idempotency-Key`` header, an
order id out of range) goes through the router again, with its body replayed, to the
FastAPI route the hot route shadows: that route produces every validation error, so
the problem+json answers are the same by construction. The FastAPI declarations stay,
for the OpenAPI document (``/docs``) and for those answers.
``tests/api/test_fast_orders.py`` compares both paths' answers byte for byte.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from contextlib import asynccontextmanager
from functools import partial
from typing import Any, NamedTuple, Protocol, get_args

import msgspec
from fastapi import FastAPI
from pydantic import BaseModel
from starlette._utils import get_route_path  # private: pinned, tests/api/test_starlette_private.py
from starlette.requests import Request
from starlette.routing import BaseRoute, Match, NoMatchFound, compile_path
from starlette.types import Message, Receive, Scope, Send

from augury.api.deps import Principal, current_principal, require_scope
from augury.api.routes import trading
from augury.api.routes.common import IDEMPOTENCY_KEY_LEN_MAX, idempotency_key
from augury.api.schemas import OrderBody, _amount, _instant
from augury.domain import commands as dc
from augury.roles.services import Services

Handler = Callable[[Scope, Receive, Send, Request, Services], Awaitable[Receive | None]]
"""Serves a request on the hot path (None), or gives the receive to hand it on with."""

MARKET_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}")
"""``schemas.MarketId`` (1..64 characters), for ``fullmatch``."""
PRINTABLE_RE = re.compile(r"[\x21-\x7e]+")
"""Client order ids and idempotency keys, for ``fullmatch``."""
CLIENT_ORDER_ID_MAX = 64
OUTCOME_MAX = 63
ORDER_ID_MAX = 2**62


def choices(model: type[BaseModel], field: str) -> frozenset[str]:
    """The literal strings ``model`` takes for ``field`` (read from the schema)."""
    annotation = model.model_fields[field].annotation
    values = [v for arg in get_args(annotation) for v in (get_args(arg) or (arg,))]
    return frozenset(v for v in values if isinstance(v, str))


class _OrderLike(Protocol):
    market: str
    outcome: int
    side: str
    token: str
    type: str
    price: str | None
    qty: str | None
    budget: str | None
    tif: str | None
    self_trade: str


class Literals(NamedTuple):
    """The literal strings a body model (``OrderBody``, ``PreviewBody``) takes for an
    order's fields, read from its schema."""

    sides: frozenset[str]
    tokens: frozenset[str]
    types: frozenset[str]
    tifs: frozenset[str]
    self_trade: frozenset[str]

    @classmethod
    def of(cls, model: type[BaseModel]) -> Literals:
        found = cls(*(choices(model, f) for f in ("side", "token", "type", "tif", "self_trade")))
        assert all(found), f"{model.__name__}'s order fields are not Literals"
        return found

    def take(self, body: _OrderLike) -> bool:
        """The checks the model makes of the fields every order body has."""
        return bool(
            MARKET_RE.fullmatch(body.market)
            and 0 <= body.outcome <= OUTCOME_MAX
            and body.side in self.sides
            and body.token in self.tokens
            and body.type in self.types
            and (body.tif is None or body.tif in self.tifs)
            and body.self_trade in self.self_trade
        )


def amounts(body: _OrderLike) -> dict[str, int | None]:
    """``price``, ``qty`` and ``budget`` parsed as the models parse them (ValueError)."""
    return {
        name: None if text is None else _amount(text)
        for name, text in (("price", body.price), ("qty", body.qty), ("budget", body.budget))
    }


ORDER_LITERALS = Literals.of(OrderBody)
JSON_HEADERS = [(b"content-type", b"application/json")]

_hold_key = asynccontextmanager(idempotency_key)


class _Order(msgspec.Struct, forbid_unknown_fields=True):
    """``schemas.OrderBody`` as it arrives: amounts and instants still strings."""

    market: str
    side: str
    outcome: int = 0
    token: str = "yes"
    type: str = "limit"
    price: str | None = None
    qty: str | None = None
    budget: str | None = None
    tif: str | None = None
    expires_at: str | None = None
    post_only: bool = False
    client_order_id: str | None = None
    self_trade: str = "cancel_resting"


_decode_order = msgspec.json.Decoder(_Order).decode
_encode = msgspec.json.Encoder().encode


def is_json(content_type: str | None) -> bool:
    """A JSON content type exactly as FastAPI decides it (anything odd: not ours)."""
    if content_type is None:
        return False  # FastAPI (strict content type) does not decode it: not ours
    return content_type.partition(";")[0].strip().lower() == "application/json"


def order_fields(body: bytes) -> tuple[dict[str, Any], str] | None:
    """``dc.PlaceOrder``'s fields but the account, and the order's type; or None unless
    ``OrderBody`` takes the body as it is.

    Whatever this accepts, ``schemas.OrderBody`` accepts with the same values (the same
    bounds, literals, amount and instant parsers, the limit/market price rule); the
    reverse need not hold (``"outcome": 1.0``, a UTF-16 body, ...): those requests go
    to the FastAPI route, which answers them exactly as before.
    """
    try:
        order = _decode_order(body)
        cid = order.client_order_id
        if not (
            ORDER_LITERALS.take(order)
            and (order.price is None) == (order.type == "market")
            and (cid is None or (len(cid) <= CLIENT_ORDER_ID_MAX and PRINTABLE_RE.fullmatch(cid)))
        ):
            return None
        price, qty, budget = order.price, order.qty, order.budget
        fields = {
            "market": order.market,
            "outcome": order.outcome,
            "side": dc.Side(order.side),
            "token": dc.Token(order.token),
            "price": None if price is None else _amount(price),
            "qty": None if qty is None else _amount(qty),
            "budget": None if budget is None else _amount(budget),
            "tif": trading.tif_of(order.tif, order.type),
            "expires_at": None if order.expires_at is None else _instant(order.expires_at),
            "post_only": order.post_only,
            "client_order_id": cid,
            "self_trade": dc.SelfTrade(order.self_trade),
        }
    except Exception:  # refused, or odd: the FastAPI route answers it exactly
        return None
    return fields, order.type


async def _keyed(
    principal: Principal,
    services: Services,
    header: str | None,
    submit: Callable[[str], Awaitable[dict[str, Any]]],
) -> dict[str, Any]:
    """``submit(key)`` holding the ``Idempotency-Key`` as the FastAPI routes do
    (``idempotency_key``); without the header there is nothing to hold and the key is
    "", as that dependency yields, without its context manager (a generator and two
    awaits per order)."""
    if header is None:
        return await submit("")
    async with _hold_key(principal, services, header) as key:
        return await submit(key)


def _idempotency_header(request: Request) -> tuple[bool, str | None]:
    """(valid, the header or None); an invalid one is the FastAPI route's to refuse."""
    header = request.headers.get("idempotency-key")
    if header is None:
        return True, None
    valid = len(header) <= IDEMPOTENCY_KEY_LEN_MAX and PRINTABLE_RE.fullmatch(header) is not None
    return valid, header


async def send_json(send: Send, status: int, payload: dict[str, Any]) -> None:
    body = _encode(payload)
    headers = [(b"content-length", b"%d" % len(body)), JSON_HEADERS[0]]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def read_body(receive: Receive) -> bytes | None:
    """The whole request body (``BodyLimit``'s receive refuses an oversized one).

    None if the client went away meanwhile: there is no one left to answer.
    """
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.request":
            body: bytes = message.get("body", b"")
            if not message.get("more_body", False):
                if not chunks:  # the whole body in one message: the usual case
                    return body
                chunks.append(body)
                return b"".join(chunks)
            chunks.append(body)
        elif message["type"] == "http.disconnect":
            return None


def replay_body(body: bytes, receive: Receive) -> Receive:
    """A receive that gives ``body`` again, then whatever the connection says next."""
    pending = True

    async def again() -> Message:
        nonlocal pending
        if pending:
            pending = False
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return again


async def place(
    scope: Scope, receive: Receive, send: Send, request: Request, services: Services
) -> Receive | None:
    """``POST /orders``, as ``routes.trading.place_order``: the same checks in the same order.

    FastAPI decodes the JSON before it authenticates and validates the rest after the
    dependencies (authentication, scope, Idempotency-Key): any request the hot path
    does not take is handed over whole, so the order of those answers is the route's.
    """
    body = await read_body(receive)
    if body is None:
        return None
    found = order_fields(body) if is_json(request.headers.get("content-type")) else None
    if found is None:
        return replay_body(body, receive)
    principal = await current_principal(request, services)
    require_scope(principal, "trade")
    valid, header = _idempotency_header(request)
    if not valid:
        return replay_body(body, receive)
    fields, order_type = found
    command = dc.PlaceOrder(account=principal.account, **fields)
    payload = await _keyed(
        principal, services, header, partial(trading.placed, services, command, order_type)
    )
    await send_json(send, 201, payload)
    return None


async def cancel(
    scope: Scope, receive: Receive, send: Send, request: Request, services: Services
) -> Receive | None:
    """``DELETE /orders/{id}``, as ``routes.trading.cancel_order`` (no body is read)."""
    order_id = scope["path_params"]["order_id"]
    if not 1 <= order_id <= ORDER_ID_MAX:
        return receive
    principal = await current_principal(request, services)
    require_scope(principal, "trade")
    valid, header = _idempotency_header(request)
    if not valid:
        return receive
    payload = await _keyed(
        principal,
        services,
        header,
        partial(trading.cancelled, services, principal.account, order_id),
    )
    await send_json(send, 200, payload)
    return None


HANDED_OVER = "augury.handed_over"
"""Scope key set on a request the hot path hands back to the router."""


class HotRoute(BaseRoute):
    """``method`` on ``path`` (a Starlette path, as the FastAPI route declares it), first.

    It matches exactly what the shadowed FastAPI route fully matches (the same compiled
    path and convertors, the same method) and nothing else, so every other request is
    routed as before. A request it hands over goes through the app's router again,
    where the hot routes no longer match it, to the FastAPI route. It counts what it
    served and what it handed over (``served``, ``handed_over``), so tests can tell
    which path answered.
    """

    def __init__(self, router: Any, path: str, method: str, handler: Handler) -> None:
        self.router = router
        self.path = path
        self.method = method
        self.handler = handler
        self.path_regex, self.path_format, self.param_convertors = compile_path(path)
        self.served = 0
        self.handed_over = 0

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] != "http" or scope.get("method") != self.method or HANDED_OVER in scope:
            return Match.NONE, {}
        found = self.path_regex.match(get_route_path(scope))
        if found is None:
            return Match.NONE, {}
        params = {
            key: self.param_convertors[key].convert(value)
            for key, value in found.groupdict().items()
        }
        return Match.FULL, {"path_params": {**scope.get("path_params", {}), **params}}

    def url_path_for(self, name: str, /, **path_params: Any) -> Any:
        raise NoMatchFound(name, path_params)  # the FastAPI route keeps the name

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        handed = await self.serve(scope, receive, send)
        if handed is not None:
            await self.router.app(scope, handed, send)

    async def serve(self, scope: Scope, receive: Receive, send: Send) -> Receive | None:
        """Answer here (None), or mark the request handed over and give the receive to
        route it again with (``handle`` routes it; ``hot_lane`` goes through the app's
        inner middleware first, as the router's caller would)."""
        services: Services = scope["app"].state.services
        handed: Receive | None = None
        try:
            handed = await self.handler(scope, receive, send, Request(scope), services)
        finally:
            if handed is None:  # answered here, or an error for the app's handlers
                self.served += 1
        if handed is not None:
            self.handed_over += 1
            scope[HANDED_OVER] = True
        return handed


def install(app: FastAPI, prefix: str) -> tuple[HotRoute, HotRoute]:
    """Put the hot routes in front of the app's routes.

    Call it once the trading router is included: it checks that the routes it shadows
    are there (and where it expects them).
    """
    place_path, cancel_path = f"{prefix}/orders", f"{prefix}/orders/{{order_id:id}}"
    if (app.url_path_for("place_order"), app.url_path_for("cancel_order", order_id=1)) != (
        place_path,
        f"{prefix}/orders/1",
    ):
        raise RuntimeError("the trading routes moved: fast_orders would shadow nothing")
    hot = (
        HotRoute(app.router, place_path, "POST", place),
        HotRoute(app.router, cancel_path, "DELETE", cancel),
    )
    app.router.routes[0:0] = hot
    return hot
