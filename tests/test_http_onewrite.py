"""Augury's uvicorn server writes each answer in one write (augury.cli.http_onewrite).

A real uvicorn server (``http_config``: the configuration of ``augury serve`` and
``augury api``) in a thread, on a free port, with a tiny ASGI app; the tests talk to it
over real sockets. The socket writes are counted on the loop's real transport: the
protocol of the configuration is wrapped so that the transport it sees counts them.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import pytest
import uvicorn
from websockets.sync.client import connect

from augury.cli._common import http_config
from augury.cli.http_onewrite import HOLD_BYTES_MAX, OneWriteTransport

BIG = bytes(range(256)) * (16 * 1024 * 1024 // 256)  # 16 MiB: more than the sockets buffer
CHUNK = b"c" * 65536
CHUNKS = 256  # 16 MiB in all


@dataclass
class Served:
    port: int
    writes: list[int] = field(default_factory=list)
    """Bytes of each write (``write`` or ``writelines``) on the loop's real transports."""
    pauses: list[int] = field(default_factory=list)
    """One item each time a transport paused the protocol (flow control)."""
    written_at_send: list[int] = field(default_factory=list)
    """``len(writes)`` when ``/json``'s last ``send`` returned."""
    gate: threading.Event = field(default_factory=threading.Event)
    """What the app waits for in the middle of ``/stream`` and ``/late``."""


class _Counting:
    """The loop's transport, counting writes, everything else its own."""

    def __init__(self, transport: asyncio.Transport, writes: list[int]) -> None:
        self._transport = transport
        self._writes = writes

    def write(self, data: bytes) -> None:
        self._writes.append(len(data))
        self._transport.write(data)

    def writelines(self, chunks: list[bytes]) -> None:
        self._writes.append(sum(map(len, chunks)))
        self._transport.writelines(chunks)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


def _app(served: Served) -> Any:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        if scope["type"] == "websocket":
            await receive()  # websocket.connect
            await send({"type": "websocket.accept"})
            while (message := await receive())["type"] == "websocket.receive":
                await send({"type": "websocket.send", "text": "echo:" + message["text"]})
            return
        path = scope["path"]
        body = json.dumps({"path": path, "n": scope["query_string"].decode()}).encode()
        length = [(b"content-length", str(len(body)).encode())]
        if path == "/big":
            body, length = BIG, [(b"content-length", str(len(BIG)).encode())]
        if path in ("/stream", "/bigstream"):
            await send({"type": "http.response.start", "status": 200, "headers": []})
            if path == "/stream":
                await send({"type": "http.response.body", "body": b"one", "more_body": True})
                await asyncio.to_thread(served.gate.wait, 10)
                await send({"type": "http.response.body", "body": b"two"})
                return
            for _ in range(CHUNKS):  # no await but send's: flow control must pause it
                await send({"type": "http.response.body", "body": CHUNK, "more_body": True})
            await send({"type": "http.response.body", "body": b""})
            return
        headers = [(b"content-type", b"application/json"), *length]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        if path == "/late":
            await asyncio.to_thread(served.gate.wait, 10)
        await send({"type": "http.response.body", "body": body})
        served.written_at_send.append(len(served.writes))  # still in the app's turn

    return app


@contextmanager
def _serving() -> Iterator[Served]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    served = Served(port)
    settings = SimpleNamespace(host="127.0.0.1", port=port, access_log=False)
    config = http_config(_app(served), settings, log_config=None, log_level="warning")
    config.load()
    protocol = config.http_protocol_class

    class Counted(protocol):  # type: ignore[misc, valid-type]
        def connection_made(self, transport: asyncio.Transport) -> None:
            super().connection_made(_Counting(transport, served.writes))

        def pause_writing(self) -> None:
            served.pauses.append(1)
            super().pause_writing()

    config.http_protocol_class = Counted
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the server did not start"
        time.sleep(0.01)
    try:
        yield served
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    with _serving() as running:
        yield running


def _client(served: Served) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", served.port), timeout=10)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def _get(path: str, *extra: str) -> bytes:
    return "".join([f"GET {path} HTTP/1.1\r\nhost: t\r\n", *extra, "\r\n"]).encode()


def _read_until(sock: socket.socket, buffer: bytearray, marker: bytes) -> None:
    while marker not in buffer:
        data = sock.recv(65536)
        assert data, f"EOF before {marker!r}: {bytes(buffer[-200:])!r}"
        buffer += data


def _response(sock: socket.socket, buffer: bytearray) -> tuple[bytes, bytes]:
    """One content-length answer off ``buffer`` (read as needed): (head, body)."""
    _read_until(sock, buffer, b"\r\n\r\n")
    head, _, _ = bytes(buffer).partition(b"\r\n\r\n")
    length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
    end = len(head) + 4 + length
    while len(buffer) < end:
        data = sock.recv(1 << 20)
        assert data, "EOF in a body"
        buffer += data
    body = bytes(buffer[len(head) + 4 : end])
    del buffer[:end]
    return head, body


