"""The hot routes' middleware in one step: what ``SecurityHeaders``, ``SeqMiddleware``,
``RateLimit``, ``BodyLimit``, ``CleanTarget``, Starlette's ``ExceptionMiddleware`` and
its router do for a request, done by one callable with one ``send`` wrapper.

Every request passes through the app's middleware stack, eleven layers deep: each an
``await`` more, most a closure wrapping ``send`` (called for both messages of an
answer), the exception middleware a ``Request`` and two closures, FastAPI's an
``AsyncExitStack``. On an API node that chain cost about as much as the order's own
work on the hot routes (``fast_orders``, ``fast_reads``). ``install`` puts a
``HotLane`` where the stack reaches the app's own middleware (inside Starlette's
``ServerErrorMiddleware`` and FastAPI's telemetry and body-size layers, which stay as
they are). A request the lane takes is one a hot route matches (the first routes of
the router: the router would pick it), and that none of the middleware treats
specially: no cookie (a browser: ``Augury-Seq``'s cookie), no ``Augury-Min-Seq`` (a
wait), no declared body over the cap (413), a target ``CleanTarget`` lets through.
Anything else goes down the stack as before, untouched (the lane reads only the
scope). For what it takes, the lane calls the same code as the middleware, in their
order:

- ``Augury-Seq``: the request's ``Written`` (``roles.written``), its seq added to the
  answer's headers, then the security headers (``SecurityHeaders.add``), in the order
  the two wrappers added them;
- the rate limits: ``RateLimit.admit`` (its 429 goes through the same ``send``);
- the body cap: ``BodyLimit.limited`` (a streamed body over the cap: 413, as before);
- an exception of the hot route goes to the handler the exception middleware would
  pick (``exception_handlers`` by class, ``status_handlers`` by status), or up to
  ``ServerErrorMiddleware`` as before;
- a request the hot route hands over goes on down the stack from the exception
  middleware (its handlers, FastAPI's exit stack, the router, the FastAPI route).

``tests/api/test_hot_lane.py`` sends requests to an app with the lane and to one
without (the same middleware stack otherwise) and compares every answer byte for byte.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.middleware.asyncexitstack import AsyncExitStackMiddleware
from fastapi.telemetry._asgi import ExceptionTelemetryMiddleware
from starlette._exception_handler import _lookup_exception_handler
from starlette._utils import is_async_callable
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware.errors import ServerErrorMiddleware
from starlette.middleware.exceptions import ExceptionMiddleware
from starlette.requests import Request
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from augury.api.clean_target import CleanTarget, _refusal
from augury.api.fast_orders import HotRoute
from augury.api.middleware import BodyLimit, SecurityHeaders
from augury.api.ratelimit import RateLimit
from augury.api.seq import MIN_SEQ_HEADER, SEQ_HEADER, SeqMiddleware
from augury.roles.written import WRITTEN, Written

EXCEPTION_HANDLERS = "starlette.exception_handlers"
TELEMETRY = "fastapi.telemetry"
"""FastAPI's telemetry of a request (``AUGURY_TELEMETRY``): the router notes its route
there; such a request goes down the stack."""
LAYERS = (SecurityHeaders, SeqMiddleware, RateLimit, BodyLimit, CleanTarget)
"""The app's own middleware, outermost first, as ``create_app`` stacks them."""


class _Answer:
    """One request's ``send``: ``Augury-Seq`` and the security headers on the start
    message; notes whether the answer started (the exception middleware's rule)."""

    __slots__ = ("scope", "send", "started", "written")

    def __init__(self, scope: Scope, send: Send, written: Written) -> None:
        self.scope = scope
        self.send = send
        self.written = written
        self.started = False

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.started = True
            headers = list(message.get("headers", ()))
            if self.written.seq:
                headers.append((SEQ_HEADER, str(self.written.seq).encode()))
            SecurityHeaders.add(self.scope, headers)
            message["headers"] = headers
        await self.send(message)


