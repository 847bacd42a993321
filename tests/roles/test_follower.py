"""The read models follow the journal on their own thread, survive a failed batch, and
hold the engine back (never drop a record) when they fall too far behind."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from typing import Any

from augury.domain import commands as dc
from augury.domain.exchange import Exchange
from augury.engine import SimulatedClock, open_engine
from augury.projections import Projector
from augury.roles.services import Follower, _follow, subscribe


def test_catch_up_follow_and_retry_a_failed_batch(tmp_path: Path) -> None:
    engine = open_engine(tmp_path / "journal.db", tmp_path / "operator.key", SimulatedClock(0))
    projector = Projector(str(tmp_path / "projections.db"))
    follower = None
    try:
        assert engine.submit(dc.OpenAccount("early")).result().ok  # before following
        follower = _follow(engine, projector)
        assert projector.last_seq() == 1 and follower.applied_seq == 1

        real_apply_many = projector.apply_many
        calls: list[int] = []

        def flaky(items: Any) -> int:
            calls.append(items[0][0])
            if len(calls) == 1:
                raise OSError("database went away")
            return real_apply_many(items)

        projector.apply_many = flaky  # type: ignore[method-assign]
        assert engine.submit(dc.OpenAccount("ann")).result().ok
        assert engine.submit(dc.GrantCredits("ann", 5)).result().ok
        target = engine.query(lambda ex: follower.enqueued_seq if follower else 0).result()
        assert target == 3

        async def wait() -> None:
            assert follower is not None
            await asyncio.wait_for(follower.wait_for(target), 10)

        asyncio.run(wait())
        assert projector.last_seq() == 3 and follower.failures == 1
        assert calls[0] == calls[1] == 2  # the failed batch was retried as it was
    finally:
        engine.close()
        if follower is not None:
            follower.stop()
        projector.close()


def test_a_projector_that_falls_behind_holds_the_engine_back_and_loses_nothing(
    tmp_path: Path,
) -> None:
    """At most ``queue_max`` records wait for the projector thread; the next one waits
    for room (the engine is held back) instead of growing the queue or being dropped."""
    engine = open_engine(tmp_path / "journal.db", tmp_path / "operator.key", SimulatedClock(0))
    projector = Projector(str(tmp_path / "projections.db"))
    follower = Follower(projector, queue_max=2)
    gate = threading.Event()
    real_apply_many = projector.apply_many

    def held(items: Any) -> int:
        assert gate.wait(30)
        return real_apply_many(items)

    projector.apply_many = held  # type: ignore[method-assign]

    def start(_exchange: Exchange) -> None:
        follower.catch_up(engine.store)
        subscribe(engine, follower, reads_state=False)

    try:
        engine.query(start).result()
        follower.start()
        futures = [engine.submit(dc.OpenAccount(f"a{i}")) for i in range(20)]
        deadline = time.monotonic() + 20
        while follower.stalls == 0:
            assert time.monotonic() < deadline, "the subscriber never waited"
            time.sleep(0.01)
        held_at = follower.enqueued_seq
        time.sleep(0.3)
        assert follower.enqueued_seq == held_at < 20  # held back while the queue is full
        assert projector.last_seq() == 0
        gate.set()
        assert all(future.result(timeout=30).ok for future in futures)

        async def wait() -> None:
            await asyncio.wait_for(follower.wait_for(20), 20)

        asyncio.run(wait())
        assert projector.last_seq() == 20  # every record, in order, none dropped
    finally:
        gate.set()
        engine.close()
        follower.stop()
        projector.close()
