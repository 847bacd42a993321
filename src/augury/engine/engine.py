"""The engine: one thread applies commands to the exchange, journals them, then answers.

Threading model: callers on any thread (or asyncio task) call :meth:`Engine.submit`,
which puts the command on a bounded queue and returns a ``Future``. One engine thread
owns the ``Exchange`` and the ``JournalStore``; nothing else touches them while it runs.

Group commit: the engine thread takes the first queued item, then up to ``group_max - 1``
more that are already queued (it never waits to fill a group), executes each in order,
builds one journal record per ACCEPTED command, appends the whole group with ONE
``store.append`` (one transaction, one fsync) and only then completes the futures. A
rejected command changes nothing, so it gets no record; it is answered with its group.

Failure: if the append (or anything else on the engine thread) raises, memory may be
ahead of the disk, so the engine stops for good: it releases the journal, every pending
future fails with :class:`EngineStopped`, and new submits are refused. Recovery is
a restart (``recovery.open_engine``), which rebuilds the state from the journal.

This module must never answer a command before its record is durable.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future, InvalidStateError
from dataclasses import dataclass, field
from typing import Any, TypeVar

import msgspec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from augury.domain import commands as dc
from augury.domain import events as ev
from augury.domain import snapshot
from augury.domain.exchange import Exchange, Result
from augury.domain.rejections import Code
from augury.engine.clock import Clock, SimulatedClock
from augury.engine.entry import AdvanceClock, Entry, decode_entry, encode_entry, execute_entry
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

log = logging.getLogger(__name__)

T = TypeVar("T")

GROUP_MAX_DEFAULT = 512
GROUP_MAX_MAX = GROUP_RECORDS_MAX // 4
"""An item adds at most 4 records (a Tick, itself, a checkpoint after each): one append fits."""
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


class EngineError(Exception):
    """Base of the engine's own errors."""


class EngineStopped(EngineError):
    """The engine has stopped (closed, or failed) and answers no more commands."""


class EngineOverloaded(EngineError):
    """The submission queue is full; retry later."""


@dataclass(slots=True)
class _Submission:
    command: dc.Command
    account: str
    key: str
    future: Future[Result]


@dataclass(slots=True)
class _Control:
    """A request run on the engine thread: a checkpoint, a snapshot, a state query, stop."""

    kind: str
    future: Future[Any]
    query: Callable[[Exchange], Any] | None = None


@dataclass
class _Group:
    """What one group has built so far; committed only once the append returned."""

    head: Head
    last_ts_us: int
    last_checkpoint_seq: int
    records: list[JournalRecord] = field(default_factory=list)
    answers: list[tuple[Future[Any], Any]] = field(default_factory=list)
    published: list[tuple[int, int, Entry]] = field(default_factory=list)
    results: dict[int, tuple[bytes, Result]] = field(default_factory=dict)
    keys: dict[tuple[str, str], int] = field(default_factory=dict)
    after: list[_Control] = field(default_factory=list)


