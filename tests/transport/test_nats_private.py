"""The private parts of nats-py that ``NatsTransport.send`` writes through are still there
and still mean what it relies on (``transport/nats_bus.py``, ``_write_now``).

``send`` writes a PUB to the socket at once (nats-py's own bytes, ``pub_cmd``) when the
client is connected over TCP and nothing waits to be written (in nats-py's buffer or in
the socket transport's); else it leaves the message to ``Client.publish``. If a nats-py
release renames ``_pending``, ``_transport``, ``_io_writer`` or ``_max_payload``, or
changes what a PUB looks like, this fails: run it when upgrading nats-py.
"""

from __future__ import annotations

import asyncio
import uuid

import nats
import pytest
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.transport import TcpTransport
from nats.protocol.command import pub_cmd

from augury.transport import NatsTransport, TransportUnavailable
from augury.transport.nats_bus import TURN_BYTES_MAX, _Inline, deliver_inline
from tests.transport.test_nats import nats_url

__all__ = ["nats_url"]  # the fixture, shared with test_nats.py


def test_a_pub_is_the_protocol_line_then_the_payload() -> None:
    assert pub_cmd("p.cmd", "", b"abc") == b"PUB p.cmd  3\r\nabc\r\n"


def test_the_client_has_the_private_parts_send_reads() -> None:
    nc = Client()
    assert nc._pending == []
    assert nc._transport is None
    assert isinstance(nc._max_payload, int)
    assert {"out_msgs", "out_bytes"} <= set(nc.stats)
    assert callable(TcpTransport.write)
    assert asyncio.iscoroutinefunction(TcpTransport.drain)


async def _received(
    url: str, send: list[bytes], *, pending: bool = False, buffered: bool = False
) -> tuple[list[bytes], int]:
    """What a subscriber receives of ``send`` (sent with ``NatsTransport.send``; with
    ``pending``, after a nats-py publish still unflushed; with ``buffered``, while the
    socket transport says it holds unwritten bytes), and how many of them ``send`` wrote
    itself (nothing left in nats-py's buffer for its flusher)."""
    prefix = f"t{uuid.uuid4().hex[:12]}"
    bus = await NatsTransport.connect(url, prefix=prefix)
    listener = await nats.connect(url)
    got: list[bytes] = []
    done = asyncio.Event()

    async def on_msg(msg: Msg) -> None:
        got.append(msg.data)
        if len(got) == len(send) + pending:
            done.set()

    try:
        await listener.subscribe(bus.subject("x"), cb=on_msg)
        await listener.flush()
        transport = bus.nc._transport
        assert isinstance(transport, TcpTransport)
        assert isinstance(transport._io_writer, asyncio.StreamWriter)
        if buffered:
            socket_transport = transport._io_writer.transport
            socket_transport.get_write_buffer_size = lambda: 1  # type: ignore[method-assign]
        written = 0
        if pending:
            await bus.nc.publish(bus.subject("x"), b"first")  # waits for the flusher
            assert bus.nc._pending
        for data in send:
            await bus.send(bus.subject("x"), data)
            written += not bus.nc._pending
        await bus.nc.flush()
        await asyncio.wait_for(done.wait(), 10)
        return got, written
    finally:
        await listener.close()
        await bus.close()


def test_send_writes_at_once_when_nothing_is_pending(nats_url: str) -> None:
    messages = [b"a", b"bb" * 1000, b"c"]
    got, written = asyncio.run(_received(nats_url, messages))
    assert got == messages
    assert written == len(messages)


def test_send_leaves_it_to_nats_py_while_a_publish_is_pending_and_keeps_order(
    nats_url: str,
) -> None:
    got, written = asyncio.run(_received(nats_url, [b"second"], pending=True))
    assert got == [b"first", b"second"]
    assert written == 0


def test_send_on_a_closed_connection_is_transport_unavailable(nats_url: str) -> None:
    async def scenario() -> None:
        bus = await NatsTransport.connect(nats_url, prefix=f"t{uuid.uuid4().hex[:12]}")
        await bus.nc.close()
        assert not bus._write_now(bus.subject("x"), b"a")
        with pytest.raises(TransportUnavailable):
            await bus.send(bus.subject("x"), b"a")

    asyncio.run(scenario())


def test_send_leaves_it_to_nats_py_while_the_socket_holds_unwritten_bytes(nats_url: str) -> None:
    got, written = asyncio.run(_received(nats_url, [b"a", b"b"], buffered=True))
    assert got == [b"a", b"b"]
    assert written == 0


def _socket_writes(bus: NatsTransport) -> list[bytes]:
    """From now on, what each write to the bus's socket writer carries."""
    transport = bus.nc._transport
    assert isinstance(transport, TcpTransport) and transport._io_writer is not None
    writer = transport._io_writer
    writes: list[bytes] = []
    write = writer.write

    def counting_write(data: bytes | bytearray | memoryview) -> None:
        writes.append(bytes(data))
        write(data)

    writer.write = counting_write  # type: ignore[method-assign]
    return writes


