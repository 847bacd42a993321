"""Who is calling, and may they: the authentication and authorization dependencies.

A caller is authenticated by an API key (``Authorization: Bearer aug_...`` or
``X-API-Key: aug_...``) or by the session cookie. Cookie-authenticated requests that
change state must also send the CSRF token (``X-CSRF-Token``, equal to the
``augury_csrf`` cookie and bound to the session). An API key carries scopes: ``read``
for GETs, ``trade`` for trading, ``admin`` for admin routes and key management; a
session has every scope. Roles (``trader``, ``market_creator``, ``resolver``,
``arbiter``, ``admin``) decide which routes a user may call at all.

The two kinds of secret never stand in for each other: a header is only ever looked up
as an API key and the cookie only as a session, in the authentication cache (keyed by
kind and digest) as in the tables, so a session token sent as a key cannot skip the
CSRF check and an API key sent as the cookie cannot gain a session's scopes.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Annotated, Literal

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool
from starlette.requests import HTTPConnection

from augury.api.errors import CSRF_FAILED, FORBIDDEN, UNAUTHORIZED, ApiError
from augury.identity.store import SCOPES, User
from augury.roles.services import Services

SESSION_COOKIE = "augury_session"
CSRF_COOKIE = "augury_csrf"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

Scope = Literal["read", "trade", "admin"]


@dataclass(frozen=True, slots=True)
class Principal:
    user: User
    scopes: tuple[str, ...]
    via: Literal["session", "api_key"]
    session_token: str = ""

    @property
    def account(self) -> str:
        """The core account id (equal to the username)."""
        return self.user.username

    def has_role(self, *roles: str) -> bool:
        return any(role in self.user.roles for role in roles)


async def get_services(request: Request) -> Services:
    # async: a plain def dependency would cost a thread-pool hop on every request
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


def api_key_of(request: HTTPConnection) -> str | None:
    """The API key the request sends (Bearer or X-API-Key), if any."""
    return _api_key_of(request)


def _api_key_of(request: HTTPConnection) -> str | None:
    header = request.headers.get("authorization")
    if header is not None:
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise ApiError(
                401,
                UNAUTHORIZED,
                "Authorization must be 'Bearer <api key>'",
                headers={"WWW-Authenticate": "Bearer"},
            )
        return value.strip()
    return request.headers.get("x-api-key")


class _Miss:
    """Not in the authentication cache: ask the database."""


MISS = _Miss()


def authenticate(
    request: HTTPConnection, services: Services, method: str = "GET", *, cached_only: bool = False
) -> Principal | _Miss | None:
    """The caller, from its API key or session cookie (None: neither was sent).

    With ``cached_only`` nothing is read from the database (safe on the event loop):
    a credential not verified in the last few seconds answers ``MISS``.
    """
    identity = services.identity
    key = _api_key_of(request)
    if key is not None:
        # only ever an API key: a session token sent here is unknown (no CSRF bypass)
        found = identity.cached("api_key", key)
        if found is None:
            if cached_only:
                return MISS
            found = identity.api_key_user(key)
        if found is None:
            raise ApiError(
                401,
                UNAUTHORIZED,
                "invalid or revoked API key",
                headers={"WWW-Authenticate": "Bearer"},
            )
        user, scopes = found
        return Principal(user, scopes, "api_key")
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    # only ever a session: an API key sent as the cookie is unknown (no borrowed scopes)
    cached = identity.cached("session", token)
    if cached is not None:
        user_found: User | None = cached[0]
    elif cached_only:
        return MISS
    else:
        user_found = identity.session_user(token)
    if user_found is None:
        return None
    if method not in SAFE_METHODS:
        sent = request.headers.get(CSRF_HEADER, "")
        cookie = request.cookies.get(CSRF_COOKIE, "")
        expected = identity.csrf_token(token)
        if not (sent and hmac.compare_digest(sent, cookie) and hmac.compare_digest(sent, expected)):
            raise ApiError(
                403,
                CSRF_FAILED,
                f"a cookie-authenticated {method} needs the {CSRF_HEADER} header "
                f"equal to the {CSRF_COOKIE} cookie",
            )
    return Principal(user_found, SCOPES, "session", token)


async def _principal(request: Request, services: Services) -> Principal | None:
    found = authenticate(request, services, request.method, cached_only=True)
    if isinstance(found, _Miss):
        found = await run_in_threadpool(authenticate, request, services, request.method)
    assert not isinstance(found, _Miss)
    return found


async def optional_principal(request: Request, services: ServicesDep) -> Principal | None:
    return await _principal(request, services)


async def current_principal(request: Request, services: ServicesDep) -> Principal:
    principal = await _principal(request, services)
    if principal is None:
        raise ApiError(
            401,
            UNAUTHORIZED,
            "log in, or send an API key (Authorization: Bearer ... or X-API-Key)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return principal


def require_scope(principal: Principal, scope: Scope) -> None:
    if scope not in principal.scopes:
        raise ApiError(403, FORBIDDEN, f"this API key lacks the {scope!r} scope")


def require_role(principal: Principal, *roles: str) -> None:
    if not principal.has_role(*roles):
        raise ApiError(403, FORBIDDEN, f"This needs the role {' or '.join(roles)}.")


async def _reader(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
    require_scope(principal, "read")
    return principal


async def _trader(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
    require_scope(principal, "trade")
    return principal


async def _admin(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
    require_role(principal, "admin")
    require_scope(principal, "admin")
    return principal


async def _creator(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
    require_role(principal, "market_creator", "admin")
    require_scope(principal, "trade")
    return principal


async def _key_manager(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
    if principal.via != "session":
        require_scope(principal, "admin")
    return principal


CurrentUser = Annotated[Principal, Depends(current_principal)]
Reader = Annotated[Principal, Depends(_reader)]
Trader = Annotated[Principal, Depends(_trader)]
Admin = Annotated[Principal, Depends(_admin)]
MarketCreator = Annotated[Principal, Depends(_creator)]
KeyManager = Annotated[Principal, Depends(_key_manager)]
