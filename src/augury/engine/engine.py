"""The engine: one thread applies commands to the exchange, another journals them.

Threading model: callers on any thread (or asyncio task) call :meth:`Engine.submit`
(or :meth:`Engine.asubmit`), which puts the command on a bounded inbox. Two threads do
the rest:

- the **engine thread** owns the ``Exchange``: it takes up to ``group_max`` queued
  commands (it never waits to fill a group), executes each in order, builds one hash-
  chained journal record per ACCEPTED command and hands the group (a *batch*) to the
  writer. It then goes on with the next group while the previous one is being written.
- the **writer thread** owns the ``JournalStore``: it takes the batches in order (several
  small ones are merged, up to ``group_max`` commands, into one append), appends them
  with ONE ``store.append`` (one transaction, one fsync), and only then completes the
  futures of that batch, in order, and saves the snapshots made at that point.

At most ``pipeline_depth`` batches are handed over and not yet durable (backpressure:
the engine thread waits). A rejected command changes nothing, so it gets no record; it
is answered with its batch. Queries run on the engine thread once everything before
them is durable (the pipeline is drained), so they see the durable state and may read
the store. Subscribers that read the state (the default) also run on the engine thread
on a drained pipeline; while one is registered the engine does not run ahead.

Failure: if an append (or anything else on either thread) raises, memory may be ahead
of the disk, so the engine stops for good: it releases the journal, every future not
yet answered (executed or queued) fails with :class:`EngineStopped`, and new submits
are refused. Recovery is a restart (``recovery.open_engine``), which rebuilds the state
from the journal.

This module must never answer a command before its record is durable.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import struct
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from concurrent.futures import Future, InvalidStateError
from dataclasses import dataclass
from typing import Any, TypeVar

import msgspec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from augury.domain import commands as dc
from augury.domain import events as ev
from augury.domain import snapshot
from augury.domain.exchange import Exchange, Result
from augury.domain.rejections import Code
from augury.engine.ack import Ack, settle
from augury.engine.clock import Clock, SimulatedClock
from augury.engine.entry import AdvanceClock, Entry, decode_entry, execute_entry
from augury.journal import (
    GROUP_RECORDS_MAX,
    KIND_COMMAND,
    Head,
    JournalRecord,
    JournalStore,
    TailReport,
    checkpoint_record,
    next_record,
)
from augury.journal.records import BODY_LEN_MAX, MAGIC, TS_US_MAX, TS_US_MIN

log = logging.getLogger(__name__)

T = TypeVar("T")

GROUP_MAX_DEFAULT = 512
GROUP_MAX_MAX = GROUP_RECORDS_MAX // 4
"""An item adds at most 4 records (a Tick, itself, a checkpoint after each): one append fits."""
PIPELINE_DEPTH_DEFAULT = 4
"""Batches executed and handed to the writer but not yet durable, at most."""
CHECKPOINT_EVERY_DEFAULT = 10_000
SNAPSHOT_EVERY_DEFAULT = 100_000
IDEMPOTENCY_WINDOW_DEFAULT = 500_000
"""Keys of commands among the last this many records are remembered (about 100 B each)."""
QUEUE_MAX_DEFAULT = 100_000
IDEMPOTENCY_KEY_LEN_MAX = 128
TIMER_WAIT_MAX_S = 1.0
"""Longest idle sleep of the engine thread: bounds how late a timer can fire."""

CODE_CLOCK_NOT_SIMULATED = "clock_not_simulated"
CODE_KEY_REUSED = "idempotency_key_reused"
CODE_INVALID_KEY = "invalid_idempotency_key"

Subscriber = Callable[[int, int, Entry], None]
"""Called with (seq, ts_us, entry) for every command record, after its group is durable."""

# The hashed preimage of a "command" record up to its body (see journal/records.py):
# magic, seq, ts_us, kind_len, kind, prev_hash, body_len. Tested against record_hash.
_COMMAND_HEADER = struct.Struct(">5sQqB7s32sQ")
_KIND_COMMAND_BYTES = KIND_COMMAND.encode("ascii")
assert len(_KIND_COMMAND_BYTES) == 7
_sha256 = hashlib.sha256
_entry_encode = msgspec.json.Encoder().encode
_command_encode = msgspec.json.Encoder().encode


_HASH_CHUNK = 2_000
"""hashlib releases the GIL for inputs of 2,048 bytes or more; getting it back behind a
busy thread can take a whole switch interval (5 ms). The engine thread hashes in smaller
pieces so that it keeps the GIL (same digest)."""


def _hash_in_chunks(header: bytes, body: bytes) -> bytes:
    digest = _sha256(header)
    view = memoryview(body)
    for start in range(0, len(body), _HASH_CHUNK):
        digest.update(view[start : start + _HASH_CHUNK])
    return digest.digest()


class EngineError(Exception):
    """Base of the engine's own errors."""


