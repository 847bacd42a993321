"""Typed errors, mapped from the API's problem+json ``code`` and HTTP status.

Must never swallow a refusal: every non-2xx answer becomes exactly one exception here.
"""

from __future__ import annotations

from typing import Any

# 422 codes that mean "the request itself is malformed" rather than "the exchange said no".
_VALIDATION_CODES = frozenset(
    {
        "validation_error",
        "invalid_characters",
        "invalid_cursor",
        "invalid_idempotency_key",
        "idempotency_key_reused",
        "invalid_notification_id",
        "invalid_webhook_url",
    }
)
# Status of the codes a WebSocket error message carries (it has no HTTP status).
_WS_STATUS = {
    "unauthorized": 401,
    "forbidden": 403,
    "unknown_market": 404,
    "already_subscribed": 409,
}


class AuguryError(Exception):
    """Any error answered by (or on the way to) an Augury server.

    ``status`` is the HTTP status (0 when no answer arrived), ``code`` the API's stable
    problem code, ``detail`` its human explanation, ``problem`` the whole problem body.
    """

    def __init__(
        self, status: int, code: str, detail: str, problem: dict[str, Any] | None = None
    ) -> None:
        super().__init__(f"{code}: {detail}" if detail else code)
        self.status = status
        self.code = code
        self.detail = detail
        self.problem: dict[str, Any] = problem if problem is not None else {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status={self.status}, code={self.code!r})"


class TransportError(AuguryError):
    """No answer: the server could not be reached, or the connection broke."""


class InvalidResponse(AuguryError):
    """An answer that does not have the documented shape (a server or version mismatch)."""


class Unauthorized(AuguryError):
    """401: no, unknown or revoked credentials (``unauthorized``, ``invalid_credentials``)."""


class Forbidden(AuguryError):
    """403: the role or scope does not allow it (``forbidden``, ``csrf_failed``), or
    ``conflict_of_interest``: the account may not judge this market (it holds a position
    or open orders there, is affiliated with a source's owner, is a party to the dispute
    or is named in the alert)."""


class NotFound(AuguryError):
    """404: ``not_found`` (also: no evidence with that hash), ``unknown_market``,
    ``unknown_order``, ``unknown_account``, ``unknown_alert``."""


class Conflict(AuguryError):
    """409: conflicts with the current state (``market_halted``, ``username_taken``, ...).

    The resolution process answers ``market_not_closed`` (a proposal before the close),
    ``wrong_resolution_phase`` (e.g. a new spec after a proposal, a vote with no vote
    open), ``challenge_window_closed``, ``already_voted``, ``alert_already_reviewed``,
    ``market_resolved`` and ``market_voided``; scoring a market that is not resolved,
    ``market_not_resolved``."""


class PayloadTooLarge(AuguryError):
    """413: the request body is over the server's limit."""


class ValidationError(AuguryError):
    """422: the request is malformed (``validation_error``, ``invalid_characters``: a
    control character or bidirectional override in free text, ``invalid_cursor``, ...).

    ``errors`` holds the server's ``[{loc, msg, type}]`` when it sent them."""

    @property
    def errors(self) -> list[dict[str, Any]]:
        found = self.problem.get("errors")
        return list(found) if isinstance(found, list) else []


class Rejected(AuguryError):
    """422: a well-formed request the exchange refused; ``code`` is the core's reason
    (``insufficient_funds``, ``price_not_on_tick``, ``post_only_would_cross``, ...).

    The resolution process's: ``invalid_spec`` (the spec does not decode, or the linter
    found errors: the detail names them), ``no_spec``, ``unknown_source``,
    ``invalid_observation``, ``bond_too_small``, ``invalid_outcome``, ``invalid_weights``,
    ``invalid_text`` and ``invalid_alert``."""


class RateLimited(AuguryError):
    """429: a token bucket is empty; ``retry_after`` is in seconds."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        problem: dict[str, Any] | None = None,
        *,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(status, code, detail, problem)
        self.retry_after = retry_after


class ServerError(AuguryError):
    """5xx: ``internal_error`` (the server logged it), or busy/stopped (see below)."""


class Unavailable(ServerError):
    """503: ``overloaded`` (retry after ``retry_after`` seconds) or ``unavailable``."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        problem: dict[str, Any] | None = None,
        *,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(status, code, detail, problem)
        self.retry_after = retry_after


_BY_STATUS: dict[int, type[AuguryError]] = {
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    413: PayloadTooLarge,
}


def error_for(
    status: int,
    code: str,
    detail: str,
    problem: dict[str, Any] | None = None,
    retry_after: float | None = None,
) -> AuguryError:
    """The typed error of one refusal."""
    if status == 429:
        return RateLimited(status, code, detail, problem, retry_after=retry_after)
    if status == 503:
        return Unavailable(status, code, detail, problem, retry_after=retry_after)
    if status >= 500:
        return ServerError(status, code, detail, problem)
    if status == 422:
        kind = ValidationError if code in _VALIDATION_CODES else Rejected
        return kind(status, code, detail, problem)
    return _BY_STATUS.get(status, AuguryError)(status, code, detail, problem)


def ws_error(code: str, detail: str, message: dict[str, Any]) -> AuguryError:
    """The typed error of a WebSocket ``{"type": "error"}`` message."""
    return error_for(_WS_STATUS.get(code, 422), code, detail, message)


def parse_retry_after(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if seconds >= 0 else None
