"""Observation jobs in the database every API node shares: any node answers for any job.

A job (``augury.roles.observe_jobs``) runs on the event loop of the node that was asked
for it; each change of its state (pending, running, done or failed, with its captures
or its error) is also written to ``api_observe_jobs``, so ``GET /observe-jobs/{id}``
through another node finds it. A row is kept ``KEEP_S`` (wall-clock time since it was
last written), then deleted. A job left pending or running by a node that stopped
without finishing it is shown failed once ``ABANDONED_S`` have passed.

Every method is synchronous (call it from a worker thread, not the event loop).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Engine,
    Index,
    MetaData,
    String,
    Table,
    Text,
    delete,
    insert,
    select,
    update,
)

KEEP_S = 3_600
"""How long a job's row is kept after it was last written (wall-clock seconds)."""
ABANDONED_S = 900
"""A job still pending or running this long after it was last written was left by a
node that stopped (a sweep ends within its sources' timeouts)."""
ABANDONED = "The server running this job stopped before it finished."

metadata = MetaData()

observe_jobs = Table(
    "api_observe_jobs",
    metadata,
    Column("id", String(24), primary_key=True),
    Column("market", String(64), nullable=False),
    Column("status", String(16), nullable=False),
    Column("created_us", BigInteger, nullable=False),
    Column("finished_us", BigInteger, nullable=True),
    Column("observations", Text, nullable=False),
    Column("error", Text, nullable=False),
    Column("written_us", BigInteger, nullable=False),
    Index("ix_api_observe_jobs_written", "written_us"),
)


@dataclass(frozen=True, slots=True)
class JobRow:
    id: str
    market: str
    status: str
    created_us: int
    finished_us: int | None
    observations: list[dict[str, Any]]
    error: str


def _wall_us() -> int:
    return time.time_ns() // 1_000


class JobRows:
    """The rows of ``engine``'s database (migrated by ``augury.identity.migrate``)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def put(self, job: JobRow) -> None:
        """Write a job's state (a new job, or a change of an existing one's)."""
        written = _wall_us()
        values = {
            "market": job.market,
            "status": job.status,
            "created_us": job.created_us,
            "finished_us": job.finished_us,
            "observations": json.dumps(job.observations, separators=(",", ":")),
            "error": job.error,
            "written_us": written,
        }
        with self.engine.begin() as conn:
            done = conn.execute(
                update(observe_jobs).where(observe_jobs.c.id == job.id).values(**values)
            )
            if done.rowcount == 0:
                conn.execute(
                    delete(observe_jobs).where(
                        observe_jobs.c.written_us < written - KEEP_S * 1_000_000
                    )
                )
                conn.execute(insert(observe_jobs).values(id=job.id, **values))

    def get(self, job_id: str) -> JobRow | None:
        now = _wall_us()
        with self.engine.connect() as conn:
            row = conn.execute(
                select(observe_jobs).where(
                    observe_jobs.c.id == job_id,
                    observe_jobs.c.written_us > now - KEEP_S * 1_000_000,
                )
            ).first()
        if row is None:
            return None
        status, error = row.status, row.error
        if status in ("pending", "running") and row.written_us < now - ABANDONED_S * 1_000_000:
            status, error = "failed", ABANDONED
        return JobRow(
            row.id,
            row.market,
            status,
            row.created_us,
            row.finished_us,
            json.loads(row.observations),
            error,
        )
