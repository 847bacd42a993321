"""The journal store contract that every backend (SQLite, PostgreSQL) fulfils.

JournalStore holds the backend-independent rules: validating a group before anything
is written, streaming reads in bounded batches, the torn-tail policy, snapshot checks.
A backend supplies a handful of primitives (``_lock_writer``, ``_append_group``,
``_read_batch`` ...) that each run one statement or one transaction.

Guarantees every backend gives:

* append() writes a whole group in ONE transaction, or nothing; when it returns, the
  group is durable against process crash and power loss.
* Inside that transaction the stored head is re-read, so a group that does not continue
  it is rejected even if this object's view is stale; seq is the primary key.
* Only the holder of the writer lock (acquire_writer) may append, save snapshots or
  repair. The lock dies with the holder's process (flock / PostgreSQL session lock).

A store object is not thread-safe: use it from one thread at a time. Readers that do not
call acquire_writer() may run concurrently with the writer from other store objects.
This module must never interpret a record's body.
"""

from __future__ import annotations

import abc
import hashlib
from collections.abc import Iterator, Sequence
from types import TracebackType
from typing import Self

import msgspec

from augury.journal.errors import (
    AppendRejected,
    ChainError,
    ChainFault,
    JournalLocked,
    NotWriter,
    SnapshotError,
    TailReport,
    TornTail,
)
from augury.journal.records import (
    GENESIS_PREV_HASH,
    HASH_LEN,
    SEQ_MAX,
    Head,
    JournalRecord,
    verify_link,
    verify_record,
)

GROUP_RECORDS_MAX = 65_536
"""Most records accepted by one append() (one transaction)."""

READ_BATCH_DEFAULT = 2_000
"""Records fetched per query by read(); memory held is about batch x record size."""

READ_BATCH_MAX = 100_000

TAIL_DEPTH_DEFAULT = 1_000
"""check_tail() re-hashes at least this many of the last records (and the whole last group)."""

SNAPSHOTS_KEPT = 3
"""How many of the newest snapshots save_snapshot() keeps; older ones are deleted."""

OWNER_LEN_MAX = 200


class Snapshot(msgspec.Struct, frozen=True):
    """Engine state as of record ``seq`` (whose hash is ``record_hash``); opaque ``state``."""

    seq: int
    record_hash: bytes
    state: bytes
    state_sha256: bytes


