# generated from _async/notifications.py by scripts/unasync.py; do not edit
"""Notifications: my feed, marking read, the kinds I see, my webhooks and their log."""

from __future__ import annotations

from collections.abc import Iterator

from augury.client import _base as b
from augury.client import _models as m
from augury.client import _notification_models as n
from augury.client._sync.base import Core, walk


class NotificationMethods(Core):
    """The client's methods for the notification feed (docs/sdk.md, "Notifications")."""

    def notifications(
        self, *, unread: bool = False, cursor: str | None = None, limit: int | None = None
    ) -> n.NotificationPage:
        """One page of my notifications, newest first (``unread``: only unread ones)."""
        params = {"unread": "true" if unread else None, "cursor": cursor, "limit": limit}
        return self._call(self._req("notifications", params=params), n.NotificationPage)

    def iter_notifications(
        self, *, unread: bool = False, page_size: int | None = None
    ) -> Iterator[n.Notification]:
        """Every notification of mine, newest first, page by page."""
        return walk(
            lambda cursor: self.notifications(unread=unread, cursor=cursor, limit=page_size)
        )

    def unread_notifications(self) -> int:
        """How many of my notifications are unread (muted kinds not counted)."""
        return (self._call(self._req("unread_notifications"), n.Unread)).unread

    def mark_notification_read(self, notification_id: str) -> int:
        """Mark one notification read; returns how many stay unread."""
        req = self._req("mark_notification_read", path={"notification": notification_id})
        return (self._call(req, n.Unread)).unread

    def mark_all_notifications_read(self) -> int:
        """Mark everything in my feed read (later notices are unread); returns 0."""
        return (self._call(self._req("mark_all_notifications_read"), n.Unread)).unread

    def notification_settings(self) -> dict[str, bool]:
        """Every kind, and whether it shows in my feed."""
        req = self._req("notification_settings")
        return (self._call(req, n.NotificationSettings)).kinds

    def set_notification_settings(self, muted: list[str]) -> dict[str, bool]:
        """Hide exactly the ``muted`` kinds from my feed; returns every kind, and whether
        it shows."""
        req = self._req("set_notification_settings", body={"muted": muted})
        return (self._call(req, n.NotificationSettings)).kinds

    def create_webhook(
        self, url: str, *, kinds: list[str] | None = None, secret: str | None = None
    ) -> n.Webhook:
        """POST my notifications of ``kinds`` (None: every kind) to ``url``, signed with
        ``secret`` (None: the server makes one, returned here only)."""
        body = {"url": url, "kinds": kinds or [], "secret": secret}
        req = self._req("create_webhook", body={k: v for k, v in body.items() if v is not None})
        return self._call(req, n.Webhook)

    def list_webhooks(self) -> list[n.Webhook]:
        return (self._call(self._req("list_webhooks"), n.WebhookList)).items

    def delete_webhook(self, webhook_id: str) -> None:
        """Delete one of my webhooks, its pending deliveries and its log."""
        b.check(self._send(self._req("delete_webhook", path={"webhook": webhook_id})))

    def webhook_deliveries(
        self, webhook_id: str, *, cursor: str | None = None, limit: int | None = None
    ) -> m.Page[n.Delivery]:
        """A webhook's delivery log, newest first, every try of each."""
        req = self._req(
            "webhook_deliveries",
            path={"webhook": webhook_id},
            params={"cursor": cursor, "limit": limit},
        )
        return self._call(req, m.Page[n.Delivery])
