"""The engine's journal side: the pipeline between its two threads and the writer thread.

- the **engine thread** hands each batch it built over (``_hand_over``), waiting while
  ``pipeline_depth`` batches are in flight (backpressure), and later forgets what became
  durable (``_reap``; ``_drain`` waits for all of it). Batches whose answers wait for the
  state-reading subscribers are published and answered there, on a drained pipeline.
- the **writer thread** owns the ``JournalStore``: it takes the batches in order (several
  small ones are merged, up to ``group_max`` commands, into one append), appends them
  with ONE ``store.append`` (one transaction, one fsync), and only then completes the
  futures of that batch, in order, and saves the snapshots made at that point.

Failure: if an append (or anything else on either thread) raises, memory may be ahead
of the disk, so the engine stops for good: it releases the journal, every future not
yet answered (executed or queued) fails with :class:`EngineStopped`, and new submits
are refused. Recovery is a restart (``recovery.open_engine``), which rebuilds the state
from the journal.

``WriterSide`` is a base class of :class:`~augury.engine.engine.Engine` (its methods
are found once, by the class): it declares the engine's attributes it uses; the
engine's ``__init__`` sets them. This module must never answer a command before its
record is durable.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from augury.domain.exchange import Result
from augury.engine.answers import Subscriber, answer, fail, fail_all, publish, resolve
from augury.engine.batch import Batch, Control, Item, Lookup
from augury.engine.entry import decode_entry
from augury.engine.errors import EngineStopped, key_reused, same_command
from augury.engine.stats import EngineStats
from augury.journal import Head, JournalRecord, JournalStore

log = logging.getLogger(__name__)


class WriterSide:
    """The pipeline's two ends and the writer thread of an :class:`Engine`."""

    # Set by Engine.__init__ (see there).
    store: JournalStore
    group_max: int
    pipeline_depth: int
    stats: EngineStats
    _head: Head
    _exec_head: Head
    _owns_store: bool
    _inbox: deque[Item]
    _gate: threading.Lock
    _inbox_ready: threading.Condition
    _stopped: BaseException | None
    _pipe: deque[Batch]
    _pipe_cv: threading.Condition
    _in_flight: int
    _writer_idle: bool
    _engine_waiting: bool
    _failure: BaseException | None
    _handed: deque[Batch]
    _state_subscribers: tuple[Subscriber, ...]
    _pure_subscribers: tuple[Subscriber, ...]
    _record_subscribers: tuple[Callable[[list[JournalRecord]], None], ...]
    _building: Batch | None
    _taken: list[Item]
    _writer: threading.Thread

    # ------------------------------------------------------------------ the pipeline
    def _hand_over(self, batch: Batch) -> None:
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
                    publish(subscribers, batch)
                answer(batch.targets, batch.values)

    # ------------------------------------------------------------------ writer thread
    def _write_loop(self) -> None:
        cv = self._pipe_cv
        pipe = self._pipe
        batches: list[Batch] = []
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

    def _write(self, batches: list[Batch]) -> bool:
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
        # The records' subscribers first (the sequencer's feed): a node that sent a command
        # then has its record on the way before its answer, and its read-your-writes wait
        # (the replica reaching the answer's seq) is over when the answer arrives. One call
        # with the group's records, one ``answer`` with its answers (one hand-over to each
        # event loop per group, not per batch).
        if records:
            for callback in self._record_subscribers:
                try:
                    callback(records)
                except Exception:
                    log.exception("record subscriber %r failed; ignored", callback)
        targets: list[Any] = []
        values: list[Any] = []
        try:
            for batch in batches:
                batch_values = batch.values
                for i, value in enumerate(batch_values):
                    if type(value) is Lookup:
                        batch_values[i] = self._original(value)
                if not batch.defer_answers:
                    targets += batch.targets
                    values += batch_values
        finally:  # a lookup that raised: the batches before its own are still answered
            if targets:
                answer(targets, values)
        subscribers = self._pure_subscribers
        if subscribers:
            for batch in batches:
                publish(subscribers, batch)
        stop = False
        for batch in batches:
            for seq, digest, state, future in batch.snapshots:
                self._save_snapshot(seq, digest, state, future)
            batch.done = True
            stop = stop or batch.stop
        return stop

    def _original(self, lookup: Lookup) -> Result:
        """The Result first given for the command journaled at ``lookup.seq``."""
        record = self.store.get(lookup.seq)
        assert record is not None, f"idempotency key points at missing seq {lookup.seq}"
        entry = decode_entry(record.body)
        if not same_command(entry.command, lookup.command):
            return key_reused(lookup.seq)
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
                fail(future, exc)
            return
        self.stats.snapshots += 1
        log.info(
            "snapshot at seq %d: %d bytes in %.3f s", seq, len(state), time.perf_counter() - started
        )
        if future is not None:
            resolve(future, seq)

    # ------------------------------------------------------------------ stopping
    def _stopped_error(self, exc: BaseException) -> EngineStopped:
        error = EngineStopped(
            "the engine stopped after an error and answers nothing more (commands in flight "
            f"may or may not be in the journal; restart to recover from it): {exc!r}"
        )
        error.__cause__ = exc
        return error

    def _writer_failed(self, exc: BaseException, batches: list[Batch]) -> None:
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
            fail_all(batch.targets, error)
            for _, _, _, future in batch.snapshots:
                if future is not None:
                    fail(future, error)
        self._fail_queued(error)

    def _engine_failed(self, exc: BaseException) -> None:
        """The engine thread stops: let the writer finish what was handed over (it was
        executed before the error and is sound), then fail everything else."""
        error = exc if isinstance(exc, EngineStopped) else self._stopped_error(exc)
        with self._gate:
            if self._failure is None:
                self._stopped = error
        if self._failure is None:
            stop = Batch(self._exec_head)
            stop.stop = True
            with self._pipe_cv:
                if self._failure is None:
                    self._pipe.append(stop)
                    self._in_flight += 1
                    self._pipe_cv.notify_all()
        self._writer.join()  # it releases the store
        for batch in self._handed:  # durable, but not answered yet: answer them
            if batch.done and batch.defer_answers:
                answer(batch.targets, batch.values)
        self._handed.clear()
        targets: list[Any] = []
        if self._building is not None and not self._building.done:
            targets += self._building.targets
        for item in self._taken:
            targets.append(item.future if isinstance(item, Control) else item[3])
        fail_all(targets, error)
        self._fail_queued(error)

    def _fail_queued(self, error: BaseException) -> None:
        targets: list[Any] = []
        while True:
            try:
                item = self._inbox.popleft()
            except IndexError:
                break
            targets.append(item.future if isinstance(item, Control) else item[3])
        fail_all(targets, error)

    def _release_store(self) -> None:
        """Give up the writer lock; close the store too if the engine opened it."""
        try:
            if self._owns_store:
                self.store.close()
            else:
                self.store.release_writer()
        except Exception:
            log.exception("closing the journal store failed")
