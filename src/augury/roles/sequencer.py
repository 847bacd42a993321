"""The engine role: an in-process :class:`~augury.engine.Engine` served on the bus.

Command batches from the nodes go to the engine in one go (``Engine.asubmit_many``: one
future for the batch); each answer (with the record's seq) goes back once the record is
durable, which the engine guarantees. The committed records are published on the bus in
seq order, batch by batch, right after they are durable: the low-latency feed of every
replica and follower. The bus is never the only copy: a publication that fails or that overflows the
hand-over queue is dropped and counted, and the followers read the gap from the journal.

Nothing else runs here: no HTTP, no queries, no read models.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from dataclasses import dataclass
from typing import cast

from augury.domain.codec import AnyEvent
from augury.domain.exchange import Result
from augury.engine import Engine, EngineOverloaded, EngineStopped
from augury.journal import JournalRecord
from augury.transport import (
    Answer,
    CommandBatch,
    CommandServer,
    RecordPublisher,
    Transport,
)
from augury.transport.messages import CODE_UNAVAILABLE

log = logging.getLogger(__name__)

PENDING_RECORDS_MAX = 200_000
"""Committed records waiting to be published, at most; beyond, new ones are dropped (the
followers read them from the journal)."""


@dataclass
class SequencerStats:
    batches: int = 0
    commands: int = 0
    published: int = 0
    """Records published on the bus."""
    dropped: int = 0
    """Records not published (queue full or bus error): followers read them from the journal."""


class Sequencer:
    """Serves ``engine`` on ``bus``: answers command batches, publishes committed records."""

    def __init__(self, engine: Engine, bus: Transport) -> None:
        self.engine = engine
        self.bus = bus
        self.stats = SequencerStats()
        self._pending: deque[list[JournalRecord]] = deque()
        self._pending_records = 0
        self._wake = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        self._server: CommandServer | None = None
        self._publisher: RecordPublisher | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._publisher = await self.bus.publisher()
        self.engine.subscribe_records(self._on_records)
        self._task = self._loop.create_task(self._publish_loop())
        self._server = await self.bus.serve(self.handle)

    async def handle(self, batch: CommandBatch) -> list[Answer]:
        """Run one batch: one answer per command, each once its record is durable."""
        self.stats.batches += 1
        self.stats.commands += len(batch.commands)
        requests = [(r.command, r.account, r.key) for r in batch.commands]
        try:
            values, seqs = await self.engine.asubmit_many(requests)  # type: ignore[arg-type]
        except (EngineOverloaded, EngineStopped) as exc:
            return [_unavailable(r.rid, exc) for r in batch.commands]
        answers: list[Answer] = []
        append = answers.append
        for request, value, seq in zip(
            batch.commands, values, _padded(seqs, len(values)), strict=True
        ):
            if type(value) is not Result:  # EngineStopped: not known to be journaled
                append(_unavailable(request.rid, cast(BaseException, value)))
                continue
            events = cast(tuple[AnyEvent, ...], value.events)
            append(Answer(request.rid, value.ok, seq, value.code, value.message, events))
        return answers

    # -- the feed ----------------------------------------------------------------------
    def _on_records(self, records: list[JournalRecord]) -> None:
        """Writer thread: hand a durable group's records to the event loop."""
        with contextlib.suppress(RuntimeError):  # the loop is closed: we are stopping
            self._loop.call_soon_threadsafe(self._take, records)

    def _take(self, records: list[JournalRecord]) -> None:
        if self._pending_records + len(records) > PENDING_RECORDS_MAX:
            self.stats.dropped += len(records)
            return
        self._pending.append(records)
        self._pending_records += len(records)
        self._wake.set()

    async def _publish_loop(self) -> None:
        assert self._publisher is not None
        while True:
            await self._wake.wait()
            self._wake.clear()
            records: list[JournalRecord] = []
            while self._pending:
                records.extend(self._pending.popleft())
            self._pending_records = 0
            if not records:
                continue
            try:
                await self._publisher.publish(records)
                self.stats.published += len(records)
            except Exception as exc:  # the bus is down: the journal has them
                self.stats.dropped += len(records)
                log.warning(
                    "could not publish %d records (%s); followers read them", len(records), exc
                )

    async def close(self) -> None:
        """Stop taking batches (those running finish), then stop publishing."""
        if self._server is not None:
            await self._server.close()
        if self._task is not None:
            await asyncio.sleep(0)  # let the last hand-overs arrive
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


def _padded(seqs: list[int], size: int) -> list[int]:
    """``seqs`` with 0 for the commands the engine never ran (it stopped first)."""
    return seqs if len(seqs) >= size else [*seqs, *[0] * (size - len(seqs))]


def _unavailable(rid: int, exc: BaseException) -> Answer:
    return Answer(rid, False, code=CODE_UNAVAILABLE, message=f"{type(exc).__name__}: {exc}")
