"""Notifications: my feed (paged, unread filter and count), marking read, settings per
kind, and my webhooks with their delivery log. Only ever the caller's own account. The
feed follows the read models, so a read waits for them to catch up
(``services.barrier``) like every history read."""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from augury.api import notification_models as m
from augury.api.deps import Reader, ServicesDep, Trader
from augury.api.errors import VALIDATION_ERROR, ApiError, not_found
from augury.api.notifications import Key, NotificationStore
from augury.api.notifications import store_of as notification_store
from augury.api.reads import decode_cursor, encode_cursor
from augury.api.routes.common import Cursor, Limit
from augury.api.webhooks import Webhook, WebhookStore, check_url
from augury.evidence.fetch import FetchPolicy
from augury.settings import format_instant

router = APIRouter(tags=["notifications"])

NoticeId = Annotated[str, Path(max_length=60)]


def store_of(request: Request) -> NotificationStore:
    return notification_store(request.app)


@router.get(
    "/notifications", summary="My notifications, newest first", response_model=m.NotificationPage
)
async def feed(
    request: Request,
    principal: Reader,
    services: ServicesDep,
    unread: Annotated[bool, Query(description="Only the unread ones.")] = False,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> dict[str, Any]:
    """Muted kinds (``/notifications/settings``) are left out, and not counted."""
    store = store_of(request)
    before: Key | None = None
    if cursor is not None:
        ts_us, src, a, b, c = decode_cursor(cursor, (int, int, int, int, int))
        before = (ts_us, src, a, b, c)
    await services.barrier()
    account = principal.account

    def read() -> tuple[list[dict[str, Any]], str | None, int]:
        items, last = store.page(account, unread_only=unread, before=before, limit=limit)
        next_cursor = None if last is None else encode_cursor(list(last))
        return [item.view() for item in items], next_cursor, store.unread_count(account)

    items, next_cursor, count = await run_in_threadpool(read)
    return {"items": items, "next_cursor": next_cursor, "unread": count}


@router.get(
    "/notifications/unread",
    summary="How many of my notifications are unread",
    response_model=m.UnreadOut,
)
async def unread_count(
    request: Request, principal: Reader, services: ServicesDep
) -> dict[str, Any]:
    await services.barrier()
    count = await run_in_threadpool(store_of(request).unread_count, principal.account)
    return {"unread": count}


@router.post(
    "/notifications/read", summary="Mark all my notifications read", response_model=m.UnreadOut
)
async def read_all(request: Request, principal: Reader, services: ServicesDep) -> dict[str, Any]:
    """Everything in the feed now; later notices are unread."""
    await services.barrier()
    store = store_of(request)
    await run_in_threadpool(store.mark_all_read, principal.account)
    return {"unread": await run_in_threadpool(store.unread_count, principal.account)}


@router.post(
    "/notifications/{notification}/read",
    summary="Mark one notification read",
    response_model=m.UnreadOut,
)
async def read_one(
    request: Request, notification: NoticeId, principal: Reader, services: ServicesDep
) -> dict[str, Any]:
    store = store_of(request)
    await services.barrier()
    if not await run_in_threadpool(store.mark_read, principal.account, notification):
        raise not_found(f"notification {notification!r}")
    return {"unread": await run_in_threadpool(store.unread_count, principal.account)}


def settings_view(kinds: dict[str, bool]) -> dict[str, Any]:
    return {"kinds": kinds, "muted": [kind for kind, shown in kinds.items() if not shown]}


@router.get(
    "/notifications/settings", summary="Which kinds show in my feed", response_model=m.SettingsOut
)
async def get_settings(request: Request, principal: Reader) -> dict[str, Any]:
    return settings_view(await run_in_threadpool(store_of(request).settings, principal.account))


@router.put("/notifications/settings", summary="Mute kinds", response_model=m.SettingsOut)
async def put_settings(request: Request, body: m.SettingsBody, principal: Reader) -> dict[str, Any]:
    """``muted``: the kinds hidden from my feed, its count and its channel (every other
    kind shows). An unknown kind is refused (422), nothing changed."""
    store = store_of(request)
    kinds = await run_in_threadpool(store.set_muted, principal.account, list(body.muted))
    return settings_view(kinds)


# -- webhooks -------------------------------------------------------------------------
WebhookId = Annotated[str, Path(max_length=32)]
WEBHOOK_SECRET_MIN = 16


def webhooks_of(request: Request) -> WebhookStore:
    """The app's webhook store (the deliverer's, once the lifespan made it)."""
    state = request.app.state
    deliverer = getattr(state, "webhooks", None)
    if deliverer is not None:
        found: WebhookStore = deliverer.store
        return found
    store = getattr(state, "webhook_store", None)
    if store is None:
        secret = state.services.settings.secret_key
        store = state.webhook_store = WebhookStore(notification_store(request.app), secret)
    assert isinstance(store, WebhookStore)
    return store


def webhook_view(webhook: Webhook, secret: str | None = None) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": webhook.id,
        "url": webhook.url,
        "kinds": list(webhook.kinds),
        "created_at": format_instant(webhook.created_us),
    }
    if secret is not None:
        view["secret"] = secret
    return view