def test_a_plain_answer_is_one_write_and_one_recv(served: Served) -> None:
    with _client(served) as sock:
        for n in range(20):
            before = len(served.writes)
            sock.sendall(_get(f"/json?{n}"))
            first = sock.recv(65536)  # the whole answer: one write, one segment
            head, _, body = first.partition(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 200 OK")
            assert json.loads(body) == {"path": "/json", "n": str(n)}
            assert len(served.writes) - before == 1, served.writes[before:]
            assert served.writes[-1] == len(first)
            # written when complete, not at the end of the turn
            assert served.written_at_send[-1] == before + 1


def test_pipelined_requests_on_one_connection(served: Served) -> None:
    with _client(served) as sock:
        sock.sendall(b"".join(_get(f"/json?{n}") for n in range(5)))
        buffer = bytearray()
        for n in range(5):
            head, body = _response(sock, buffer)
            assert head.startswith(b"HTTP/1.1 200 OK")
            assert json.loads(body)["n"] == str(n)


def test_a_stream_is_not_held_while_the_app_waits(served: Served) -> None:
    served.gate.clear()
    with _client(served) as sock:
        sock.sendall(_get("/stream"))
        buffer = bytearray()
        _read_until(sock, buffer, b"3\r\none\r\n")  # sent before the app waits on the gate
        assert b"two" not in buffer
        served.gate.set()
        _read_until(sock, buffer, b"3\r\ntwo\r\n0\r\n\r\n")


def test_headers_are_not_held_while_the_body_waits(served: Served) -> None:
    served.gate.clear()
    with _client(served) as sock:
        sock.sendall(_get("/late"))
        buffer = bytearray()
        _read_until(sock, buffer, b"\r\n\r\n")
        assert buffer.endswith(b"\r\n\r\n")
        served.gate.set()
        head, body = _response(sock, buffer)
        assert head.startswith(b"HTTP/1.1 200 OK")
        assert json.loads(body)["path"] == "/late"


def test_a_large_body_and_a_large_stream_arrive_whole(served: Served) -> None:
    with _client(served) as sock:
        sock.sendall(_get("/big"))
        time.sleep(0.2)  # the server's buffer fills: its transport pauses the protocol
        buffer = bytearray()
        head, body = _response(sock, buffer)
        assert body == BIG
        before = len(served.pauses)
        sock.sendall(_get("/bigstream"))
        time.sleep(0.2)
        _read_until(sock, buffer, b"\r\n\r\n")
        head, _, rest = bytes(buffer).partition(b"\r\n\r\n")
        assert b"transfer-encoding: chunked" in head
        stream = bytearray(rest)
        _read_until(sock, stream, b"\r\n0\r\n\r\n")
        assert stream == (b"10000\r\n" + CHUNK + b"\r\n") * CHUNKS + b"0\r\n\r\n"
        assert len(served.pauses) > before
    assert len(served.pauses) >= 2  # flow control paused the body and the stream
    assert max(served.writes) > HOLD_BYTES_MAX  # the big body left with its headers


def test_connection_close_sends_the_answer_then_closes(served: Served) -> None:
    with _client(served) as sock:
        sock.sendall(_get("/json?last", "connection: close\r\n"))
        received = bytearray()
        while data := sock.recv(65536):
            received += data
    head, _, body = bytes(received).partition(b"\r\n\r\n")
    assert b"connection: close" in head
    assert json.loads(body)["n"] == "last"


def test_a_websocket_round_trip(served: Served) -> None:
    with connect(f"ws://127.0.0.1:{served.port}/ws", open_timeout=10) as ws:
        for text in ("hello", "again"):
            ws.send(text)
            assert ws.recv(timeout=10) == "echo:" + text


# -- the proxy alone, on a transport that records what it is asked ------------------------
class _Recording(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[str, Any]] = []
        self.closing = False

    def write(self, data: Any) -> None:
        self.calls.append(("write", bytes(data)))

    def writelines(self, list_of_data: Any) -> None:
        self.calls.append(("writelines", [bytes(d) for d in list_of_data]))

    def close(self) -> None:
        self.calls.append(("close", None))
        self.closing = True

    def abort(self) -> None:
        self.calls.append(("abort", None))
        self.closing = True

    def is_closing(self) -> bool:
        return self.closing

    def get_write_buffer_size(self) -> int:
        return 7


def test_the_proxy_joins_a_turn_and_keeps_the_transport_contract() -> None:
    loop = asyncio.new_event_loop()
    try:
        real = _Recording()
        proxy = OneWriteTransport(real, loop)
        proxy.write(b"head ")
        proxy.write(bytearray(b"body"))
        assert real.calls == [] and proxy.get_write_buffer_size() == 7 + 9
        loop.run_until_complete(asyncio.sleep(0))
        assert real.calls == [("write", b"head body")]

        proxy.write(b"a")
        proxy.write(b"b" * HOLD_BYTES_MAX)  # past the mark: out at once, not copied
        assert real.calls[-1:] == [("writelines", [b"a", b"b" * HOLD_BYTES_MAX])]

        proxy.write(b"last")
        proxy.close()  # what is held goes before the close
        assert real.calls[-2:] == [("write", b"last"), ("close", None)]
        proxy.write(b"after")  # closing: straight to the real transport
        assert real.calls[-1:] == [("write", b"after")]

        real = _Recording()
        proxy = OneWriteTransport(real, loop)
        proxy.write(b"dropped")
        proxy.abort()
        loop.run_until_complete(asyncio.sleep(0))
        assert real.calls == [("abort", None)]
    finally:
        loop.close()
