"""The engine: one thread applies commands to the exchange, another journals them.

Threading model: callers on any thread (or asyncio task) call :meth:`Engine.submit`
(or :meth:`Engine.asubmit`), which puts the command on a bounded inbox. Two threads do
the rest:

- the **engine thread** owns the ``Exchange``: it takes up to ``group_max`` queued
  commands (it never waits to fill a group), executes each in order, builds one hash-
  chained journal record per ACCEPTED command and hands the group (a *batch*) to the
  writer. It then goes on with the next group while the previous one is being written.
  This module is that thread's side (and the public API).
- the **writer thread** owns the ``JournalStore``: it appends the batches in order and
  only then answers them. ``writer.py`` is its side, and the pipeline between the two
  (a base class of :class:`Engine`); it also says what happens on a failure: the engine
  stops for good, and a restart recovers from the journal.

At most ``pipeline_depth`` batches are handed over and not yet durable (backpressure:
the engine thread waits). A rejected command changes nothing, so it gets no record; it
is answered with its batch. Queries run on the engine thread once everything before
them is durable (the pipeline is drained), so they see the durable state and may read
the store. Subscribers that read the state (the default) also run on the engine thread
on a drained pipeline; while one is registered the engine does not run ahead.

The other parts: ``batch.py`` (the inbox's items and the batches), ``keys.py`` (the
idempotency keys: duplicates, forgetting old keys), ``answers.py``
(answering callers and subscribers), ``hashing.py`` (a command record's hash),
``errors.py`` (the engine's errors and own refusals), ``stats.py``.

The engine never answers a command before its record is durable.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import TypeVar, cast

import msgspec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from augury.domain import commands as dc
from augury.domain import events as ev
from augury.domain import snapshot
from augury.domain.exchange import Exchange, Result
from augury.domain.rejections import Code
from augury.engine.ack import Ack
from augury.engine.answers import Subscriber, fail, resolve
from augury.engine.batch import STOP, Batch, Control, Gathered, Item, Sequenced
from augury.engine.clock import Clock, SimulatedClock, SystemClock, refuse_simulated_in_production
from augury.engine.entry import AdvanceClock, Entry, execute_entry
from augury.engine.errors import (
    CODE_CLOCK_NOT_SIMULATED,
    EngineOverloaded,
    EngineStopped,
)
from augury.engine.hashing import COMMAND_HEADER, HASH_CHUNK, KIND_COMMAND_BYTES, hash_in_chunks
from augury.engine.keys import ACCOUNT_LEN_MAX, IDEMPOTENCY_KEY_LEN_MAX, KeysSide
from augury.engine.stats import EngineStats, RecoveryReport
from augury.engine.writer import WriterSide
from augury.journal import (
    GROUP_RECORDS_MAX,
    KIND_COMMAND,
    Head,
    JournalRecord,
    JournalStore,
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
TIMER_WAIT_MAX_S = 1.0
"""Longest idle sleep of the engine thread: bounds how late a timer can fire."""

# Module globals read by _record for every command (bench/engine.py swaps them out).
_sha256 = hashlib.sha256
_time_ns = time.time_ns  # SystemClock's source, read per command by the hot loop
_entry_encode = msgspec.json.Encoder().encode


class Engine(WriterSide, KeysSide):
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
        self._wall = type(clock) is SystemClock  # read directly in the hot loop
        # Never later than the exchange's next timer (earlier after timers went away), so
        # the check before each command is O(1), not a scan of every market.
        self._due: int | None = exchange.next_timer()
        start: Head = head if head is not None else (0, bytes(32))
        self._head: Head = start  # durable: set by the writer thread
        self._exec_head: Head = start  # executed: the engine thread's chain head
        self._last_ts_us = last_ts_us
        self._idempotency = idempotency if idempotency is not None else OrderedDict()
        self._last_checkpoint_seq = last_checkpoint_seq
        self._last_snapshot_seq = last_snapshot_seq
        self._owns_store = owns_store
        # The inbox: a deque guarded by _gate for puts (pops are the engine thread's).
        self._queue_max = queue_max
        self._inbox: deque[Item] = deque()
        self._gate = threading.Lock()  # orders "refuse new submits" against inbox puts
        self._inbox_ready = threading.Condition(self._gate)
        self._engine_idle = False  # the engine thread waits on _inbox_ready
        self._stopped: BaseException | None = None
        # The pipeline between the engine thread and the writer thread.
        self._pipe: deque[Batch] = deque()
        self._pipe_cv = threading.Condition()
        self._in_flight = 0  # batches handed to the writer and not done
        self._writer_idle = False
        self._engine_waiting = False
        self._failure: BaseException | None = None  # the writer's EngineStopped
        self._handed: deque[Batch] = deque()  # engine thread: handed, not yet reaped
        self._state_subscribers: tuple[Subscriber, ...] = ()  # engine thread, drained
        self._pure_subscribers: tuple[Subscriber, ...] = ()  # writer thread
        self._record_subscribers: tuple[Callable[[list[JournalRecord]], None], ...] = ()
        self._building: Batch | None = None
        self._taken: list[Item] = []
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

    async def asubmit_seq(
        self, command: dc.Command, account: str = "", key: str = ""
    ) -> tuple[Result, int]:
        """``asubmit``, answered with ``(Result, seq)`` (see ``Sequenced``)."""
        future: asyncio.Future[tuple[Result, int]] = asyncio.get_running_loop().create_future()
        self._put((command, account, key, Sequenced(future)))
        return await future

    def submit_many(
        self, requests: list[tuple[dc.Command, str, str]]
    ) -> list[asyncio.Future[tuple[Result, int]]]:
        """Queue (command, account, key) requests at once (all or none: EngineOverloaded
        if they do not fit), each answered as by ``asubmit_seq``: a batch from the bus."""
        loop = asyncio.get_running_loop()
        futures = [loop.create_future() for _ in requests]
        items = [(c, a, k, Sequenced(f)) for (c, a, k), f in zip(requests, futures, strict=True)]
        self._put_all(items)
        return futures

    async def asubmit_many(
        self, requests: list[tuple[dc.Command, str, str]]
    ) -> tuple[list[Result | EngineStopped], list[int]]:
        """``submit_many`` answered in one go (a ``Gathered``: one future, not one per
        command): each request's Result (or EngineStopped) and seq, in order."""
        if not requests:
            return [], []
        target = Gathered(asyncio.get_running_loop().create_future(), len(requests))
        self._put_all([(c, a, k, target) for c, a, k in requests])
        values: list[Result | EngineStopped] = await target.future
        return values, target.seqs

    def _put_all(self, items: Sequence[Item]) -> None:
        with self._gate:
            if self._stopped is not None:
                raise EngineStopped(str(self._stopped)) from self._stopped
            if len(self._inbox) + len(items) > self._queue_max:
                raise EngineOverloaded(f"{self._queue_max} commands already queued")
            self._inbox.extend(items)
            if self._engine_idle:
                self._engine_idle = False
                self._inbox_ready.notify()

    def checkpoint(self) -> Future[int]:
        """Append a signed checkpoint of the head now; resolves to its seq once durable."""
        future: Future[int] = Future()
        self._put(Control("checkpoint", future))
        return future

    def snapshot(self) -> Future[int]:
        """Save a snapshot of the state at the head; resolves to the head seq once saved."""
        future: Future[int] = Future()
        self._put(Control("snapshot", future))
        return future

    def query(self, fn: Callable[[Exchange], T]) -> Future[T]:
        """Run ``fn(exchange)`` on the engine thread once every command queued before it
        is durable (a consistent, durable view; ``fn`` may also read ``engine.store``)."""
        future: Future[T] = Future()
        self._put(Control("query", future, fn))
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

    def subscribe_records(self, callback: Callable[[list[JournalRecord]], None]) -> None:
        """Call ``callback(records)`` on the writer thread with each durable group's
        records (commands and checkpoints: the chain, contiguous), before its answers.
        It must only hand them over (the sequencer role publishes them on the bus)."""
        self._record_subscribers = (*self._record_subscribers, callback)

    def close(self, timeout_s: float | None = None) -> None:
        """Finish what is queued, stop the threads, release the journal. Idempotent."""
        stop: Future[None] = Future()
        with self._gate:
            if self._stopped is None:
                self._stopped = EngineStopped("the engine is closed")
                self._inbox.append(Control(STOP, stop))
                self._inbox_ready.notify()
        if self._thread.is_alive():
            self._thread.join(timeout_s)
        elif self._thread.ident is None:  # never started: nothing else owns the store
            self._release_store()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _put(self, item: Item) -> None:
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

    def _take(self) -> list[Item]:
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

    def _process(self, items: list[Item]) -> bool:
        """Execute ``items`` in order into batches handed to the writer; True on stop."""
        batch = self._building = Batch(self._exec_head)
        self._run_timers(batch)
        stop = False
        # The hot loop: locals, no method call per command beyond the core's.
        clock_now = self.clock.now_us
        # On a SystemClock, the wall clock read directly (no lock per command), never
        # below the clock's answer at the group's start; _settle_clock raises the
        # clock's floor before anything of the group is answered (clock.py).
        wall = self._wall
        floor = clock_now() if wall else 0
        execute = self.exchange.execute
        memo = self._idempotency
        simulated = self._simulated
        stats = self.stats
        targets = batch.targets
        values = batch.values
        count = 0
        for item in items:
            count += 1
            if isinstance(item, Control):
                if item.kind == STOP:
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
            if key and not (
                0 < len(key) <= IDEMPOTENCY_KEY_LEN_MAX
                and len(account) <= ACCOUNT_LEN_MAX
                and (account, key) not in memo
            ):
                self._duplicate(command, account, key, target, batch)  # answers it
                continue
            if wall:
                now = _time_ns() // 1_000
                if now < floor:
                    now = floor
            else:
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
            if type(target) is Gathered:
                target.seqs.append(self._exec_head[0] if result.ok else 0)
            elif result.ok and type(target) is Sequenced:
                target.seq = self._exec_head[0]
            targets.append(target)
            values.append(result)
        batch.items += count
        self._settle_clock()
        self._forget_old_keys()
        if self._exec_head[0] - self._last_snapshot_seq >= self.snapshot_every:
            self._add_snapshot(batch, None)
        batch.stop = stop
        self._hand_over(batch)
        return stop

    def _record(
        self,
        batch: Batch,
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
            header = COMMAND_HEADER.pack(
                MAGIC, seq, now, 7, KIND_COMMAND_BYTES, prev_hash, len(body)
            )
            if len(body) < HASH_CHUNK:
                digest = _sha256(header + body).digest()
            else:
                digest = hash_in_chunks(header, body)
            record = JournalRecord(seq, now, KIND_COMMAND, body, prev_hash, digest)
        else:  # out of range: make_record raises the ValueError (and the engine stops)
            record = next_record(self._exec_head, now, KIND_COMMAND, body)
        batch.records.append(record)
        self._exec_head = batch.head = (seq, record.hash)
        self._last_ts_us = now
        batch.entries.append(entry)
        self.stats.accepted += 1
        if key:  # never one already remembered: _duplicate answered those
            self._idempotency[(account, key)] = seq
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

    def _advance(self, command: AdvanceClock, now: int) -> Result:
        if not self._simulated:
            message = "AdvanceClock needs a SimulatedClock; this engine runs on system time"
            return Result(False, (), CODE_CLOCK_NOT_SIMULATED, message)
        if command.to_us < now:
            message = f"cannot move the clock back from {now} to {command.to_us}"
            return Result(False, (), Code.TIME_WENT_BACKWARDS.value, message)
        result = execute_entry(self.exchange, command, command.to_us)
        if result.ok:
            assert isinstance(self.clock, SimulatedClock)
            self.clock._set_by_engine(command.to_us)
        return result

    def _settle_clock(self) -> None:
        """A SystemClock read directly by the hot loop: never answer less than the
        instant of a record handed over (called before a group is handed over)."""
        if self._wall:
            cast(SystemClock, self.clock).raise_floor(self._last_ts_us)

    def _now_us(self) -> int:
        # Records' ts_us never decrease, even with a clock that is not monotonic.
        return max(self.clock.now_us(), self._last_ts_us)

    def _run_timers(self, batch: Batch) -> None:
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

    def _add_checkpoint(self, batch: Batch) -> int:
        record = checkpoint_record(self._exec_head, self._last_ts_us, self._key)
        batch.records.append(record)
        batch.entries.append(None)
        self._exec_head = batch.head = (record.seq, record.hash)
        self._last_checkpoint_seq = record.seq
        self.stats.checkpoints += 1
        return record.seq

    def _add_snapshot(self, batch: Batch, future: Future[int] | None) -> None:
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

    def _control(self, control: Control, batch: Batch) -> Batch:
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
        self._settle_clock()
        self._hand_over(batch)
        self._drain()
        if self._failure is not None:
            raise self._failure
        try:
            answer = control.query(self.exchange)
        except Exception as exc:  # the caller's bug, not the engine's
            fail(control.future, exc)
        else:
            resolve(control.future, answer)
        batch = self._building = Batch(self._exec_head)
        return batch
