"""A follower of the record feed: records in seq order, every gap read from the journal.

The bus is a low-latency copy, never the only one. ``Follower`` takes the record
messages the bus delivers (``offer``, never blocks, never raises) into a bounded queue,
and hands its reader contiguous records from ``next_seq``:

- a record older than ``next_seq`` (a duplicate, or already read from the journal) is
  skipped;
- a record beyond ``next_seq`` means a gap (a lost, refused, dropped or too-large
  message; a bus restart): the missing records are read from the journal
  (``JournalStore.read``), at most ``fill_max_records`` at a time, before it;
- each record must chain to the one before it (``prev_hash``) and a bus record's own
  hash must verify; a bus record that does not is refused and that seq is read from
  the journal instead; a journal record that does not chain is a ``FeedError`` (the
  follower never passes on what does not chain);
- at the start, and whenever the feed has been quiet for ``idle_check_s``, the follower
  compares itself with the journal's head and reads what it lacks (a gap at the tail,
  which no later message would reveal).

Journal reads run in the follower's own worker thread, one at a time even when a
``next`` is cancelled mid-read (a store object is not thread-safe; give each follower a
store of its own).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from augury.journal import (
    GENESIS_PREV_HASH,
    ChainError,
    JournalRecord,
    JournalStore,
    verify_record,
)
from augury.transport.messages import Limits, MessageRefused, TransportError, decode_records

log = logging.getLogger(__name__)
T = TypeVar("T")

FILL_ATTEMPTS = 20
FILL_RETRY_S = 0.05


class FeedError(TransportError):
    """The journal does not hold records the feed showed to exist (it should: records are
    published only once durable), or its records do not chain: the follower stops."""


@dataclass
class FeedStats:
    from_bus: int = 0
    from_journal: int = 0
    gaps: int = 0
    """Gaps found between the bus's records (each read from the journal)."""
    refused: int = 0
    """Record messages refused (oversized, undecodable, out of order)."""
    dropped: int = 0
    """Record messages dropped because the follower's queue was full."""


class Follower:
    """Contiguous records from ``next_seq`` out of the bus and the journal."""

    def __init__(self, from_seq: int, store: JournalStore, limits: Limits) -> None:
        if from_seq < 1:
            raise ValueError(f"from_seq must be >= 1, got {from_seq}")
        self._next_seq = from_seq
        self._store = store
        self.limits = limits
        self.stats = FeedStats()
        # the bus's messages, and the future a waiting _step sleeps on (asyncio.Queue's
        # get under wait_for cost a task and a loop turn per message on a quiet feed)
        self._queue: deque[bytes] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self._held: list[JournalRecord] = []
        self._reader = ThreadPoolExecutor(1, thread_name_prefix="augury-feed-fill")
        self._check_head = True
        self._last_hash: bytes | None = GENESIS_PREV_HASH if from_seq == 1 else None
        self.closed = False

    @property
    def next_seq(self) -> int:
        return self._next_seq

    def offer(self, data: bytes) -> None:
        """Take one message from the bus (never blocks, never raises)."""
        if len(self._queue) >= self.limits.feed_queue_batches:
            self.stats.dropped += 1
            return
        self._queue.append(data)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def next(self, timeout_s: float | None = None) -> list[JournalRecord]:
        async with asyncio.timeout(timeout_s):
            while True:
                records = await self._step()
                if records:
                    return records

    async def _step(self) -> list[JournalRecord]:
        if self._held:
            return await self._from_held()
        if self._check_head:
            return await self._catch_up()
        if not self._queue:
            loop = asyncio.get_running_loop()
            waiter = self._waiter = loop.create_future()
            timer = loop.call_later(self.limits.idle_check_s, _wake, waiter)
            try:
                await waiter
            finally:
                timer.cancel()
                self._waiter = None
            if not self._queue:  # nothing for idle_check_s: look at the journal's head
                self._check_head = True
                return []
        self._take(self._queue.popleft())
        return []

    def _take(self, data: bytes) -> None:
        try:
            batch = decode_records(data, self.limits)
        except MessageRefused as exc:
            self.stats.refused += 1
            log.warning("follower refused a record message: %s", exc)
            return
        self._held = [r for r in batch.records if r.seq >= self._next_seq]

    async def _from_held(self) -> list[JournalRecord]:
        first = self._held[0].seq
        if first < self._next_seq:  # read from the journal meanwhile
            self._held = [r for r in self._held if r.seq >= self._next_seq]
            return []
        if first > self._next_seq:
            self.stats.gaps += 1
            log.info("feed gap: seqs %d..%d read from the journal", self._next_seq, first - 1)
            return await self._fill(first - 1)
        out: list[JournalRecord] = []
        for record in self._held:
            if record.seq != self._next_seq:
                break
            problem = self._bus_record_problem(record)
            if problem:
                self.stats.refused += 1
                log.warning("follower refused bus record %d: %s", record.seq, problem)
                self._held = []  # what follows it is read from the journal
                break
            out.append(record)
            self._last_hash = record.hash
            self._next_seq += 1
        self._held = self._held[len(out) :]
        self.stats.from_bus += len(out)
        return out

    async def _catch_up(self) -> list[JournalRecord]:
        if self._last_hash is None:
            before = await self._in_reader(self._store.get, self._next_seq - 1)
            self._last_hash = before.hash if before is not None else None
        head = await self._in_reader(self._store.head)
        head_seq = head[0] if head is not None else 0
        if head_seq < self._next_seq:
            self._check_head = False
            return []
        return await self._fill(head_seq)

    async def _fill(self, to_seq: int) -> list[JournalRecord]:
        """Read ``next_seq..to_seq`` (at most fill_max_records of them) from the journal."""
        to_seq = min(to_seq, self._next_seq + self.limits.fill_max_records - 1)
        for _ in range(FILL_ATTEMPTS):
            records = await self._in_reader(self._read, self._next_seq, to_seq)
            if records:
                self._check_links(records)
                self._next_seq = records[-1].seq + 1
                self._last_hash = records[-1].hash
                self.stats.from_journal += len(records)
                return records
            await asyncio.sleep(FILL_RETRY_S)
        raise FeedError(f"the journal lacks seq {self._next_seq} (wanted up to {to_seq})")

    async def _in_reader(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._reader, fn, *args)

    def close(self) -> None:
        """Stop reading the journal (a read under way finishes in its thread)."""
        self.closed = True
        self._reader.shutdown(wait=False)

    def _bus_record_problem(self, record: JournalRecord) -> str:
        if self._last_hash is not None and record.prev_hash != self._last_hash:
            return "it does not chain to the record before it"
        try:
            verify_record(record)
        except ChainError as exc:
            return str(exc)
        return ""

    def _check_links(self, records: list[JournalRecord]) -> None:
        prev = self._last_hash
        for record in records:
            if prev is not None and record.prev_hash != prev:
                raise FeedError(f"journal record {record.seq} does not chain to the one before")
            prev = record.hash

    def _read(self, from_seq: int, to_seq: int) -> list[JournalRecord]:
        out: list[JournalRecord] = []
        for record in self._store.read(from_seq, to_seq):
            if record.seq != from_seq + len(out):
                break
            out.append(record)
        return out


def _wake(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)
