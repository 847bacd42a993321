"""The transport contract: every implementation's test class subclasses TransportContract.

An implementation supplies one fixture, ``make_harness``: a function that, called inside
the test's event loop, gives a ``Harness``: ``transport(limits)`` is one connection to
this test's bus (a node's or the sequencer's: the embedded bus hands out the same
object each time, NATS opens a connection per call, as separate processes would), and
``inject(channel, data, node)`` puts raw bytes on the bus as a foreign peer would.

Commands are journaled for real (``JournalSequencer`` on a SQLite journal in tmp_path);
the feed's gaps are read back from that journal.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, TypeVar

import msgspec
import pytest

from augury.journal import JournalRecord, SqliteJournalStore
from augury.transport import (
    CODE_INVALID,
    CODE_UNAVAILABLE,
    Answer,
    AnswerBatch,
    Batcher,
    CommandClient,
    Limits,
    MessageTooLarge,
    NodeCommand,
    RecordBatch,
    RecordSubscription,
    RequestTimeout,
    Transport,
    TransportOverloaded,
)
from augury.transport.feed import FeedStats
from tests.journal.helpers import make_chain
from tests.transport.helpers import JournalSequencer, journaled_keys, order

T = TypeVar("T")
LIMITS = Limits(max_message_bytes=64_000, request_timeout_s=5.0, idle_check_s=0.2)


class Harness(Protocol):
    async def transport(self, limits: Limits) -> Transport: ...

    async def inject(self, channel: str, data: bytes, node: str = "") -> None:
        """Raw bytes on channel "cmd" (to the sequencer), "ans" (to ``node``) or "rec"."""
        ...

    async def close(self) -> None: ...


MakeHarness = Callable[[], Harness]


@dataclass
class Rig:
    """A sequencer journaling into ``store`` and publishing, reachable on the bus."""

    harness: Harness
    limits: Limits
    store: SqliteJournalStore
    sequencer: JournalSequencer
    path: Path

    async def node(self, name: str) -> CommandClient:
        transport = await self.harness.transport(self.limits)
        return await transport.client(name)

    async def follower(self, from_seq: int) -> RecordSubscription:
        transport = await self.harness.transport(self.limits)
        return await transport.subscribe(from_seq, SqliteJournalStore(self.path))


async def rig(harness: Harness, tmp_path: Path, limits: Limits = LIMITS) -> Rig:
    path = tmp_path / "journal.db"
    store = SqliteJournalStore(path)
    store.acquire_writer("transport-test")
    transport = await harness.transport(limits)
    sequencer = JournalSequencer(store, await transport.publisher())
    await transport.serve(sequencer.handle)
    return Rig(harness, limits, store, sequencer, path)


async def settle() -> None:
    """Let messages already sent arrive (a NATS round trip, a few loop turns)."""
    await asyncio.sleep(0.2)


class TransportContract:
    @pytest.fixture
    def make_harness(self) -> MakeHarness:
        raise NotImplementedError

    def run(self, make_harness: MakeHarness, scenario: Callable[[Harness], Awaitable[T]]) -> T:
        async def main() -> T:
            harness = make_harness()
            try:
                return await scenario(harness)
            finally:
                await harness.close()

        return asyncio.run(main())

    # ------------------------------------------------------------------ commands
    def test_batches_are_answered_to_their_sender(
        self, make_harness: MakeHarness, tmp_path: Path
    ) -> None:
        async def scenario(h: Harness) -> None:
            r = await rig(h, tmp_path)
            ann, bob = await r.node("ann"), await r.node("bob")

            async def send(client: CommandClient, first: int) -> list[tuple[NodeCommand, int]]:
                batch = [order(client.node, i) for i in range(first, first + 25)]
                answers = await client.submit(batch)
                return [(c, a.seq) for c, a in zip(batch, answers, strict=True)]

            jobs = [send(c, k * 25) for k in range(8) for c in (ann, bob)]
            results = [pair for done in await asyncio.gather(*jobs) for pair in done]
            keys = journaled_keys(r.store)
            assert len(keys) == 400
            for command, seq in results:  # each answer names its own command's record
                assert keys[seq - 1] == (command.account, command.key)

        self.run(make_harness, scenario)

    def test_answers_keep_batch_order_and_seqs_increase(
        self, make_harness: MakeHarness, tmp_path: Path
    ) -> None:
        async def scenario(h: Harness) -> None:
            r = await rig(h, tmp_path)
            ann = await r.node("ann")
            seqs: list[int] = []
            for k in range(5):
                answers = await ann.submit([order("ann", k * 10 + i) for i in range(10)])
                assert all(a.ok for a in answers)
                seqs += [a.seq for a in answers]
            assert seqs == list(range(1, 51))
            again = await ann.submit([order("ann", 7), order("ann", 3)])  # duplicates
            assert [a.seq for a in again] == [8, 4]
            assert len(journaled_keys(r.store)) == 50

        self.run(make_harness, scenario)

    def test_single_commands_of_concurrent_callers_travel_in_batches(
        self, make_harness: MakeHarness, tmp_path: Path
    ) -> None:
        async def scenario(h: Harness) -> None:
            r = await rig(h, tmp_path)
            batchers = [Batcher(await r.node(n), r.limits) for n in ("ann", "bob")]
            commands = [order(n, i) for i in range(150) for n in ("ann", "bob")]
            answers = await asyncio.gather(
                *(batchers[c.account == "bob"].submit(c) for c in commands)
            )
            keys = journaled_keys(r.store)
            assert sorted(keys) == sorted((c.account, c.key) for c in commands)
            for command, answer in zip(commands, answers, strict=True):
                assert keys[answer.seq - 1] == (command.account, command.key)
            assert r.sequencer.batches == sum(b.batches for b in batchers) < 30
            for batcher in batchers:
                await batcher.close()

        self.run(make_harness, scenario)

    def test_an_invalid_key_is_refused_alone(
        self, make_harness: MakeHarness, tmp_path: Path
    ) -> None:
        async def scenario(h: Harness) -> None:
            r = await rig(h, tmp_path)
            ann = await r.node("ann")
            good, bad = order("ann", 1), order("ann", 2)
            bad = NodeCommand(bad.command, "ann", "k" * 129)
            answers = await ann.submit([good, bad])
            assert answers[0].ok and answers[0].seq == 1
            assert not answers[1].ok and answers[1].code == CODE_INVALID
            assert journaled_keys(r.store) == [("ann", "ann-1")]

        self.run(make_harness, scenario)

    def test_a_failing_handler_answers_unavailable_and_the_sequencer_goes_on(
        self, make_harness: MakeHarness, tmp_path: Path
    ) -> None:
        async def scenario(h: Harness) -> None:
            r = await rig(h, tmp_path)
            ann = await r.node("ann")
            r.sequencer.fail.add("ann-2")
            answers = await ann.submit([order("ann", 1), order("ann", 2)])
            assert [(a.ok, a.code) for a in answers] == [(False, CODE_UNAVAILABLE)] * 2
            assert "the engine stopped" in answers[0].message
            r.sequencer.fail.clear()
            answers = await ann.submit([order("ann", 1), order("ann", 2)])  # resent
            assert [a.seq for a in answers] == [1, 2]

        self.run(make_harness, scenario)

    def test_a_batch_too_large_to_send_is_refused_by_the_sender(
        self, make_harness: MakeHarness, tmp_path: Path
    ) -> None:
        async def scenario(h: Harness) -> None:
            r = await rig(h, tmp_path, Limits(max_message_bytes=2_000, idle_check_s=0.2))
            ann = await r.node("ann")
            with pytest.raises(MessageTooLarge, match="max_message_bytes=2000"):
                await ann.submit([order("ann", i) for i in range(100)])
            assert (await ann.submit([order("ann", 1)]))[0].seq == 1
            assert r.sequencer.batches == 1

        self.run(make_harness, scenario)

    def test_oversized_and_undecodable_messages_are_refused_and_logged(
        self, make_harness: MakeHarness, tmp_path: Path, caplog: pytest.LogCaptureFixture
    ) -> None:
        limits = Limits(max_message_bytes=4_000, idle_check_s=0.2)
        garbage = [b"", b"\xff\x00garbage", b"\x81\xa4node\xa3ann", msgspec.msgpack.encode([1])]
        big = msgspec.msgpack.encode({"node": "ann", "commands": ["x" * 5_000]})

        async def scenario(h: Harness) -> None:
            r = await rig(h, tmp_path, limits)
            ann = await r.node("ann")
            sub = await r.follower(1)
            reading = asyncio.create_task(collect(sub, 2))
            await settle()  # the follower found the journal empty and listens to the bus
            for data in [*garbage, big]:
                for channel in ("cmd", "ans", "rec"):
                    await h.inject(channel, data, "ann")
            await settle()
            # everything still works, and the feed had nothing real to show yet
            answers = await ann.submit([order("ann", 1), order("ann", 2)])
            assert [a.seq for a in answers] == [1, 2]
            assert [x.seq for x in await reading] == [1, 2]
            assert r.sequencer.batches == 1
            with pytest.raises(TimeoutError):  # takes every message still queued
                await sub.next(0.5)
            assert stats_of(sub).refused == 5

        with caplog.at_level(logging.WARNING):
            self.run(make_harness, scenario)
        refused = [m for m in caplog.messages if "refused" in m]
        assert any("sequencer refused" in m and "exceeds" in m for m in refused)
        assert any("sequencer refused" in m and "undecodable" in m for m in refused)
        assert any("node ann refused" in m for m in refused)
        assert any("follower refused" in m for m in refused)

    def test_a_late_answer_times_out_and_a_resend_gets_the_original(
        self, make_harness: MakeHarness, tmp_path: Path
    ) -> None:
        limits = Limits(max_message_bytes=64_000, request_timeout_s=0.3, idle_check_s=0.2)

        async def scenario(h: Harness) -> None:
            r = await rig(h, tmp_path, limits)
            ann = await r.node("ann")
            r.sequencer.stall.add("ann-1")
            with pytest.raises(RequestTimeout, match="same idempotency keys"):
                await ann.submit([order("ann", 1)])
            r.sequencer.release.set()  # the stalled batch runs now; its answer comes late
            await settle()
            answers = await ann.submit([order("ann", 1), order("ann", 2)])
            assert [a.seq for a in answers] == [1, 2]
            assert journaled_keys(r.store) == [("ann", "ann-1"), ("ann", "ann-2")]

        self.run(make_harness, scenario)

    def test_an_answer_of_another_session_of_the_node_is_refused(
        self, make_harness: MakeHarness, tmp_path: Path
    ) -> None:
        async def scenario(h: Harness) -> None:
            r = await rig(h, tmp_path)
            ann = await r.node("ann")
            r.sequencer.stall.add("ann-1")
            waiting = asyncio.create_task(ann.submit([order("ann", 1)]))
            await settle()
            session = getattr(ann, "core").session  # noqa: B009 - both keep a ClientCore
            for other in (session + 1, session - 1):  # rid 1 of an earlier "ann"
                forged = AnswerBatch("ann", other, (Answer(1, True, seq=99),))
                await h.inject("ans", msgspec.msgpack.encode(forged), "ann")
            await settle()
            assert not waiting.done()
            r.sequencer.release.set()
            assert [a.seq for a in await waiting] == [1]

        self.run(make_harness, scenario)

    def test_in_flight_requests_per_node_are_bounded(
        self, make_harness: MakeHarness, tmp_path: Path
    ) -> None:
        limits = Limits(max_message_bytes=64_000, max_in_flight=2, idle_check_s=0.2)

        async def scenario(h: Harness) -> None:
            r = await rig(h, tmp_path, limits)
            ann, bob = await r.node("ann"), await r.node("bob")
            r.sequencer.stall.update({"ann-1", "ann-2"})
            waiting = [asyncio.create_task(ann.submit([order("ann", i)])) for i in (1, 2)]
            await settle()
            with pytest.raises(TransportOverloaded, match="node ann"):
                await ann.submit([order("ann", 3)])
            assert (await bob.submit([order("bob", 1)]))[0].ok  # another node is not held
            r.sequencer.release.set()
            assert [(await w)[0].ok for w in waiting] == [True, True]
            assert (await ann.submit([order("ann", 3)]))[0].ok

        self.run(make_harness, scenario)

    # ------------------------------------------------------------------ record feed
    def test_the_feed_delivers_committed_records_in_order(
        self, make_harness: MakeHarness, tmp_path: Path
    ) -> None:
        async def scenario(h: Harness) -> None:
            r = await rig(h, tmp_path)
            subs = [await r.follower(1), await r.follower(1)]
            ann = await r.node("ann")
            for k in range(10):
                await ann.submit([order("ann", k * 7 + i) for i in range(7)])
            expected = list(r.store.read(1))
            for sub in subs:
                assert await collect(sub, 70) == expected

        self.run(make_harness, scenario)

    def test_a_follower_starts_from_a_seq(self, make_harness: MakeHarness, tmp_path: Path) -> None:
        async def scenario(h: Harness) -> None:
            r = await rig(h, tmp_path)
            ann = await r.node("ann")
            await ann.submit([order("ann", i) for i in range(40)])
            sub = await r.follower(25)
            await ann.submit([order("ann", i) for i in range(40, 50)])
            got = await collect(sub, 26)
            assert [x.seq for x in got] == list(range(25, 51))
            assert got == list(r.store.read(25))

        self.run(make_harness, scenario)

    def test_gaps_are_read_from_the_journal(
        self, make_harness: MakeHarness, tmp_path: Path
    ) -> None:
        async def scenario(h: Harness) -> None:
            r = await rig(h, tmp_path)
            sub = await r.follower(1)
            ann = await r.node("ann")
            await ann.submit([order("ann", i) for i in range(10)])
            r.sequencer.publish = False  # 11..30 never reach the bus
            await ann.submit([order("ann", i) for i in range(10, 30)])
            r.sequencer.publish = True
            await ann.submit([order("ann", i) for i in range(30, 35)])
            assert await collect(sub, 35) == list(r.store.read(1))
            assert stats_of(sub).from_journal >= 20
            r.sequencer.publish = False  # a gap at the tail: no later message shows it
            await ann.submit([order("ann", i) for i in range(35, 40)])
            assert [x.seq for x in await collect(sub, 5)] == [36, 37, 38, 39, 40]
            assert stats_of(sub).from_journal >= 25

        self.run(make_harness, scenario)

    def test_a_published_batch_out_of_range_or_too_large_is_a_gap(
        self, make_harness: MakeHarness, tmp_path: Path
    ) -> None:
        limits = Limits(max_message_bytes=3_000, idle_check_s=0.2)

        async def scenario(h: Harness) -> None:
            path = tmp_path / "journal.db"
            store = SqliteJournalStore(path)
            store.acquire_writer("transport-test")
            records = make_chain(20, body_len=600)
            records[10] = make_chain(1, (10, records[9].hash), body_len=5_000)[0]
            records[11:] = make_chain(9, (11, records[10].hash), body_len=600)
            transport = await h.transport(limits)
            sub = await (await h.transport(limits)).subscribe(1, SqliteJournalStore(path))
            reading = asyncio.create_task(collect(sub, 20))
            await settle()  # the follower found the journal empty and listens to the bus
            store.append(records)
            publisher = await transport.publisher()
            await publisher.publish(records)  # split in messages; 11 fits none
            await h.inject("rec", msgspec.msgpack.encode(RecordBatch(tuple(records[3:1:-1]))))
            assert await reading == records
            stats = stats_of(sub)
            assert stats.from_journal == 1 and stats.from_bus == 19 and stats.gaps == 1

    def test_a_bus_record_that_does_not_verify_is_read_from_the_journal(
        self, make_harness: MakeHarness, tmp_path: Path
    ) -> None:
        async def scenario(h: Harness) -> None:
            r = await rig(h, tmp_path)
            sub = await r.follower(1)
            ann = await r.node("ann")
            await ann.submit([order("ann", i) for i in range(5)])
            assert len(await collect(sub, 5)) == 5
            reading = asyncio.create_task(collect(sub, 5))
            await settle()  # the follower is level with the journal: it listens to the bus
            forged = make_chain(1, (5, b"\x01" * 32))[0]  # seq 6, hashed, mis-linked
            await h.inject("rec", msgspec.msgpack.encode(RecordBatch((forged,))))
            await settle()
            await ann.submit([order("ann", i) for i in range(5, 10)])
            assert await reading == list(r.store.read(6))
            reading = asyncio.create_task(collect(sub, 1))
            await settle()
            head = (10, r.store.head()[1])  # type: ignore[index]
            linked = make_chain(1, head)[0]  # seq 11, linked, but its body was altered
            altered = msgspec.structs.replace(linked, body=b"altered")
            await h.inject("rec", msgspec.msgpack.encode(RecordBatch((altered,))))
            await settle()
            await ann.submit([order("ann", 10)])
            assert await reading == list(r.store.read(11))
            assert sub.stats.refused == 2, sub.stats

        self.run(make_harness, scenario)


async def collect(sub: RecordSubscription, n: int, timeout_s: float = 10) -> list[JournalRecord]:
    """The next ``n`` records of ``sub`` (and not one more: they must be contiguous)."""
    out: list[JournalRecord] = []
    async with asyncio.timeout(timeout_s):
        while len(out) < n:
            out += await sub.next()
    assert len(out) == n, f"{len(out)} records, expected {n}"
    seqs = [x.seq for x in out]
    assert seqs == list(range(seqs[0], seqs[0] + n))
    return out


def stats_of(sub: RecordSubscription) -> FeedStats:
    return sub.stats
