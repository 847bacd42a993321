"""The pipeline between the engine thread and the writer thread: the engine executes the
next groups while one is being appended, yet nothing is answered, published or readable
through a query before it is durable, answers come in order, a failed append fails every
later group too, and at most ``pipeline_depth`` groups run ahead of the journal."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from augury.domain import commands as c
from augury.domain.exchange import Result
from augury.domain.units import ONE
from augury.engine import Ack, Engine, EngineStopped, hashing
from augury.engine import engine as engine_module
from augury.engine.errors import CODE_KEY_REUSED
from augury.journal import JournalStore, record_hash, verify_chain
from augury.journal.records import MAGIC
from tests.engine.conftest import Journal

WAIT_S = 10


class Gate:
    """Holds ``store.append`` calls (from the ``after``-th on) until opened; can fail one."""

    def __init__(self, store: JournalStore, after: int = 0) -> None:
        self.calls = 0
        self.after = after
        self.entered = threading.Event()
        self.opened = threading.Event()
        self.fail_call: int | None = None
        self.sizes: list[int] = []
        append = store.append

        def gated(records: Any, **options: Any) -> None:
            self.calls += 1
            if self.calls > self.after:
                self.entered.set()
                assert self.opened.wait(WAIT_S), "the test never opened the gate"
            if self.calls == self.fail_call:
                raise OSError("disk on fire")
            append(records, **options)
            self.sizes.append(len(records))

        store.append = gated  # type: ignore[method-assign]

    def hold(self) -> None:
        """Wait until an append is held at the gate."""
        assert self.entered.wait(WAIT_S), "no append reached the gate"


def wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.005)


def accounts(engine: Engine, prefix: str, n: int) -> list[Ack[Result]]:
    return [engine.submit(c.OpenAccount(f"{prefix}{i}")) for i in range(n)]


def queued_at_once(engine: Engine, prefix: str, n: int) -> list[Ack[Result]]:
    """Submit ``n`` commands while a query holds the engine thread, so that it then finds
    them all queued and takes full groups (not whatever had arrived when it woke)."""
    held, release = threading.Event(), threading.Event()

    def pause(_exchange: object) -> None:
        held.set()
        release.wait(WAIT_S)

    engine.query(pause)
    assert held.wait(WAIT_S)
    futures = accounts(engine, prefix, n)
    release.set()
    return futures


def test_later_groups_execute_while_one_is_appended_and_acks_come_in_order(
    journal: Journal,
) -> None:
    store = journal.store()
    gate = Gate(store)
    engine = journal.engine(store=store, group_max=8, pipeline_depth=3)
    done_order: list[int] = []
    heads: list[int] = []
    futures = queued_at_once(engine, "a", 40)
    for i, future in enumerate(futures):
        future.add_done_callback(
            lambda f, i=i: (done_order.append(i), heads.append(engine.head[0]))
        )
    gate.hold()
    # The first group is held at the journal, yet later groups were executed already...
    wait_until(lambda: engine.stats.accepted >= 32, "the engine to execute ahead")
    time.sleep(0.05)
    # ... but no more than pipeline_depth groups handed over, plus the one built after them
    assert engine.stats.accepted == 8 * (3 + 1)
    # ... and none of them is answered: nothing is durable yet.
    assert not any(f.done() for f in futures)
    assert engine.head[0] == 0
    gate.opened.set()
    results = [f.result(timeout=WAIT_S) for f in futures]
    assert all(r.ok for r in results)
    assert done_order == list(range(40))  # in submission (= journal) order
    assert all(head >= i + 1 for i, head in zip(done_order, heads, strict=True))  # durable
    assert engine.head[0] == 40 and sum(gate.sizes) == 40
    assert max(gate.sizes) <= 8  # merged groups still respect group_max
    assert engine.stats.pipeline_full >= 1  # the engine waited for the writer
    assert verify_chain(journal.store().read())[0] == 40


def test_a_failed_append_fails_the_later_executed_groups_too(journal: Journal) -> None:
    store = journal.store()
    gate = Gate(store, after=1)
    gate.fail_call = 2
    engine = journal.engine(store=store, group_max=4, pipeline_depth=3)
    first = engine.submit(c.OpenAccount("first"))
    assert first.result(timeout=WAIT_S).ok
    doomed = queued_at_once(engine, "d", 30)
    gate.hold()
    wait_until(lambda: engine.stats.accepted >= 1 + 4 * 4, "later groups to be executed")
    published: list[int] = []
    engine.subscribe(lambda seq, ts, entry: published.append(seq), reads_state=False)
    gate.opened.set()
    for future in doomed:  # the failed group, the executed ones after it, the queued ones
        with pytest.raises(EngineStopped, match="disk on fire"):
            future.result(timeout=WAIT_S)
    assert published == []
    assert not engine.running
    with pytest.raises(EngineStopped):
        engine.submit(c.OpenAccount("late"))
    restarted = journal.engine()  # the store was released
    assert restarted.head[0] == 1
    state = restarted.query(lambda ex: sorted(ex.accounts)).result(timeout=WAIT_S)
    assert state == ["first"]


def test_backpressure_bounds_the_groups_in_flight(sqlite_journal: Journal) -> None:
    store = sqlite_journal.store()
    gate = Gate(store)
    engine = sqlite_journal.engine(store=store, group_max=2, pipeline_depth=2)
    futures = accounts(engine, "b", 50)
    gate.hold()
    wait_until(lambda: engine.stats.pipeline_full >= 1, "the engine to hit the bound")
    time.sleep(0.05)
    executed = engine.stats.accepted
    # Two groups handed over (one held at the journal, one waiting) and one built.
    assert executed <= 2 * 3, executed
    assert len(engine._inbox) >= 50 - executed - 2
    gate.opened.set()
    assert all(f.result(timeout=WAIT_S).ok for f in futures)
    assert engine.head[0] == 50


def test_a_duplicate_is_answered_only_once_its_original_is_durable(journal: Journal) -> None:
    store = journal.store()
    gate = Gate(store)
    engine = journal.engine(store=store, group_max=1, pipeline_depth=4)
    original = engine.submit(c.OpenAccount("ann"), "ops", "k1")
    gate.hold()
    duplicate = engine.submit(c.OpenAccount("ann"), "ops", "k1")
    reused = engine.submit(c.OpenAccount("bob"), "ops", "k1")
    wait_until(lambda: engine.stats.duplicates == 2, "the duplicates to be seen")
    time.sleep(0.02)
    assert not (original.done() or duplicate.done() or reused.done())
    gate.opened.set()
    first = original.result(timeout=WAIT_S)
    assert first.ok and duplicate.result(timeout=WAIT_S) == first
    assert reused.result(timeout=WAIT_S).code == CODE_KEY_REUSED
    assert engine.head[0] == 1
    # Once durable, a duplicate is answered from the journal (read by the writer thread).
    assert engine.submit(c.OpenAccount("ann"), "ops", "k1").result(timeout=WAIT_S) == first


def test_a_query_sees_only_durable_state(sqlite_journal: Journal) -> None:
    store = sqlite_journal.store()
    gate = Gate(store)
    engine = sqlite_journal.engine(store=store)
    submitted = engine.submit(c.OpenAccount("ann"))
    gate.hold()
    seen = engine.query(lambda ex: (sorted(ex.accounts), engine.store.head()))
    time.sleep(0.05)
    assert not seen.done()  # it waits for the group before it to be durable
    gate.opened.set()
    names, head = seen.result(timeout=WAIT_S)
    assert submitted.done() and names == ["ann"] and head is not None and head[0] == 1


def test_subscribers_that_read_the_state_see_it_at_their_record(
    sqlite_journal: Journal,
) -> None:
    engine = sqlite_journal.engine(group_max=4)
    seen: list[tuple[int, int, str]] = []
    engine.subscribe(
        lambda seq, ts, entry: seen.append(
            (seq, engine.stats.accepted, threading.current_thread().name)
        )
    )
    pure: list[tuple[int, str]] = []
    engine.subscribe(
        lambda seq, ts, entry: pure.append((seq, threading.current_thread().name)),
        reads_state=False,
    )
    futures = accounts(engine, "s", 30)
    assert all(f.result(timeout=WAIT_S).ok for f in futures)
    wait_until(lambda: len(pure) == 30, "the writer-side subscriber")
    assert [s for s, _, _ in seen] == list(range(1, 31))
    # Nothing executed beyond the record's group: accepted <= its group's last seq.
    assert all(accepted <= seq + 3 for seq, accepted, _ in seen)
    assert {name for _, _, name in seen} == {"augury-engine"}
    assert [s for s, _ in pure] == list(range(1, 31))
    assert {name for _, name in pure} == {"augury-journal-writer"}


def test_asubmit_answers_a_group_per_event_loop_and_survives_cancellation(
    sqlite_journal: Journal,
) -> None:
    store = sqlite_journal.store()
    gate = Gate(store)
    engine = sqlite_journal.engine(store=store)

    async def main() -> list[Result]:
        first = asyncio.ensure_future(engine.asubmit(c.OpenAccount("first")))
        await asyncio.sleep(0)
        await asyncio.get_running_loop().run_in_executor(None, gate.hold)
        tasks = [asyncio.ensure_future(engine.asubmit(c.OpenAccount(f"x{i}"))) for i in range(50)]
        await asyncio.sleep(0.01)
        tasks[7].cancel()  # its caller gave up; the command still runs
        gate.opened.set()
        await first
        return [r for r in await asyncio.gather(*tasks, return_exceptions=True)]

    results = asyncio.run(main())
    assert isinstance(results[7], asyncio.CancelledError)
    assert all(r.ok for i, r in enumerate(results) if i != 7)  # type: ignore[union-attr]
    names = engine.query(lambda ex: set(ex.accounts)).result(timeout=WAIT_S)
    assert {f"x{i}" for i in range(50)} <= names


def test_a_snapshot_is_saved_by_the_writer_after_its_record_is_durable(
    journal: Journal,
) -> None:
    engine = journal.engine(group_max=4, snapshot_every=10)
    futures = accounts(engine, "n", 25)
    assert all(f.result(timeout=WAIT_S).ok for f in futures)
    at = engine.snapshot().result(timeout=WAIT_S)
    assert at == engine.head[0] == 25
    assert at in journal.store().snapshot_seqs()
    assert engine.stats.snapshots >= 3  # two periodic ones and the one asked for


@pytest.mark.parametrize("size", [0, 1, 1_999, 2_000, 2_001, 4_000, 10_007])
def test_the_engines_record_hash_is_the_journals(size: int) -> None:
    body = bytes(range(256)) * (size // 256) + bytes(size % 256)
    prev = bytes(range(32))
    seq, ts = 12_345, 1_700_000_000_000_123
    header = hashing.COMMAND_HEADER.pack(
        MAGIC, seq, ts, 7, hashing.KIND_COMMAND_BYTES, prev, len(body)
    )
    expected = record_hash(seq, ts, "command", body, prev)
    assert hashing.hash_in_chunks(header, body) == expected
    assert engine_module._sha256(header + body).digest() == expected


def test_large_records_chain_and_verify(sqlite_journal: Journal) -> None:
    engine = sqlite_journal.engine(group_max=64)
    setup = [
        c.OpenAccount("ann"),
        c.OpenAccount("bob"),
        c.GrantCredits("ann", 10_000 * ONE),
        c.GrantCredits("bob", 10_000 * ONE),
        c.CreateMarket("m", "ann", "Will it?", ("Yes", "No"), 2**62),
    ]
    assert all(engine.submit(command).result(timeout=WAIT_S).ok for command in setup)
    asks = [
        engine.submit(c.PlaceOrder("bob", "m", 0, c.Side.BUY, c.Token.NO, ONE, 500_000))
        for _ in range(40)
    ]
    assert all(f.result(timeout=WAIT_S).ok for f in asks)
    sweep = engine.submit(c.PlaceOrder("ann", "m", 0, c.Side.BUY, c.Token.YES, 40 * ONE, 600_000))
    assert sweep.result(timeout=WAIT_S).ok
    records = list(sqlite_journal.store().read())
    assert max(len(r.body) for r in records) > 4_000  # the chunked hashing path
    assert verify_chain(records)[0] == engine.head[0]