class HotLane:
    """The hot routes through the middleware in one step (see the module docstring)."""

    def __init__(self, app: ASGIApp, routes: tuple[HotRoute, ...], router: Any) -> None:
        self.app = app
        """The app's own middleware (``SecurityHeaders`` first): every other request."""
        self.routes = routes
        self.methods = frozenset(route.method for route in routes)
        self.router = router
        self.taken = 0
        """Requests the lane took (tests tell with it which way a request went)."""
        layers = _chain(app, len(LAYERS) + 2)
        if tuple(map(type, layers)) != (*LAYERS, ExceptionMiddleware, AsyncExitStackMiddleware):
            raise RuntimeError(f"hot_lane: unexpected middleware {[type(x) for x in layers]}")
        self.rate_limit: RateLimit = layers[2]
        self.body_limit: BodyLimit = layers[3]
        self.inner: ExceptionMiddleware = layers[5]
        self.handlers = (self.inner._exception_handlers, self.inner._status_handlers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        taken = self._take(scope) if scope["type"] == "http" else None
        if taken is None:
            await self.app(scope, receive, send)
            return
        route, child = taken
        self.taken += 1
        written = Written()  # Services.submit_raw notes each command's seq in it
        token = WRITTEN.set(written)
        try:
            answer = _Answer(scope, send, written)
            if RateLimit.limits(scope) and not await self.rate_limit.admit(scope, receive, answer):
                return
            await self._route(route, child, scope, self.body_limit.limited(receive), answer)
        finally:
            WRITTEN.reset(token)

    def _take(self, scope: Scope) -> tuple[HotRoute, Scope] | None:
        """The hot route of a request the lane takes, and its child scope; or None."""
        if scope.get("method") not in self.methods or TELEMETRY in scope:
            return None
        for route in self.routes:
            match, child = route.matches(scope)
            if match is Match.FULL:
                break
        else:
            return None
        for name, _ in scope["headers"]:
            if name == b"cookie" or name == MIN_SEQ_HEADER:
                return None
        if self.body_limit.declared_over(scope) or _refusal(scope) is not None:
            return None
        return route, child

    async def _route(
        self, route: HotRoute, child: Scope, scope: Scope, receive: Receive, send: _Answer
    ) -> None:
        """What the exception middleware and the router do for a hot route."""
        scope[EXCEPTION_HANDLERS] = self.handlers
        if "router" not in scope:
            scope["router"] = self.router
        scope.update(child)
        try:
            handed = await route.serve(scope, receive, send)
        except Exception as exc:
            await self._handle(exc, scope, receive, send)
            return
        if handed is not None:  # to the FastAPI route, through the rest of the stack
            await self.inner(scope, handed, send)

    async def _handle(self, exc: Exception, scope: Scope, receive: Receive, send: _Answer) -> None:
        """``starlette._exception_handler.wrap_app_handling_exceptions``'s rule."""
        exception_handlers, status_handlers = self.handlers
        handler = None
        if isinstance(exc, HTTPException):
            handler = status_handlers.get(exc.status_code)
        if handler is None:
            handler = _lookup_exception_handler(exception_handlers, exc)
        if handler is None:
            raise exc
        if send.started:
            raise RuntimeError("Caught handled exception, but response already started.") from exc
        conn: Any = Request(scope, receive, send)
        response: Any
        if is_async_callable(handler):
            response = await handler(conn, exc)
        else:
            response = await run_in_threadpool(handler, conn, exc)
        if response is not None:
            await response(scope, receive, send)
        exc.__traceback__ = None


def _chain(app: Any, depth: int) -> list[Any]:
    """The middleware from ``app`` down, ``depth`` of them (each one's ``.app``)."""
    found = []
    for _ in range(depth):
        found.append(app)
        app = getattr(app, "app", None)
    return found


def install(app: FastAPI) -> None:
    """Put a ``HotLane`` in the middleware stack ``app`` builds (when it first serves),
    for the hot routes then at the front of its router; with none, nothing changes."""
    build: Callable[[], ASGIApp] = app.build_middleware_stack

    def build_with_lane() -> ASGIApp:
        stack = build()
        routes: list[HotRoute] = []
        for route in app.router.routes:
            if not isinstance(route, HotRoute):
                break
            routes.append(route)
        outer = _chain(stack, 3)
        if (
            routes
            and not getattr(app.router, "form_limits", None)
            and isinstance(outer[0], ServerErrorMiddleware)
        ):
            if not isinstance(outer[1], ExceptionTelemetryMiddleware):
                raise RuntimeError(f"hot_lane: unexpected middleware {outer[1]!r}")
            body_size = outer[2]  # FastAPI's: its app is ours unless it caps bodies itself
            if isinstance(body_size.app, SecurityHeaders):
                body_size.app = HotLane(body_size.app, tuple(routes), app.router)
        return stack

    app.build_middleware_stack = build_with_lane  # type: ignore[method-assign]
