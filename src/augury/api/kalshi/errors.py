"""Kalshi's error shape, ``{"error": {"code", "message", "details"}}``, for ``/trade-api``.

Every failure under the facade answers in that shape with a stable ``code``: Augury's own
refusal codes (``domain/rejections.py``) pass through unchanged; a refusal of the order
itself (a bad price, count, or market state) is a 400, like any bad input; an unknown
market, order or key is 404; a bad or missing signature 401.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

import msgspec
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response

from augury.api.errors import ApiError, as_api_error
from augury.roles.errors import ServiceError

NOT_FOUND_CODES = frozenset({"not_found", "unknown_market", "unknown_order", "unknown_account"})
PASSED_STATUSES = frozenset({401, 403, 404, 409, 413, 429, 503})
"""Statuses of Augury's errors kept as they are; any other refusal is a 400."""


class KalshiError(Exception):
    """An answer in Kalshi's error shape."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: str = "",
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.headers = headers or {}


def body(code: str, message: str, details: str = "") -> dict[str, Any]:
    return {"code": code, "message": message, "details": details}


def response(error: KalshiError) -> Response:
    content = msgspec.json.encode({"error": body(error.code, error.message, error.details)})
    return Response(content, error.status, error.headers, media_type="application/json")


def from_api_error(refusal: ApiError | ServiceError) -> KalshiError:
    """Augury's problem as Kalshi's error: the same code, 400 for a refused input."""
    error = as_api_error(refusal)
    code = str(error.code)
    if code in NOT_FOUND_CODES:
        status = 404
    elif error.status in PASSED_STATUSES or error.status >= 500:
        status = error.status
    else:
        status = 400
    return KalshiError(status, code, str(error.detail), headers=error.headers)


def rate_limited(retry_after: str) -> Response:
    """The 429 of the shared limiter (``augury.api.ratelimit``), in Kalshi's shape."""
    error = KalshiError(
        429,
        "rate_limited",
        f"too many requests; retry in {retry_after} s",
        headers={"Retry-After": retry_after},
    )
    return response(error)


def not_found(what: str) -> KalshiError:
    return KalshiError(404, "not_found", f"no such {what}")


def bad_request(message: str, code: str = "invalid_parameters") -> KalshiError:
    return KalshiError(400, code, message)


def _validation(error: RequestValidationError) -> KalshiError:
    parts = []
    for item in error.errors()[:5]:
        where = ".".join(str(p) for p in item.get("loc", ()) if p not in ("query", "path", "body"))
        parts.append(f"{where}: {item.get('msg', 'invalid')}")
    return KalshiError(400, "invalid_parameters", "; ".join(parts) or "invalid parameters")


Endpoint = Callable[[Request], Coroutine[Any, Any, Response]]


def guard(handler: Endpoint) -> Endpoint:
    """``handler`` answering every failure (validation included) in Kalshi's shape."""

    async def guarded(request: Request) -> Response:
        try:
            return await handler(request)
        except KalshiError as error:
            return response(error)
        except (ApiError, ServiceError) as error:
            return response(from_api_error(error))
        except RequestValidationError as error:
            return response(_validation(error))

    return guarded


class KalshiRoute(APIRoute):
    """A route whose every failure (validation included) answers in Kalshi's shape."""

    def get_route_handler(self) -> Endpoint:
        return guard(super().get_route_handler())
