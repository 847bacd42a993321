"""Accounts and authentication: register, log in/out, me, password change, API keys.

Passwords that are easy to guess are refused (``augury.api.passwords``); an account
whose logins failed too often in a row waits before the next try
(``augury.identity.login_guard``). A login always starts a new session and ends the one the
browser sent, if any (no session fixation).

Register, log in, log out and API key creation take an ``Idempotency-Key`` whose first
successful answer is stored (``augury.identity.stored_responses``): a retry gets it back,
cookies included, without creating a second account, session or key.
"""

from __future__ import annotations

import math
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from pydantic import StringConstraints
from starlette.concurrency import run_in_threadpool

from augury.api import responses as r
from augury.api.deps import (
    CSRF_COOKIE,
    SESSION_COOKIE,
    CurrentUser,
    KeyManager,
    Principal,
    ServicesDep,
    api_key_of,
    current_principal,
    optional_principal,
)
from augury.api.errors import FORBIDDEN, INVALID_CREDENTIALS, USERNAME_TAKEN, ApiError, not_found
from augury.api.notifications import store_of as notification_store
from augury.api.passwords import password_problem
from augury.api.public_keys import check_public_key, public_keys_of
from augury.api.routes.common import AccountStored, AnonymousStored, LogoutStored
from augury.api.schemas import ApiKeyBody, Body, Credentials, LoginBody, Password
from augury.identity.login_guard import BackoffPolicy, Notice
from augury.identity.store import ApiKeyInfo, User
from augury.settings import Settings, format_instant

WEAK_PASSWORD = "weak_password"
LOGIN_BACKOFF = "login_backoff"
DEVICE_COOKIE = "augury_device"
"""A browser that logged in before (its failed logins count apart from the account's)."""
DEVICE_COOKIE_PATH = "/api/v1/auth"
DEVICE_TTL_S = 400 * 86_400

router = APIRouter(tags=["accounts"])


def user_view(user: User) -> dict[str, Any]:
    return {
        "username": user.username,
        "account": user.username,
        "roles": list(user.roles),
        "created_at": format_instant(user.created_us),
    }


def key_view(info: ApiKeyInfo) -> dict[str, Any]:
    return {
        "id": info.id,
        "name": info.name,
        "prefix": info.prefix,
        "scopes": list(info.scopes),
        "created_at": format_instant(info.created_us),
        "revoked_at": None if info.revoked_us is None else format_instant(info.revoked_us),
    }


@router.post(
    "/auth/register", status_code=201, summary="Create an account", response_model=r.UserOut
)
async def register(
    body: Credentials, response: Response, services: ServicesDep, stored: AnonymousStored
) -> Any:
    """A new trader account with the operator's starting grant (journaled)."""
    found = await stored.replay(response)
    if found is not None:
        return found.body
    identity = services.identity
    await refuse_weak(body.password, body.username)
    password_hash = await run_in_threadpool(identity.hash_password, body.password)
    user = await run_in_threadpool(identity.create_user, body.username, password_hash, ("trader",))
    if user is None:
        raise ApiError(409, USERNAME_TAKEN, f"the username {body.username!r} is taken")
    try:
        await services.open_account(user.username)
    except BaseException:
        await run_in_threadpool(identity.delete_user, user.id)
        raise
    view = user_view(user)
    await stored.save(201, view, response)
    return view


def backoff_policy(settings: Settings) -> BackoffPolicy:
    return BackoffPolicy(
        settings.login_backoff_free_failures,
        settings.login_backoff_base_s,
        settings.login_backoff_max_s,
    )


async def refuse_weak(password: str, username: str) -> None:
    """422 ``weak_password`` with the estimator's advice if ``password`` is guessable."""
    problem = await run_in_threadpool(password_problem, password, username)
    if problem is not None:
        raise ApiError(422, WEAK_PASSWORD, problem)


