"""The JournalStore contract: every backend's test class subclasses JournalStoreContract.

A backend supplies two things: a ``location`` fixture (URL + namespace of a fresh, empty
journal, as open_store() takes them) and ``raw_execute`` (run one SQL statement directly,
bypassing the store, to simulate corruption). ``?`` marks parameters and ``{t}`` prefixes
table names in the statements given to raw_execute.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator
from hashlib import sha256
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from augury.journal import (
    GENESIS_PREV_HASH,
    AppendRejected,
    ChainError,
    ChainFault,
    CheckpointError,
    FileJournalReader,
    JournalLocked,
    JournalRecord,
    JournalStore,
    NotWriter,
    Snapshot,
    SnapshotError,
    TornTail,
    checkpoint_record,
    confirm_checkpoint,
    export_journal,
    make_record,
    open_store,
    verify_chain,
    verify_journal,
)
from augury.journal.store import SNAPSHOTS_KEPT

from .helpers import head_of, make_chain

CHILD_WRITER = """
import sys, time
from augury.journal import open_store
store = open_store(sys.argv[1], namespace=sys.argv[2])
store.acquire_writer(sys.argv[3])
print("LOCKED", flush=True)
time.sleep(120)
"""


class Location(NamedTuple):
    url: str
    namespace: str


class JournalStoreContract:
    """Tests every JournalStore backend must pass. Not collected itself (no Test prefix)."""

    # ------------------------------------------------------------------ backend hooks
    @pytest.fixture
    def location(self) -> Location:
        raise NotImplementedError

    def raw_execute(self, location: Location, statement: str, params: tuple[Any, ...]) -> None:
        raise NotImplementedError

    def tamper(self, location: Location, seq: int, column: str, value: bytes) -> None:
        """Overwrite one column of one stored record, behind the store's back."""
        statement = f"UPDATE {{t}}journal SET {column} = ? WHERE seq = ?"
        self.raw_execute(location, statement, (value, seq))

    # ------------------------------------------------------------------ shared fixtures
    @pytest.fixture
    def open_new(self, location: Location) -> Iterator[Callable[[], JournalStore]]:
        """Opens independent store objects on the journal; closes them all afterwards."""
        opened: list[JournalStore] = []

        def open_one() -> JournalStore:
            store = open_store(location.url, namespace=location.namespace)
            opened.append(store)
            return store

        yield open_one
        for store in opened:
            store.close()

    @pytest.fixture
    def writer(self, open_new: Callable[[], JournalStore]) -> JournalStore:
        store = open_new()
        store.acquire_writer("test-writer")
        return store

    def fill(self, store: JournalStore, *group_sizes: int, body_len: int = 32) -> None:
        for size in group_sizes:
            store.append(make_chain(size, store.head(), body_len))

    # ------------------------------------------------------------------ basics
    def test_empty_journal(self, open_new: Callable[[], JournalStore]) -> None:
        store = open_new()
        assert store.head() is None
        assert store.count() == 0
        assert list(store.read()) == []
        assert store.latest_snapshot() is None
        assert store.check_tail().ok

    def test_append_read_round_trip(self, writer: JournalStore) -> None:
        records = make_chain(1)
        writer.append(records)
        for size in (5, 64, 3):
            group = make_chain(size, head_of(records))
            writer.append(group)
            records += group
        assert writer.count() == len(records) == 73
        assert writer.head() == head_of(records)
        assert list(writer.read()) == records
        assert list(writer.read(batch=7)) == records
        assert list(writer.read(10, 20, batch=3)) == records[9:20]
        assert list(writer.read(73)) == records[72:]
        assert list(writer.read(74)) == []
        assert writer.get(5) == records[4]
        assert verify_chain(writer.read()) == head_of(records)

    def test_a_group_larger_than_one_insert_statement_round_trips(
        self, writer: JournalStore
    ) -> None:
        # Backends may split a group into several statements (SQLite: 4,000 rows per
        # INSERT); the group is still one transaction, in order, every row intact.
        records = make_chain(12_001, None, 40)
        writer.append(records, hashed=True)
        assert writer.count() == 12_001
        assert list(writer.read(batch=5_000)) == records
        assert verify_chain(writer.read()) == head_of(records)

    def test_records_survive_reopen(
        self, writer: JournalStore, open_new: Callable[[], JournalStore]
    ) -> None:
        self.fill(writer, 4, 4)
        expected = list(writer.read())
        writer.close()
        again = open_new()
        assert list(again.read()) == expected
        again.acquire_writer("second-life")
        self.fill(again, 2)
        assert again.count() == 10

    # ------------------------------------------------------------------ append rules
    def test_group_with_a_bad_record_writes_nothing(self, writer: JournalStore) -> None:
        self.fill(writer, 3)
        group = make_chain(10, writer.head())
        bad = group[4]
        group[4] = JournalRecord(
            bad.seq, bad.ts_us, bad.kind, bad.body + b"!", bad.prev_hash, bad.hash
        )
        with pytest.raises(AppendRejected) as caught:
            writer.append(group)
        assert (caught.value.seq, caught.value.fault) == (bad.seq, ChainFault.BAD_HASH)
        assert writer.count() == 3

    def test_a_hashed_group_is_still_checked_link_by_link(self, writer: JournalStore) -> None:
        """``hashed=True`` (the engine's records) skips recomputing each hash, never the
        links: a gap, a fork or a group that does not continue the head is refused."""
        self.fill(writer, 3)
        head = writer.head()
        assert head is not None
        inner_gap = make_chain(4, head)
        del inner_gap[1]
        with pytest.raises(AppendRejected) as caught:
            writer.append(inner_gap, hashed=True)
        assert caught.value.fault == ChainFault.SEQ_GAP
        with pytest.raises(AppendRejected):
            writer.append(make_chain(2, (head[0], b"\x02" * 32)), hashed=True)
        writer.append(make_chain(2, head), hashed=True)
        assert writer.count() == 5
        assert [r.seq for r in writer.read()] == [1, 2, 3, 4, 5]

    def test_backend_writes_a_group_in_one_transaction(self, writer: JournalStore) -> None:
        # Bypass validation so the database itself fails mid-group (duplicate seq).
        self.fill(writer, 2)
        group = make_chain(6, writer.head())
        group[3] = group[2]
        with pytest.raises(Exception):  # noqa: B017 - any driver error will do
            writer._append_group(group)
        assert writer.count() == 2
        self.fill(writer, 1)  # the store is still usable
        assert writer.count() == 3

    def test_rejects_groups_that_do_not_continue_the_head(self, writer: JournalStore) -> None:
        self.fill(writer, 5)
        head = writer.head()
        assert head is not None
        gap = make_chain(3, (head[0] + 1, head[1]))  # starts at head + 2
        with pytest.raises(AppendRejected) as caught:
            writer.append(gap)
        assert (caught.value.seq, caught.value.fault) == (7, ChainFault.SEQ_GAP)
        forked = make_chain(2, (head[0], b"\x01" * 32))  # right seq, wrong prev_hash
        with pytest.raises(AppendRejected) as caught:
            writer.append(forked)
        assert (caught.value.seq, caught.value.fault) == (6, ChainFault.BROKEN_LINK)
        with pytest.raises(AppendRejected):
            writer.append(make_chain(2))  # a second genesis
        inner_gap = make_chain(4, head)
        del inner_gap[2]
        with pytest.raises(AppendRejected) as caught:
            writer.append(inner_gap)
        assert (caught.value.seq, caught.value.fault) == (9, ChainFault.SEQ_GAP)
        with pytest.raises(ValueError):
            writer.append([])
        assert writer.count() == 5

    def test_writes_need_the_writer_lock(self, open_new: Callable[[], JournalStore]) -> None:
        store = open_new()
        with pytest.raises(NotWriter):
            store.append(make_chain(1))
        with pytest.raises(NotWriter):
            store.save_snapshot(1, GENESIS_PREV_HASH, b"state")
        with pytest.raises(NotWriter):
            store.check_tail(repair=True)
        store.acquire_writer("w")
        store.append(make_chain(1))
        store.release_writer()
        with pytest.raises(NotWriter):
            store.append(make_chain(1, store.head()))

    # ------------------------------------------------------------------ fencing
    def test_second_store_object_is_fenced(self, open_new: Callable[[], JournalStore]) -> None:
        first, second = open_new(), open_new()
        first.acquire_writer("engine-alpha")
        with pytest.raises(JournalLocked, match="engine-alpha"):
            second.acquire_writer("engine-beta")
        with pytest.raises(JournalLocked, match="this very store object"):
            first.acquire_writer("engine-alpha")
        first.release_writer()
        second.acquire_writer("engine-beta")
        self.fill(second, 2)
        with pytest.raises(JournalLocked, match="engine-beta"):
            first.acquire_writer("engine-alpha")
        second.close()
        first.acquire_writer("engine-alpha")
        assert first.count() == 2

    def test_child_process_writer_is_fenced_and_sigkill_releases(
        self, location: Location, open_new: Callable[[], JournalStore]
    ) -> None:
        store = open_new()  # creates the tables before the child races for them
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD_WRITER, location.url, location.namespace, "child-42"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        try:
            assert child.stdout is not None and child.stderr is not None
            ready, _, _ = select.select([child.stdout], [], [], 30)
            line = child.stdout.readline() if ready else b""
            assert line == b"LOCKED\n", child.stderr.read() if child.poll() is not None else line
            with pytest.raises(JournalLocked, match="child-42"):
                store.acquire_writer("parent")
            os.kill(child.pid, signal.SIGKILL)
            child.wait(10)
            deadline = time.monotonic() + 10
            while True:  # PostgreSQL notices the dead client asynchronously
                try:
                    store.acquire_writer("parent")
                    break
                except JournalLocked:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)
            self.fill(store, 1)
        finally:
            if child.poll() is None:
                child.kill()
            child.wait(10)
            for pipe in (child.stdout, child.stderr):
                if pipe is not None:
                    pipe.close()

    # ------------------------------------------------------------------ snapshots
    def test_snapshots_save_load_latest_and_prune(self, writer: JournalStore) -> None:
        records = make_chain(10)
        writer.append(records)
        for record in records[:6]:
            writer.save_snapshot(record.seq, record.hash, b"state@%d" % record.seq)
        latest = writer.latest_snapshot()
        assert latest is not None
        assert (latest.seq, latest.record_hash, latest.state) == (6, records[5].hash, b"state@6")
        assert writer.snapshot_seqs() == [6, 5, 4][:SNAPSHOTS_KEPT]
        writer.save_snapshot(6, records[5].hash, b"state@6 again")  # same seq: replaced
        again = Snapshot(6, records[5].hash, b"state@6 again", sha256(b"state@6 again").digest())
        assert writer.latest_snapshot() == again

    def test_snapshot_must_match_the_journal(self, writer: JournalStore) -> None:
        records = make_chain(3)
        writer.append(records)
        with pytest.raises(SnapshotError):
            writer.save_snapshot(2, records[2].hash, b"s")  # hash of another seq
        with pytest.raises(SnapshotError):
            writer.save_snapshot(4, records[2].hash, b"s")  # beyond the head
        assert writer.latest_snapshot() is None

    def test_corrupt_snapshot_is_refused(self, writer: JournalStore, location: Location) -> None:
        records = make_chain(3)
        writer.append(records)
        writer.save_snapshot(3, records[2].hash, b"good state")
        self.raw_execute(location, "UPDATE {t}snapshots SET state = ? WHERE seq = ?", (b"evil", 3))
        with pytest.raises(SnapshotError, match="seq=3"):
            writer.latest_snapshot()

    # ------------------------------------------------------------------ scale
    def test_reading_100k_records_streams_in_bounded_memory(self, writer: JournalStore) -> None:
        body_len = 256
        total = 100_000
        head = None
        for _ in range(total // 10_000):
            group = make_chain(10_000, head, body_len)
            writer.append(group)
            head = head_of(group)
            del group
        assert writer.head() == head
        tracemalloc.start()
        try:
            count = 0
            for _record in writer.read(batch=1_000):
                count += 1
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert count == total
        # All bodies alone are 25.6 MB; one batch of 1,000 records is well under 1 MB.
        assert peak < 4_000_000, f"read() peaked at {peak} bytes"

    def test_closing_while_another_thread_reads_is_safe(
        self, writer: JournalStore, open_new: Callable[[], JournalStore]
    ) -> None:
        """A follower filling a gap reads in a worker thread while its node closes the
        store: every read either answers or raises an error; the process never crashes
        (SQLite: closing a connection inside another thread's statement did, roughly one
        run in two of tests/roles/test_node_engine.py)."""
        writer.append(make_chain(50))
        for _ in range(20):
            store = open_new()
            answered, refused = [0], [0]
            started = threading.Event()

            def read(
                store: JournalStore = store,
                answered: list[int] = answered,
                refused: list[int] = refused,
                started: threading.Event = started,
            ) -> None:
                while True:
                    try:
                        assert store.get(1 + answered[0] % 50) is not None
                        answered[0] += 1
                        started.set()
                    except Exception:
                        refused[0] += 1
                        return

            reader = threading.Thread(target=read)
            reader.start()
            assert started.wait(10)
            store.close()
            reader.join(10)
            assert not reader.is_alive() and answered[0] >= 1 and refused[0] == 1

    # ------------------------------------------------------------------ tampering
    def test_flipped_body_byte_is_reported_at_its_seq(
        self, writer: JournalStore, location: Location
    ) -> None:
        self.fill(writer, 20, 30)
        target = writer.get(37)
        assert target is not None
        flipped = bytearray(target.body)
        flipped[5] ^= 0x01
        self.tamper(location, 37, "body", bytes(flipped))
        with pytest.raises(ChainError) as caught:
            verify_chain(writer.read())
        assert (caught.value.seq, caught.value.fault) == (37, ChainFault.BAD_HASH)

    def test_checkpoints_sign_the_chain(self, writer: JournalStore, location: Location) -> None:
        key, stranger = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
        self.fill(writer, 10)
        checkpoint = checkpoint_record(writer.head(), 42, key)
        writer.append([checkpoint])
        self.fill(writer, 5)
        report = verify_journal(writer.read(), key.public_key())
        assert (report.records, report.checkpoints) == (16, 1)
        assert report.last_checkpoint is not None and report.last_checkpoint.head_seq == 10
        assert confirm_checkpoint(writer, checkpoint.body, key.public_key()) == writer.head()
        with pytest.raises(CheckpointError, match="untrusted"):
            verify_journal(writer.read(), stranger.public_key())
        # A forged checkpoint, correctly chained but signed by someone else, is refused.
        writer.append([checkpoint_record(writer.head(), 43, stranger)])
        with pytest.raises(CheckpointError, match="seq=17"):
            verify_journal(writer.read(), key.public_key())
        # Rewriting checkpointed history is caught by whoever kept the old checkpoint.
        self.tamper(location, 10, "hash", b"\x07" * 32)
        with pytest.raises(CheckpointError, match="seq=10"):
            confirm_checkpoint(writer, checkpoint.body, key.public_key())

    # ------------------------------------------------------------------ torn tail
    def test_torn_last_write_is_refused_then_repaired(
        self, writer: JournalStore, location: Location, open_new: Callable[[], JournalStore]
    ) -> None:
        self.fill(writer, 10, 10, 5)
        last = writer.get(25)
        assert last is not None
        writer.close()
        self.tamper(location, 25, "body", last.body[:7])

        reopened = open_new()
        report = reopened.check_tail()
        assert (report.ok, report.corrupt_seqs, report.verified_seq) == (False, (25,), 24)
        assert report.repairable and report.fault is ChainFault.BAD_HASH
        with pytest.raises(TornTail, match="seq=25") as caught:
            reopened.acquire_writer("restarted")
        assert caught.value.seq == 25
        assert reopened.writer_owner is None
        with pytest.raises(TornTail):  # not JournalLocked: refusing released the lock
            open_new().acquire_writer("another")

    def test_repair_drops_only_the_torn_suffix(
        self, writer: JournalStore, location: Location, open_new: Callable[[], JournalStore]
    ) -> None:
        self.fill(writer, 10, 10, 5)
        last = writer.get(25)
        assert last is not None
        writer.save_snapshot(25, last.hash, b"s25")
        writer.close()
        self.tamper(location, 25, "body", last.body[:7])

        store = open_new()
        report = store.acquire_writer("restarted", repair=True)
        assert report.dropped_seqs == (25,)
        assert store.count() == 24
        assert store.head() == (24, last.prev_hash)
        assert store.latest_snapshot() is None  # it described the dropped record
        self.fill(store, 3)
        assert verify_chain(store.read())[0] == 27
        assert store.check_tail().ok

    def test_repair_drops_from_the_first_bad_record_of_the_last_group(
        self, writer: JournalStore, location: Location, open_new: Callable[[], JournalStore]
    ) -> None:
        self.fill(writer, 10, 8)
        self.tamper(location, 14, "body", b"torn")
        writer.close()
        store = open_new()
        report = store.acquire_writer("restarted", repair=True)
        assert report.dropped_seqs == (14, 15, 16, 17, 18)
        assert store.count() == 13

    def test_corruption_before_the_last_group_is_never_repaired(
        self, writer: JournalStore, location: Location, open_new: Callable[[], JournalStore]
    ) -> None:
        self.fill(writer, 10, 10)
        self.tamper(location, 5, "body", b"rot")
        writer.close()
        store = open_new()
        report = store.check_tail()
        assert report.corrupt_seqs == tuple(range(5, 21)) and not report.repairable
        with pytest.raises(TornTail, match="not a torn write"):
            store.acquire_writer("restarted", repair=True)
        assert store.count() == 20

    # ------------------------------------------------------------------ export
    def test_export_round_trip(self, writer: JournalStore, tmp_path: Path) -> None:
        self.fill(writer, 7, 1, 12)
        head = writer.head()
        assert head is not None
        writer.append([make_record(21, 0, "other-kind", b"", head[1])])
        path = tmp_path / "journal.augj"
        assert export_journal(writer, path) == writer.head()
        reader = FileJournalReader(path)
        assert list(reader) == list(writer.read())
        assert reader.head == writer.head() and reader.count == 21
        assert verify_chain(FileJournalReader(path)) == writer.head()
