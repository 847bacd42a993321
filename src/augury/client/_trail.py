"""The evidence trail's answers: runs of identical captures and observation jobs."""

from __future__ import annotations

from datetime import datetime

from augury.client._models import Model


class ObservationRun(Model):
    """Consecutive identical captures of one source (same hash, value and status)."""

    source_id: str
    ok: bool
    value: str | None
    content_sha256: str
    size: int | None
    http_status: int | None
    error_code: str
    error: str
    change: str | None
    count: int
    first_id: int
    last_id: int
    first_sha256: str
    last_sha256: str
    first_at: datetime
    last_at: datetime
    summary: str
    """E.g. "unchanged, 120 captures from ... to ..."."""
    captures: str
    """The API path listing the run's captures."""


class JobCapture(Model):
    id: int | None
    """The observation's id (None if it was not journaled)."""
    source_id: str
    ok: bool
    value: str | None
    content_sha256: str
    size: int
    error_code: str
    error: str
    fetched_at: datetime


class ObserveJob(Model):
    """An on-demand observation of a market's sources (``observe_now``)."""

    id: str
    market: str
    status: str
    """pending, running, done or failed."""
    created_at: datetime
    finished_at: datetime | None
    observations: list[JobCapture]
    error: str
    location: str
