"""Notifications: my feed, marking read, the kinds I see, my webhooks and their log."""

from __future__ import annotations

from collections.abc import AsyncIterator

from augury.client import _base as b
from augury.client import _models as m
from augury.client import _notification_models as n
from augury.client._async.base import Core, awalk


class NotificationMethods(Core):
    """The client's methods for the notification feed (docs/sdk.md, "Notifications")."""

    async def notifications(
        self, *, unread: bool = False, cursor: str | None = None, limit: int | None = None
    ) -> n.NotificationPage:
        """One page of my notifications, newest first (``unread``: only unread ones)."""
        params = {"unread": "true" if unread else None, "cursor": cursor, "limit": limit}
        return await self._call(self._req("notifications", params=params), n.NotificationPage)

    def iter_notifications(
        self, *, unread: bool = False, page_size: int | None = None
    ) -> AsyncIterator[n.Notification]:
        """Every notification of mine, newest first, page by page."""
        return awalk(
            lambda cursor: self.notifications(unread=unread, cursor=cursor, limit=page_size)
        )

    async def unread_notifications(self) -> int:
        """How many of my notifications are unread (muted kinds not counted)."""
        return (await self._call(self._req("unread_notifications"), n.Unread)).unread

    async def mark_notification_read(self, notification_id: str) -> int:
        """Mark one notification read; returns how many stay unread."""
        req = self._req("mark_notification_read", path={"notification": notification_id})
        return (await self._call(req, n.Unread)).unread

    async def mark_all_notifications_read(self) -> int:
        """Mark everything in my feed read (later notices are unread); returns 0."""
        return (await self._call(self._req("mark_all_notifications_read"), n.Unread)).unread

    async def notification_settings(self) -> dict[str, bool]:
        """Every kind, and whether it shows in my feed."""
        req = self._req("notification_settings")
        return (await self._call(req, n.NotificationSettings)).kinds

    async def set_notification_settings(self, muted: list[str]) -> dict[str, bool]:
        """Hide exactly the ``muted`` kinds from my feed; returns every kind, and whether
        it shows."""
        req = self._req("set_notification_settings", body={"muted": muted})
        return (await self._call(req, n.NotificationSettings)).kinds

    async def create_webhook(
        self, url: str, *, kinds: list[str] | None = None, secret: str | None = None
    ) -> n.Webhook:
        """POST my notifications of ``kinds`` (None: every kind) to ``url``, signed with
        ``secret`` (None: the server makes one, returned here only)."""
        body = {"url": url, "kinds": kinds or [], "secret": secret}
        req = self._req("create_webhook", body={k: v for k, v in body.items() if v is not None})
        return await self._call(req, n.Webhook)

    async def list_webhooks(self) -> list[n.Webhook]:
        return (await self._call(self._req("list_webhooks"), n.WebhookList)).items

    async def delete_webhook(self, webhook_id: str) -> None:
        """Delete one of my webhooks, its pending deliveries and its log."""
        b.check(await self._send(self._req("delete_webhook", path={"webhook": webhook_id})))

    async def webhook_deliveries(
        self, webhook_id: str, *, cursor: str | None = None, limit: int | None = None
    ) -> m.Page[n.Delivery]:
        """A webhook's delivery log, newest first, every try of each."""
        req = self._req(
            "webhook_deliveries",
            path={"webhook": webhook_id},
            params={"cursor": cursor, "limit": limit},
        )
        return await self._call(req, m.Page[n.Delivery])
