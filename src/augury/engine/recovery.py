"""Start an engine on a journal: take the writer lock, restore, replay, go.

``open_engine`` acquires the journal's single writer lock (a torn tail is refused
unless ``repair=True``, and what was dropped is reported), loads the newest snapshot if
there is one (its SHA-256 and its record hash are checked), then replays the records
after it by APPLYING their events (``State.apply``), which is much faster than
re-executing commands. Every record read is re-hashed and re-linked on the way.
Checkpoint records are skipped. It also rebuilds what the engine keeps besides the
exchange: the idempotency keys of the last ``idempotency_window`` records, the last
journaled instant (the clock's floor; a ``SimulatedClock`` resumes there) and where the
last checkpoint is.

It never writes to the journal except through the store's own tail repair.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec

from augury.domain import snapshot
from augury.domain.exchange import Exchange
from augury.domain.limits import DEFAULT_LIMITS, Limits
from augury.engine.clock import Clock, SimulatedClock, SystemClock, refuse_simulated_in_production
from augury.engine.engine import IDEMPOTENCY_WINDOW_DEFAULT, Engine
from augury.engine.entry import Entry, decode_entry
from augury.engine.gc_tuning import tune_gc
from augury.engine.stats import RecoveryReport
from augury.journal import (
    GENESIS_PREV_HASH,
    KIND_CHECKPOINT,
    KIND_COMMAND,
    Head,
    JournalStore,
    SnapshotError,
    load_or_create_key,
    open_store,
)
from augury.journal.records import verify_link, verify_record

log = logging.getLogger(__name__)

REPLAY_BATCH = 5_000


class _Keyed(msgspec.Struct, frozen=True):
    """Just the idempotency key of an entry (the command and events are skipped)."""

    account: str = ""
    key: str = ""


_keyed_decoder = msgspec.json.Decoder(_Keyed)


@dataclass
class _Replayed:
    exchange: Exchange
    head: Head
    last_ts_us: int
    idempotency: OrderedDict[tuple[str, str], int]
    last_checkpoint_seq: int
    snapshot_seq: int
    records_replayed: int
    events_replayed: int
    records_scanned: int


def open_engine(
    store: JournalStore | str | Path,
    key_path: str | Path,
    clock: Clock | None = None,
    *,
    namespace: str = "augury",
    owner: str | None = None,
    repair: bool = False,
    limits: Limits = DEFAULT_LIMITS,
    use_snapshot: bool = True,
    production: bool = False,
    idempotency_window: int = IDEMPOTENCY_WINDOW_DEFAULT,
    gc_tuning: bool = True,
    **engine_options: Any,
) -> Engine:
    """Recover the exchange from the journal at ``store`` and start an engine on it.

    ``store`` is a JournalStore (the engine then leaves closing it to the caller) or a
    URL/path for ``open_store`` (the engine closes it). Raises JournalLocked if another
    writer holds the journal, TornTail (naming the seq) if its tail is torn and
    ``repair`` is False, ChainError if a record does not verify. ``gc_tuning`` raises
    this process's garbage-collector thresholds for the engine (``gc_tuning.tune_gc``).
    """
    if gc_tuning:
        tune_gc()
    clock = clock if clock is not None else SystemClock()
    refuse_simulated_in_production(clock, production)
    key = load_or_create_key(key_path)
    owns_store = not isinstance(store, JournalStore)
    journal = store if isinstance(store, JournalStore) else open_store(store, namespace=namespace)
    acquired = False
    try:
        started = time.perf_counter()
        tail = journal.acquire_writer(owner or _default_owner(), repair=repair)
        acquired = True
        if tail.dropped_seqs:
            log.warning(
                "journal %s: dropped the torn tail seq=%s (never acknowledged)",
                journal.name,
                ",".join(map(str, tail.dropped_seqs)),
            )
        replayed = replay(journal, limits, use_snapshot, idempotency_window)
        seconds = time.perf_counter() - started
        if isinstance(clock, SimulatedClock | SystemClock):
            clock.raise_floor(replayed.last_ts_us)
        engine = Engine(
            replayed.exchange,
            journal,
            key,
            clock,
            head=replayed.head,
            last_ts_us=replayed.last_ts_us,
            idempotency=replayed.idempotency,
            last_checkpoint_seq=replayed.last_checkpoint_seq,
            last_snapshot_seq=replayed.snapshot_seq,  # a long tail: snapshot soon
            production=production,
            idempotency_window=idempotency_window,
            owns_store=owns_store,
            **engine_options,
        )
    except BaseException:
        if owns_store:
            journal.close()
        elif acquired:
            journal.release_writer()
        raise
    engine.recovery = RecoveryReport(
        head_seq=replayed.head[0],
        snapshot_seq=replayed.snapshot_seq,
        records_replayed=replayed.records_replayed,
        events_replayed=replayed.events_replayed,
        records_scanned=replayed.records_scanned,
        dropped_seqs=tail.dropped_seqs,
        seconds=seconds,
        tail=tail,
    )
    log.info("engine recovered: %s", engine.recovery)
    engine.start()
    return engine


def replay(
    store: JournalStore,
    limits: Limits = DEFAULT_LIMITS,
    use_snapshot: bool = True,
    idempotency_window: int = IDEMPOTENCY_WINDOW_DEFAULT,
) -> _Replayed:
    """Rebuild the engine's state from ``store`` (snapshot + tail, or everything)."""
    found = store.head()
    head: Head = found if found is not None else (0, GENESIS_PREV_HASH)
    head_seq = head[0]
    exchange, snapshot_seq, snapshot_hash = _restore(store, limits, use_snapshot)
    apply_from = snapshot_seq + 1
    keys_from = max(1, head_seq - idempotency_window + 1)
    scan_from = min(apply_from, keys_from)
    cursor = _anchor(store, scan_from)
    idempotency: OrderedDict[tuple[str, str], int] = OrderedDict()
    last_checkpoint_seq = scan_from - 1
    replayed = events = scanned = 0
    apply = exchange.apply
    for record in store.read(scan_from, head_seq, batch=REPLAY_BATCH):
        verify_link(cursor, record)
        verify_record(record)
        cursor = (record.seq, record.hash)
        scanned += 1
        if record.seq == snapshot_seq and record.hash != snapshot_hash:
            raise SnapshotError(snapshot_seq, "the journal's record differs from the snapshot's")
        if record.kind == KIND_CHECKPOINT:
            last_checkpoint_seq = record.seq
            continue
        if record.kind != KIND_COMMAND:
            log.warning("skipping record seq=%d of unknown kind %r", record.seq, record.kind)
            continue
        if record.seq < apply_from:  # before the snapshot: only the idempotency key
            keyed: _Keyed | Entry = _keyed_decoder.decode(record.body)
        else:
            entry = decode_entry(record.body)
            for event in entry.events:
                apply(event)
            events += len(entry.events)
            replayed += 1
            keyed = entry
        if keyed.key and record.seq >= keys_from:
            pair = (keyed.account, keyed.key)
            idempotency.pop(pair, None)
            idempotency[pair] = record.seq
    if cursor != head:
        raise SnapshotError(head_seq, f"replay ended at seq {cursor[0]}, not at the head")
    last = store.get(head_seq) if head_seq else None
    return _Replayed(
        exchange=exchange,
        head=head,
        last_ts_us=last.ts_us if last is not None else 0,
        idempotency=idempotency,
        last_checkpoint_seq=last_checkpoint_seq,
        snapshot_seq=snapshot_seq,
        records_replayed=replayed,
        events_replayed=events,
        records_scanned=scanned,
    )


