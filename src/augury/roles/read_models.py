"""The read models as a role, and an API node's wait for them.

``augury follow --role project`` runs :func:`run_projector`: the projector follows the
committed record stream (the bus, gaps and the start read from the journal) and applies
what has arrived in one transaction per step, commands decoded, checkpoints only moving
``last_seq``. A step gathers what arrives for a while after its first message
(``augury.roles.pacing``: 2 ms, up to 10 ms while the feed stays busy). A batch that
fails wrote nothing (the projector's guarantee) and is retried as it is, so no record
is skipped; a restarted role carries on from ``last_seq``.

An API node's history reads wait (``Services.barrier``) until the read models hold what
its replica holds: :class:`ReadModelsPoller` reads the projector's ``last_seq`` from the
shared database, one poll at a time for all the waiting requests.
"""

from __future__ import annotations

import asyncio
import logging
import time

from augury.engine.entry import decode_entry
from augury.journal import JournalRecord, JournalStore
from augury.journal.records import KIND_COMMAND
from augury.projections import BATCH_RECORDS_DEFAULT, Projector
from augury.projections.projector import Item
from augury.roles.pacing import Pace
from augury.roles.replica import Replica
from augury.transport import Transport

log = logging.getLogger(__name__)

POLL_S = 0.005
"""How often a waiting node reads the read models' ``last_seq``."""
RETRY_MAX_S = 5.0


def items_of(records: list[JournalRecord]) -> list[Item]:
    """Journal records as the projector's items (a checkpoint only advances last_seq)."""
    return [
        (r.seq, r.ts_us, decode_entry(r.body) if r.kind == KIND_COMMAND else None) for r in records
    ]


async def run_projector(
    projector: Projector, bus: Transport, store: JournalStore, stop: asyncio.Event
) -> None:
    """Keep ``projector`` in step with the journal until ``stop`` is set."""
    start = await asyncio.to_thread(projector.last_seq)
    subscription = await bus.subscribe(start + 1, store)
    log.info("projector following from seq %d", start + 1)
    pace = Pace()
    try:
        loop = asyncio.get_running_loop()
        while not stop.is_set():
            waiting_since = loop.time()
            try:
                records = await subscription.next(timeout_s=0.5)
            except TimeoutError:
                pace.quiet()
                continue
            waited_s = loop.time() - waiting_since
            # gather what arrives within the pace's gap: one transaction for several
            # messages under load (a transaction costs about what several records do)
            deadline = loop.time() + pace.gap_s
            more = False
            while len(records) < BATCH_RECORDS_DEFAULT:
                left = deadline - loop.time()
                if left <= 0:
                    break
                try:
                    records += await subscription.next(timeout_s=left)
                except TimeoutError:
                    break
                more = True
            pace.gathered(waited_s, more)
            await _apply(projector, items_of(records))
    finally:
        await subscription.close()


async def _apply(projector: Projector, items: list[Item]) -> None:
    for attempt in range(1_000_000):
        try:
            await asyncio.to_thread(projector.apply_many, items)
            return
        except Exception:
            log.exception("projecting seq %d.. failed (try %d); retrying", items[0][0], attempt)
            await asyncio.sleep(min(RETRY_MAX_S, 0.1 * 2 ** min(attempt, 6)))


class ReadModelsPoller:
    """An API node's view of the read models' progress (the ``Follower`` interface that
    ``Services.barrier`` uses): ``enqueued_seq`` is what the node's replica holds."""

    def __init__(self, projector: Projector, replica: Replica) -> None:
        self.projector = projector
        self.replica = replica
        self.applied_seq = 0
        self.failures = 0
        self._poll: asyncio.Task[int] | None = None

    @property
    def enqueued_seq(self) -> int:
        return self.replica.seq

    async def wait_for(self, seq: int) -> None:
        """Return once the read models hold every record up to ``seq``."""
        while self.applied_seq < seq:
            poll = self._poll
            if poll is None or poll.done():
                poll = self._poll = asyncio.get_running_loop().create_task(self._read())
            self.applied_seq = max(self.applied_seq, await asyncio.shield(poll))
            if self.applied_seq < seq:
                await asyncio.sleep(POLL_S)

    async def _read(self) -> int:
        started = time.perf_counter()
        seq = await asyncio.to_thread(self.projector.last_seq)
        if time.perf_counter() - started > 1.0:
            log.warning(
                "reading the read models' last_seq took %.1f s", time.perf_counter() - started
            )
        return seq

    def stop(self, timeout_s: float = 0.0) -> None:
        del timeout_s