class EngineStopped(EngineError):
    """The engine has stopped (closed, or failed) and answers no more commands."""


class EngineOverloaded(EngineError):
    """The submission queue is full; retry later."""


@dataclass(slots=True)
class _Control:
    """A request run on the engine thread: a checkpoint, a snapshot, a state query, stop."""

    kind: str
    future: Future[Any]
    query: Callable[[Exchange], Any] | None = None


# A submission is a plain tuple (cheaper than an object): (command, account, key, target).
_Submission = tuple[dc.Command, str, str, Any]
_Item = _Submission | _Control


class _Lookup:
    """An answer the writer reads from the journal: the original of a duplicate."""

    __slots__ = ("command", "seq")

    def __init__(self, seq: int, command: dc.Command) -> None:
        self.seq = seq
        self.command = command


class _Batch:
    """One group built by the engine thread, handed to the writer thread as a unit."""

    __slots__ = (
        "defer_answers",
        "done",
        "entries",
        "head",
        "items",
        "records",
        "snapshots",
        "stop",
        "targets",
        "values",
    )

    def __init__(self, head: Head) -> None:
        self.records: list[JournalRecord] = []
        self.items = 0  # inbox items (commands, controls) it answers: the group size
        # Who to answer (Ack, asyncio or concurrent future) and with what (Result, _Lookup
        # or a control's answer): two parallel lists, no tuple per command.
        self.targets: list[Any] = []
        self.values: list[Any] = []
        self.entries: list[Entry | None] = []  # per record: its entry (None: a checkpoint)
        self.snapshots: list[tuple[int, bytes, bytes, Future[int] | None]] = []
        self.head = head  # the chain head after its records
        self.stop = False  # the writer stops after it
        self.done = False  # set by the writer once durable and answered
        self.defer_answers = False  # the engine thread answers it, after publishing it

    def answer(self, target: Any, value: Any) -> None:
        self.targets.append(target)
        self.values.append(value)

    def empty(self) -> bool:
        return not (self.records or self.targets or self.snapshots or self.stop)


@dataclass
class EngineStats:
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


_STOP = "stop"