class JournalStore(abc.ABC):
    """An append-only, hash-chained journal with a single fenced writer and snapshots."""

    def __init__(self, name: str) -> None:
        self.name = name
        """Human-readable identity of the journal, used in error messages."""
        self._owner: str | None = None

    # ------------------------------------------------------------------ writer lock
    @property
    def writer_owner(self) -> str | None:
        """The owner passed to acquire_writer() while this object holds the lock."""
        return self._owner

    def acquire_writer(self, owner: str, *, repair: bool = False) -> TailReport:
        """Take the journal's single writer lock, then check the tail.

        Raises JournalLocked (naming the holder) if another store object or process holds
        it. Raises TornTail, and releases the lock, if the tail does not verify - unless
        ``repair`` is True and the corrupt suffix lies in the last group written, in which
        case that suffix is deleted (see check_tail()). Returns the tail report.
        """
        if not 0 < len(owner) <= OWNER_LEN_MAX:
            raise ValueError(f"owner must be 1..{OWNER_LEN_MAX} characters")
        if self._owner is not None:
            raise JournalLocked(self.name, f"this very store object (owner {self._owner!r})")
        self._lock_writer(owner)
        self._owner = owner
        try:
            report = self.check_tail(repair=repair)
            if not report.ok and not report.dropped_seqs:
                raise TornTail(self._torn_message(report), report)
        except BaseException:
            self.release_writer()
            raise
        return report

    def release_writer(self) -> None:
        """Give up the writer lock (no-op if not held)."""
        if self._owner is not None:
            self._owner = None
            self._unlock_writer()

    def _require_writer(self) -> None:
        if self._owner is None:
            raise NotWriter(f"journal {self.name}: call acquire_writer() before writing")

    # ------------------------------------------------------------------ append
    def append(self, records: Sequence[JournalRecord], *, hashed: bool = False) -> None:
        """Write ``records`` as one group in one transaction; durable when this returns.

        The group must be non-empty, internally chained, and continue the stored head
        (first seq = head seq + 1, first prev_hash = head hash). Otherwise AppendRejected
        names the offending seq and nothing is written. Any other exception (I/O error,
        lost connection) leaves the outcome unknown: stop, reopen and replay the journal.

        ``hashed=True`` says the caller computed every record's hash itself, from its
        header and body, in this process (the engine does): the links are still checked,
        but the hashes are not computed a second time. ``augury verify`` checks them all.
        """
        self._require_writer()
        if not 0 < len(records) <= GROUP_RECORDS_MAX:
            raise ValueError(f"a group holds 1..{GROUP_RECORDS_MAX} records, got {len(records)}")
        self._validate_group(records, rehash=not hashed)
        self._append_group(records)

    @staticmethod
    def _validate_group(records: Sequence[JournalRecord], *, rehash: bool = True) -> None:
        """Every record links to the one before and (``rehash``) verifies; raise
        AppendRejected if not."""
        previous: Head | None = None
        for record in records:
            try:
                if previous is not None:
                    verify_link(previous, record)
                if rehash:
                    verify_record(record)
            except ChainError as exc:
                raise AppendRejected(exc.seq, exc.fault, exc.detail) from None
            previous = (record.seq, record.hash)

    @staticmethod
    def _check_continues(stored_head: Head | None, first: JournalRecord) -> None:
        """Called by backends inside the append transaction, after re-reading the head."""
        head = stored_head if stored_head is not None else (0, GENESIS_PREV_HASH)
        try:
            verify_link(head, first)
        except ChainError as exc:
            detail = f"does not continue the stored head: {exc.detail}"
            raise AppendRejected(exc.seq, exc.fault, detail) from None

    # ------------------------------------------------------------------ reading
    def read(
        self, from_seq: int = 1, to_seq: int | None = None, batch: int = READ_BATCH_DEFAULT
    ) -> Iterator[JournalRecord]:
        """Stream records from_seq..to_seq (inclusive) in seq order, ``batch`` per query.

        ``to_seq=None`` means the head as of this call. Memory stays bounded by ``batch``
        whatever the range. Records are returned as stored: verify them with
        verify_chain() (a gap in seq shows up there, not here).
        """
        if not 1 <= from_seq <= SEQ_MAX:
            raise ValueError(f"from_seq must be >= 1, got {from_seq}")
        if not 1 <= batch <= READ_BATCH_MAX:
            raise ValueError(f"batch must be 1..{READ_BATCH_MAX}, got {batch}")
        if to_seq is None:
            head = self.head()
            to_seq = head[0] if head is not None else 0
        return self._stream(from_seq, to_seq, batch)

    def _stream(self, from_seq: int, to_seq: int, batch: int) -> Iterator[JournalRecord]:
        next_seq = from_seq
        while next_seq <= to_seq:
            rows = self._read_batch(next_seq, to_seq, batch)
            yield from rows
            if len(rows) < batch:
                return
            assert rows[-1].seq >= next_seq, "backend returned rows out of order"
            next_seq = rows[-1].seq + 1

    def get(self, seq: int) -> JournalRecord | None:
        """The stored record at ``seq``, or None."""
        rows = self._read_batch(seq, seq, 1)
        return rows[0] if rows else None

    # ------------------------------------------------------------------ snapshots
    def save_snapshot(self, seq: int, record_hash: bytes, state: bytes) -> None:
        """Store engine ``state`` as of record ``seq``; keep only the newest few.

        The journal must hold record ``seq`` with hash ``record_hash`` (SnapshotError
        otherwise), so a snapshot can never describe a history the journal does not have.
        """
        self._require_writer()
        if len(record_hash) != HASH_LEN:
            raise ValueError(f"record_hash must be {HASH_LEN} bytes")
        stored = self.get(seq)
        if stored is None or stored.hash != record_hash:
            raise SnapshotError(seq, "the journal holds no record with that seq and hash")
        state = bytes(state)
        self._save_snapshot(Snapshot(seq, record_hash, state, hashlib.sha256(state).digest()))

    def latest_snapshot(self) -> Snapshot | None:
        """The newest snapshot, its state checked against its SHA-256; SnapshotError if bad."""
        snapshot = self._latest_snapshot()
        if snapshot is None:
            return None
        if hashlib.sha256(snapshot.state).digest() != snapshot.state_sha256:
            raise SnapshotError(snapshot.seq, "state does not match its sha256")
        return snapshot

    # ------------------------------------------------------------------ tail check
    def check_tail(self, depth: int = TAIL_DEPTH_DEFAULT, *, repair: bool = False) -> TailReport:
        """Re-hash the last ``depth`` records (at least the whole last group).

        Returns what it found. With ``repair=True`` (writer only) a corrupt suffix that
        lies within the last group written is deleted, with any snapshot at or after it,
        and reported in ``dropped_seqs``; a corrupt suffix reaching before the last group
        raises TornTail (that is not a torn write; a human must look). Corruption of the
        record just before the checked window raises ChainError.
        """
        if repair:
            self._require_writer()
        assert depth >= 1
        head = self.head()
        if head is None:
            return TailReport(checked_from_seq=0, head_seq=0, verified_seq=0)
        head_seq = head[0]
        last_group = self._last_group()
        from_seq = max(1, head_seq - depth + 1)
        if last_group is not None:
            from_seq = max(1, min(from_seq, last_group[0]))
        cursor = self._anchor(from_seq)
        records = self.read(from_seq, head_seq)
        fault: ChainError | None = None
        corrupt: tuple[int, ...] = ()
        for record in records:
            try:
                verify_link(cursor, record)
                verify_record(record)
            except ChainError as exc:
                fault = exc
                corrupt = (record.seq, *(r.seq for r in records))
                break
            cursor = (record.seq, record.hash)
        if fault is None:
            return TailReport(from_seq, head_seq, verified_seq=cursor[0])
        first_bad = cursor[0] + 1
        report = TailReport(
            from_seq,
            head_seq,
            verified_seq=cursor[0],
            corrupt_seqs=corrupt,
            fault=fault.fault,
            detail=str(fault),
            repairable=last_group is not None and first_bad >= last_group[0],
        )
        if not repair:
            return report
        if not report.repairable:
            raise TornTail(
                f"journal {self.name}: {fault}; the corrupt suffix starts at seq={first_bad}, "
                f"before the last group written {last_group}, so it is not a torn write; "
                "refusing to repair",
                report,
            )
        assert last_group is not None
        self._drop_from(first_bad, _group_after_drop(last_group, first_bad))
        return msgspec.structs.replace(report, dropped_seqs=corrupt)

    def _anchor(self, from_seq: int) -> Head:
        """(seq, hash) of the record before the window, itself verified."""
        if from_seq == 1:
            return (0, GENESIS_PREV_HASH)
        anchor = self.get(from_seq - 1)
        if anchor is None:
            raise ChainError(from_seq - 1, ChainFault.SEQ_GAP, "record is missing")
        verify_record(anchor)  # raises ChainError: corruption older than the tail
        return (anchor.seq, anchor.hash)

    def _torn_message(self, report: TailReport) -> str:
        seqs = report.corrupt_seqs
        return (
            f"journal {self.name}: torn or corrupt tail, refusing to write. {report.detail}. "
            f"Last good record is seq={report.verified_seq}; corrupt suffix is seq={seqs[0]}"
            f"..{seqs[-1]} ({len(seqs)} records). "
            + (
                "It lies within the last group written; acquire_writer(..., repair=True) "
                "drops exactly those records."
                if report.repairable
                else "It reaches before the last group written: not a torn write."
            )
        )

    # ------------------------------------------------------------------ lifecycle
    def close(self) -> None:
        """Release the writer lock and the connection. Idempotent."""
        try:
            self.release_writer()
        finally:
            self._close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # ------------------------------------------------------------------ backend primitives
    @abc.abstractmethod
    def head(self) -> Head | None:
        """(seq, hash) of the last stored record, or None if the journal is empty."""

    @abc.abstractmethod
    def count(self) -> int:
        """Number of stored records (equals head seq when the chain is intact)."""

    @abc.abstractmethod
    def _lock_writer(self, owner: str) -> None:
        """Take the writer lock without waiting, or raise JournalLocked naming the holder."""

    @abc.abstractmethod
    def _unlock_writer(self) -> None: ...

    @abc.abstractmethod
    def _append_group(self, records: Sequence[JournalRecord]) -> None:
        """In ONE durable transaction: re-read the head, call _check_continues(head,
        records[0]), insert every record, record the group's (first, last) seq."""

    @abc.abstractmethod
    def _read_batch(self, from_seq: int, to_seq: int, limit: int) -> list[JournalRecord]:
        """Up to ``limit`` records with from_seq <= seq <= to_seq, in seq order."""

    @abc.abstractmethod
    def _last_group(self) -> tuple[int, int] | None:
        """(first seq, last seq) of the last group appended, if known."""

    @abc.abstractmethod
    def _drop_from(self, seq: int, last_group: tuple[int, int] | None) -> None:
        """In one transaction: delete records and snapshots with seq >= ``seq``; set the
        last group to ``last_group`` (None: forget it)."""

    @abc.abstractmethod
    def _save_snapshot(self, snapshot: Snapshot) -> None:
        """Insert or replace the snapshot, then delete all but the newest SNAPSHOTS_KEPT."""

    @abc.abstractmethod
    def _latest_snapshot(self) -> Snapshot | None: ...

    @abc.abstractmethod
    def snapshot_seqs(self) -> list[int]:
        """The seqs of the stored snapshots, newest first."""

    @abc.abstractmethod
    def _close(self) -> None: ...


def _group_after_drop(group: tuple[int, int], first_dropped: int) -> tuple[int, int] | None:
    """The last group's bounds once records >= first_dropped are gone.

    If the whole group went, the group before it is unknown: claim only its last record,
    which keeps any later repair as narrow as possible.
    """
    first, _ = group
    last = first_dropped - 1
    if last < 1:
        return None
    return (first, last) if first <= last else (last, last)
