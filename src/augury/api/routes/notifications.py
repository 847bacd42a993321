"""Notifications: my feed (paged, unread filter and count), marking read, settings per
kind. Only ever the caller's own account. The feed follows the read models, so a read
waits for them to catch up (``services.barrier``) like every history read."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from starlette.concurrency import run_in_threadpool

from augury.api import notification_models as m
from augury.api.deps import Reader, ServicesDep
from augury.api.errors import not_found
from augury.api.notifications import Key, NotificationStore
from augury.api.notifications import store_of as notification_store
from augury.api.reads import decode_cursor, encode_cursor
from augury.api.routes.common import Cursor, Limit

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


@router.get(
    "/notifications/settings", summary="Which kinds show in my feed", response_model=m.SettingsOut
)
async def get_settings(request: Request, principal: Reader) -> dict[str, Any]:
    return {"kinds": await run_in_threadpool(store_of(request).settings, principal.account)}


@router.put("/notifications/settings", summary="Mute or unmute kinds", response_model=m.SettingsOut)
async def put_settings(request: Request, body: m.SettingsBody, principal: Reader) -> dict[str, Any]:
    """Unknown kinds are refused (422 ``unknown_notification_kind``), nothing changed."""
    store = store_of(request)
    kinds = await run_in_threadpool(store.set_settings, principal.account, dict(body.kinds))
    return {"kinds": kinds}