class Engine:
    """Owns one Exchange, one JournalStore (writer lock held) and the operator key.

    Build it with ``recovery.open_engine``, which recovers the state and starts it.
    """

    def __init__(
        self,
        exchange: Exchange,
        store: JournalStore,
        key: Ed25519PrivateKey,
        clock: Clock,
        *,
        head: Head | None = None,
        last_ts_us: int = 0,
        idempotency: OrderedDict[tuple[str, str], int] | None = None,
        last_checkpoint_seq: int = 0,
        last_snapshot_seq: int = 0,
        group_max: int = GROUP_MAX_DEFAULT,
        checkpoint_every: int = CHECKPOINT_EVERY_DEFAULT,
        snapshot_every: int = SNAPSHOT_EVERY_DEFAULT,
        idempotency_window: int = IDEMPOTENCY_WINDOW_DEFAULT,
        queue_max: int = QUEUE_MAX_DEFAULT,
        pipeline_depth: int = PIPELINE_DEPTH_DEFAULT,
        production: bool = False,
        owns_store: bool = True,
    ) -> None:
        refuse_simulated_in_production(clock, production)
        if not 1 <= group_max <= GROUP_MAX_MAX:
            raise ValueError(f"group_max must be 1..{GROUP_MAX_MAX}")
        if checkpoint_every < 1 or snapshot_every < 1 or idempotency_window < 1:
            raise ValueError("checkpoint_every, snapshot_every, idempotency_window must be >= 1")
        if pipeline_depth < 1 or queue_max < 1:
            raise ValueError("pipeline_depth and queue_max must be >= 1")
        self.exchange = exchange
        self.store = store
        self.clock = clock
        self.production = production
        self.group_max = group_max
        self.checkpoint_every = checkpoint_every
        self.snapshot_every = snapshot_every
        self.idempotency_window = idempotency_window
        self.pipeline_depth = pipeline_depth
        self.stats = EngineStats()
        self.recovery: RecoveryReport | None = None
        """Set by ``open_engine``: what the restart replayed and how long it took."""
        self._key = key
        self._simulated = isinstance(clock, SimulatedClock)
        # Never later than the exchange's next timer (earlier after timers went away), so
        # the check before each command is O(1), not a scan of every market.
        self._due: int | None = exchange.next_timer()
        start: Head = head if head is not None else (0, bytes(32))
        self._head: Head = start  # durable: set by the writer thread
        self._exec_head: Head = start  # executed: the engine thread's chain head
        self._last_ts_us = last_ts_us
        self._idempotency = idempotency if idempotency is not None else OrderedDict()
        # Keyed commands not yet known durable: seq -> (command, result), for duplicates.
        self._recent: dict[int, tuple[dc.Command, Result]] = {}
        self._recent_seqs: deque[int] = deque()
        self._last_checkpoint_seq = last_checkpoint_seq
        self._last_snapshot_seq = last_snapshot_seq
        self._owns_store = owns_store
        # The inbox: a deque guarded by _gate for puts (pops are the engine thread's).
        self._queue_max = queue_max
        self._inbox: deque[_Item] = deque()
        self._gate = threading.Lock()  # orders "refuse new submits" against inbox puts
        self._inbox_ready = threading.Condition(self._gate)
        self._engine_idle = False  # the engine thread waits on _inbox_ready
        self._stopped: BaseException | None = None
        # The pipeline between the engine thread and the writer thread.
        self._pipe: deque[_Batch] = deque()
        self._pipe_cv = threading.Condition()
        self._in_flight = 0  # batches handed to the writer and not done
        self._writer_idle = False
        self._engine_waiting = False
        self._failure: BaseException | None = None  # the writer's EngineStopped
        self._handed: deque[_Batch] = deque()  # engine thread: handed, not yet reaped
        self._state_subscribers: tuple[Subscriber, ...] = ()  # engine thread, drained
        self._pure_subscribers: tuple[Subscriber, ...] = ()  # writer thread
        self._building: _Batch | None = None
        self._taken: list[_Item] = []
        self._thread = threading.Thread(target=self._run, name="augury-engine", daemon=True)
        self._writer = threading.Thread(
            target=self._write_loop, name="augury-journal-writer", daemon=True
        )

    # ------------------------------------------------------------------ public API
    def start(self) -> None:
        self._writer.start()
        self._thread.start()

    @property
    def head(self) -> Head:
        """(seq, hash) of the last durable record."""
        return self._head

    @property
    def running(self) -> bool:
        return self._stopped is None and self._thread.is_alive()

    def submit(self, command: dc.Command, account: str = "", key: str = "") -> Ack[Result]:
        """Queue ``command``; the Ack resolves once its group is durable (thread-safe).

        With ``key``, the pair (account, key) is an idempotency key: a command already
        accepted under it is not executed again; the original Result is returned.
        """
        ack: Ack[Result] = Ack()
        self._put((command, account, key, ack))
        return ack

    async def asubmit(self, command: dc.Command, account: str = "", key: str = "") -> Result:
        """``submit`` for asyncio: await the Result without blocking the event loop.

        The answers of one group reach each event loop in one ``call_soon_threadsafe``.
        """
        future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self._put((command, account, key, future))
        return await future

    def checkpoint(self) -> Future[int]:
        """Append a signed checkpoint of the head now; resolves to its seq once durable."""
        future: Future[int] = Future()
        self._put(_Control("checkpoint", future))
        return future

    def snapshot(self) -> Future[int]:
        """Save a snapshot of the state at the head; resolves to the head seq once saved."""
        future: Future[int] = Future()
        self._put(_Control("snapshot", future))
        return future

    def query(self, fn: Callable[[Exchange], T]) -> Future[T]:
        """Run ``fn(exchange)`` on the engine thread once every command queued before it
        is durable (a consistent, durable view; ``fn`` may also read ``engine.store``)."""
        future: Future[T] = Future()
        self._put(_Control("query", future, fn))
        return future

    def subscribe(self, callback: Subscriber, *, reads_state: bool = True) -> None:
        """Call ``callback(seq, ts_us, entry)`` for each command record once durable,
        in journal order. Exceptions are logged and ignored; keep it quick.

        ``reads_state=True`` (the default): it runs on the engine thread, after the
        record's group is durable and before any later command is executed, so it may
        read ``engine.exchange`` (then exactly the state at the end of that group) and
        ``engine.store``. While such a subscriber is registered, the engine does not
        execute ahead of the journal (no pipelining). ``reads_state=False``: it gets
        only its arguments and must touch neither; it runs on the writer thread right
        after the group's answers, while the engine thread executes later groups. Either
        kind may submit or query, but must never wait for an answer (nor ``close``): the
        thread it would wait on is the one running it.
        """
        if reads_state:
            self._state_subscribers = (*self._state_subscribers, callback)
        else:
            self._pure_subscribers = (*self._pure_subscribers, callback)

    def close(self, timeout_s: float | None = None) -> None:
        """Finish what is queued, stop the threads, release the journal. Idempotent."""
        stop: Future[None] = Future()
        with self._gate:
            if self._stopped is None:
                self._stopped = EngineStopped("the engine is closed")
                self._inbox.append(_Control(_STOP, stop))
                self._inbox_ready.notify()
        if self._thread.is_alive():
            self._thread.join(timeout_s)
        elif self._thread.ident is None:  # never started: nothing else owns the store
            self._release_store()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _put(self, item: _Item) -> None:
        with self._gate:
            if self._stopped is not None:
                raise EngineStopped(str(self._stopped)) from self._stopped
            if len(self._inbox) >= self._queue_max:
                raise EngineOverloaded(f"{self._queue_max} commands already queued")
            self._inbox.append(item)
            if self._engine_idle:
                self._engine_idle = False
                self._inbox_ready.notify()

    # ------------------------------------------------------------------ engine thread
    def _run(self) -> None:
        try:
            while self._failure is None:
                self._reap()
                items = self._taken = self._take()
                if self._process(items):
                    break
        except BaseException as exc:  # memory may be ahead of the journal: never go on
            if self._failure is None:
                log.exception("engine stopped by an error; restart it to recover from the journal")
            self._engine_failed(exc)
            return
        if self._failure is not None:  # the writer failed: answer what the engine holds
            self._engine_failed(self._failure)
            return
        self._writer.join()
        self._fail_queued(self._stopped or EngineStopped("the engine is closed"))

    def _take(self) -> list[_Item]:
        """Up to ``group_max`` queued items, waiting (at most until the next timer) only
        when there are none: a group never waits to fill."""
        inbox = self._inbox
        if not inbox:
            wait_s = self._idle_wait_s()
            with self._gate:
                if not inbox:
                    self._engine_idle = True
                    self._inbox_ready.wait(wait_s)
                    self._engine_idle = False
        n = min(len(inbox), self.group_max)
        pop = inbox.popleft
        return [pop() for _ in range(n)]

    def _idle_wait_s(self) -> float:
        if self._simulated:
            return TIMER_WAIT_MAX_S  # timers run only through AdvanceClock
        due = self._due = self.exchange.next_timer()  # refresh the bound while idle
        if due is None:
            return TIMER_WAIT_MAX_S
        wait_s = (due - self.clock.now_us()) / 1_000_000
        return min(TIMER_WAIT_MAX_S, max(0.001, wait_s))

    def _process(self, items: list[_Item]) -> bool:
        """Execute ``items`` in order into batches handed to the writer; True on stop."""
        batch = self._building = _Batch(self._exec_head)
        self._run_timers(batch)
        stop = False
        # The hot loop: locals, no method call per command beyond the core's.
        clock_now = self.clock.now_us
        execute = self.exchange.execute
        simulated = self._simulated
        stats = self.stats
        targets = batch.targets
        values = batch.values
        count = 0
        for item in items:
            count += 1
            if isinstance(item, _Control):
                if item.kind == _STOP:
                    targets.append(item.future)
                    values.append(None)
                    stop = True
                    break
                batch.items += count
                count = 0
                batch = self._control(item, batch)
                targets = batch.targets
                values = batch.values
                continue
            command, account, key, target = item
            if key and self._duplicate(command, account, key, target, batch):
                continue
            now = clock_now()
            if now < self._last_ts_us:
                now = self._last_ts_us  # records' ts_us never decrease
            due = self._due
            if due is not None and due <= now and not simulated:
                self._run_timers(batch)
            if type(command) is AdvanceClock:
                result = self._advance(command, now)
                if result.ok:
                    self._record(batch, command.to_us, command, result, account, key)
                else:
                    stats.rejected += 1
            else:
                result = execute(command, now)
                if result.ok:
                    self._record(batch, now, command, result, account, key)
                else:
                    stats.rejected += 1
            targets.append(target)
            values.append(result)
        batch.items += count
        self._forget_old_keys()
        if self._exec_head[0] - self._last_snapshot_seq >= self.snapshot_every:
            self._add_snapshot(batch, None)
        batch.stop = stop
        self._hand_over(batch)
        return stop

    def _record(
        self,
        batch: _Batch,
        now: int,
        command: dc.Command,
        result: Result,
        account: str,
        key: str,
    ) -> None:
        events = result.events
        if not self._simulated:  # simulated time runs timers only through AdvanceClock
            self._note_timers(events)
        entry = Entry(command, events, account, key)  # type: ignore[arg-type]
        body = _entry_encode(entry)
        seq, prev_hash = self._exec_head
        seq += 1
        if len(body) <= BODY_LEN_MAX and TS_US_MIN <= now <= TS_US_MAX:
            header = _COMMAND_HEADER.pack(
                MAGIC, seq, now, 7, _KIND_COMMAND_BYTES, prev_hash, len(body)
            )
            if len(body) < _HASH_CHUNK:
                digest = _sha256(header + body).digest()
            else:
                digest = _hash_in_chunks(header, body)
            record = JournalRecord(seq, now, KIND_COMMAND, body, prev_hash, digest)
        else:  # out of range: make_record raises the ValueError (and the engine stops)
            record = next_record(self._exec_head, now, KIND_COMMAND, body)
        batch.records.append(record)
        self._exec_head = batch.head = (seq, record.hash)
        self._last_ts_us = now
        batch.entries.append(entry)
        self.stats.accepted += 1
        if key:
            self._remember(account, key, seq, command, result)
        if seq - self._last_checkpoint_seq >= self.checkpoint_every:
            self._add_checkpoint(batch)

    def _note_timers(self, events: tuple[ev.Event, ...]) -> None:
        """Lower the timer bound for the timers these events create (closes, GTD expiries,
        resolution deadlines, challenge windows)."""
        due = self._due
        for event in events:
            if type(event) is ev.MarketCreated:
                at: int | None = event.close_at
            elif type(event) is ev.OrderAccepted:
                at = event.expires_at
            elif type(event) is ev.ResolutionSpecSet:
                at = event.deadline_us
            elif type(event) is ev.OutcomeProposed:
                at = event.challenge_ends_at
            else:
                continue
            if at:
                due = at if due is None or at < due else due
        self._due = due

    def _remember(self, account: str, key: str, seq: int, command: dc.Command, r: Result) -> None:
        memo = self._idempotency
        pair = (account, key)
        memo.pop(pair, None)
        memo[pair] = seq
        self._recent[seq] = (command, r)
        self._recent_seqs.append(seq)

    def _forget_old_keys(self) -> None:
        """Keep only the keys of the last ``idempotency_window`` records (per group)."""
        memo = self._idempotency
        oldest = self._exec_head[0] - self.idempotency_window
        while memo:
            first = next(iter(memo.items()))
            if first[1] > oldest:
                break
            del memo[first[0]]

    def _duplicate(
        self, command: dc.Command, account: str, key: str, target: Any, batch: _Batch
    ) -> bool:
        """Answer a keyed command that must not run (bad key, or already accepted)."""
        if not 0 < len(key) <= IDEMPOTENCY_KEY_LEN_MAX or len(account) > 256:
            message = f"key must be 1..{IDEMPOTENCY_KEY_LEN_MAX} characters"
            batch.answer(target, Result(False, (), CODE_INVALID_KEY, message))
            return True
        seq = self._idempotency.get((account, key))
        if seq is None:
            return False
        self.stats.duplicates += 1
        # Answered with this batch, so never before the original (an earlier or the
        # same batch) is durable.
        pending = self._recent.get(seq)
        if pending is None:  # durable already: the writer reads it back from the journal
            batch.answer(target, _Lookup(seq, command))
            return True
        original, result = pending
        if original is not command and _command_encode(original) != _command_encode(command):
            result = _key_reused(seq)
        batch.answer(target, result)
        return True

    def _advance(self, command: AdvanceClock, now: int) -> Result:
        refusal = self._check_advance(command, now)
        if refusal is not None:
            return refusal
        result = execute_entry(self.exchange, command, command.to_us)
        if result.ok:
            assert isinstance(self.clock, SimulatedClock)
            self.clock._set_by_engine(command.to_us)
        return result

    def _check_advance(self, command: AdvanceClock, now: int) -> Result | None:
        if not self._simulated:
            message = "AdvanceClock needs a SimulatedClock; this engine runs on system time"
            return Result(False, (), CODE_CLOCK_NOT_SIMULATED, message)
        if command.to_us < now:
            message = f"cannot move the clock back from {now} to {command.to_us}"
            return Result(False, (), Code.TIME_WENT_BACKWARDS.value, message)
        return None

    def _now_us(self) -> int:
        # Records' ts_us never decrease, even with a clock that is not monotonic.
        return max(self.clock.now_us(), self._last_ts_us)

    def _run_timers(self, batch: _Batch) -> None:
        """System clock: expire orders and close markets that fell due, as a journaled Tick."""
        if self._simulated or self._due is None:
            return
        now = self._now_us()
        if self._due > now:
            return
        due = self._due = self.exchange.next_timer()  # the bound may be early: look again
        if due is None or due > now:
            return
        result = self.exchange.execute(dc.Tick(), now)
        assert result.ok
        self._due = self.exchange.next_timer()
        if result.events:
            self._record(batch, now, dc.Tick(), result, "", "")

    def _add_checkpoint(self, batch: _Batch) -> int:
        record = checkpoint_record(self._exec_head, self._last_ts_us, self._key)
        batch.records.append(record)
        batch.entries.append(None)
        self._exec_head = batch.head = (record.seq, record.hash)
        self._last_checkpoint_seq = record.seq
        self.stats.checkpoints += 1
        return record.seq

    def _add_snapshot(self, batch: _Batch, future: Future[int] | None) -> None:
        """Dump the state as of the executed head; the writer saves it once durable."""
        seq, digest = self._exec_head
        self._last_snapshot_seq = seq
        if seq == 0:
            if future is not None:
                batch.answer(future, 0)
            return
        started = time.perf_counter()
        state = snapshot.dump(self.exchange)
        log.debug("snapshot at seq %d dumped in %.3f s", seq, time.perf_counter() - started)
        batch.snapshots.append((seq, digest, state, future))

    def _control(self, control: _Control, batch: _Batch) -> _Batch:
        """Handle a control item; returns the batch to go on with."""
        if control.kind == "checkpoint":
            self._last_ts_us = self._now_us()
            batch.answer(control.future, self._add_checkpoint(batch))
            return batch
        if control.kind == "snapshot":
            self._add_snapshot(batch, control.future)
            return batch
        assert control.kind == "query" and control.query is not None
        # Everything before it must be durable (and published) first: hand over, drain.
        self._hand_over(batch)
        self._drain()
        if self._failure is not None:
            raise self._failure
        try:
            answer = control.query(self.exchange)
        except Exception as exc:  # the caller's bug, not the engine's
            _fail(control.future, exc)
        else:
            _resolve(control.future, answer)
        batch = self._building = _Batch(self._exec_head)
        return batch

    # ------------------------------------------------------------------ the pipeline
    def _hand_over(self, batch: _Batch) -> None:
        """Give ``batch`` to the writer (waiting while ``pipeline_depth`` are in flight)."""
        if batch.empty():
            return
        cv = self._pipe_cv
        with cv:
            if self._in_flight >= self.pipeline_depth and not batch.stop:
                self.stats.pipeline_full += 1
                self._engine_waiting = True
                while self._in_flight >= self.pipeline_depth and self._failure is None:
                    cv.wait()
                self._engine_waiting = False
            if self._failure is not None:
                raise self._failure
            batch.defer_answers = bool(self._state_subscribers)
            self._pipe.append(batch)
            self._in_flight += 1
            if self._writer_idle:
                cv.notify_all()
        self._handed.append(batch)
        self.stats.batches += 1
        if self._state_subscribers:  # they read the state: it must not run ahead
            self._reap()

    def _drain(self) -> None:
        """Wait until every handed batch is durable and answered, then publish them."""
        cv = self._pipe_cv
        with cv:
            self._engine_waiting = True
            while self._in_flight and self._failure is None:
                cv.wait()
            self._engine_waiting = False
        self._reap(drained=True)

    def _reap(self, drained: bool = False) -> None:
        """Forget what became durable; publish it to the state-reading subscribers (on a
        drained pipeline, so the exchange is exactly at the durable head)."""
        subscribers = self._state_subscribers
        if subscribers and not drained:
            self._drain()
            return
        handed = self._handed
        while handed and handed[0].done:
            batch = handed.popleft()
            if batch.defer_answers:  # durable: publish it, then answer it
                if self._failure is None:
                    _publish(subscribers, batch)
                _answer(batch.targets, batch.values)
        durable = self._head[0]
        recent, seqs = self._recent, self._recent_seqs
        while seqs and seqs[0] <= durable:
            del recent[seqs.popleft()]

    # ------------------------------------------------------------------ writer thread
    def _write_loop(self) -> None:
        cv = self._pipe_cv
        pipe = self._pipe
        batches: list[_Batch] = []
        try:
            while True:
                with cv:
                    while not pipe:
                        self._writer_idle = True
                        cv.wait()
                    self._writer_idle = False
                    # Merge what is waiting into one transaction, up to group_max items.
                    first = pipe.popleft()
                    batches = [first]
                    items = first.items
                    while pipe and not batches[-1].stop:
                        if items + pipe[0].items > self.group_max:
                            break
                        batch = pipe.popleft()
                        items += batch.items
                        batches.append(batch)
                stop = self._write(batches)
                with cv:
                    self._in_flight -= len(batches)
                    if self._engine_waiting:
                        cv.notify_all()
                if stop:
                    break
        except BaseException as exc:
            self._writer_failed(exc, batches)
            return
        self._release_store()

    def _write(self, batches: list[_Batch]) -> bool:
        if len(batches) == 1:
            records = batches[0].records
        else:
            records = [record for batch in batches for record in batch.records]
        if records:
            # The line that makes everything durable. If it raises, the engine stops.
            # hashed: _record (and checkpoint_record) computed every hash on this process.
            self.store.append(records, hashed=True)
            self.stats.appends += 1
            self.stats.records += len(records)
        self._head = batches[-1].head
        for batch in batches:
            values = batch.values
            for i, value in enumerate(values):
                if type(value) is _Lookup:
                    values[i] = self._original(value)
            if not batch.defer_answers:
                _answer(batch.targets, values)
        subscribers = self._pure_subscribers
        if subscribers:
            for batch in batches:
                _publish(subscribers, batch)
        stop = False
        for batch in batches:
            for seq, digest, state, future in batch.snapshots:
                self._save_snapshot(seq, digest, state, future)
            batch.done = True
            stop = stop or batch.stop
        return stop

    def _original(self, lookup: _Lookup) -> Result:
        """The Result first given for the command journaled at ``lookup.seq``."""
        record = self.store.get(lookup.seq)
        assert record is not None, f"idempotency key points at missing seq {lookup.seq}"
        entry = decode_entry(record.body)
        if _command_encode(entry.command) != _command_encode(lookup.command):
            return _key_reused(lookup.seq)
        return Result(ok=True, events=tuple(entry.events))

    def _save_snapshot(
        self, seq: int, digest: bytes, state: bytes, future: Future[int] | None
    ) -> None:
        started = time.perf_counter()
        try:
            self.store.save_snapshot(seq, digest, state)
        except Exception as exc:  # the journal alone is enough to recover; go on
            if future is None:
                log.exception("periodic snapshot at seq %d failed", seq)
            else:
                _fail(future, exc)
            return
        self.stats.snapshots += 1
        log.info(
            "snapshot at seq %d: %d bytes in %.3f s", seq, len(state), time.perf_counter() - started
        )
        if future is not None:
            _resolve(future, seq)

    # ------------------------------------------------------------------ stopping
    def _stopped_error(self, exc: BaseException) -> EngineStopped:
        error = EngineStopped(
            "the engine stopped after an error and answers nothing more (commands in flight "
            f"may or may not be in the journal; restart to recover from it): {exc!r}"
        )
        error.__cause__ = exc
        return error

    def _writer_failed(self, exc: BaseException, batches: list[_Batch]) -> None:
        """An append failed: nothing after the last durable batch may be answered."""
        log.exception("journal writer stopped by an error; restart to recover from the journal")
        error = self._stopped_error(exc)
        with self._gate:
            self._stopped = error
            self._inbox_ready.notify()  # wake an idle engine thread, so that it stops
        self._release_store()  # first, so that a caller told of the failure can reopen it
        with self._pipe_cv:
            self._failure = error
            pending = [*batches, *self._pipe]
            self._pipe.clear()
            self._pipe_cv.notify_all()
        for batch in pending:
            _fail_all(batch.targets, error)
            for _, _, _, future in batch.snapshots:
                if future is not None:
                    _fail(future, error)
        self._fail_queued(error)

    def _engine_failed(self, exc: BaseException) -> None:
        """The engine thread stops: let the writer finish what was handed over (it was
        executed before the error and is sound), then fail everything else."""
        error = exc if isinstance(exc, EngineStopped) else self._stopped_error(exc)
        with self._gate:
            if self._failure is None:
                self._stopped = error
        if self._failure is None:
            stop = _Batch(self._exec_head)
            stop.stop = True
            with self._pipe_cv:
                if self._failure is None:
                    self._pipe.append(stop)
                    self._in_flight += 1
                    self._pipe_cv.notify_all()
        self._writer.join()  # it releases the store
        for batch in self._handed:  # durable, but not answered yet: answer them
            if batch.done and batch.defer_answers:
                _answer(batch.targets, batch.values)
        self._handed.clear()
        targets: list[Any] = []
        if self._building is not None and not self._building.done:
            targets += self._building.targets
        for item in self._taken:
            targets.append(item.future if isinstance(item, _Control) else item[3])
        _fail_all(targets, error)
        self._fail_queued(error)

    def _fail_queued(self, error: BaseException) -> None:
        targets: list[Any] = []
        while True:
            try:
                item = self._inbox.popleft()
            except IndexError:
                break
            targets.append(item.future if isinstance(item, _Control) else item[3])
        _fail_all(targets, error)

    def _release_store(self) -> None:
        """Give up the writer lock; close the store too if the engine opened it."""
        try:
            if self._owns_store:
                self.store.close()
            else:
                self.store.release_writer()
        except Exception:
            log.exception("closing the journal store failed")


