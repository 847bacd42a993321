"""The notification and webhook answers as typed msgspec Structs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from augury.client._models import Model, Page


class Notification(Model):
    """One notice of my feed; ``kind`` is one of the kinds of docs/api.md."""

    id: str
    kind: str
    market: str | None
    text: str
    details: dict[str, Any]
    created_at: datetime
    read: bool


class NotificationPage(Page[Notification]):
    """One page of my feed, newest first, and how many notices are unread in all."""

    unread: int


class Unread(Model):
    unread: int


class NotificationSettings(Model):
    kinds: dict[str, bool]
    """Every kind, and whether it shows in my feed (False: muted)."""
