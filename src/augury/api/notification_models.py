"""Request and answer shapes of the notification and webhook routes
(``routes/notifications.py``); see docs/api.md, "Notifications"."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, StringConstraints

from augury.api.responses import Instant, Out
from augury.api.schemas import Body
from augury.api.text import SingleLineText
from augury.projections.notices import Kind


class NotificationOut(Out):
    id: str
    kind: str
    market: str | None
    text: str
    details: dict[str, Any]
    created_at: Instant
    read: bool


class NotificationPage(Out):
    items: list[NotificationOut]
    next_cursor: str | None
    unread: int


class UnreadOut(Out):
    unread: int


class SettingsOut(Out):
    kinds: dict[str, bool]
    """Every kind, and whether it shows in the feed (false: muted)."""
    muted: list[str]


class SettingsBody(Body):
    muted: list[Kind] = Field(max_length=32)
    """The kinds to hide from the feed (every other kind is shown)."""


class WebhookBody(Body):
    url: Annotated[SingleLineText, StringConstraints(max_length=2_000)]
    kinds: list[Kind] = Field(default_factory=list, max_length=32)
    """The kinds to deliver; empty: every kind."""
    secret: Annotated[SingleLineText, StringConstraints(max_length=200)] | None = None
    """The signing secret (16 characters or more); omitted: the server makes one and
    shows it once."""


class WebhookOut(Out):
    id: str
    url: str
    kinds: list[str]
    created_at: Instant
    secret: str | None = None
    """Only in the answer that created it."""


class WebhookList(Out):
    items: list[WebhookOut]


class AttemptOut(Out):
    at: Instant
    status: int | None
    """The receiver's HTTP status, if it answered."""
    error: str
    duration_ms: int


class DeliveryOut(Out):
    id: int
    webhook: str
    notification: str
    kind: str
    status: str
    """pending | delivered | failed (no more tries)"""
    attempts: int
    last_status: int | None
    last_error: str
    next_attempt_at: Instant | None
    created_at: Instant
    delivered_at: Instant | None
    log: list[AttemptOut]


class DeliveryPage(Out):
    items: list[DeliveryOut]
    next_cursor: str | None