def refuse_simulated_in_production(clock: Clock, production: bool) -> None:
    if production and isinstance(clock, SimulatedClock):
        raise ValueError(
            "production mode refuses a SimulatedClock: a production engine must run on "
            "SystemClock (simulated time is for tests, replays and backtests)"
        )


def _key_reused(seq: int) -> Result:
    message = f"this key was used for a different command (seq {seq})"
    return Result(False, (), CODE_KEY_REUSED, message)


def _publish(subscribers: tuple[Subscriber, ...], batch: _Batch) -> None:
    published = [
        (record.seq, record.ts_us, entry)
        for record, entry in zip(batch.records, batch.entries, strict=True)
        if entry is not None
    ]
    for callback in subscribers:
        for seq, ts_us, entry in published:
            try:
                callback(seq, ts_us, entry)
            except Exception:
                log.exception("subscriber %r failed on seq %d; ignored", callback, seq)


def _answer(targets: list[Any], values: list[Any]) -> None:
    """Complete the answers of one group, in order: acks in one go, asyncio futures in
    one call per event loop, concurrent futures (controls) one by one."""
    acks: list[Ack[Any]] = []
    results: list[Any] = []
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[Any, Any, bool]]] | None = None
    for target, value in zip(targets, values, strict=True):
        kind = type(target)
        if kind is Ack:
            acks.append(target)
            results.append(value)
        elif kind is Future:
            _resolve(target, value)
        else:
            if by_loop is None:
                by_loop = {}
            by_loop.setdefault(target.get_loop(), []).append((target, value, False))
    if acks:
        settle(acks, results)
    if by_loop:
        _settle_loops(by_loop)


