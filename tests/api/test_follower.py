"""The read models follow the journal on their own thread, and survive a failed batch."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from augury.api.services import _follow
from augury.domain import commands as dc
from augury.engine import SimulatedClock, open_engine
from augury.projections import Projector


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