def _backed_off(wait_us: int) -> ApiError:
    retry = str(max(1, math.ceil(wait_us / 1_000_000)))
    return ApiError(
        429,
        LOGIN_BACKOFF,
        f"too many failed logins for this account; try again in {retry} s",
        headers={"Retry-After": retry},
    )


async def _check_login(
    request: Request, services: ServicesDep, username: str, password: str
) -> tuple[User, str]:
    """(the user, its device cookie), or 401 (wrong) / 429 (backed off)."""
    attempt = await run_in_threadpool(
        services.identity.attempt_login,
        username,
        password,
        backoff_policy(services.settings),
        request.cookies.get(DEVICE_COOKIE, ""),
    )
    if attempt.wait_us > 0:
        raise _backed_off(attempt.wait_us)
    if attempt.user is None:
        raise ApiError(401, INVALID_CREDENTIALS, "wrong username or password")
    return attempt.user, attempt.device


@router.post("/auth/login", summary="Log in (session cookie)", response_model=r.LoginOut)
async def login(
    request: Request,
    body: LoginBody,
    response: Response,
    services: ServicesDep,
    stored: AnonymousStored,
) -> Any:
    """Sets the HttpOnly session cookie and the CSRF cookie; returns the CSRF token too.

    A retry with the same Idempotency-Key (and credentials) gets the same session.
    After ``login_backoff_free_failures`` failed logins in a row the account's logins
    wait (429 ``login_backoff`` with Retry-After, doubling up to 15 minutes)."""
    found = await stored.replay(response)
    if found is not None:
        return found.body
    identity = services.identity
    user, device = await _check_login(request, services, body.username, body.password)
    previous = request.cookies.get(SESSION_COOKIE)
    if previous:  # a session id from before the login never lives on (no fixation)
        await run_in_threadpool(identity.end_session, previous)
    settings = services.settings
    token = await run_in_threadpool(identity.create_session, user, settings.session_ttl_s)
    csrf = identity.csrf_token(token)
    secure = settings.secure_cookies
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=settings.session_ttl_s,
        httponly=True,
        samesite="lax",
        secure=secure,
        path="/",
    )
    response.set_cookie(
        CSRF_COOKIE,
        csrf,
        max_age=settings.session_ttl_s,
        httponly=False,
        samesite="lax",
        secure=secure,
        path="/",
    )
    response.set_cookie(
        DEVICE_COOKIE,
        device,
        max_age=DEVICE_TTL_S,
        httponly=True,
        samesite="strict",
        secure=secure,
        path=DEVICE_COOKIE_PATH,
    )
    place = request.client.host if request.client else "", request.headers.get("user-agent", "")
    notices = notification_store(request.app)  # a new place leaves a new_login notice
    await run_in_threadpool(notices.login_seen, user.username, *place)
    answer = {"user": user_view(user), "csrf_token": csrf}
    await stored.save(200, answer, response)
    return answer


class PasswordChange(Body):
    current_password: Annotated[str, StringConstraints(min_length=1, max_length=256)]
    new_password: Password


@router.post("/auth/password", status_code=204, summary="Change my password")
async def change_password(
    request: Request, body: PasswordChange, principal: CurrentUser, services: ServicesDep
) -> None:
    """Needs the session (not an API key) and the current password (a wrong one counts as
    a failed login); the new one must not be easy to guess. Every other session ends."""
    if principal.via != "session":
        raise ApiError(403, FORBIDDEN, "log in with your password to change it")
    user, _ = await _check_login(request, services, principal.account, body.current_password)
    await refuse_weak(body.new_password, user.username)
    identity = services.identity
    password_hash = await run_in_threadpool(identity.hash_password, body.new_password)
    await run_in_threadpool(identity.change_password, user, password_hash, principal.session_token)


