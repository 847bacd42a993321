"""The WebSocket API's limits and close codes, and the shapes its modules share."""

from __future__ import annotations

from typing import Any, Protocol

from starlette.websockets import WebSocket

from augury.api.deps import Principal

BOOK_DEPTH = 20
QUEUE_MAX = 1_000
"""Messages waiting for one slow connection before it is closed."""
SUBSCRIPTIONS_MAX = 20
"""Channels one connection may hold."""
CONNECTIONS_MAX = 10_000
"""Open WebSocket connections per server process; more are refused (1013)."""
MESSAGE_BYTES_MAX = 4_096
"""Largest message a client may send."""
CLOSE_TRY_AGAIN = 1013
CLOSE_POLICY = 1008

Message = dict[str, Any]
Levels = dict[int, tuple[int, int]]  # price micros -> (qty, orders)


class Listener(Protocol):
    """What the hub and its channels use of a listener: a connection
    (``augury.api.ws.connection.Connection``) or one of Kalshi's feeds (a subclass)."""

    websocket: WebSocket
    principal: Principal | None

    def hold(self, channel: str) -> None: ...

    def deliver(self, channel: str, message: Message) -> None: ...
