"""Observation jobs shared by the API nodes: a job one node runs is answered by another.

Two ``ObserveJobs`` on one database stand for two nodes (SQLite and PostgreSQL): node A
runs the job (its sweep held until the test lets it go), node B reads its state from
the shared table at each step; a job a stopped node left running is shown failed.
"""

from __future__ import annotations

import asyncio

from sqlalchemy import Engine, update

from augury.evidence.observe import Captured
from augury.identity import migrate
from augury.roles.observe_job_rows import ABANDONED, ABANDONED_S, JobRows, observe_jobs
from augury.roles.observe_jobs import ObserveJobs


def test_a_job_run_by_one_node_is_answered_by_another(empty_database: Engine) -> None:
    migrate.upgrade(empty_database)
    rows = JobRows(empty_database)

    async def run() -> None:
        release = asyncio.Event()

        async def sweep(market: str) -> list[Captured]:
            await release.wait()
            if market == "broken":
                raise RuntimeError("no source answered")
            return []

        async def find_ids(market: str, captured: list[Captured]) -> list[int | None]:
            return []

        a = ObserveJobs(sweep, find_ids, lambda: 1_000, rows)
        b = ObserveJobs(sweep, find_ids, lambda: 2_000, rows)
        job = await a.submit("m1")
        row = rows.get(job.id)  # at once, before the job has even started
        assert row is not None and row.status == "pending" and row.market == "m1"
        await asyncio.sleep(0.05)
        seen = await b.get(job.id)
        assert seen is not None and seen.status == "running"
        broken = await a.submit("broken")
        release.set()
        assert job.task is not None and broken.task is not None
        await asyncio.gather(job.task, broken.task)
        seen = await b.get(job.id)
        assert seen is not None and (seen.status, seen.observations) == ("done", [])
        assert seen.out("/api/v1") == job.out("/api/v1")  # the same answer on either node
        seen = await b.get(broken.id)
        assert seen is not None and seen.status == "failed"
        assert "no source answered" in seen.error
        assert await b.get("0" * 24) is None
        # a job left running by a node that stopped: failed, once it has been long enough
        stuck = await a.submit("m2")
        assert stuck.task is not None
        stuck.task.cancel()
        with empty_database.begin() as conn:
            conn.execute(
                update(observe_jobs)
                .where(observe_jobs.c.id == stuck.id)
                .values(
                    status="running", written_us=observe_jobs.c.written_us - ABANDONED_S * 1_000_001
                )
            )
        seen = await b.get(stuck.id)
        assert seen is not None and (seen.status, seen.error) == ("failed", ABANDONED)
        await a.close()

    asyncio.run(run())
