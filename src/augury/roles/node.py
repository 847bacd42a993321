"""Opening a role's connections: the bus, the journal, an API node's engine.

Each failure at start is ONE clear error naming what could not be reached
(:class:`RoleError`), which the CLI prints before exiting non-zero.
"""

from __future__ import annotations

import asyncio
import os
import socket

from augury.engine.clock import Clock, SimulatedClock, SystemClock
from augury.journal import JournalStore, open_store
from augury.roles.cluster import join_cluster
from augury.roles.node_engine import NodeEngine
from augury.roles.replica import Replica
from augury.settings import Settings
from augury.transport import Batcher, Limits, NatsTransport, Transport, TransportUnavailable


class RoleError(Exception):
    """A role cannot start: the message is the one line to print."""


def journal_url(settings: Settings) -> str:
    return settings.database_url or str(settings.data_dir / "journal.db")


def default_node_name(prefix: str = "api") -> str:
    host = socket.gethostname().split(".")[0][:30] or "host"
    return f"{prefix}-{host}-{os.getpid()}"


def node_clock(settings: Settings) -> Clock:
    if settings.clock == "simulated":
        assert settings.start_us is not None
        return SimulatedClock(settings.start_us)
    return SystemClock()


async def connect_bus(settings: Settings, limits: Limits | None = None) -> Transport:
    """The bus named by ``settings.nats_url`` (required for a role of its own)."""
    if not settings.nats_url:
        raise RoleError("no bus: give --nats-url (or AUGURY_NATS_URL), e.g. nats://127.0.0.1:4222")
    try:
        return await NatsTransport.connect(
            settings.nats_url, prefix=settings.bus_prefix, limits=limits or Limits()
        )
    except TransportUnavailable as exc:
        raise RoleError(str(exc)) from None


def open_journal(settings: Settings) -> JournalStore:
    """The journal, for reading (never the writer lock)."""
    url = journal_url(settings)
    try:
        store = open_store(url, namespace=settings.journal_namespace)
        store.head()
    except Exception as exc:
        raise RoleError(f"journal unreachable at {_redacted(url)}: {exc}") from None
    return store


async def open_node(settings: Settings, name: str | None = None) -> NodeEngine:
    """An API node's engine: the bus, its replica of the journal, following the stream."""
    bus = await connect_bus(settings)
    try:
        store = await asyncio.to_thread(open_journal, settings)
        replica = await asyncio.to_thread(Replica.load, store, node_clock(settings))
        replica.follow(bus, store)
        node = name or settings.node_name or default_node_name()
        batcher = Batcher(await bus.client(node), bus.limits)
    except BaseException:
        await bus.close()
        raise
    engine = NodeEngine(node, bus, batcher, replica, store)
    await join_cluster(settings, engine)  # PostgreSQL: heartbeats, leader announcements
    return engine


def _redacted(url: str) -> str:
    """A database URL without its password, for an error line."""
    if "@" not in url or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    credentials, host = rest.rsplit("@", 1)
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}" if ":" in credentials else url
