"""What the services refuse, said without HTTP: a stable code, a detail, when to retry.

``augury.roles.services`` (and the observer's jobs) raise these; the HTTP layer maps
each to its answer (``augury.api.errors.as_api_error``): a refused command keeps the
core's or the engine's reason code and that code's status (``status_for_code``), a
service that is overloaded or unavailable answers 503, with ``Retry-After`` when
``retry_after_s`` is set. Nothing here knows a status, a header or a response.
"""

from __future__ import annotations

OVERLOADED = "overloaded"
"""Too much is queued (the engine's inbox, the observation jobs): retry shortly."""
UNAVAILABLE = "unavailable"
"""The engine is not running, or the read models are behind."""


class ServiceError(Exception):
    """A refusal with a stable ``code`` and a ``detail`` for people; ``retry_after_s``:
    seconds after which a retry may succeed (None: not said)."""

    def __init__(self, code: str, detail: str, *, retry_after_s: int | None = None) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail
        self.retry_after_s = retry_after_s


class Refused(ServiceError):
    """A command the core (or the engine) refused: ``code`` is its reason
    (``augury.domain.rejections.Code``, or an engine's code such as
    ``idempotency_key_reused``); nothing was journaled."""


class Overloaded(ServiceError):
    """Too much is already waiting; nothing was done."""

    def __init__(self, detail: str, *, retry_after_s: int | None = None) -> None:
        super().__init__(OVERLOADED, detail, retry_after_s=retry_after_s)


class Unavailable(ServiceError):
    """The service cannot answer now (the engine stopped, the read models are behind)."""

    def __init__(self, detail: str, *, retry_after_s: int | None = None) -> None:
        super().__init__(UNAVAILABLE, detail, retry_after_s=retry_after_s)
