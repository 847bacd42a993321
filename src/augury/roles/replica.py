"""A replica of the exchange, built from the committed record stream.

An API node (and any follower that needs live state) holds one. It starts from the
journal with the recovery's own code (``engine.recovery.replay``: snapshot + tail, every
record re-hashed and re-linked), then applies the records the bus delivers (a
``RecordSubscription``: contiguous, chained, gaps read from the journal) with the same
``State.apply`` the recovery uses: the same deterministic code, so a replica at seq N
equals the engine's state at seq N.

Everything here runs on the node's event loop: a batch of records is applied in one
synchronous step, so a read (``query``) between two steps sees a consistent state at
``head``. Readers that need a seq (read-your-writes, ``Augury-Min-Seq``) wait with
:meth:`Replica.wait_for`; subscribers (the WebSocket hub) are called with each command
record, as the engine calls its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import heapq
import itertools
import logging
import time
from collections.abc import Callable

from augury.domain.exchange import Exchange
from augury.engine import AdvanceClock, SimulatedClock
from augury.engine.clock import Clock
from augury.engine.entry import Entry, decode_entry
from augury.engine.gc_tuning import tune_gc
from augury.engine.recovery import replay
from augury.journal import Head, JournalRecord, JournalStore, verify_checkpoint
from augury.journal.records import KIND_CHECKPOINT, KIND_COMMAND
from augury.transport import FeedError, RecordSubscription, Transport

log = logging.getLogger(__name__)

Subscriber = Callable[[int, int, Entry], None]
RESTART_WAIT_S = 0.5
"""How long a replica whose feed failed waits before it subscribes again."""


class Replica:
    """The exchange at ``head``, kept up to date from the record stream."""

    def __init__(
        self,
        exchange: Exchange,
        head: Head,
        last_ts_us: int,
        clock: Clock,
        operator_key: bytes | None = None,
    ) -> None:
        self.exchange = exchange
        self.operator_key = operator_key
        """The public key of the last signed checkpoint seen (the engine's operator key)."""
        self.head = head
        self.last_ts_us = last_ts_us
        self.clock = clock
        self.updated_at = time.monotonic()
        """When the replica last applied a record or confirmed it is at the journal's head."""
        self.applied = 0
        self.feed_errors = 0
        self.subscribers: tuple[Subscriber, ...] = ()
        self._waiters: list[tuple[int, int, asyncio.Future[None]]] = []
        self._order = itertools.count()
        self._task: asyncio.Task[None] | None = None
        self._subscription: RecordSubscription | None = None

    @classmethod
    def load(cls, store: JournalStore, clock: Clock) -> Replica:
        """The state at the journal's head now (blocking: call it in a thread).

        The process's garbage collector is tuned as the engine's (``tune_gc``: the
        replica applies what the engine executes, with the same churn), and the loaded
        state is frozen out of its scans (``gc.freeze``): with CPython's defaults an API
        node spent about a sixth of its time per order in collections that walked the
        whole replica.
        """
        tune_gc()
        replayed = replay(store)
        gc.freeze()
        clock_floor(clock, replayed.last_ts_us)
        key = None
        if replayed.last_checkpoint_seq:
            record = store.get(replayed.last_checkpoint_seq)
            if record is not None and record.kind == KIND_CHECKPOINT:
                key = verify_checkpoint(record.body, None).public_key
        return cls(replayed.exchange, replayed.head, replayed.last_ts_us, clock, key)

    @property
    def seq(self) -> int:
        return self.head[0]

    def lag_s(self) -> float:
        return time.monotonic() - self.updated_at

    def subscribe(self, callback: Subscriber) -> None:
        self.subscribers = (*self.subscribers, callback)

    # -- applying ------------------------------------------------------------------------
    def apply(self, records: list[JournalRecord]) -> None:
        """Apply contiguous records after ``head`` (the subscription guarantees it)."""
        apply = self.exchange.apply
        subscribers = self.subscribers
        for record in records:
            if record.seq != self.head[0] + 1 or record.prev_hash != self.head[1]:
                raise FeedError(f"record {record.seq} does not follow the replica's head")
            if record.kind == KIND_COMMAND:
                entry = decode_entry(record.body)
                for event in entry.events:
                    apply(event)
                if type(entry.command) is AdvanceClock and isinstance(self.clock, SimulatedClock):
                    self.clock.raise_floor(entry.command.to_us)
                for callback in subscribers:
                    try:
                        callback(record.seq, record.ts_us, entry)
                    except Exception:
                        log.exception(
                            "replica subscriber %r failed on seq %d", callback, record.seq
                        )
            elif record.kind == KIND_CHECKPOINT:
                self.operator_key = verify_checkpoint(record.body, None).public_key
            self.head = (record.seq, record.hash)
            self.last_ts_us = max(self.last_ts_us, record.ts_us)
            self.applied += 1
        clock_floor(self.clock, self.last_ts_us)
        self.updated_at = time.monotonic()
        self._wake()

    async def wait_for(self, seq: int, timeout_s: float) -> bool:
        """True once the replica has applied ``seq``; False after ``timeout_s``."""
        if self.head[0] >= seq:
            return True
        # One future and one timer per waiter (asyncio.wait_for and shield cost an API
        # node a sixth of its time per order: a task and two futures more).
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        heapq.heappush(self._waiters, (seq, next(self._order), future))
        timer = loop.call_later(timeout_s, _give_up, future)
        try:
            await future
        finally:
            timer.cancel()
        return self.head[0] >= seq

    def _wake(self) -> None:
        waiters = self._waiters
        head = self.head[0]
        while waiters and waiters[0][0] <= head:
            future = heapq.heappop(waiters)[2]
            if not future.done():
                future.set_result(None)

    # -- following the bus -----------------------------------------------------------------
    def follow(self, bus: Transport, store: JournalStore) -> None:
        """Start applying the record stream from ``head + 1`` (a task on this loop)."""
        self._task = asyncio.get_running_loop().create_task(self._follow(bus, store))

    @property
    def following(self) -> bool:
        return self._task is not None and not self._task.done()

    async def _follow(self, bus: Transport, store: JournalStore) -> None:
        while True:
            try:
                self._subscription = await bus.subscribe(self.head[0] + 1, store)
                while True:
                    try:
                        records = await self._subscription.next(timeout_s=1.0)
                    except TimeoutError:
                        self.updated_at = time.monotonic()  # quiet, and at the head
                        continue
                    self.apply(records)
            except asyncio.CancelledError:
                raise
            except Exception:
                self.feed_errors += 1
                log.exception("replica feed failed at seq %d; resubscribing", self.head[0])
            finally:
                if self._subscription is not None:
                    await self._subscription.close()
                    self._subscription = None
            await asyncio.sleep(RESTART_WAIT_S)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None


def _give_up(future: asyncio.Future[None]) -> None:
    """A waiter's time is up: it returns whether the head reached its seq meanwhile."""
    if not future.done():
        future.set_result(None)


def clock_floor(clock: Clock, ts_us: int) -> None:
    """Never let a node's clock run behind the journal (a simulated one follows it)."""
    raise_floor = getattr(clock, "raise_floor", None)
    if raise_floor is not None:
        raise_floor(ts_us)
