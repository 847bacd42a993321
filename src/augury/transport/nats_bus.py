"""The NATS transport (nats-py, core NATS): the bus between processes and machines.

Subjects, under a ``prefix`` (default ``augury``) so several exchanges can share a server:

- ``<prefix>.cmd``: command batches, to the sequencer (queue group ``sequencer``: one
  subscriber takes each batch even if a standby subscribes too);
- ``<prefix>.ans.<node>``: that node's answers (only that node subscribes to it);
- ``<prefix>.rec``: record batches, to every follower.

Core NATS, not JetStream: the feed needs no broker persistence because the journal is
the system of record; a follower reads whatever the bus lost from the journal. nats-py
reconnects for ever (``max_reconnect_attempts=-1``), re-subscribes, and holds what is
published while disconnected in a bounded buffer (``pending_size``). A command batch or
answer lost in a restart shows as a ``RequestTimeout`` (resend with the same keys);
records lost show as a gap. At start an unreachable server is one clear error naming
the URL, not an endless retry.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import Any

import nats
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.aio.transport import TcpTransport
from nats.protocol.command import pub_cmd

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

PREFIX_DEFAULT = "augury"
CONNECT_TIMEOUT_S = 2
RECONNECT_WAIT_S = 0.25
PENDING_BYTES = 8 * 1024 * 1024
"""What nats-py buffers while reconnecting; beyond it a publish fails."""
TURN_BYTES_MAX = 256 * 1024
"""Payload bytes one loop turn gathers for one socket write; beyond, it writes them and
starts again (then behind what the socket holds: nats-py buffers the rest, bounded)."""
SUB_PENDING_MSGS = 4_096
"""Messages a subscription holds undelivered before NATS drops them (slow consumer)."""


async def _on_error(exc: Exception) -> None:
    log.warning("nats: %s: %s", type(exc).__name__, exc)


async def _quiet_error(exc: Exception) -> None:
    log.debug("nats probe: %s: %s", type(exc).__name__, exc)


async def _on_disconnected() -> None:
    log.info("nats: disconnected (reconnecting unless closed)")


async def _on_reconnected() -> None:
    log.warning("nats: reconnected")


async def connect(url: str, name: str = "augury") -> Client:
    """A connection that reconnects for ever; TransportUnavailable naming ``url`` if the
    server cannot be reached now."""
    try:  # nats-py retries the first connect for ever too: probe once, without retries
        probe = await nats.connect(
            url,
            connect_timeout=CONNECT_TIMEOUT_S,
            max_reconnect_attempts=1,
            reconnect_time_wait=0.1,
            error_cb=_quiet_error,
        )
        await probe.close()
        return await nats.connect(
            url,
            name=name,
            connect_timeout=CONNECT_TIMEOUT_S,
            allow_reconnect=True,
            max_reconnect_attempts=-1,
            reconnect_time_wait=RECONNECT_WAIT_S,
            pending_size=PENDING_BYTES,
            error_cb=_on_error,
            disconnected_cb=_on_disconnected,
            reconnected_cb=_on_reconnected,
        )
    except Exception as exc:
        why = str(exc) or type(exc).__name__
        raise TransportUnavailable(f"NATS unreachable at {url}: {why}") from None


class _Inline(asyncio.Queue[Msg]):
    """A subscription's queue that hands each message's data to ``take`` as nats-py
    puts it there, in its reader task: nothing is ever queued."""

    def __init__(self, sub: Subscription, take: Callable[[bytes], None]) -> None:
        super().__init__()
        self._sub = sub
        self._take = take

    def put_nowait(self, item: Msg) -> None:
        self._sub._pending_size -= len(item.data)  # as the delivering task would
        try:
            self._take(item.data)
        except Exception:  # ``take`` never raises; were it to, the reader goes on
            log.exception("nats: a message of %s was not taken", item.subject)


def deliver_inline(sub: Subscription, take: Callable[[bytes], None]) -> None:
    """Have ``sub`` hand each message's data to ``take`` (which must not block nor
    raise) at once, instead of through its queue and delivery task.

    nats-py queues every message of a subscription with a callback and wakes a task of
    the subscription's to call it: per answer or record message, a queue round trip, a
    task wake-up and a coroutine, for a callback (``ClientCore.on_answers``,
    ``Follower.offer``) that only takes the bytes and never blocks. The messages keep
    their order (one reader task delivers them all); the task nats-py started waits on
    an empty queue until the subscription ends. Call it right after ``subscribe``,
    before anything is awaited. Private parts of nats-py, pinned by
    tests/transport/test_nats_private.py.
    """
    sub._pending_queue = _Inline(sub, take)


class NatsClient:
    def __init__(self, bus: NatsTransport, node: str) -> None:
        self._bus = bus
        self.core = ClientCore(node, bus.limits, self._send)
        self._sub: Subscription | None = None
        self.target = bus.subject("cmd")
        """Where command batches go: ``<prefix>.cmd``, or the subject of one sequencer
        (a failover's new leader, docs/failover.md)."""

    @property
    def node(self) -> str:
        return self.core.node

    async def start(self) -> None:
        self._sub = await self._bus.nc.subscribe(
            self._bus.subject("ans", self.node),
            cb=self._on_msg,
            pending_msgs_limit=SUB_PENDING_MSGS,
            pending_bytes_limit=SUB_PENDING_MSGS * self._bus.limits.max_message_bytes,
        )
        deliver_inline(self._sub, self.core.on_answers)

    async def _on_msg(self, msg: Msg) -> None:
        self.core.on_answers(msg.data)

    async def _send(self, data: bytes) -> None:
        await self._bus.send(self.target, data)

    async def submit(self, commands: Sequence[NodeCommand]) -> list[Answer]:
        return await self.core.submit(commands)

    async def close(self) -> None:
        if self._sub is not None:
            await _quietly(self._sub.unsubscribe())
        self.core.fail_all(TransportError(f"node {self.node} closed"))


class NatsServer:
    def __init__(self, bus: NatsTransport, handler: BatchHandler, subject: str = "") -> None:
        self._bus = bus
        self.core = ServerCore(handler, bus.limits, self._reply)
        self._sub: Subscription | None = None
        self.subject = subject or bus.subject("cmd")

    async def start(self) -> None:
        self._sub = await self._bus.nc.subscribe(
            self.subject,
            queue="sequencer",
            cb=self._on_msg,
            pending_msgs_limit=SUB_PENDING_MSGS,
            pending_bytes_limit=SUB_PENDING_MSGS * self._bus.limits.max_message_bytes,
        )

    async def _on_msg(self, msg: Msg) -> None:
        await self.core.on_batch(msg.data)

    async def _reply(self, node: str, data: bytes) -> None:
        try:
            await self._bus.send(self._bus.subject("ans", node), data)
        except TransportUnavailable as exc:  # the node times out and resends
            log.warning("answers to node %s lost: %s", node, exc)

    async def close(self) -> None:
        if self._sub is not None:
            await _quietly(self._sub.unsubscribe())
        await self.core.close()


class NatsPublisher:
    def __init__(self, bus: NatsTransport) -> None:
        self._bus = bus

    async def publish(self, records: Sequence[JournalRecord]) -> None:
        subject = self._bus.subject("rec")
        for data in split_records(tuple(records), self._bus.limits):
            try:
                await self._bus.send(subject, data)
            except TransportUnavailable as exc:  # followers read them from the journal
                log.warning("record batch not published: %s", exc)


class NatsSubscription:
    def __init__(self, bus: NatsTransport, follower: Follower) -> None:
        self._bus = bus
        self.follower = follower
        self._sub: Subscription | None = None

    async def start(self) -> None:
        self._sub = await self._bus.nc.subscribe(
            self._bus.subject("rec"),
            cb=self._on_msg,
            pending_msgs_limit=SUB_PENDING_MSGS,
            pending_bytes_limit=SUB_PENDING_MSGS * self._bus.limits.max_message_bytes,
        )
        deliver_inline(self._sub, self.follower.offer)

    async def _on_msg(self, msg: Msg) -> None:
        self.follower.offer(msg.data)

    @property
    def next_seq(self) -> int:
        return self.follower.next_seq

    @property
    def stats(self) -> FeedStats:
        return self.follower.stats

    async def next(self, timeout_s: float | None = None) -> list[JournalRecord]:
        return await self.follower.next(timeout_s)

    async def close(self) -> None:
        if self._sub is not None:
            await _quietly(self._sub.unsubscribe())
        self.follower.close()


class NatsTransport:
    """A bus on a NATS server. ``await NatsTransport.connect(url)`` to make one."""

    def __init__(self, nc: Client, url: str, prefix: str, limits: Limits) -> None:
        check_node(prefix)
        self.nc = nc
        self.url = url
        self.prefix = prefix
        max_payload = nc.max_payload or limits.max_message_bytes
        if limits.max_message_bytes > max_payload:
            raise TransportError(
                f"max_message_bytes={limits.max_message_bytes} exceeds the max_payload "
                f"{max_payload} of the NATS server at {url}"
            )
        self.limits = limits
        self._closers: list[Any] = []
        self._turn: list[bytes] = []  # this loop turn's PUBs, written by _flush_turn
        self._turn_writer: asyncio.StreamWriter | None = None
        self._turn_bytes = 0

    @classmethod
    async def connect(
        cls, url: str, *, prefix: str = PREFIX_DEFAULT, limits: Limits | None = None
    ) -> NatsTransport:
        nc = await connect(url)
        try:
            return cls(nc, url, prefix, limits or Limits())
        except BaseException:
            await nc.close()
            raise

    def subject(self, kind: str, node: str = "") -> str:
        return f"{self.prefix}.{kind}.{node}" if node else f"{self.prefix}.{kind}"

    async def send(self, subject: str, data: bytes) -> None:
        """Publish; TransportUnavailable if the connection is closed or its buffer full.

        When nothing waits to be written (``_write_now``), the message joins this loop
        turn's batch, written to the socket in one go at the end of the turn; otherwise
        nats-py publishes it, behind what waits.
        """
        try:
            if not self._write_now(subject, data):
                await self.nc.publish(subject, data)
        except Exception as exc:
            raise TransportUnavailable(f"NATS at {self.url}: {type(exc).__name__}: {exc}") from None

    def _write_now(self, subject: str, data: bytes) -> bool:
        """Take the PUB into this loop turn's batch, which ``_flush_turn`` writes to the
        socket as nats-py's flusher would; False to leave it to ``publish``: not connected,
        not over TCP, too long, or, before the turn's first message, anything waiting to
        be written (in nats-py's buffer or in the socket transport's).

        nats-py hands every publish to its flusher task, which writes on the next turn of
        the loop: per command batch, answer or record message, a future, a queue round
        trip and a task wake-up, for the same single write. Writing each message at once
        instead costs one socket write (a system call holding the interpreter) each; a
        turn's messages (a group's records and the answers to its batches) go in one
        write. The bytes are nats-py's own (``pub_cmd``), in the order sent: once a turn
        has a batch, every later message of that turn joins it. Starting a batch only
        when nothing waits keeps nats-py's buffering under backpressure (a slow server
        fills nats-py's bounded ``pending_size``, as before, not the transport). Private
        parts of nats-py, pinned by tests/transport/test_nats_private.py.
        """
        nc = self.nc
        if len(data) > nc._max_payload:
            return False
        if self._turn_bytes + len(data) > TURN_BYTES_MAX:
            self._flush_turn()  # a long turn: write what it holds, start again as anew
        out = self._turn
        if not out:
            transport = nc._transport
            if nc._pending or not nc.is_connected or type(transport) is not TcpTransport:
                return False
            writer = transport._io_writer
            if writer is None or writer.transport.get_write_buffer_size():
                return False
            self._turn_writer = writer
            asyncio.get_running_loop().call_soon(self._flush_turn)
        out.append(pub_cmd(subject, "", data))
        self._turn_bytes += len(data)
        nc.stats["out_msgs"] += 1
        nc.stats["out_bytes"] += len(data)
        return True

    def _flush_turn(self) -> None:
        """End of the loop turn: write its messages in one go, on the connection they were
        taken for (if it dropped meanwhile they are lost, as if written just before: a
        node resends its commands, followers read the records from the journal)."""
        out = self._turn
        if not out:
            return
        self._turn = []
        self._turn_bytes = 0
        writer, self._turn_writer = self._turn_writer, None
        nc = self.nc
        transport = nc._transport
        try:
            if (
                writer is None
                or not nc.is_connected
                or type(transport) is not TcpTransport
                or transport._io_writer is not writer
            ):
                raise ConnectionError("the connection dropped")
            writer.write(out[0] if len(out) == 1 else b"".join(out))
        except Exception as exc:
            log.warning("nats: %d messages not written: %s", len(out), exc)

    async def client(self, node: str) -> NatsClient:
        client = NatsClient(self, check_node(node))
        await client.start()
        self._closers.append(client)
        return client

    async def serve(self, handler: BatchHandler, subject: str = "") -> NatsServer:
        """Answer the batches sent to ``<prefix>.cmd`` (or to ``subject``, in the same
        queue group)."""
        server = NatsServer(self, handler, subject)
        await server.start()
        self._closers.append(server)
        return server

    async def publisher(self) -> NatsPublisher:
        return NatsPublisher(self)

    async def subscribe(self, from_seq: int, store: JournalStore) -> NatsSubscription:
        subscription = NatsSubscription(self, Follower(from_seq, store, self.limits))
        await subscription.start()
        self._closers.append(subscription)
        return subscription

    async def close(self) -> None:
        for closer in reversed(self._closers):
            await closer.close()
        self._closers.clear()
        self._flush_turn()
        await _quietly(self.nc.close())


async def _quietly(awaitable: Any) -> None:
    try:
        await awaitable
    except Exception as exc:  # closing a connection that is already gone
        log.debug("nats: while closing: %s", exc)
