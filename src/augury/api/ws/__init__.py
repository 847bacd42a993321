"""The WebSocket API (``/api/v1/ws``): a snapshot, then numbered updates, per channel.

Channels:

``book:<market>[:<outcome>]``  the top 20 levels of a book, then level changes
``trades:<market>``            every fill in the market
``prices:<market>``            the LMSR maker's prices, whenever they move
``orders``                     private: the caller's own orders and fills

A client sends ``{"op": "subscribe", "channel": "..."}`` (or ``unsubscribe``) and gets
``{"type": "subscribed", "channel", "seq", "snapshot"}``, then messages with ``seq``
increasing by exactly one per channel: a client that sees a gap resubscribes.

How it stays consistent: the hub's engine-side half runs on the engine thread, both as
a subscriber (after each durable record) and inside queries (subscribe, unsubscribe),
so a snapshot and the updates after it come from one ordered stream. Each channel's
``seq`` is counted there; updates reach the event loop through ``call_soon_threadsafe``
and a connection holds back a channel's updates until its snapshot has been sent,
dropping those the snapshot already covers. A connection whose queue overflows is
closed (1013, try again later) rather than allowed to grow without bound.

The engine-side functions only read the exchange: they must never change it.
"""

from augury.api.ws.connection import Connection, router, websocket_endpoint
from augury.api.ws.hub import Hub
from augury.api.ws.limits import CONNECTIONS_MAX, MESSAGE_BYTES_MAX, QUEUE_MAX, SUBSCRIPTIONS_MAX

__all__ = [
    "CONNECTIONS_MAX",
    "MESSAGE_BYTES_MAX",
    "QUEUE_MAX",
    "SUBSCRIPTIONS_MAX",
    "Connection",
    "Hub",
    "router",
    "websocket_endpoint",
]