def _resolve(future: Future[Any], answer: Any) -> None:
    with contextlib.suppress(InvalidStateError):  # cancelled by the caller; it still ran
        future.set_result(answer)


def _fail(future: Future[Any], error: BaseException) -> None:
    with contextlib.suppress(InvalidStateError):  # answered or cancelled already
        future.set_exception(error)


def _fail_all(targets: list[Any], error: BaseException) -> None:
    """Fail acks, concurrent and asyncio futures alike (those not answered yet)."""
    acks: list[Ack[Any]] = []
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[Any, Any, bool]]] = {}
    for target in targets:
        if type(target) is Ack:
            acks.append(target)
        elif isinstance(target, Future):
            _fail(target, error)
        else:
            by_loop.setdefault(target.get_loop(), []).append((target, error, True))
    settle(acks, [error] * len(acks), error=True)
    _settle_loops(by_loop)


def _settle_loops(by_loop: dict[asyncio.AbstractEventLoop, list[tuple[Any, Any, bool]]]) -> None:
    for loop, answers in by_loop.items():
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits
            loop.call_soon_threadsafe(_settle, answers)


def _settle(answers: list[tuple[Any, Any, bool]]) -> None:
    """On the event loop: complete the asyncio futures of one group."""
    for future, answer, error in answers:
        if future.done():  # cancelled by its task (it still ran), or already failed
            continue
        if error:
            future.set_exception(answer)
        else:
            future.set_result(answer)
