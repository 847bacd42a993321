"""One WebSocket connection: its route, its subscriptions, its bounded send queue and
the reader and writer tasks."""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import TYPE_CHECKING

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from starlette.concurrency import run_in_threadpool

from augury.api.deps import Principal, authenticate
from augury.api.errors import ApiError
from augury.api.ws.limits import (
    CLOSE_POLICY,
    CLOSE_TRY_AGAIN,
    CONNECTIONS_MAX,
    MESSAGE_BYTES_MAX,
    QUEUE_MAX,
    SUBSCRIPTIONS_MAX,
    Message,
)
from augury.roles.errors import ServiceError
from augury.roles.services import Services

if TYPE_CHECKING:
    from augury.api.ws.hub import Hub

router = APIRouter(tags=["websocket"])


class Connection:
    """One WebSocket: its subscriptions, held-back updates and a bounded send queue."""

    def __init__(self, websocket: WebSocket, principal: Principal | None) -> None:
        self.websocket = websocket
        self.principal = principal
        self.queue: asyncio.Queue[Message | None] = asyncio.Queue(QUEUE_MAX)
        self.channels: set[str] = set()
        self._held: dict[str, list[Message]] = {}
        self._after: dict[str, int] = {}  # channel -> seq of its snapshot
        self.overflowed = False

    def hold(self, channel: str) -> None:
        self._held[channel] = []

    def release(self, channel: str, snapshot_seq: int) -> None:
        self._after[channel] = snapshot_seq
        for message in self._held.pop(channel, []):
            self.deliver(channel, message)

    def deliver(self, channel: str, message: Message) -> None:
        held = self._held.get(channel)
        if held is not None:
            held.append(message)
            return
        if message["seq"] <= self._after.get(channel, 0):
            return  # the snapshot already holds it
        self.send(message)

    def send(self, message: Message) -> None:
        try:
            self.queue.put_nowait(message)
        except asyncio.QueueFull:
            self.overflowed = True
            with contextlib.suppress(asyncio.QueueFull):
                self.queue.get_nowait()
                self.queue.put_nowait(None)  # wakes the writer, which closes


@router.websocket("/ws")
async def websocket_endpoint(websocket: WebSocket) -> None:
    services: Services = websocket.app.state.services
    try:
        found = await run_in_threadpool(authenticate, websocket, services)
    except ApiError:
        await websocket.close(CLOSE_POLICY, "invalid credentials")
        return
    principal = found if isinstance(found, Principal) else None
    if principal is not None and principal.via == "session" and not _same_origin(websocket):
        principal = None  # a cookie sent by another site's page is not a login
    hub: Hub = websocket.app.state.hub
    if hub.connections >= CONNECTIONS_MAX:
        await websocket.close(CLOSE_TRY_AGAIN, "too many connections")
        return
    await websocket.accept()
    hub.connections += 1
    connection = Connection(websocket, principal)
    writer = asyncio.create_task(_write(connection))
    try:
        await _read(connection, hub)
    except WebSocketDisconnect:
        pass
    finally:
        hub.connections -= 1
        for channel in list(connection.channels):
            hub.unsubscribe(connection, channel)
        writer.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await writer


async def _write(connection: Connection) -> None:
    websocket = connection.websocket
    while True:
        message = await connection.queue.get()
        if message is None or connection.overflowed:
            await websocket.close(CLOSE_TRY_AGAIN, "too slow: resubscribe")
            return
        await websocket.send_text(json.dumps(message, separators=(",", ":")))


async def _read(connection: Connection, hub: Hub) -> None:
    websocket = connection.websocket
    while True:
        text = await websocket.receive_text()
        if len(text) > MESSAGE_BYTES_MAX:
            await websocket.close(CLOSE_POLICY, "message too large")
            return
        try:
            request = json.loads(text)
            op, channel = request["op"], request["channel"]
            if not isinstance(op, str) or not isinstance(channel, str) or len(channel) > 140:
                raise ValueError
        except (ValueError, KeyError, TypeError):
            _error(connection, None, "validation_error", 'send {"op": ..., "channel": ...}')
            continue
        await _handle(connection, hub, op, channel)


async def _handle(connection: Connection, hub: Hub, op: str, channel: str) -> None:
    if op == "unsubscribe":
        if channel in connection.channels:
            connection.channels.discard(channel)
            hub.unsubscribe(connection, channel)
        connection.send({"type": "unsubscribed", "channel": channel})
        return
    if op != "subscribe":
        _error(connection, channel, "validation_error", "op must be subscribe or unsubscribe")
        return
    if channel in connection.channels:
        _error(connection, channel, "already_subscribed", "already subscribed")
        return
    if len(connection.channels) >= SUBSCRIPTIONS_MAX:
        _error(connection, channel, "too_many_subscriptions", f"at most {SUBSCRIPTIONS_MAX}")
        return
    internal = _internal_channel(connection, channel)
    if internal is None:
        return
    try:
        answer = await hub.subscribe(connection, internal)
    except (ApiError, ServiceError) as error:
        _error(connection, channel, error.code, error.detail)
        return
    connection.channels.add(internal)
    connection.send(
        {
            "type": "subscribed",
            "channel": internal,
            "seq": answer["seq"],
            "snapshot": answer["snapshot"],
        }
    )
    connection.release(internal, answer["seq"])


def _internal_channel(connection: Connection, channel: str) -> str | None:
    kind = channel.partition(":")[0]
    if channel in ("orders", "notifications"):  # private: the caller's own only
        principal = connection.principal
        if principal is None or "read" not in principal.scopes:
            _error(connection, channel, "unauthorized", "log in or send an API key with 'read'")
            return None
        return f"{channel}:{principal.account}"
    if kind in ("book", "trades", "prices") and len(channel) > len(kind) + 1:
        return channel
    _error(connection, channel, "validation_error", "unknown channel")
    return None


def _error(connection: Connection, channel: str | None, code: str, detail: str) -> None:
    connection.send({"type": "error", "channel": channel, "code": code, "detail": detail})


def _same_origin(websocket: WebSocket) -> bool:
    origin = websocket.headers.get("origin")
    if origin is None:
        return True  # not a browser
    host = websocket.headers.get("host", "")
    return origin.split("://", 1)[-1] == host
