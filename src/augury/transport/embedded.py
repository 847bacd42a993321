"""The embedded transport: one process, one event loop, no broker.

What ``augury serve`` will use by default. Messages are the same bytes as on NATS
(encoded, size-checked and decoded by the same code), handed over by ``asyncio`` tasks
and bounded queues instead of sockets, so the contract is the same: a node's answers
reach only that node, a refused message is logged and dropped, a slow follower loses
messages (never the records: it reads them from the journal).

All sides must run on the event loop that created them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from augury.journal import JournalRecord, JournalStore
from augury.transport.core import ClientCore, ServerCore
from augury.transport.feed import FeedStats, Follower
from augury.transport.interface import BatchHandler
from augury.transport.messages import (
    Answer,
    Limits,
    NodeCommand,
    TransportError,
    TransportUnavailable,
    check_node,
    split_records,
)

log = logging.getLogger(__name__)


class EmbeddedClient:
    def __init__(self, bus: EmbeddedTransport, node: str) -> None:
        self._bus = bus
        self.core = ClientCore(node, bus.limits, self._send)

    @property
    def node(self) -> str:
        return self.core.node

    async def _send(self, data: bytes) -> None:
        self._bus.deliver_command(data)

    async def submit(self, commands: Sequence[NodeCommand]) -> list[Answer]:
        return await self.core.submit(commands)

    async def close(self) -> None:
        self._bus.clients.pop(self.node, None)
        self.core.fail_all(TransportError(f"node {self.node} closed"))


class EmbeddedServer:
    def __init__(self, bus: EmbeddedTransport, handler: BatchHandler) -> None:
        self._bus = bus
        self.core = ServerCore(handler, bus.limits, self._reply)

    async def _reply(self, node: str, data: bytes) -> None:
        self._bus.deliver_answers(node, data)

    async def close(self) -> None:
        if self._bus.server is self:
            self._bus.server = None
        await self.core.close()


class EmbeddedPublisher:
    def __init__(self, bus: EmbeddedTransport) -> None:
        self._bus = bus

    async def publish(self, records: Sequence[JournalRecord]) -> None:
        for data in split_records(tuple(records), self._bus.limits):
            self._bus.deliver_records(data)


class EmbeddedSubscription:
    def __init__(self, bus: EmbeddedTransport, follower: Follower) -> None:
        self._bus = bus
        self.follower = follower

    @property
    def next_seq(self) -> int:
        return self.follower.next_seq

    @property
    def stats(self) -> FeedStats:
        return self.follower.stats

    async def next(self, timeout_s: float | None = None) -> list[JournalRecord]:
        return await self.follower.next(timeout_s)

    async def close(self) -> None:
        self._bus.followers.discard(self.follower)
        self.follower.close()


class EmbeddedTransport:
    """An in-process bus. ``deliver_*`` put raw bytes on it (as a remote peer would)."""

    def __init__(self, limits: Limits | None = None) -> None:
        self.limits = limits or Limits()
        self.server: EmbeddedServer | None = None
        self.clients: dict[str, EmbeddedClient] = {}
        self.followers: set[Follower] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._inbox: asyncio.Queue[bytes] = asyncio.Queue(self.limits.server_concurrency * 4)
        self._pump: asyncio.Task[None] | None = None

    async def client(self, node: str) -> EmbeddedClient:
        check_node(node)
        if node in self.clients:
            raise ValueError(f"node {node} already has a client on this bus")
        client = EmbeddedClient(self, node)
        self.clients[node] = client
        return client

    async def serve(self, handler: BatchHandler) -> EmbeddedServer:
        if self.server is not None:
            raise ValueError("a sequencer already serves this bus")
        self.server = EmbeddedServer(self, handler)
        if self._pump is None:
            self._pump = asyncio.create_task(self._run_pump())
        return self.server

    async def publisher(self) -> EmbeddedPublisher:
        return EmbeddedPublisher(self)

    async def subscribe(self, from_seq: int, store: JournalStore) -> EmbeddedSubscription:
        follower = Follower(from_seq, store, self.limits)
        self.followers.add(follower)
        return EmbeddedSubscription(self, follower)

    def deliver_command(self, data: bytes) -> None:
        """A command message for the sequencer; TransportUnavailable if none serves or
        its inbox is full (nothing was sent)."""
        if self.server is None:
            raise TransportUnavailable("no sequencer serves the embedded transport")
        try:
            self._inbox.put_nowait(data)
        except asyncio.QueueFull:
            raise TransportUnavailable("the sequencer's inbox is full") from None

    async def _run_pump(self) -> None:
        while True:
            data = await self._inbox.get()
            server = self.server
            if server is not None:
                await server.core.on_batch(data)

    def deliver_answers(self, node: str, data: bytes) -> None:
        client = self.clients.get(node)
        if client is None:
            log.info("answers for node %s, which has no client (gone)", node)
            return
        client.core.on_answers(data)

    def deliver_records(self, data: bytes) -> None:
        for follower in self.followers:
            follower.offer(data)

    async def close(self) -> None:
        if self.server is not None:
            await self.server.close()
        if self._pump is not None:
            self._pump.cancel()
            await asyncio.gather(self._pump, return_exceptions=True)
            self._pump = None
        for client in list(self.clients.values()):
            await client.close()
        for follower in self.followers:
            follower.close()
        self.followers.clear()