def _restore(
    store: JournalStore, limits: Limits, use_snapshot: bool
) -> tuple[Exchange, int, bytes]:
    """The newest usable snapshot as (exchange, seq, record hash), or an empty exchange."""
    if use_snapshot:
        try:
            snap = store.latest_snapshot()  # checks the state's SHA-256
            if snap is not None:
                record = store.get(snap.seq)
                if record is None or record.hash != snap.record_hash:
                    raise SnapshotError(snap.seq, "the journal does not hold its record")
                try:
                    exchange = snapshot.load(snap.state, limits)
                except ValueError as exc:  # an older layout: the journal still has it all
                    raise SnapshotError(snap.seq, f"cannot load the snapshot: {exc}") from exc
                return exchange, snap.seq, snap.record_hash
        except SnapshotError:
            log.exception("unusable snapshot; replaying the whole journal instead")
    return Exchange(limits), 0, GENESIS_PREV_HASH


def _anchor(store: JournalStore, from_seq: int) -> Head:
    if from_seq <= 1:
        return (0, GENESIS_PREV_HASH)
    record = store.get(from_seq - 1)
    if record is None:
        raise SnapshotError(from_seq - 1, "record missing before the replay window")
    verify_record(record)
    return (record.seq, record.hash)


def _default_owner() -> str:
    return f"augury-engine pid={os.getpid()} host={socket.gethostname()}"
