"""Observing a market's sources on demand, in the background (``POST .../observe``).

Fetching every source of a market can take as long as the slowest source's timeout (10 s
by default) and waits for the observer's sweep in progress, so the request does not:
it answers 202 with a job, and the job runs on the server's event loop (the one that
answers the API, wherever it is embedded). ``GET /observe-jobs/{id}`` reports
``pending``, ``running``, ``done`` (with the id and hash of each capture) or ``failed``
(with the error).

Every state a job goes through is also written to the database the API nodes share
(``augury.roles.observe_job_rows``), so any node answers ``GET /observe-jobs/{id}``; the
bounds below and the one job per market are each node's own.

Bounded: at most ``ACTIVE_MAX`` jobs pending or running at once (another is refused
with 503 ``overloaded`` and a ``Retry-After``); a second request for a market whose job
has not finished gets that job back. Finished jobs are kept ``KEEP_S`` seconds (real
time), at most ``KEPT_MAX`` of them, then forgotten (404).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from augury.evidence.observe import Captured
from augury.roles.errors import Overloaded
from augury.roles.observe_job_rows import JobRow, JobRows
from augury.settings import format_instant

log = logging.getLogger(__name__)

ACTIVE_MAX = 8
"""Jobs pending or running at once (each fetches every source of one market)."""
KEPT_MAX = 1_000
"""Jobs remembered at most (finished ones are forgotten first, oldest first)."""
KEEP_S = 3_600.0
"""How long a finished job can still be read (real seconds)."""
RETRY_AFTER_S = 5

Sweep = Callable[[str], Awaitable[list[Captured]]]
"""Observe every source of a market now; the journaled captures."""
FindIds = Callable[[str, list[Captured]], Awaitable[list[int | None]]]
"""The journal seq of each capture (None if it was not journaled)."""


@dataclass
class Job:
    id: str
    market: str
    created_us: int
    status: str = "pending"
    finished_us: int | None = None
    observations: list[dict[str, Any]] = field(default_factory=list)
    error: str = ""
    finished_at: float = 0.0  # monotonic, for expiry
    task: asyncio.Task[None] | None = None

    @property
    def active(self) -> bool:
        return self.status in ("pending", "running")

    def row(self) -> JobRow:
        return JobRow(
            self.id,
            self.market,
            self.status,
            self.created_us,
            self.finished_us,
            self.observations,
            self.error,
        )

    @classmethod
    def of(cls, row: JobRow) -> Job:
        return cls(
            row.id,
            row.market,
            row.created_us,
            row.status,
            row.finished_us,
            row.observations,
            row.error,
        )

    def out(self, prefix: str) -> dict[str, Any]:
        return {
            "id": self.id,
            "market": self.market,
            "status": self.status,
            "created_at": format_instant(self.created_us),
            "finished_at": None if self.finished_us is None else format_instant(self.finished_us),
            "observations": self.observations,
            "error": self.error,
            "location": f"{prefix}/observe-jobs/{self.id}",
        }


class ObserveJobs:
    """The jobs of one server (event loop only)."""

    def __init__(
        self,
        sweep: Sweep,
        find_ids: FindIds,
        now_us: Callable[[], int],
        rows: JobRows | None = None,
    ) -> None:
        self._rows = rows
        self._sweep = sweep
        self._find_ids = find_ids
        self._now_us = now_us
        self._jobs: dict[str, Job] = {}

    async def submit(self, market: str) -> Job:
        """Start observing ``market`` (or give back its unfinished job)."""
        self._prune()
        for job in self._jobs.values():
            if job.market == market and job.active:
                return job
        if sum(job.active for job in self._jobs.values()) >= ACTIVE_MAX:
            raise Overloaded(
                f"{ACTIVE_MAX} observation jobs are already waiting or running; "
                f"retry in {RETRY_AFTER_S} seconds.",
                retry_after_s=RETRY_AFTER_S,
            )
        job = Job(secrets.token_hex(12), market, self._now_us())
        if self._rows is not None:  # written before it is answered: any node finds it
            await asyncio.to_thread(self._rows.put, job.row())
        self._jobs[job.id] = job
        job.task = asyncio.get_running_loop().create_task(self._run(job))
        return job

    async def get(self, job_id: str) -> Job | None:
        """A job of this node's, or one another node wrote."""
        self._prune()
        job = self._jobs.get(job_id)
        if job is None and self._rows is not None:
            row = await asyncio.to_thread(self._rows.get, job_id)
            job = None if row is None else Job.of(row)
        return job

    async def _write(self, job: Job) -> None:
        if self._rows is None:
            return
        try:
            await asyncio.to_thread(self._rows.put, job.row())
        except Exception:  # this node still answers for it; others see it behind
            log.exception("writing observation job %s failed", job.id)

    async def _run(self, job: Job) -> None:
        job.status = "running"
        await self._write(job)
        try:
            captured = await self._sweep(job.market)
            ids = await self._find_ids(job.market, captured)
            job.observations = [_capture(c, i) for c, i in zip(captured, ids, strict=True)]
            job.status = "done"
        except asyncio.CancelledError:
            job.status, job.error = "failed", "The server stopped before the job finished."
            raise
        except Exception as exc:  # reported on the job, never lost
            log.exception("observation job %s for %s failed", job.id, job.market)
            job.status = "failed"
            job.error = f"The observation failed: {type(exc).__name__}: {exc}"
        finally:
            job.finished_us = self._now_us()
            job.finished_at = time.monotonic()
            job.task = None
            await self._write(job)

    def _prune(self) -> None:
        now = time.monotonic()
        for job_id in [
            j.id for j in self._jobs.values() if not j.active and now - j.finished_at > KEEP_S
        ]:
            del self._jobs[job_id]
        if len(self._jobs) >= KEPT_MAX:
            done = sorted((j for j in self._jobs.values() if not j.active), key=_finished)
            for job in done[: len(self._jobs) - KEPT_MAX + 1]:
                del self._jobs[job.id]

    async def close(self) -> None:
        """Cancel the jobs still running (the server stops)."""
        tasks = [j.task for j in self._jobs.values() if j.task is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


def _finished(job: Job) -> float:
    return job.finished_at


def _capture(c: Captured, obs_id: int | None) -> dict[str, Any]:
    return {
        "id": obs_id,
        "source_id": c.source_id,
        "ok": c.ok,
        "value": c.value,
        "content_sha256": c.content_sha256,
        "size": c.size,
        "error_code": c.error_code,
        "error": c.error,
        "fetched_at": format_instant(c.fetched_at_us),
    }
