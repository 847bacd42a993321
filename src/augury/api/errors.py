"""Errors as ``application/problem+json`` (RFC 9457) with a stable ``code``.

Every error the API answers goes through :func:`problem`: a domain refusal keeps the
core's reason code (``augury.domain.rejections.Code``), the services' errors
(``augury.roles.errors``: refused, overloaded, unavailable) are mapped here by
:func:`as_api_error`, the API adds its own codes
(``unauthorized``, ``forbidden``, ``not_found``, ``validation_error``, ...); a request
refused for a character free text may not hold answers ``invalid_characters``
(``augury.api.text``), named in the detail. A catch-all handler answers
``internal_error`` and logs the exception: no response ever carries a stack trace or an
exception's text.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from augury.api.text import INVALID_CHARACTERS
from augury.domain.rejections import Code
from augury.roles.errors import OVERLOADED as OVERLOADED
from augury.roles.errors import UNAVAILABLE as UNAVAILABLE
from augury.roles.errors import Refused, ServiceError

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"

# The API's own codes (the core's are augury.domain.rejections.Code; OVERLOADED and
# UNAVAILABLE, imported above, are the services', augury.roles.errors).
UNAUTHORIZED = "unauthorized"
FORBIDDEN = "forbidden"
NOT_FOUND = "not_found"
VALIDATION_ERROR = "validation_error"
CSRF_FAILED = "csrf_failed"
USERNAME_TAKEN = "username_taken"
INVALID_CREDENTIALS = "invalid_credentials"
BODY_TOO_LARGE = "body_too_large"
METHOD_NOT_ALLOWED = "method_not_allowed"
RATE_LIMITED = "rate_limited"
INTERNAL_ERROR = "internal_error"
INVALID_CURSOR = "invalid_cursor"
INVALID_IDEMPOTENCY_KEY = "invalid_idempotency_key"
IDEMPOTENCY_KEY_REUSED = "idempotency_key_reused"
IDEMPOTENCY_KEY_IN_FLIGHT = "idempotency_key_in_flight"
CLOCK_NOT_SIMULATED = "clock_not_simulated"

_TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    413: "Content Too Large",
    422: "Unprocessable Content",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}

_DOMAIN_STATUS: dict[str, int] = {
    Code.UNKNOWN_ACCOUNT: 404,
    Code.UNKNOWN_MARKET: 404,
    Code.UNKNOWN_ORDER: 404,
    Code.ACCOUNT_EXISTS: 409,
    Code.MARKET_EXISTS: 409,
    Code.DUPLICATE_CLIENT_ORDER_ID: 409,
    Code.MARKET_HALTED: 409,
    Code.MARKET_CLOSED: 409,
    Code.MARKET_RESOLVED: 409,
    Code.MARKET_VOIDED: 409,
    Code.MARKET_NOT_HALTED: 409,
    Code.TIME_WENT_BACKWARDS: 409,
    Code.UNKNOWN_ALERT: 404,
    Code.MARKET_NOT_CLOSED: 409,
    Code.WRONG_RESOLUTION_PHASE: 409,
    Code.CONFLICT_OF_INTEREST: 403,
    Code.AFFILIATED_ACCOUNT: 403,
    Code.CHALLENGE_WINDOW_CLOSED: 409,
    Code.RESOLUTION_TOO_EARLY: 409,
    Code.ALREADY_VOTED: 409,
    Code.ALERT_ALREADY_REVIEWED: 409,
    CLOCK_NOT_SIMULATED: 409,
}


def status_for_code(code: str) -> int:
    """The HTTP status of a domain or engine refusal (422 unless listed)."""
    return _DOMAIN_STATUS.get(code, 422)


class ApiError(Exception):
    """Raised anywhere in a request to answer a problem+json error."""

    def __init__(
        self, status: int, code: str, detail: str, *, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(f"{code}: {detail}")
        self.status = status
        self.code = code
        self.detail = detail
        self.headers = headers
        self.extra: dict[str, Any] = {}


def refused(code: str, message: str) -> ApiError:
    """A command the core (or the engine) refused."""
    return ApiError(status_for_code(code), code, message)


def as_api_error(error: ApiError | ServiceError) -> ApiError:
    """The HTTP answer to a service's error (an ApiError as it is): a refused command
    by its code's status, an overloaded or unavailable service 503; ``Retry-After``
    when the service said when to retry."""
    if isinstance(error, ApiError):
        return error
    status = status_for_code(error.code) if isinstance(error, Refused) else 503
    after = error.retry_after_s
    return ApiError(
        status,
        error.code,
        error.detail,
        headers=None if after is None else {"Retry-After": str(after)},
    )


def not_found(what: str) -> ApiError:
    return ApiError(404, NOT_FOUND, f"{what} not found")


def problem(
    status: int,
    code: str,
    detail: str,
    *,
    instance: str = "",
    headers: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": f"https://augury.dev/problems/{code}",
        "title": _TITLES.get(status, "Error"),
        "status": status,
        "code": code,
        "detail": detail,
    }
    if instance:
        body["instance"] = instance
    if extra:
        body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def _allowed_methods(request: Request) -> str:
    """The methods some route fully matches at this path (the Allow header of a 405)."""
    allowed = []
    for method in _METHODS:
        scope = {**request.scope, "method": method}
        if any(route.matches(scope)[0] == Match.FULL for route in request.app.router.routes):
            allowed.append(method)
    return ", ".join(allowed)


def install(app: FastAPI) -> None:
    """Register the handlers that turn every error into problem+json."""

    async def on_api_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ApiError | ServiceError)
        error = as_api_error(exc)
        return problem(
            error.status,
            error.code,
            error.detail,
            instance=request.url.path,
            headers=error.headers,
            extra=error.extra,
        )

    async def on_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        every = [
            {
                "loc": [str(part) for part in error.get("loc", ())],
                "msg": str(error.get("msg", "")),
                "type": str(error.get("type", "")),
            }
            for error in exc.errors()
        ]
        errors = every[:20]
        # A refused character has its own code (augury.api.text), whatever else is wrong.
        text = [e for e in every if e["type"] == INVALID_CHARACTERS]
        first = (text or errors or [{"loc": [], "msg": "invalid request"}])[0]
        where = ".".join(first["loc"][1:] if len(first["loc"]) > 1 else first["loc"])
        detail = f"{where}: {first['msg']}" if where else str(first["msg"])
        return problem(
            422,
            INVALID_CHARACTERS if text else VALIDATION_ERROR,
            detail,
            instance=request.url.path,
            extra={"errors": errors},
        )

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code == 400:
            # FastAPI's "There was an error parsing the body" (not UTF-8, not JSON): a
            # validation error like any other malformed input, as documented.
            return problem(
                422, VALIDATION_ERROR, "the body is not valid JSON", instance=request.url.path
            )
        headers = dict(exc.headers) if exc.headers else None
        if exc.status_code == 405:
            # Starlette names only the methods of the first route whose path matched.
            headers = {**(headers or {}), "Allow": _allowed_methods(request)}
        code = {
            401: UNAUTHORIZED,
            403: FORBIDDEN,
            404: NOT_FOUND,
            405: METHOD_NOT_ALLOWED,
            413: BODY_TOO_LARGE,
        }.get(exc.status_code, "http_error")
        detail = exc.detail if isinstance(exc.detail, str) else "request refused"
        return problem(
            exc.status_code,
            code,
            detail,
            instance=request.url.path,
            headers=headers,
        )

    async def on_anything(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem(500, INTERNAL_ERROR, "internal error", instance=request.url.path)

    app.add_exception_handler(ApiError, on_api_error)
    app.add_exception_handler(ServiceError, on_api_error)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(Exception, on_anything)
