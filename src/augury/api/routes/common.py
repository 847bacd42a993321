"""Small pieces shared by the routers: the Idempotency-Key header, paging, limits."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Header, Query, Request, Response
from fastapi.encoders import jsonable_encoder
from starlette.concurrency import run_in_threadpool

from augury.api.deps import (
    SESSION_COOKIE,
    CurrentUser,
    Principal,
    ServicesDep,
    optional_principal,
)
from augury.api.errors import IDEMPOTENCY_KEY_IN_FLIGHT, IDEMPOTENCY_KEY_REUSED, ApiError
from augury.identity.stored_responses import (
    ANONYMOUS_SCOPE,
    SESSION_SCOPE_PREFIX,
    KeyReused,
    Stored,
    StoredResponses,
)
from augury.roles.services import Services
from augury.settings import PAGE_SIZE_MAX

log = logging.getLogger(__name__)

IDEMPOTENCY_KEY_LEN_MAX = 100
PAGE_SIZE_DEFAULT = 50


def in_flight_error() -> ApiError:
    return ApiError(
        409,
        IDEMPOTENCY_KEY_IN_FLIGHT,
        "a request with this Idempotency-Key is still running; retry shortly",
        headers={"Retry-After": "1"},
    )


@contextmanager
def held(services: Services, pair: tuple[str, str]) -> Iterator[None]:
    """Hold (scope, Idempotency-Key) while a request runs: another request with the same
    pair meanwhile is refused with 409 (this server process keeps the set)."""
    in_flight = services.in_flight
    if pair in in_flight:
        raise in_flight_error()
    in_flight.add(pair)
    try:
        yield
    finally:
        in_flight.discard(pair)


async def idempotency_key(
    principal: CurrentUser,
    services: ServicesDep,
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            min_length=1,
            max_length=IDEMPOTENCY_KEY_LEN_MAX,
            pattern=r"^[\x21-\x7e]+$",
            description="Retry-safe key: the same key and body return the original result; "
            "the same key with another body is refused (idempotency_key_reused); a retry "
            "while the first request still runs gets 409 (idempotency_key_in_flight).",
        ),
    ] = None,
) -> AsyncIterator[str]:
    """The engine's idempotency key for this request ("" without the header).

    While a request holds a key, another request of the same account with the same key
    is refused with 409 (this process keeps the set; the engine does the rest).
    """
    if idempotency_key is None:
        yield ""
        return
    pair = (principal.account, idempotency_key)
    with held(services, pair):
        # Namespaced so a client key can never collide with the server's own keys.
        yield "h:" + idempotency_key


IdempotencyKey = Annotated[str, Depends(idempotency_key)]


# -- stored responses: Idempotency-Key on the routes that are not one engine command ----
StoredKeyHeader = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=IDEMPOTENCY_KEY_LEN_MAX,
        pattern=r"^[\x21-\x7e]+$",
        description="Retry-safe key: the same key and body return the stored response of "
        "the first request (kept 24 h; a refused request is not kept, so it can be retried "
        "with the same key); the same key with another body is refused "
        "(idempotency_key_reused); a retry while the first request still runs gets 409 "
        "(idempotency_key_in_flight).",
    ),
]


@dataclass(slots=True)
class Replayable:
    """A request's hold on its Idempotency-Key, for a route whose answer is stored
    (``augury.identity.stored_responses``). Without the header both methods do nothing."""

    store: StoredResponses
    scope: str
    key: str | None
    fingerprint: str
    saved: bool = False
    """The answer is stored (it replaced the request's claim)."""

    async def replay(self, response: Response) -> Stored | None:
        """The stored answer of an earlier request with this key (its status and cookies
        set on ``response``), or None: run the request, then :meth:`save` its answer.

        A key stored for another request (method, path or body) is refused with 422.
        """
        if self.key is None:
            return None
        try:
            found = await run_in_threadpool(self.store.find, self.scope, self.key, self.fingerprint)
        except KeyReused:
            raise ApiError(
                422,
                IDEMPOTENCY_KEY_REUSED,
                "this Idempotency-Key was used for a different request",
            ) from None
        if found is not None:
            response.status_code = found.status
            for cookie in found.cookies:
                response.headers.append("set-cookie", cookie)
        return found

    async def save(self, status: int, body: Any, response: Response) -> None:
        """Keep a successful answer (its body and the cookies set on ``response``)."""
        if self.key is None or status >= 400:
            return
        cookies = tuple(response.headers.getlist("set-cookie"))
        stored = Stored(status, jsonable_encoder(body), cookies)
        try:
            self.saved = await run_in_threadpool(
                self.store.save, self.scope, self.key, self.fingerprint, stored
            )
        except Exception:
            # the request has done its work: answer it; a retry will run it again
            log.exception("storing the response for an Idempotency-Key failed")


@asynccontextmanager
async def _hold(
    request: Request, services: Services, scope: str | None, key: str | None
) -> AsyncIterator[Replayable]:
    """Hold (scope, key) while the request runs: a retry meanwhile gets 409."""
    store = services.stored_responses
    if key is None or scope is None:
        yield Replayable(store, "", None, "")
        return
    pair = (scope, key)
    with held(services, pair):
        fingerprint = store.fingerprint(request.method, request.url.path, await request.body())
        # held by this process above; by the database for every API node here
        claimed = await run_in_threadpool(store.claim, scope, key, fingerprint)
        if claimed is None:
            raise in_flight_error()
        replayable = Replayable(store, scope, key, fingerprint)
        try:
            yield replayable
        finally:
            if claimed and not replayable.saved:  # (a saved answer replaced the claim)
                await run_in_threadpool(store.release, scope, key, claimed)


async def stored_for_account(
    request: Request,
    principal: CurrentUser,
    services: ServicesDep,
    idempotency_key: StoredKeyHeader = None,
) -> AsyncIterator[Replayable]:
    """Stored responses scoped by the caller's account (as the engine's keys are)."""
    async with _hold(request, services, principal.account, idempotency_key) as held:
        yield held


async def stored_anonymous(
    request: Request, services: ServicesDep, idempotency_key: StoredKeyHeader = None
) -> AsyncIterator[Replayable]:
    """Stored responses of the routes without a caller (register, log in): one scope
    shared by every anonymous client, so a key must be unique (a UUID, say)."""
    async with _hold(request, services, ANONYMOUS_SCOPE, idempotency_key) as held:
        yield held


async def stored_for_logout(
    request: Request,
    principal: Annotated[Principal | None, Depends(optional_principal)],
    services: ServicesDep,
    idempotency_key: StoredKeyHeader = None,
) -> AsyncIterator[Replayable]:
    """Log out's scope: the account for an API key; for a session cookie, the session
    (by its digest), so that a retry after the session has ended still finds its answer.
    Without any credential there is nothing to scope by (the route answers 401)."""
    scope: str | None = None
    token = request.cookies.get(SESSION_COOKIE)
    if principal is not None and principal.via == "api_key":
        scope = principal.account
    elif principal is not None:
        scope = SESSION_SCOPE_PREFIX + services.identity.digest(principal.session_token)
    elif token and len(token) <= 100:
        scope = SESSION_SCOPE_PREFIX + services.identity.digest(token)
    async with _hold(request, services, scope, idempotency_key) as held:
        yield held


# scope="function": the hold on the key ends when the route returns, before its answer
# is sent, so a retry sent the moment the answer arrives finds the stored answer, never
# the hold of the request it retries (409).
AccountStored = Annotated[Replayable, Depends(stored_for_account, scope="function")]
AnonymousStored = Annotated[Replayable, Depends(stored_anonymous, scope="function")]
LogoutStored = Annotated[Replayable, Depends(stored_for_logout, scope="function")]

Limit = Annotated[int, Query(ge=1, le=PAGE_SIZE_MAX, description="Page size.")]
Cursor = Annotated[
    str | None, Query(max_length=200, description="The next_cursor of the previous page.")
]


def page(items: list[dict[str, Any]], next_cursor: str | None) -> dict[str, Any]:
    return {"items": items, "next_cursor": next_cursor}


def sees_addresses(principal: Principal | None) -> bool:
    """Whether the caller reads observation errors in full (an admin, with the admin
    scope) or with the network addresses withheld (everyone else)."""
    return principal is not None and principal.has_role("admin") and "admin" in principal.scopes


async def _admin_view(request: Request, services: ServicesDep) -> bool:
    try:
        return sees_addresses(await optional_principal(request, services))
    except ApiError:  # a bad credential on a public read: the public view
        return False


AdminView = Annotated[bool, Depends(_admin_view)]
"""True for an admin: observation errors in full; everyone else reads them redacted."""
