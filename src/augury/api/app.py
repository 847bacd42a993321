"""The FastAPI application: ``create_app(settings)`` wires routers, errors, limits, lifespan.

The engine runs in-process: it is opened (journal recovered, read models caught up and
subscribed) when the app starts and closed when it stops. Routes live under
``/api/v1``; the OpenAPI document is at ``/openapi.json`` and its UI at ``/docs``, for
anyone, for an admin only, or not served (``AUGURY_API_DOCS``: by default public in
development, off in production).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.telemetry import TelemetryConfig
from starlette.exceptions import HTTPException as StarletteHTTPException

from augury.api import errors, fast_orders, fast_reads, hot_lane, responses, ws
from augury.api.clean_target import CleanTarget
from augury.api.deps import optional_principal
from augury.api.middleware import API_PREFIX, BodyLimit, SecurityHeaders
from augury.api.notifications import NotificationStore
from augury.api.ratelimit import RateLimit
from augury.api.routes import (
    accounts,
    admin,
    ledger,
    markets,
    notifications,
    portfolio,
    resolution,
    scoring,
    trading,
)
from augury.api.seq import SeqMiddleware
from augury.api.webhook_deliverer import WebhookDeliverer
from augury.roles.node_engine import NodeEngine
from augury.roles.observer import Observer
from augury.roles.services import AdminCallback, Services, print_admin
from augury.settings import Settings

TELEMETRY_OFF: TelemetryConfig = {"tracing": False, "metrics": False, "logs": False}


NodeFactory = Callable[[], Awaitable[NodeEngine]]
"""Opens an API node's engine on the app's event loop (``augury.roles.node.open_node``)."""
StartServices = Callable[[Settings, AdminCallback], Services]
"""Starts the services when the app starts (``augury.roles.services.Services.start``)."""


def create_app(
    settings: Settings | None = None,
    *,
    on_admin_created: AdminCallback = print_admin,
    services: Services | None = None,
    node: NodeFactory | None = None,
    start: StartServices | None = None,
) -> FastAPI:
    """The Augury API; ``settings`` default to the environment (``AUGURY_*``).

    The API never decides what runs: its composer (``augury.cli``, a test) gives the
    services already started (``services``: ``augury serve`` starts them first, to
    report a locked journal in one line), or how to start them when the app starts
    (``start``, e.g. ``roles.services.Services.start``: the one-process engine and its
    followers), or ``node`` (``augury api``: ``node()`` opens the bus connection and the
    replica of an API node). Either way the app closes them when it stops. An app given
    none of the three can still build its OpenAPI document; starting it is an error.
    """
    settings = settings if settings is not None else Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if node is not None:
            engine = await node()
            try:
                started = Services.start_node(settings, engine)
                await started.abootstrap_admin(on_admin_created)
            except BaseException:
                await engine.aclose()
                raise
        elif services is not None:
            started = services
        elif start is not None:
            started = start(settings, on_admin_created)
        else:
            raise RuntimeError("create_app needs services, start or node to run")
        app.state.services = started
        app.state.notifications = NotificationStore(started.projector.engine, settings.secret_key)
        app.state.hub = ws.Hub(started, asyncio.get_running_loop())
        started.observer = Observer(started)
        started.observer.start(settings.observer_interval_s if started.runs_observer else 0)
        app.state.webhooks = WebhookDeliverer.for_app(app)
        app.state.webhooks.start()
        try:
            yield
        finally:
            await app.state.webhooks.stop()
            await started.observer.stop()
            started.stop()
            if isinstance(started.engine, NodeEngine):
                await started.engine.aclose()

    app = FastAPI(
        title="Augury",
        version="0.1.0",
        summary="A prediction-market exchange whose markets cannot be silently decided "
        "by one edited source.",
        description="Amounts are decimal strings (never JSON numbers); instants are RFC 3339. "
        "Errors are application/problem+json with a stable `code`. See docs/api.md.",
        # The document and its UI: to anyone, or (below) to an authenticated admin only,
        # or not at all (AUGURY_API_DOCS; nobody by default in production).
        docs_url="/docs" if settings.docs_access == "public" else None,
        redoc_url=None,
        openapi_url="/openapi.json" if settings.docs_access == "public" else None,
        lifespan=lifespan,
        # FastAPI's native OpenTelemetry asks the global providers on every request
        # whether they are configured: only when the operator turns it on.
        telemetry=None if settings.telemetry else TELEMETRY_OFF,
    )
    errors.install(app)
    if settings.docs_access == "admin":
        _admin_docs(app)
    for module in (
        accounts, markets, trading, portfolio, admin, scoring, resolution, ledger, notifications
    ):  # fmt: skip
        app.include_router(module.router, prefix=API_PREFIX, responses=responses.PROBLEMS)
    app.include_router(admin.health_router, prefix=API_PREFIX, responses=responses.PROBLEMS)
    app.include_router(ws.router, prefix=API_PREFIX)
    from augury.web import mount as mount_web  # the pages at / (docs/web.md)

    mount_web(app)
    from augury.api import kalshi  # the Kalshi-compatible facade (docs/kalshi.md)

    kalshi.install(app)
    # POST /orders and DELETE /orders/{id} are served by plain ASGI routes matched before
    # the routers above (which still document them and answer what those hand over).
    fast_orders.install(app, API_PREFIX)
    fast_reads.install(app, API_PREFIX)  # the live reads likewise
    # The last added runs first: security headers on every answer, then rate limits,
    # then the body cap, then the path and query checked for control characters.
    app.add_middleware(CleanTarget)
    app.add_middleware(BodyLimit, max_bytes=settings.body_max_bytes)
    app.add_middleware(
        RateLimit,
        ip_rate_per_s=settings.rate_limit_ip_per_s,
        ip_burst=settings.rate_limit_ip_burst,
        key_rate_per_s=settings.rate_limit_key_per_s,
        key_burst=settings.rate_limit_key_burst,
        password_rate_per_s=settings.rate_limit_password_per_s,
        password_burst=settings.rate_limit_password_burst,
        shared_url=settings.rate_limit_url,
    )
    app.add_middleware(SeqMiddleware)
    app.add_middleware(SecurityHeaders)
    # ... which the hot routes pass through in one step (the same code, in that order)
    hot_lane.install(app)
    app.state.settings = settings
    _document_problems(app)
    return app


SECURITY_SCHEMES: dict[str, Any] = {
    "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
    "bearer": {"type": "http", "scheme": "bearer", "description": "An API key as a bearer token"},
    "session": {
        "type": "apiKey",
        "in": "cookie",
        "name": "augury_session",
        "description": "The browser session from POST /auth/login; state-changing "
        "requests also need the X-CSRF-Token header it returned.",
    },
}


def _document_problems(app: FastAPI) -> None:
    """Add the Problem schema that every error response refers to."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = generate()
            schemas = schema.setdefault("components", {}).setdefault("schemas", {})
            schemas["Problem"] = responses.Problem.model_json_schema()
            schema["components"]["securitySchemes"] = SECURITY_SCHEMES
            # Anonymous, an API key (either header) or a browser session: routes that
            # need more answer 401/403 (docs/api.md, "Authentication").
            schema["security"] = [{}, {"apiKey": []}, {"bearer": []}, {"session": []}]
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


DOCS_PATHS = ("/openapi.json", "/docs")


def _admin_docs(app: FastAPI) -> None:
    """``/openapi.json`` and ``/docs`` for an authenticated admin (session or an API key
    with the admin scope); anyone else gets the 404 of a path that does not exist."""

    async def admin_only(request: Request) -> None:
        try:
            principal = await optional_principal(request, request.app.state.services)
        except errors.ApiError:  # a bad credential: treated as none
            principal = None
        if principal is None or not principal.has_role("admin") or "admin" not in principal.scopes:
            raise StarletteHTTPException(404)

    @app.get(DOCS_PATHS[0], include_in_schema=False)
    async def openapi_document(request: Request) -> JSONResponse:
        await admin_only(request)
        return JSONResponse(app.openapi())

    @app.get(DOCS_PATHS[1], include_in_schema=False)
    async def openapi_ui(request: Request) -> HTMLResponse:
        await admin_only(request)
        return get_swagger_ui_html(openapi_url=DOCS_PATHS[0], title=f"{app.title} - API")
