"""Surveillance as a role (``augury follow --role watch``).

The detectors (``augury.watch.Follower``: the same as ``augury serve`` runs in a child
process) read the whole journal from its first record, then the committed record stream
(the bus; gaps read from the journal). Each new finding becomes a journaled
``RaiseAlert`` sent to the sequencer over the bus, at most every ``ALERT_EVERY_S``. A
finding is raised once: the exchange refuses an alert key it has seen, so a restarted
role that re-reads the journal raises nothing twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from augury.journal import JournalStore
from augury.transport import Batcher, NodeCommand, Transport
from augury.watch import ALERT_EVERY_S, Follower

log = logging.getLogger(__name__)


async def run_watch(bus: Transport, store: JournalStore, node: str, stop: asyncio.Event) -> int:
    """Watch until ``stop`` is set; the number of alerts the exchange accepted."""
    follower = Follower()
    await asyncio.to_thread(follower.read, store)
    log.info("watch caught up with the journal at seq %d", follower.seq)
    batcher = Batcher(await bus.client(node), bus.limits)
    subscription = await bus.subscribe(follower.seq + 1, store)
    raised = 0
    loop = asyncio.get_running_loop()
    next_check = loop.time()
    try:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                follower.feed(await subscription.next(timeout_s=ALERT_EVERY_S))
            if loop.time() < next_check:
                continue
            next_check = loop.time() + ALERT_EVERY_S
            for command in follower.new_alerts():
                raised += await _raise(batcher, command)
    finally:
        await subscription.close()
        await batcher.close()
    return raised


async def _raise(batcher: Batcher, command: object) -> int:
    key = f"alert:{getattr(command, 'key', '')}"[:128]
    for attempt in range(30):
        try:
            answer = await batcher.submit(NodeCommand(command, "", key))  # type: ignore[arg-type]
        except Exception as exc:
            log.warning("could not send an alert (%s); try %d", exc, attempt)
            await asyncio.sleep(1.0)
            continue
        return int(answer.ok)
    return 0
