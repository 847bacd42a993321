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
    muted: list[str]


class Webhook(Model):
    """Where my notifications of ``kinds`` (empty: every kind) are POSTed, signed."""

    id: str
    url: str
    kinds: list[str]
    created_at: datetime
    secret: str | None = None
    """The signing secret the server made: only in the answer that created it."""


class WebhookList(Model):
    items: list[Webhook]


class DeliveryAttempt(Model):
    at: datetime
    status: int | None
    """The receiver's HTTP status, if it answered."""
    error: str
    duration_ms: int


class Delivery(Model):
    """One notification sent (or being sent) to one webhook, with every try."""

    id: int
    webhook: str
    notification: str
    kind: str
    status: str
    """pending | delivered | failed (after the last try)"""
    attempts: int
    last_status: int | None
    last_error: str
    next_attempt_at: datetime | None
    created_at: datetime
    delivered_at: datetime | None
    log: list[DeliveryAttempt]
