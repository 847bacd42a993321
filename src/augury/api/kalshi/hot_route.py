"""``POST /trade-api/v2/portfolio/events/orders`` on the hot path, as ``POST /orders`` is.

Placing an order through the facade is matched before the app's few hundred routes
(``fast_orders.HotRoute``; matching through them cost more than the order) and does
the FastAPI route's work (``portfolio_routes.placement``: the signature, the scope, the
body, the order) with the hot path's plain ASGI body reading and JSON answer
(``fast_orders.read_body`` and ``send_json``, as ``fast_reads`` uses them): no
Starlette request stream, no response object. Every failure answers in Kalshi's shape,
as the route's would.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.types import Receive, Scope, Send

from augury.api.errors import ApiError
from augury.api.fast_orders import read_body, send_json
from augury.api.kalshi.errors import KalshiError, from_api_error, response
from augury.api.kalshi.portfolio_routes import placement
from augury.roles.errors import ServiceError
from augury.roles.services import Services


async def create(
    scope: Scope, receive: Receive, send: Send, request: Request, _services: Services
) -> Receive | None:
    """Serve the request here (None: nothing is ever handed over)."""
    body = await read_body(receive)
    if body is None:
        return None  # the client went away: no one to answer
    try:
        payload = await placement(request, body)
    except KalshiError as error:
        await response(error)(scope, receive, send)
        return None
    except (ApiError, ServiceError) as error:
        await response(from_api_error(error))(scope, receive, send)
        return None
    await send_json(send, 201, payload)
    return None
