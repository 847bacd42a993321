"""What the engine counts as it runs (``Engine.stats``) and what a restart reports
(``Engine.recovery``)."""

from __future__ import annotations

from dataclasses import dataclass

from augury.journal import TailReport


@dataclass
class EngineStats:
    """What the engine has done since it started (counted by both of its threads)."""

    appends: int = 0
    records: int = 0
    accepted: int = 0
    rejected: int = 0
    duplicates: int = 0
    checkpoints: int = 0
    snapshots: int = 0
    batches: int = 0  # handed to the writer
    pipeline_full: int = 0  # times the engine thread waited for the writer (backpressure)


@dataclass(frozen=True)
class RecoveryReport:
    """What a restart did and how long it took."""

    head_seq: int
    snapshot_seq: int  # 0: no snapshot, replayed from seq 1
    records_replayed: int  # records after the snapshot, applied
    events_replayed: int
    records_scanned: int  # every record read (also older ones, for idempotency keys)
    dropped_seqs: tuple[int, ...]  # the torn tail dropped by repair=True
    seconds: float
    tail: TailReport
