"""Audit a whole journal: the hash chain, every checkpoint, and a replay of every command.

``verify(records)`` walks any source of records (a store's ``read()``, a
``FileJournalReader``) once, streaming, and checks three things for each record:

1. the chain: seq follows, ``prev_hash`` links, the record's own hash recomputes
   (``journal.records``);
2. a ``checkpoint`` record signs exactly the head it follows (seq - 1, prev_hash), with
   ``trusted_key`` if one is given, else with the key embedded in the checkpoint;
3. a ``command`` record's entry is re-executed on a fresh ``Exchange`` with
   ``execute_entry`` at the record's ``ts_us``; the events it yields must encode
   (``codec.encode``) byte for byte as the events the entry carries.

(3) is what a valid chain cannot prove: an operator who rewrites history and re-hashes
every record after the edit keeps the chain valid, but not the replay, because the
recorded events no longer follow from the commands. Only a published checkpoint (2)
pins the hashes themselves.

A walk may start from a snapshot (``start_from_snapshot``) instead of seq 1: it then
proves that the history since the snapshot follows from the snapshot's state, not that
the state itself is right. A full walk proves that too: given ``snapshot`` (the seq and
state bytes of a stored snapshot), it checks that the replayed state at that seq dumps
(``domain.snapshot.dump``) to exactly those bytes, which makes the snapshot a verified
starting point for later, shorter walks.

The walk stops at the first discrepancy. The report names its seq and what differed
(``Fault``). The report ends with the public ledger's totals of the replayed state
(``domain.ledger_report``: the same figures as ``GET /api/v1/ledger`` at that seq).
This module never writes anything and never raises for a bad journal: a
bad journal is a report with ``ok == False``. It raises only for I/O failures of the
record source itself.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable, Iterable
from typing import NamedTuple

import msgspec

from augury.domain import codec, ledger_report
from augury.domain import snapshot as domain_snapshot
from augury.domain.exchange import Exchange
from augury.domain.ledger_report import LedgerTotals
from augury.domain.limits import DEFAULT_LIMITS, Limits
from augury.engine.entry import Entry, decode_entry, execute_entry
from augury.journal.errors import ChainError, CheckpointError, ExportFormatError, SnapshotError
from augury.journal.records import (
    GENESIS_PREV_HASH,
    KIND_CHECKPOINT,
    KIND_COMMAND,
    Head,
    JournalRecord,
    verify_link,
    verify_record,
)
from augury.journal.signing import verify_checkpoint
from augury.journal.store import JournalStore

PROGRESS_EVERY_RECORDS = 1_000
"""How often (in records) the ``progress`` callback is called during a walk."""

Progress = Callable[[int], None]
"""Called with the number of records walked so far (and once more at the end)."""


class Fault(enum.StrEnum):
    """What differed at the first bad record."""

    MALFORMED = "malformed"  # a field out of range, or a body that does not decode
    BAD_HASH = "bad-hash"  # the record's hash does not recompute
    BROKEN_LINK = "broken-link"  # prev_hash is not the previous record's hash
    SEQ_GAP = "seq-gap"  # seq does not follow the previous one
    BAD_CHECKPOINT = "bad-checkpoint"  # unsigned, forged, untrusted or misplaced checkpoint
    UNKNOWN_KIND = "unknown-kind"  # neither "command" nor "checkpoint"
    REJECTED = "rejected"  # the command is refused on re-execution
    EVENTS_MISMATCH = "events-mismatch"  # re-execution yields other events than recorded
    REPLAY_CRASHED = "replay-crashed"  # re-execution raised (a domain assertion)
    BAD_FORMAT = "bad-format"  # the export file is truncated or malformed
    SNAPSHOT_MISMATCH = "snapshot-mismatch"  # the replayed state differs from a snapshot


class Discrepancy(msgspec.Struct, frozen=True):
    """The first thing found wrong: at record ``seq``, ``fault``, explained by ``detail``."""

    seq: int
    fault: Fault
    detail: str

    def __str__(self) -> str:
        return f"seq={self.seq}: {self.fault.value}: {self.detail}"


class VerifyReport(msgspec.Struct, frozen=True):
    """Outcome of :func:`verify`: counts up to the head verified, and the first discrepancy."""

    ok: bool
    records: int  # records that verified completely
    commands: int
    checkpoints: int
    head_seq: int  # the last record that verified (0 if none)
    head_hash: str  # its hash, lowercase hex
    seconds: float
    discrepancy: Discrepancy | None = None
    last_checkpoint_seq: int = 0  # the seq signed by the last verified checkpoint
    from_seq: int = 0  # the walk started after this seq (a snapshot's), 0 from genesis
    snapshot_verified_seq: int = 0  # the snapshot whose state the replay matched, if any
    ledger: LedgerTotals | None = None  # the public ledger of the replayed state at head_seq


class Start(NamedTuple):
    """Where a walk starts: after record ``head`` with ``exchange`` as its state."""

    head: Head
    exchange: Exchange


class SnapshotState(NamedTuple):
    """A stored snapshot to check during a full walk: the state as of record ``seq``."""

    seq: int
    state: bytes


def start_from_snapshot(store: JournalStore, limits: Limits = DEFAULT_LIMITS) -> Start | None:
    """The newest snapshot of ``store`` as a starting point; None if it has none.

    Raises SnapshotError if the snapshot is corrupt (its SHA-256), names a record the
    journal does not hold with that hash, or does not load.
    """
    snap = store.latest_snapshot()
    if snap is None:
        return None
    record = store.get(snap.seq)
    if record is None or record.hash != snap.record_hash:
        raise SnapshotError(snap.seq, "the journal does not hold the record it was taken at")
    try:
        verify_record(record)
        exchange = domain_snapshot.load(snap.state, limits)
    except (ChainError, ValueError, AssertionError, msgspec.MsgspecError) as exc:
        raise SnapshotError(snap.seq, f"unusable: {exc}") from exc
    return Start((snap.seq, snap.record_hash), exchange)


class _Walk:
    """Mutable state of one verification walk."""

    def __init__(
        self, trusted_key: bytes | None, start: Start, snapshot: SnapshotState | None
    ) -> None:
        self.trusted_key = trusted_key
        self.head = start.head
        self.exchange = start.exchange
        self.snapshot = snapshot
        self.snapshot_verified_seq = 0
        self.records = 0
        self.commands = 0
        self.checkpoints = 0
        self.last_checkpoint_seq = 0

    def check(self, record: JournalRecord) -> Discrepancy | None:
        """Verify one record; return what is wrong with it, or None (and advance)."""
        try:
            verify_link(self.head, record)
            verify_record(record)
        except ChainError as exc:
            return Discrepancy(exc.seq, Fault(exc.fault.value), exc.detail)
        if record.kind == KIND_COMMAND:
            found = self._replay(record)
            self.commands += found is None
        elif record.kind == KIND_CHECKPOINT:
            found = self._checkpoint(record)
            self.checkpoints += found is None
        else:
            found = Discrepancy(record.seq, Fault.UNKNOWN_KIND, f"record kind {record.kind!r}")
        if found is None and self.snapshot is not None and record.seq == self.snapshot.seq:
            found = self._compare_snapshot(record.seq, self.snapshot.state)
        if found is None:
            self.head = (record.seq, record.hash)
            self.records += 1
        return found

    def _compare_snapshot(self, seq: int, state: bytes) -> Discrepancy | None:
        if domain_snapshot.dump(self.exchange) != state:
            return Discrepancy(
                seq, Fault.SNAPSHOT_MISMATCH, "the stored snapshot differs from the replayed state"
            )
        self.snapshot_verified_seq = seq
        return None

    def _checkpoint(self, record: JournalRecord) -> Discrepancy | None:
        try:
            checkpoint = verify_checkpoint(record.body, self.trusted_key)
        except CheckpointError as exc:
            return Discrepancy(record.seq, Fault.BAD_CHECKPOINT, str(exc))
        if (checkpoint.head_seq, checkpoint.head_hash) != (record.seq - 1, record.prev_hash):
            return Discrepancy(
                record.seq,
                Fault.BAD_CHECKPOINT,
                f"signs seq={checkpoint.head_seq}, not the record it follows",
            )
        self.last_checkpoint_seq = checkpoint.head_seq
        return None

    def _replay(self, record: JournalRecord) -> Discrepancy | None:
        seq = record.seq
        try:
            entry = decode_entry(record.body)
        except msgspec.DecodeError as exc:
            return Discrepancy(seq, Fault.MALFORMED, f"body is not an entry: {exc}")
        try:
            result = execute_entry(self.exchange, entry.command, record.ts_us)
        except Exception as exc:  # a domain assertion: the state no longer follows
            return Discrepancy(seq, Fault.REPLAY_CRASHED, f"{type(exc).__name__}: {exc}")
        if not result.ok:
            name = type(entry.command).__name__
            detail = f"{name}: {result.code}: {result.message}"
            return Discrepancy(seq, Fault.REJECTED, detail)
        replayed = codec.encode(list(result.events))
        recorded = codec.encode(entry.events)
        if replayed != recorded:
            return Discrepancy(seq, Fault.EVENTS_MISMATCH, _first_difference(entry, result.events))
        return None


def _first_difference(entry: Entry, replayed: Iterable[object]) -> str:
    """Which event differs first between the recorded and the re-executed list."""
    recorded = list(entry.events)
    again = list(replayed)
    for index, (mine, theirs) in enumerate(zip(recorded, again, strict=False)):
        if codec.encode(mine) != codec.encode(theirs):
            return (
                f"event {index} recorded as {type(mine).__name__} "
                f"{codec.encode(mine)[:120].decode(errors='replace')}, "
                f"re-executed as {type(theirs).__name__} "
                f"{codec.encode(theirs)[:120].decode(errors='replace')}"
            )
    return f"{len(recorded)} events recorded, {len(again)} re-executed"


def verify(
    records: Iterable[JournalRecord],
    trusted_key: bytes | None = None,
    progress: Progress | None = None,
    *,
    start: Start | None = None,
    snapshot: SnapshotState | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> VerifyReport:
    """Verify ``records`` (see the module docstring); never raises for bad data.

    ``trusted_key`` is the operator's raw 32-byte Ed25519 public key; without it a
    checkpoint only proves it is intact, not who signed it. ``progress`` is called with
    the number of records walked every ``PROGRESS_EVERY_RECORDS`` records and at the end.
    ``records`` start at seq 1, or right after ``start`` (see ``start_from_snapshot``).
    With ``snapshot`` the replayed state is compared with it when its seq is reached.
    ``limits`` must be the ones the engine ran with (commands are re-validated).
    """
    assert trusted_key is None or len(trusted_key) == 32, "a raw Ed25519 public key"
    started = time.perf_counter()
    if start is None:
        start = Start((0, GENESIS_PREV_HASH), Exchange(limits))
    walk = _Walk(trusted_key, start, snapshot)
    found: Discrepancy | None = None
    try:
        for record in records:
            found = walk.check(record)
            if found is not None:
                break
            if progress is not None and walk.records % PROGRESS_EVERY_RECORDS == 0:
                progress(walk.records)
    except ExportFormatError as exc:
        seq = exc.seq if exc.seq is not None else walk.head[0] + 1
        found = Discrepancy(seq, Fault.BAD_FORMAT, str(exc))
    if progress is not None:
        progress(walk.records)
    assert found is not None or walk.records == walk.commands + walk.checkpoints
    return VerifyReport(
        ok=found is None,
        records=walk.records,
        commands=walk.commands,
        checkpoints=walk.checkpoints,
        head_seq=walk.head[0],
        head_hash=walk.head[1].hex(),
        seconds=time.perf_counter() - started,
        discrepancy=found,
        last_checkpoint_seq=walk.last_checkpoint_seq,
        from_seq=start.head[0],
        snapshot_verified_seq=walk.snapshot_verified_seq,
        ledger=ledger_report.report(walk.exchange),
    )


def checkpoint_summary(report: VerifyReport, key_hex: str | None, key_origin: str = "") -> str:
    """One sentence on the checkpoints of a walk that agrees with its result: a failed
    walk never claims its checkpoints were good, and no checkpoint is claimed when the
    journal holds none."""
    failed_here = (
        report.discrepancy is not None and report.discrepancy.fault is Fault.BAD_CHECKPOINT
    )
    count = report.checkpoints
    noun = "checkpoint" if count == 1 else "checkpoints"
    if failed_here:
        assert report.discrepancy is not None
        return (
            f"The checkpoint at seq {report.discrepancy.seq} failed: "
            f"{report.discrepancy.detail}; {count:,} {noun} before it verified."
        )
    if count == 0:
        return "The journal holds no checkpoint, so no signature was checked."
    where = "" if report.ok else " before the failure"
    if key_hex is not None:
        origin = f" ({key_origin})" if key_origin else ""
        return f"{count:,} {noun}{where} signed by the trusted key {key_hex}{origin}."
    return (
        f"{count:,} {noun}{where} checked against their own embedded keys only "
        "(give --trusted-key to check who signed them)."
    )
