"""WebSocket subscriptions: snapshot then numbered updates, gaps healed by resubscribing.

The :class:`Tracker` holds the sequence logic without I/O; :class:`Subscription` (sync,
``websockets.sync``) and :class:`AsyncSubscription` (``websockets.asyncio``) drive it.
A subscription never yields a message out of order: after a gap it drops that channel's
messages until the fresh snapshot arrives.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Iterator
from types import TracebackType
from typing import Final

from websockets.asyncio.client import ClientConnection as AsyncConnection
from websockets.asyncio.client import connect as async_connect
from websockets.exceptions import ConnectionClosed, InvalidStatus, WebSocketException
from websockets.sync.client import ClientConnection, connect

from augury.client._errors import AuguryError, TransportError, Unauthorized, ws_error
from augury.client._models import WsMessage

RECONNECTS_MAX: Final = 5
"""Reconnections in a row (without a message in between) before giving up."""
OPEN_TIMEOUT_S: Final = 10.0


class Tracker:
    """Sequence numbers per channel: which messages to yield, what to send after a gap."""

    def __init__(self, channels: list[str]) -> None:
        if not channels:
            raise ValueError("subscribe to at least one channel")
        self.channels = list(dict.fromkeys(channels))
        self.seqs: dict[str, int] = {}
        """Last seq seen per channel, by the server's name (``orders`` -> ``orders:<me>``)."""
        self.resyncing: set[str] = set()
        self.gaps = 0
        """How many times a gap made this subscription resubscribe a channel."""

    def opening(self) -> list[str]:
        """The frames that (re)subscribe every channel on a new connection."""
        self.seqs.clear()
        self.resyncing.clear()
        return [_op("subscribe", channel) for channel in self.channels]

    def on_message(self, raw: str | bytes) -> tuple[WsMessage | None, list[str]]:
        """The message to yield (if any) and the frames to send back."""
        message = json.loads(raw)
        if not isinstance(message, dict):
            return None, []
        kind, channel, seq = message.get("type"), message.get("channel"), message.get("seq")
        if kind == "error":
            code, detail = str(message.get("code")), str(message.get("detail", ""))
            raise ws_error(code, f"{channel}: {detail}", message)
        if not isinstance(kind, str) or not isinstance(channel, str) or not isinstance(seq, int):
            return None, []  # "unsubscribed", or something this client does not know
        if kind == "subscribed":
            self.seqs[channel] = seq
            self.resyncing.discard(channel)
            return WsMessage(type=kind, channel=channel, seq=seq, data=message), []
        last = self.seqs.get(channel)
        if last is None or channel in self.resyncing or seq <= last:
            return None, []  # not ours (yet), stale while resyncing, or already covered
        if seq != last + 1:
            self.gaps += 1
            self.resyncing.add(channel)
            requested = "orders" if channel.startswith("orders:") else channel
            return None, [_op("unsubscribe", channel), _op("subscribe", requested)]
        self.seqs[channel] = seq
        return WsMessage(type=kind, channel=channel, seq=seq, data=message), []


def _op(op: str, channel: str) -> str:
    return json.dumps({"op": op, "channel": channel})


def _handshake_error(url: str, exc: Exception) -> AuguryError:
    if isinstance(exc, InvalidStatus):
        status = exc.response.status_code
        if status in (401, 403):
            return Unauthorized(status, "unauthorized", "the WebSocket refused the credentials")
        return AuguryError(status, f"http_{status}", f"WebSocket handshake refused: {url}")
    return TransportError(0, "connection_failed", f"{url}: {exc}")


class Subscription:
    """Synchronous subscription: ``with client.subscribe([...]) as sub: for msg in sub``.

    ``timeout`` bounds each wait for a message (``TimeoutError``); None waits forever."""

    def __init__(
        self, url: str, headers: dict[str, str], channels: list[str], *, timeout: float | None
    ) -> None:
        self.url = url
        self.headers = headers
        self.timeout = timeout
        self.tracker = Tracker(channels)
        self._ws: ClientConnection | None = None

    @property
    def gaps(self) -> int:
        return self.tracker.gaps

    def __enter__(self) -> Subscription:
        self._connect()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        if self._ws is not None:
            self._ws.close()
            self._ws = None

    def _connect(self) -> ClientConnection:
        self.close()
        try:
            ws = connect(
                self.url, additional_headers=self.headers, open_timeout=OPEN_TIMEOUT_S
            ).__enter__()  # the connection itself (websockets 17 wants the `with` form)
        except (OSError, WebSocketException, TimeoutError) as exc:
            raise _handshake_error(self.url, exc) from None
        self._ws = ws
        for frame in self.tracker.opening():
            ws.send(frame)
        return ws

    def __iter__(self) -> Iterator[WsMessage]:
        while True:
            yield self.recv()

    def recv(self, timeout: float | None = None) -> WsMessage:
        """The next message in order (``timeout`` defaults to the subscription's)."""
        wait = self.timeout if timeout is None else timeout
        deadline = None if wait is None else time.monotonic() + wait
        reconnects = 0
        while True:
            ws = self._ws or self._connect()
            left = None if deadline is None else max(deadline - time.monotonic(), 0.0)
            try:
                raw = ws.recv(timeout=left)
            except ConnectionClosed:
                reconnects += 1
                if reconnects > RECONNECTS_MAX:
                    raise TransportError(0, "connection_closed", self.url) from None
                time.sleep(min(0.1 * 2**reconnects, 2.0))
                self._connect()
                continue
            message, replies = self.tracker.on_message(raw)
            for frame in replies:
                ws.send(frame)
            if message is not None:
                return message


class AsyncSubscription:
    """Asynchronous subscription: ``async with client.subscribe([...]) as sub:
    async for msg in sub``."""

    def __init__(
        self, url: str, headers: dict[str, str], channels: list[str], *, timeout: float | None
    ) -> None:
        self.url = url
        self.headers = headers
        self.timeout = timeout
        self.tracker = Tracker(channels)
        self._ws: AsyncConnection | None = None

    @property
    def gaps(self) -> int:
        return self.tracker.gaps

    async def __aenter__(self) -> AsyncSubscription:
        await self._connect()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        if self._ws is not None:
            await self._ws.close()
            self._ws = None

    async def _connect(self) -> AsyncConnection:
        await self.close()
        try:
            ws = await async_connect(
                self.url, additional_headers=self.headers, open_timeout=OPEN_TIMEOUT_S
            )
        except (OSError, WebSocketException, TimeoutError) as exc:
            raise _handshake_error(self.url, exc) from None
        self._ws = ws
        for frame in self.tracker.opening():
            await ws.send(frame)
        return ws

    async def __aiter__(self) -> AsyncIterator[WsMessage]:
        while True:
            yield await self.recv()

    async def recv(self, timeout: float | None = None) -> WsMessage:
        wait = self.timeout if timeout is None else timeout
        deadline = None if wait is None else time.monotonic() + wait
        reconnects = 0
        while True:
            ws = self._ws or await self._connect()
            left = None if deadline is None else max(deadline - time.monotonic(), 0.0)
            try:
                raw = await asyncio.wait_for(ws.recv(), left)
            except ConnectionClosed:
                reconnects += 1
                if reconnects > RECONNECTS_MAX:
                    raise TransportError(0, "connection_closed", self.url) from None
                await asyncio.sleep(min(0.1 * 2**reconnects, 2.0))
                await self._connect()
                continue
            message, replies = self.tracker.on_message(raw)
            for frame in replies:
                await ws.send(frame)
            if message is not None:
                return message
