"""Accounts and authentication: register, log in/out, me, API keys.

Register, log in, log out and API key creation take an ``Idempotency-Key`` whose first
successful answer is stored (``augury.api.stored_responses``): a retry gets it back,
cookies included, without creating a second account, session or key.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
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
from augury.api.identity import ApiKeyInfo, User
from augury.api.routes.common import AccountStored, AnonymousStored, LogoutStored
from augury.api.schemas import ApiKeyBody, Credentials, LoginBody
from augury.settings import format_instant

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


@router.post("/auth/login", summary="Log in (session cookie)", response_model=r.LoginOut)
async def login(
    body: LoginBody, response: Response, services: ServicesDep, stored: AnonymousStored
) -> Any:
    """Sets the HttpOnly session cookie and the CSRF cookie; returns the CSRF token too.

    A retry with the same Idempotency-Key (and credentials) gets the same session."""
    found = await stored.replay(response)
    if found is not None:
        return found.body
    identity = services.identity
    user = await run_in_threadpool(identity.check_password, body.username, body.password)
    if user is None:
        raise ApiError(401, INVALID_CREDENTIALS, "wrong username or password")
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
    answer = {"user": user_view(user), "csrf_token": csrf}
    await stored.save(200, answer, response)
    return answer


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
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(CSRF_COOKIE, path="/")
    await stored.save(204, None, response)


@router.get("/auth/me", summary="Who am I", response_model=r.MeOut)
async def me(principal: CurrentUser) -> dict[str, Any]:
    view = user_view(principal.user)
    view.update(authenticated_by=principal.via, scopes=list(principal.scopes))
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
    created = await run_in_threadpool(
        services.identity.create_api_key, principal.user, body.name, scopes
    )
    if created is None:
        raise ApiError(422, "too_many_api_keys", "revoke a key before creating another")
    key, info = created
    view = key_view(info)
    view["key"] = key
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
    if not revoked:
        raise not_found("API key")
