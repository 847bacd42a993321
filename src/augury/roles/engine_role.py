"""``augury engine``: the sequencer process.

On PostgreSQL the engine runs under the journal's writer lease, as leader or hot
standby (``--standby``): ``roles.failover`` (docs/failover.md). On SQLite (one machine)
it recovers the exchange from the journal (taking the journal's single writer lock: a
second engine on the same journal fails at start, naming the holder), connects to the
bus, answers command batches and publishes committed records (``Sequencer``) until it is
told to stop (SIGTERM, SIGINT) or the engine stops by itself (a journal failure: memory
may be ahead of the journal, so the process exits non-zero and a restart recovers).
"""

from __future__ import annotations

import asyncio
import logging
import signal

from augury.engine import Engine, open_engine
from augury.roles.cluster import is_postgres
from augury.roles.failover import run_leased
from augury.roles.node import RoleError, connect_bus, journal_url, node_clock
from augury.roles.sequencer import Sequencer
from augury.settings import Settings

log = logging.getLogger(__name__)

CHECK_S = 0.2


def start_engine(settings: Settings) -> Engine:
    """Recover the exchange and start the engine (blocking)."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    try:
        return open_engine(
            journal_url(settings),
            settings.data_dir / "operator.key",
            node_clock(settings),
            namespace=settings.journal_namespace,
            production=settings.production,
        )
    except Exception as exc:
        raise RoleError(f"the engine cannot start: {type(exc).__name__}: {exc}") from None


async def run_engine(
    settings: Settings, ready: asyncio.Event | None = None, *, standby: bool = False
) -> int:
    """Run the sequencer until a signal; the process's exit status."""
    if is_postgres(settings.database_url):
        return await run_leased(settings, standby=standby, ready=ready)
    if standby:
        raise RoleError(
            "--standby needs a PostgreSQL journal (--database-url): failover across "
            "machines needs the lease there; a SQLite journal has one engine, on one machine"
        )
    bus = await connect_bus(settings)
    try:
        engine = await asyncio.to_thread(start_engine, settings)
    except BaseException:
        await bus.close()
        raise
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    sequencer = Sequencer(engine, bus)
    await sequencer.start()
    log.info("augury engine: sequencing at seq %d", engine.head[0])
    print(f"augury engine: sequencing at seq {engine.head[0]}", flush=True)
    if ready is not None:
        ready.set()
    status = 0
    while not stop.is_set():
        try:
            await asyncio.wait_for(stop.wait(), CHECK_S)
        except TimeoutError:
            if not engine.running:
                log.error("the engine stopped by itself; exiting (a restart recovers)")
                status = 1
                break
    await sequencer.close()
    await asyncio.to_thread(engine.close)
    await bus.close()
    return status
