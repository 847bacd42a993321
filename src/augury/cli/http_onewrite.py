"""Every HTTP answer of an Augury server written to its socket in one write.

uvicorn's httptools protocol writes a plain answer with two ``transport.write`` calls:
the status line and headers on ``http.response.start``, the body on
``http.response.body``. Under uvloop each of them is a ``write(2)`` at once: two
syscalls and two TCP segments per answer, and the client may wake and read twice (the
API node's profile had ``RequestResponseCycle.send`` at 12-16 % of its samples;
measured, one write saves the load generator about 5 us per answer and the server a
syscall, about what the proxy costs it: docs/benchmarks.md). Here the protocol's transport
is a small proxy, :class:`OneWriteTransport`, that holds the writes: they go out together
(one ``write``, or one ``writelines``, a single ``writev``, when they are big) as soon as
the answer is complete (uvicorn's ``on_response_complete``, right after the body's
write), so a plain answer leaves exactly when its body did before, with its headers, in
one segment. Nothing is held longer than the loop turn: a ``loop.call_soon`` callback
sends what an unfinished answer wrote (a streamed answer's chunks: server-sent events,
``more_body``; a start whose body is not there yet; a ``100 Continue``).

What keeps the transport's contract:

- ``close()`` and ``write_eof()`` send what is held first; ``abort()`` drops it (as the
  transport drops its own buffer); once closing, writes go straight through.
- Flow control: past ``HOLD_BYTES_MAX`` held, the writes go out at once, so the real
  transport sees a big or endless answer and pauses the protocol as it would have;
  ``get_write_buffer_size`` counts what is held.
- Everything else (``is_closing``, ``get_extra_info``, reading, buffer limits,
  ``set_protocol``...) is the real transport's.
- The peer's EOF makes the transport close itself: :class:`OneWriteHttpProtocol` sends
  what is held before uvicorn sees it, and drops it when the connection is lost.
- A WebSocket upgrade hands the real transport to the WebSocket protocol (after sending
  what is held): its frames are written as before, never through the proxy.

It is the ``http=`` protocol of the uvicorn server every ``augury serve``/``augury api``
runs (``cli._common.http_config``), which ``bench/service.py``'s server uses too.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

HOLD_BYTES_MAX = 64 * 1024
"""Held bytes beyond which a turn's writes go out at once (uvicorn's and asyncio's
high-water mark): flow control stays the real transport's, and a large body is not
copied into one string (it leaves with its headers in one ``writelines``)."""


class OneWriteTransport(asyncio.Transport):
    """A transport that joins the writes of one loop turn into one write of ``transport``."""

    __slots__ = ("_held", "_held_bytes", "_loop", "_scheduled", "transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__()
        self.transport = transport
        """The real transport, written once per loop turn."""
        self._loop = loop
        self._held: list[bytes] = []
        self._held_bytes = 0
        self._scheduled = False

    # -- writing ------------------------------------------------------------------------
    def write(self, data: bytes | bytearray | memoryview) -> None:
        if self.transport.is_closing():
            self.transport.write(data)  # the real transport's own rules (counts, drops)
            return
        if not data:
            return
        chunk = data if type(data) is bytes else bytes(data)  # the caller may reuse its buffer
        self._held.append(chunk)
        self._held_bytes += len(chunk)
        if self._held_bytes > HOLD_BYTES_MAX:
            self.flush()
        elif not self._scheduled:
            self._scheduled = True
            self._loop.call_soon(self._turn_over)

    def writelines(self, list_of_data: Iterable[bytes | bytearray | memoryview]) -> None:
        for data in list_of_data:
            self.write(data)

    def _turn_over(self) -> None:
        self._scheduled = False
        self.flush()

    def flush(self) -> None:
        """Send what is held now (one write; one ``writelines`` when it is big)."""
        held = self._held
        if not held:
            return
        self._held = []
        size, self._held_bytes = self._held_bytes, 0
        if self.transport.is_closing():
            return  # the connection went (lost, reset): its own buffer is dropped too
        if len(held) == 1:
            self.transport.write(held[0])
        elif size <= HOLD_BYTES_MAX:
            self.transport.write(b"".join(held))
        else:
            self.transport.writelines(held)

    def discard(self) -> None:
        """Drop what is held (the connection is gone)."""
        self._held = []
        self._held_bytes = 0

    def get_write_buffer_size(self) -> int:
        return self.transport.get_write_buffer_size() + self._held_bytes

    # -- closing ------------------------------------------------------------------------
    def close(self) -> None:
        self.flush()
        self.transport.close()

    def write_eof(self) -> None:
        self.flush()
        self.transport.write_eof()

    def abort(self) -> None:
        self.discard()
        self.transport.abort()

    # -- the real transport's -----------------------------------------------------------
    def can_write_eof(self) -> bool:
        return self.transport.can_write_eof()

    def is_closing(self) -> bool:
        return self.transport.is_closing()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self.transport.get_extra_info(name, default)

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self.transport.set_protocol(protocol)

    def get_protocol(self) -> asyncio.BaseProtocol:
        return self.transport.get_protocol()

    def is_reading(self) -> bool:
        return self.transport.is_reading()

    def pause_reading(self) -> None:
        self.transport.pause_reading()

    def resume_reading(self) -> None:
        self.transport.resume_reading()

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        self.transport.set_write_buffer_limits(high, low)

    def get_write_buffer_limits(self) -> tuple[int, int]:
        return self.transport.get_write_buffer_limits()

    def __getattr__(self, name: str) -> Any:  # anything else a loop's transport has
        if name == "transport":  # not set yet: no recursion
            raise AttributeError(name)
        return getattr(self.transport, name)


class OneWriteHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol on a :class:`OneWriteTransport`."""

    onewrite: OneWriteTransport | None = None
    """The proxy this connection's answers are written through (None before the connection)."""

    def connection_made(  # type: ignore[override]
        self, transport: asyncio.Transport
    ) -> None:
        self.onewrite = OneWriteTransport(transport, self.loop)
        super().connection_made(self.onewrite)

    def on_response_complete(self) -> None:
        # uvicorn calls this right after an answer's last write: it leaves now, not at
        # the end of the turn (answers completed together, say by one group commit of
        # the engine, each leave as soon as they are written, as before).
        if self.onewrite is not None:
            self.onewrite.flush()
        super().on_response_complete()

    def eof_received(self) -> None:
        # The real transport closes itself after this (uvicorn keeps no half-open
        # connection): what this turn wrote must leave before.
        if self.onewrite is not None:
            self.onewrite.flush()
        super().eof_received()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.onewrite is not None:
            self.onewrite.discard()
        super().connection_lost(exc)

    def handle_websocket_upgrade(self) -> None:
        if self.onewrite is not None:
            self.onewrite.flush()  # an answer to a request before the upgrade goes first
            self.transport = self.onewrite.transport  # the WebSocket protocol's, as it was
        super().handle_websocket_upgrade()
