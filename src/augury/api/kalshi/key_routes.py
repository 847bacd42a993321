"""Kalshi's ``/api_keys``: list, register a public key, generate a pair, delete.

Each is an Augury API key (``identity.create_api_key``, the same table, limits and
scopes) with a public key attached (``augury.api.public_keys``); managing keys needs
the ``admin`` scope, as Augury's own key routes do for a key. Kalshi's scope ``read``
is Augury's ``read`` and ``write`` is ``trade``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from augury.api.kalshi import models as km
from augury.api.kalshi.common import answer, caller, decode, facade_of, services_of
from augury.api.kalshi.errors import KalshiError, KalshiRoute, bad_request, not_found
from augury.api.public_keys import KeyType, generate_pair, load_public_key

router = APIRouter(route_class=KalshiRoute)

TO_AUGURY = {
    "read": "read",
    "write": "trade",
    "write::trade": "trade",
    "read::portfolio_balance": "read",
}
TO_KALSHI = {"read": "read", "trade": "write"}


def augury_scopes(scopes: list[str] | None) -> tuple[str, ...]:
    chosen = scopes if scopes else ["read", "write"]
    unknown = [s for s in chosen if s not in TO_AUGURY]
    if unknown:
        raise bad_request(f"scopes: unknown {', '.join(unknown)[:100]}", "invalid_scopes")
    return tuple(dict.fromkeys(TO_AUGURY[s] for s in chosen))


async def _create(request: Request, name: str, pem: str, scopes: list[str] | None) -> str:
    principal = await caller(request, "admin")
    try:
        load_public_key(pem)
    except ValueError as error:
        raise bad_request(str(error), "invalid_public_key") from None
    services = services_of(request)
    created = await run_in_threadpool(
        services.identity.create_api_key, principal.user, name, augury_scopes(scopes)
    )
    if created is None:
        raise KalshiError(400, "too_many_api_keys", "revoke a key before creating another")
    _, info = created
    await run_in_threadpool(facade_of(request).keys.add, info.id, pem)
    return info.id


@router.get("/api_keys")
async def list_keys(request: Request) -> Response:
    principal = await caller(request, "admin")
    services = services_of(request)
    infos = await run_in_threadpool(services.identity.list_api_keys, principal.user)
    live = [i for i in infos if i.revoked_us is None]
    signed = await run_in_threadpool(facade_of(request).keys.types, [i.id for i in live])
    keys = [
        km.ApiKey(i.id, i.name, [TO_KALSHI[s] for s in i.scopes if s in TO_KALSHI])
        for i in live
        if i.id in signed
    ]
    return answer({"api_keys": keys})


@router.post("/api_keys", status_code=201)
async def create_key(request: Request) -> Response:
    body = decode(await request.body(), km.CreateApiKey)
    key_id = await _create(request, body.name, body.public_key, body.scopes)
    return answer({"api_key_id": key_id}, 201)


@router.post("/api_keys/generate", status_code=201)
async def generate_key(request: Request) -> Response:
    """The private key is in this answer only; the server keeps the public half."""
    body = decode(await request.body(), km.GenerateApiKey)
    key_type: KeyType = body.key_type or "rsa"
    private_pem, public_pem = await run_in_threadpool(generate_pair, key_type)
    key_id = await _create(request, body.name, public_pem, body.scopes)
    result: dict[str, Any] = {
        "api_key_id": key_id,
        "key_type": key_type,
        "private_key": private_pem,
    }
    return answer(result, 201)


@router.delete("/api_keys/{api_key}", status_code=204)
async def delete_key(request: Request, api_key: str) -> Response:
    principal = await caller(request, "admin")
    if len(api_key) > 32:
        raise not_found("API key")
    services = services_of(request)
    revoked = await run_in_threadpool(services.identity.revoke_api_key, principal.user, api_key)
    facade_of(request).keys.forget(api_key)
    if not revoked:
        raise not_found("API key")
    return Response(status_code=204)