@router.post("/webhooks", status_code=201, summary="Add a webhook", response_model=m.WebhookOut)
async def create_webhook(
    request: Request, body: m.WebhookBody, principal: Trader, services: ServicesDep
) -> dict[str, Any]:
    """Notifications of the given ``kinds`` (none: every kind) are POSTed to ``url``
    from now on, signed with the secret (``Augury-Signature``; docs/api.md). A secret
    the server makes is in this answer only; one you set is never shown."""
    store = webhooks_of(request)
    if body.secret is not None and len(body.secret) < WEBHOOK_SECRET_MIN:
        raise ApiError(422, VALIDATION_ERROR, f"secret: at least {WEBHOOK_SECRET_MIN} characters")
    settings = services.settings
    policy = FetchPolicy(allow_hosts=frozenset(settings.evidence_allow_hosts))
    check_url(body.url, policy)
    await services.barrier()  # "from now on": after every notice of what came before
    webhook, secret = await run_in_threadpool(
        store.create, principal.account, body.url, tuple(body.kinds), body.secret
    )
    return webhook_view(webhook, secret if body.secret is None else None)


@router.get("/webhooks", summary="My webhooks", response_model=m.WebhookList)
async def list_webhooks(request: Request, principal: Reader) -> dict[str, Any]:
    found = await run_in_threadpool(webhooks_of(request).of, principal.account)
    return {"items": [webhook_view(w) for w in found]}


@router.delete("/webhooks/{webhook}", status_code=204, summary="Delete a webhook")
async def delete_webhook(request: Request, webhook: WebhookId, principal: Trader) -> Response:
    """Its pending deliveries and its log go with it."""
    if not await run_in_threadpool(webhooks_of(request).delete, principal.account, webhook):
        raise not_found(f"webhook {webhook!r}")
    return Response(status_code=204)


@router.get(
    "/webhooks/{webhook}/deliveries",
    summary="A webhook's delivery log, newest first",
    response_model=m.DeliveryPage,
)
async def webhook_deliveries(
    request: Request,
    webhook: WebhookId,
    principal: Reader,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> dict[str, Any]:
    """Each delivery: pending (with its next try), delivered or failed (after the last
    try), and every try with its HTTP status or error."""
    store = webhooks_of(request)
    if await run_in_threadpool(store.get, principal.account, webhook) is None:
        raise not_found(f"webhook {webhook!r}")
    before = None if cursor is None else int(decode_cursor(cursor, (int,))[0])
    items, last = await run_in_threadpool(
        partial(store.deliveries, webhook, before=before, limit=limit)
    )
    return {"items": items, "next_cursor": None if last is None else encode_cursor([last])}
