"""A Kalshi-compatible Trade API v2 under ``/trade-api/v2`` (docs/kalshi.md).

An adapter only: every route calls the same commands (``Services.submit``) and reads
(``augury.api.reads``, ``augury.api.live``) as Augury's own API, and every conversion to
Kalshi's fixed-point strings is ``augury.domain.fixed``'s. Requests are signed as
Kalshi's are (``auth``); errors answer in Kalshi's shape (``errors``). Paths Kalshi has
and Augury has no meaning for (FCM, subaccounts, transfers, deposits, RFQs...) answer
501 ``not_supported`` in that shape.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from starlette.requests import Request
from starlette.responses import Response

from augury.api.fast_orders import HotRoute
from augury.api.kalshi import hot_route, key_routes, market_routes, portfolio_routes, ws
from augury.api.kalshi.errors import KalshiError, KalshiRoute, response

PREFIX = "/trade-api/v2"

_fallback = APIRouter(route_class=KalshiRoute)


@_fallback.api_route(
    "/{rest:path}", methods=["GET", "POST", "PUT", "DELETE", "PATCH"], include_in_schema=False
)
async def not_supported(request: Request, rest: str) -> Response:
    return response(
        KalshiError(501, "not_supported", f"Augury does not offer {request.method} /{rest[:200]}")
    )


def install(app: FastAPI) -> None:
    """Serve the facade under ``/trade-api/v2`` (its routes stay out of the OpenAPI
    document of Augury's own API); placing an order is matched first, before the app's
    hundreds of routes (matching through them cost more than the order)."""
    for module in (market_routes, portfolio_routes, key_routes):
        app.include_router(module.router, prefix=PREFIX, include_in_schema=False)
    app.include_router(ws.router)
    app.include_router(_fallback, prefix=PREFIX)
    hot = HotRoute(app.router, f"{PREFIX}/portfolio/events/orders", "POST", hot_route.create)
    app.router.routes.insert(0, hot)
