"""AppliedSeq: a follower's applied seq, advanced from a thread, awaited on a loop."""

from __future__ import annotations

import asyncio
import threading

from augury.roles.applied import AppliedSeq


def test_a_seq_already_applied_does_not_wait() -> None:
    applied = AppliedSeq()
    applied.advance(5)

    async def go() -> None:
        await asyncio.wait_for(applied.wait_for(5), 1.0)
        await asyncio.wait_for(applied.wait_for(0), 1.0)

    asyncio.run(go())


def test_waiters_wake_when_their_seq_lands_from_another_thread() -> None:
    applied = AppliedSeq()

    async def go() -> None:
        early = asyncio.ensure_future(applied.wait_for(3))
        late = asyncio.ensure_future(applied.wait_for(10))
        await asyncio.sleep(0)
        advancing = threading.Thread(target=applied.advance, args=(4,))
        advancing.start()
        await asyncio.wait_for(early, 1.0)
        advancing.join()
        await asyncio.sleep(0.05)
        assert not late.done()  # 10 is not applied yet
        threading.Thread(target=applied.advance, args=(10,)).start()
        await asyncio.wait_for(late, 1.0)

    asyncio.run(go())


def test_the_seq_never_goes_back() -> None:
    applied = AppliedSeq()
    applied.advance(7)
    applied.advance(3)  # a report of an older batch, late
    assert applied.seq == 7


def test_a_waiter_that_went_away_is_skipped() -> None:
    applied = AppliedSeq()

    async def go() -> None:
        gone = asyncio.ensure_future(applied.wait_for(2))
        await asyncio.sleep(0)
        gone.cancel()
        applied.advance(2)  # must not raise on the cancelled future
        await asyncio.sleep(0.01)
        assert gone.cancelled()

    asyncio.run(go())