@router.post("/auth/logout", status_code=204, summary="Log out")
async def logout(
    request: Request,
    caller: Annotated[Principal | None, Depends(optional_principal)],
    response: Response,
    services: ServicesDep,
    stored: LogoutStored,
) -> None:
    """Ends the session (if the caller used one) and clears its cookies."""
    if await stored.replay(response) is not None:
        return
    # not logged in (and no stored answer): the 401 every other route gives
    principal = caller or await current_principal(request, services)
    if principal.via == "session":
        await run_in_threadpool(services.identity.end_session, principal.session_token)
    secure = services.settings.secure_cookies
    response.delete_cookie(SESSION_COOKIE, path="/", secure=secure, httponly=True, samesite="lax")
    response.delete_cookie(CSRF_COOKIE, path="/", secure=secure, samesite="lax")
    await stored.save(204, None, response)


def notice_view(notice: Notice) -> dict[str, Any]:
    return {
        "kind": notice.kind,
        "detail": notice.detail,
        "created_at": format_instant(notice.created_us),
    }


@router.get("/auth/me", summary="Who am I", response_model=r.MeOut)
async def me(principal: CurrentUser, services: ServicesDep) -> dict[str, Any]:
    """The caller, how it is authenticated, and the newest security notices about the
    account (failed logins that made it wait, password changes)."""
    view = user_view(principal.user)
    notices = await run_in_threadpool(services.identity.guard.notices, principal.user.id)
    view.update(
        authenticated_by=principal.via,
        scopes=list(principal.scopes),
        security_notices=[notice_view(n) for n in notices],
    )
    return view


@router.post(
    "/auth/api-keys",
    status_code=201,
    summary="Create an API key (shown once)",
    response_model=r.ApiKeyCreated,
)
async def create_api_key(
    body: ApiKeyBody,
    principal: KeyManager,
    request: Request,
    response: Response,
    services: ServicesDep,
    stored: AccountStored,
) -> Any:
    """The key is in this answer only (a retry with the same Idempotency-Key gets the same
    answer back: it is stored encrypted for 24 h, never in plaintext)."""
    found = await stored.replay(response)
    if found is not None:
        return found.body
    scopes = tuple(dict.fromkeys(body.scopes))
    if body.public_key is not None:
        check_public_key(body.public_key)
    created = await run_in_threadpool(
        services.identity.create_api_key, principal.user, body.name, scopes
    )
    if created is None:
        raise ApiError(422, "too_many_api_keys", "revoke a key before creating another")
    key, info = created
    view = key_view(info)
    view["key"] = key
    if body.public_key is not None:  # requests signed by its private half are this key's
        keys = public_keys_of(request.app.state, services.identity)
        view["key_type"] = await run_in_threadpool(keys.add, info.id, body.public_key)
    await stored.save(201, view, response)
    return view


@router.get("/auth/api-keys", summary="List my API keys", response_model=r.ApiKeyList)
async def list_api_keys(principal: KeyManager, services: ServicesDep) -> dict[str, Any]:
    infos = await run_in_threadpool(services.identity.list_api_keys, principal.user)
    return {"items": [key_view(i) for i in infos]}


@router.delete("/auth/api-keys/{key_id}", status_code=204, summary="Revoke an API key")
async def revoke_api_key(
    key_id: str, request: Request, principal: CurrentUser, services: ServicesDep
) -> None:
    """Revoke one of my keys. A session or an admin-scoped key may revoke any of them; any
    other key only itself (``augury logout`` revokes the key it logged in with)."""
    if len(key_id) > 32:
        raise not_found("API key")
    if principal.via != "session" and "admin" not in principal.scopes:
        own = await run_in_threadpool(services.identity.api_key_id, api_key_of(request) or "")
        if own != key_id:
            raise ApiError(
                403, FORBIDDEN, "an API key without the 'admin' scope can revoke only itself"
            )
    revoked = await run_in_threadpool(services.identity.revoke_api_key, principal.user, key_id)
    public_keys_of(request.app.state, services.identity).forget(key_id)
    if not revoked:
        raise not_found("API key")
