"""The record feed's follower on its own: a waiting follower wakes on the bus's next
message, a full queue drops (and the journal fills the gap), and a quiet bus makes it
look at the journal's head."""

from __future__ import annotations

import asyncio
from pathlib import Path

from augury.domain import commands as dc
from augury.engine import SimulatedClock, open_engine
from augury.journal import JournalRecord
from augury.journal.factory import open_store
from augury.transport.feed import Follower
from augury.transport.messages import Limits, RecordBatch, encode


def journal(tmp_path: Path, accounts: int) -> list[JournalRecord]:
    """A journal of ``accounts`` accounts opened: its records."""
    engine = open_engine(tmp_path / "journal.db", tmp_path / "operator.key", SimulatedClock(0))
    try:
        for i in range(accounts):
            assert engine.submit(dc.OpenAccount(f"a{i}")).result(timeout=10).ok
    finally:
        engine.close()
    store = open_store(tmp_path / "journal.db")
    try:
        return list(store.read(1))
    finally:
        store.close()


def test_a_waiting_follower_wakes_on_the_next_message(tmp_path: Path) -> None:
    records = journal(tmp_path, 3)
    limits = Limits(idle_check_s=30.0)  # the head check never comes in this test

    async def main() -> None:
        store = open_store(tmp_path / "journal.db")
        follower = Follower(1, store, limits)
        follower._check_head = False  # as after a first look at the head
        try:
            waiting = asyncio.create_task(follower.next(timeout_s=5.0))
            await asyncio.sleep(0.05)
            assert not waiting.done()
            follower.offer(encode(RecordBatch(tuple(records)), limits))
            got = await asyncio.wait_for(waiting, 1.0)
            assert [r.seq for r in got] == [r.seq for r in records]
        finally:
            follower.close()
            store.close()

    asyncio.run(main())


def test_a_full_queue_drops_and_the_journal_fills_the_gap(tmp_path: Path) -> None:
    records = journal(tmp_path, 4)
    limits = Limits(idle_check_s=0.1, feed_queue_batches=2)

    async def main() -> None:
        store = open_store(tmp_path / "journal.db")
        follower = Follower(1, store, limits)
        follower._check_head = False
        try:
            for record in records:  # one message each: the queue takes two
                follower.offer(encode(RecordBatch((record,)), limits))
            assert follower.stats.dropped == len(records) - 2
            seen: list[int] = []
            while len(seen) < len(records):
                seen += [r.seq for r in await follower.next(timeout_s=5.0)]
            assert seen == [r.seq for r in records]  # what was dropped came from the journal
        finally:
            follower.close()
            store.close()

    asyncio.run(main())