@dataclass
class EngineStats:
    appends: int = 0
    records: int = 0
    accepted: int = 0
    rejected: int = 0
    duplicates: int = 0
    checkpoints: int = 0
    snapshots: int = 0


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
        production: bool = False,
        owns_store: bool = True,
    ) -> None:
        refuse_simulated_in_production(clock, production)
        if not 1 <= group_max <= GROUP_MAX_MAX:
            raise ValueError(f"group_max must be 1..{GROUP_MAX_MAX}")
        if checkpoint_every < 1 or snapshot_every < 1 or idempotency_window < 1:
            raise ValueError("checkpoint_every, snapshot_every, idempotency_window must be >= 1")
        self.exchange = exchange
        self.store = store
        self.clock = clock
        self.production = production
        self.group_max = group_max
        self.checkpoint_every = checkpoint_every
        self.snapshot_every = snapshot_every
        self.idempotency_window = idempotency_window
        self.stats = EngineStats()
        self.recovery: RecoveryReport | None = None
        """Set by ``open_engine``: what the restart replayed and how long it took."""
        self._key = key
        self._simulated = isinstance(clock, SimulatedClock)
        # Never later than the exchange's next timer (earlier after timers went away), so
        # the check before each command is O(1), not a scan of every market.
        self._due: int | None = exchange.next_timer()
        self._head: Head = head if head is not None else (0, bytes(32))
        self._last_ts_us = last_ts_us
        self._idempotency = idempotency if idempotency is not None else OrderedDict()
        self._last_checkpoint_seq = last_checkpoint_seq
        self._last_snapshot_seq = last_snapshot_seq
        self._owns_store = owns_store
        self._queue: queue.Queue[_Submission | _Control] = queue.Queue(queue_max)
        self._gate = threading.Lock()  # orders "refuse new submits" against queue puts
        self._stopped: BaseException | None = None
        self._subscribers: tuple[Subscriber, ...] = ()
        self._thread = threading.Thread(target=self._run, name="augury-engine", daemon=True)

    # ------------------------------------------------------------------ public API
    def start(self) -> None:
        self._thread.start()

    @property
    def head(self) -> Head:
        """(seq, hash) of the last durable record (as of the last committed group)."""
        return self._head

    @property
    def running(self) -> bool:
        return self._stopped is None and self._thread.is_alive()

    def submit(self, command: dc.Command, account: str = "", key: str = "") -> Future[Result]:
        """Queue ``command``; the future resolves once its group is durable (thread-safe).

        With ``key``, the pair (account, key) is an idempotency key: a command already
        accepted under it is not executed again; the original Result is returned.
        """
        future: Future[Result] = Future()
        self._put(_Submission(command, account, key, future))
        return future

    async def asubmit(self, command: dc.Command, account: str = "", key: str = "") -> Result:
        """``submit`` for asyncio: await the Result without blocking the event loop."""
        return await asyncio.wrap_future(self.submit(command, account, key))

    def checkpoint(self) -> Future[int]:
        """Append a signed checkpoint of the head now; resolves to its seq once durable."""
        future: Future[int] = Future()
        self._put(_Control("checkpoint", future))
        return future

    def snapshot(self) -> Future[int]:
        """Save a snapshot of the state at the head; resolves to the head seq."""
        future: Future[int] = Future()
        self._put(_Control("snapshot", future))
        return future

    def query(self, fn: Callable[[Exchange], T]) -> Future[T]:
        """Run ``fn(exchange)`` on the engine thread, between groups (a consistent view)."""
        future: Future[T] = Future()
        self._put(_Control("query", future, fn))
        return future

    def subscribe(self, callback: Subscriber) -> None:
        """Call ``callback(seq, ts_us, entry)`` for each command record once durable.

        Runs on the engine thread, so keep it quick; exceptions are logged and ignored.
        """
        self._subscribers = (*self._subscribers, callback)

    def close(self, timeout_s: float | None = None) -> None:
        """Finish what is queued, stop the thread, release the journal. Idempotent."""
        stop: Future[None] = Future()
        with self._gate:
            if self._stopped is None:
                self._stopped = EngineStopped("the engine is closed")
                self._queue.put(_Control(_STOP, stop))
        if self._thread.is_alive():
            self._thread.join(timeout_s)
        elif self._thread.ident is None:  # never started: nothing else owns the store
            self._release_store()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _put(self, item: _Submission | _Control) -> None:
        with self._gate:
            if self._stopped is not None:
                raise EngineStopped(str(self._stopped)) from self._stopped
            try:
                self._queue.put_nowait(item)
            except queue.Full:
                raise EngineOverloaded(f"{self._queue.maxsize} commands already queued") from None

    # ------------------------------------------------------------------ engine thread
    def _run(self) -> None:
        items: list[_Submission | _Control] = []
        try:
            while True:
                items = self._take()
                stop = any(isinstance(i, _Control) and i.kind == _STOP for i in items)
                self._process(items)
                if stop:
                    break
        except BaseException as exc:  # memory may be ahead of the journal: never go on
            log.exception("engine stopped by an error; restart it to recover from the journal")
            self._fail(exc, items)
            return
        self._release_store()
        self._fail_queued(self._stopped or EngineStopped("the engine is closed"))

    def _take(self) -> list[_Submission | _Control]:
        """The first queued item (waiting at most until the next timer), then up to
        ``group_max - 1`` more that are already queued: a group never waits to fill."""
        try:
            first = self._queue.get(timeout=self._idle_wait_s())
        except queue.Empty:
            return []
        items = [first]
        get = self._queue.get_nowait
        for _ in range(self.group_max - 1):
            try:
                items.append(get())
            except queue.Empty:
                break
        return items

    def _idle_wait_s(self) -> float:
        if self._simulated:
            return TIMER_WAIT_MAX_S  # timers run only through AdvanceClock
        due = self._due = self.exchange.next_timer()  # refresh the bound while idle
        if due is None:
            return TIMER_WAIT_MAX_S
        wait_s = (due - self.clock.now_us()) / 1_000_000
        return min(TIMER_WAIT_MAX_S, max(0.001, wait_s))

    def _process(self, items: list[_Submission | _Control]) -> None:
        group = _Group(self._head, self._last_ts_us, self._last_checkpoint_seq)
        self._run_timers(group)
        for item in items:
            if isinstance(item, _Submission):
                self._handle(item, group)
            else:
                self._control(item, group)
        if group.records:
            # The line that makes everything durable. If it raises, _run stops the engine.
            self.store.append(group.records)
            self.stats.appends += 1
            self.stats.records += len(group.records)
        self._commit(group)
        for future, answer in group.answers:
            _resolve(future, answer)
        self._publish(group.published)
        for control in group.after:
            self._after(control)
        if self._head[0] - self._last_snapshot_seq >= self.snapshot_every:
            try:
                self._save_snapshot()
            except Exception:  # the journal alone is enough to recover; go on
                log.exception("periodic snapshot at seq %d failed", self._head[0])

    def _commit(self, group: _Group) -> None:
        self._head = group.head
        self._last_ts_us = group.last_ts_us
        self._last_checkpoint_seq = group.last_checkpoint_seq
        memo = self._idempotency
        for pair, seq in group.keys.items():
            memo.pop(pair, None)
            memo[pair] = seq
        oldest = self._head[0] - self.idempotency_window
        while memo:
            pair, seq = next(iter(memo.items()))
            if seq > oldest:
                break
            del memo[pair]

    def _now_us(self, group: _Group) -> int:
        # Records' ts_us never decrease, even with a clock that is not monotonic.
        return max(self.clock.now_us(), group.last_ts_us)

    def _run_timers(self, group: _Group) -> None:
        """System clock: expire orders and close markets that fell due, as a journaled Tick."""
        if self._simulated or self._due is None:
            return
        now = self._now_us(group)
        if self._due > now:
            return
        due = self._due = self.exchange.next_timer()  # the bound may be early: look again
        if due is None or due > now:
            return
        result = self.exchange.execute(dc.Tick(), now)
        assert result.ok
        self._due = self.exchange.next_timer()
        if result.events:
            self._record(group, now, dc.Tick(), result, "", "")

    def _handle(self, item: _Submission, group: _Group) -> None:
        if item.key:
            if not 0 < len(item.key) <= IDEMPOTENCY_KEY_LEN_MAX or len(item.account) > 256:
                message = f"key must be 1..{IDEMPOTENCY_KEY_LEN_MAX} characters"
                group.answers.append((item.future, Result(False, (), CODE_INVALID_KEY, message)))
                return
            seq = self._key_seq(group, (item.account, item.key))
            if seq is not None:
                self.stats.duplicates += 1
                group.answers.append((item.future, self._original(seq, item.command, group)))
                return
        self._run_timers(group)
        now = self._now_us(group)
        command = item.command
        if isinstance(command, AdvanceClock):
            refusal = self._check_advance(command, now)
            if refusal is not None:
                self.stats.rejected += 1
                group.answers.append((item.future, refusal))
                return
            now = command.to_us
        result = execute_entry(self.exchange, command, now)
        if result.ok:
            self._note_timers(result.events)
            if isinstance(command, AdvanceClock):
                assert isinstance(self.clock, SimulatedClock)
                self.clock._set_by_engine(now)
            self._record(group, now, command, result, item.account, item.key)
        else:
            self.stats.rejected += 1
        group.answers.append((item.future, result))

    def _note_timers(self, events: tuple[ev.Event, ...]) -> None:
        """Lower the timer bound for the timers these events create (closes, GTD expiries)."""
        due = self._due
        for event in events:
            if isinstance(event, ev.MarketCreated):
                at = event.close_at
            elif isinstance(event, ev.OrderAccepted) and event.expires_at:
                at = event.expires_at
            else:
                continue
            due = at if due is None else min(due, at)
        self._due = due

    def _check_advance(self, command: AdvanceClock, now: int) -> Result | None:
        if not self._simulated:
            message = "AdvanceClock needs a SimulatedClock; this engine runs on system time"
            return Result(False, (), CODE_CLOCK_NOT_SIMULATED, message)
        if command.to_us < now:
            message = f"cannot move the clock back from {now} to {command.to_us}"
            return Result(False, (), Code.TIME_WENT_BACKWARDS.value, message)
        return None

    def _record(
        self,
        group: _Group,
        now: int,
        command: dc.Command,
        result: Result,
        account: str,
        key: str,
    ) -> None:
        entry = Entry(command, list(result.events), account, key)  # type: ignore[arg-type]
        record = next_record(group.head, now, KIND_COMMAND, encode_entry(entry))
        group.records.append(record)
        group.head = (record.seq, record.hash)
        group.last_ts_us = now
        group.published.append((record.seq, now, entry))
        self.stats.accepted += 1
        if key:
            group.keys[(account, key)] = record.seq
            group.results[record.seq] = (msgspec.json.encode(command), result)
        if record.seq - group.last_checkpoint_seq >= self.checkpoint_every:
            self._add_checkpoint(group)

    def _add_checkpoint(self, group: _Group) -> int:
        record = checkpoint_record(group.head, group.last_ts_us, self._key)
        group.records.append(record)
        group.head = (record.seq, record.hash)
        group.last_checkpoint_seq = record.seq
        self.stats.checkpoints += 1
        return record.seq

    def _key_seq(self, group: _Group, pair: tuple[str, str]) -> int | None:
        pending = group.keys.get(pair)  # a duplicate inside this very group
        return pending if pending is not None else self._idempotency.get(pair)

    def _original(self, seq: int, command: dc.Command, group: _Group) -> Result:
        """The Result first given for the command journaled at ``seq``."""
        pending = group.results.get(seq)
        if pending is not None:
            encoded, result = pending
        else:
            record = self.store.get(seq)
            assert record is not None, f"idempotency key points at missing seq {seq}"
            entry = decode_entry(record.body)
            encoded = msgspec.json.encode(entry.command)
            result = Result(ok=True, events=tuple(entry.events))
        if encoded != msgspec.json.encode(command):
            message = f"this key was used for a different command (seq {seq})"
            return Result(False, (), CODE_KEY_REUSED, message)
        return result

    def _control(self, control: _Control, group: _Group) -> None:
        if control.kind == "checkpoint":
            group.last_ts_us = self._now_us(group)
            group.answers.append((control.future, self._add_checkpoint(group)))
        elif control.kind in ("snapshot", "query"):
            group.after.append(control)  # runs once the group is durable
        else:
            assert control.kind == _STOP
            group.answers.append((control.future, None))

    def _after(self, control: _Control) -> None:
        if control.kind == "snapshot":
            try:
                _resolve(control.future, self._save_snapshot())
            except Exception as exc:
                control.future.set_exception(exc)
            return
        assert control.query is not None
        try:
            answer = control.query(self.exchange)
        except Exception as exc:  # the caller's bug, not the engine's
            control.future.set_exception(exc)
            return
        _resolve(control.future, answer)

    def _save_snapshot(self) -> int:
        seq, digest = self._head
        self._last_snapshot_seq = seq
        if seq == 0:
            return 0
        started = time.perf_counter()
        state = snapshot.dump(self.exchange)
        self.store.save_snapshot(seq, digest, state)
        self.stats.snapshots += 1
        log.info(
            "snapshot at seq %d: %d bytes in %.3f s", seq, len(state), time.perf_counter() - started
        )
        return seq

    def _publish(self, published: list[tuple[int, int, Entry]]) -> None:
        for callback in self._subscribers:
            for seq, ts_us, entry in published:
                try:
                    callback(seq, ts_us, entry)
                except Exception:
                    log.exception("subscriber %r failed on seq %d; ignored", callback, seq)

    # ------------------------------------------------------------------ stopping
    def _fail(self, exc: BaseException, in_flight: list[_Submission | _Control]) -> None:
        error = EngineStopped(
            "the engine stopped after an error and answers nothing more (commands in flight "
            f"may or may not be in the journal; restart to recover from it): {exc!r}"
        )
        error.__cause__ = exc
        with self._gate:
            self._stopped = error
        self._release_store()  # first, so that a caller told of the failure can reopen it
        for item in in_flight:  # none of them was answered: answers follow the append
            if not item.future.done():
                item.future.set_exception(error)
        self._fail_queued(error)

    def _fail_queued(self, error: BaseException) -> None:
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return
            if not item.future.done():
                item.future.set_exception(error)

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


def _resolve(future: Future[Any], answer: Any) -> None:
    with contextlib.suppress(InvalidStateError):  # cancelled by the caller; it still ran
        future.set_result(answer)