def test_the_messages_of_one_loop_turn_go_to_the_socket_in_one_write_in_order(
    nats_url: str,
) -> None:
    async def scenario() -> None:
        bus = await NatsTransport.connect(nats_url, prefix=f"t{uuid.uuid4().hex[:12]}")
        listener = await nats.connect(nats_url)
        got: list[bytes] = []
        done = asyncio.Event()
        sent = [b"records", b"answer-1", b"answer-2" * 500]

        async def on_msg(msg: Msg) -> None:
            got.append(msg.data)
            if len(got) == len(sent):
                done.set()

        try:
            await listener.subscribe(bus.subject("x"), cb=on_msg)
            await listener.flush()
            writes = _socket_writes(bus)
            for data in sent:
                await bus.send(bus.subject("x"), data)
            assert writes == [] and not bus.nc._pending  # taken, written at the turn's end
            await asyncio.sleep(0)
            assert writes == [b"".join(pub_cmd(bus.subject("x"), "", d) for d in sent)]
            await asyncio.wait_for(done.wait(), 10)
            assert got == sent
        finally:
            await listener.close()
            await bus.close()

    asyncio.run(scenario())


def test_what_a_turn_took_is_written_when_the_transport_closes(nats_url: str) -> None:
    async def scenario() -> list[bytes]:
        bus = await NatsTransport.connect(nats_url, prefix=f"t{uuid.uuid4().hex[:12]}")
        listener = await nats.connect(nats_url)
        try:
            sub = await listener.subscribe(bus.subject("x"))
            await listener.flush()
            await bus.send(bus.subject("x"), b"last")
            await bus.close()  # in the same turn: the message must still go out
            return [(await sub.next_msg(timeout=10)).data]
        finally:
            await listener.close()

    assert asyncio.run(scenario()) == [b"last"]


def test_a_long_turn_is_written_as_it_goes_and_keeps_order(nats_url: str) -> None:
    async def scenario() -> None:
        bus = await NatsTransport.connect(nats_url, prefix=f"t{uuid.uuid4().hex[:12]}")
        listener = await nats.connect(nats_url)
        sent = [bytes([i]) * (TURN_BYTES_MAX // 3) for i in range(7)]
        try:
            sub = await listener.subscribe(bus.subject("x"))
            await listener.flush()
            writes = _socket_writes(bus)
            for data in sent:
                await bus.send(bus.subject("x"), data)
            assert writes  # written as the turn went on, not all at its end
            assert max(map(len, writes)) <= TURN_BYTES_MAX + 100 * len(sent)
            got = [(await sub.next_msg(timeout=10)).data for _ in sent]
            assert got == sent
        finally:
            await listener.close()
            await bus.close()

    asyncio.run(scenario())


def test_inline_delivery_takes_every_message_in_order_through_no_queue(nats_url: str) -> None:
    """``deliver_inline``: nats-py puts each message in ``_pending_queue`` (after adding its
    size to ``_pending_size``); the inline queue hands it on at once, in order, and
    keeps the size at 0 (never a slow consumer), and the subscription's callback is
    never called."""

    async def scenario() -> tuple[list[bytes], list[bytes], int, int]:
        prefix = f"t{uuid.uuid4().hex[:12]}"
        bus = await NatsTransport.connect(nats_url, prefix=prefix)
        got: list[bytes] = []
        called: list[bytes] = []
        done = asyncio.Event()
        sent = [b"%d" % i for i in range(2_000)]

        def take(data: bytes) -> None:
            got.append(data)
            if len(got) == len(sent):
                done.set()

        async def on_msg(msg: Msg) -> None:
            called.append(msg.data)

        try:
            sub = await bus.nc.subscribe(bus.subject("x"), cb=on_msg, pending_msgs_limit=10)
            deliver_inline(sub, take)
            await bus.nc.flush()
            for data in sent:
                await bus.send(bus.subject("x"), data)
            await bus.nc.flush()
            await asyncio.wait_for(done.wait(), 10)
            await asyncio.sleep(0.05)
            return got, called, sub._pending_size, sub.pending_msgs
        finally:
            await bus.close()

    got, called, size, queued = asyncio.run(scenario())
    assert got == [b"%d" % i for i in range(2_000)]  # more than pending_msgs_limit, in order
    assert called == [] and size == 0 and queued == 0


def test_the_node_side_subscriptions_deliver_inline(nats_url: str) -> None:
    async def scenario() -> tuple[bool, bool]:
        bus = await NatsTransport.connect(nats_url, prefix=f"t{uuid.uuid4().hex[:12]}")
        try:
            client = await bus.client("node-x")
            answers = isinstance(client._sub._pending_queue, _Inline)  # type: ignore[union-attr]
            records = await bus.subscribe(1, None)  # type: ignore[arg-type]
            feed = isinstance(records._sub._pending_queue, _Inline)  # type: ignore[union-attr]
            return answers, feed
        finally:
            await bus.close()

    assert asyncio.run(scenario()) == (True, True)
