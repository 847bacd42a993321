"""The ``notifications`` WebSocket channel: the caller's own feed, as it grows.

The feed lives in the database (the projector writes the journal's notices, the API
its own, ``augury.api.notifications``), not in the engine, so this channel does not
follow the engine's records like the hub's others: while anyone is subscribed, one
task polls the feed every ``POLL_S`` for notices newer than the last it saw (one query
for every subscribed account) and sends each to its account's channel. The answer to a
subscription is a snapshot (the unread count and the newest ``SNAPSHOT_ITEMS``
notices); notices already in it are not sent again. Muted kinds are left out, as in
the feed. Every server process polls its own subscribers: with several API nodes each
sends what its own connections follow.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Protocol

from starlette.concurrency import run_in_threadpool

from augury.api.notifications import Item, Key, NotificationStore, advance
from augury.api.ws.limits import Listener, Message
from augury.roles.services import Services

log = logging.getLogger(__name__)

PREFIX = "notifications:"
"""Internal channel names: ``notifications:<account>``."""
POLL_S = 0.5
SNAPSHOT_ITEMS = 20


class Hub(Protocol):
    """What the channels use of their hub (``augury.api.ws.hub.Hub``, which holds them)."""

    services: Services
    listeners: dict[str, set[Listener]]


class NotificationChannels:
    """The ``notifications:<account>`` channels of one hub (event loop only)."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.seqs: dict[str, int] = {}  # channel -> seq of its last message
        self.known: dict[str, set[str]] = {}  # channel -> ids its snapshot already had
        self.cursor: tuple[int, int] | None = None  # (journal seq, API id) seen up to
        self._task: asyncio.Task[None] | None = None

    async def activate(self, channel: str, store: NotificationStore) -> Message:
        """The channel's snapshot and seq; starts the poller if it is not running."""
        account = channel.removeprefix(PREFIX)
        await self.hub.services.barrier()  # the snapshot covers every command acknowledged
        if self.cursor is None:
            self.cursor = await run_in_threadpool(store.heads)

        def read() -> tuple[list[Item], int]:
            items, _ = store.page(account, unread_only=False, before=None, limit=SNAPSHOT_ITEMS)
            return items, store.unread_count(account)

        items, unread = await run_in_threadpool(read)
        seq = self.seqs.setdefault(channel, 0)
        self.known[channel] = {item.id for item in items if _newer(item.key, self.cursor)}
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._poll(store))
        snapshot = {"unread": unread, "items": [item.view() for item in items]}
        return {"seq": seq, "snapshot": snapshot}

    async def _poll(self, store: NotificationStore) -> None:
        while True:
            await asyncio.sleep(POLL_S)
            watched = {
                channel.removeprefix(PREFIX): channel
                for channel in self.hub.listeners
                if channel.startswith(PREFIX)
            }
            for channel in list(self.seqs):
                if channel not in self.hub.listeners:
                    self.seqs.pop(channel, None)
                    self.known.pop(channel, None)
            if not watched:
                self.cursor = None
                return
            try:
                await self._send_new(store, watched)
            except Exception:  # the database may be restarting: the next poll tries again
                log.exception("polling the notification feed failed")

    async def _send_new(self, store: NotificationStore, watched: dict[str, str]) -> None:
        assert self.cursor is not None
        seq, api_id = self.cursor
        items = await run_in_threadpool(store.newer, sorted(watched), seq, api_id)
        if not items:
            return
        self.cursor = advance(self.cursor, items)
        accounts = sorted({item.account for item in items})
        counts = await run_in_threadpool(_counts, store, accounts)
        for item in items:
            channel = watched.get(item.account)
            if channel is None or item.kind in counts[item.account][1]:
                continue
            known = self.known.get(channel, set())
            if item.id in known:
                known.discard(item.id)
                continue
            self.seqs[channel] = self.seqs.get(channel, 0) + 1
            message: Message = {
                "type": "notification",
                "channel": channel,
                "seq": self.seqs[channel],
                "notification": item.view(),
                "unread": counts[item.account][0],
            }
            for connection in self.hub.listeners.get(channel, ()):
                connection.deliver(channel, message)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task


def _newer(key: Key, cursor: tuple[int, int]) -> bool:
    return key[2] > (cursor[0] if key[1] == 1 else cursor[1])


def _counts(store: NotificationStore, accounts: list[str]) -> dict[str, tuple[int, set[str]]]:
    return {a: (store.unread_count(a), set(store.muted_kinds(a))) for a in accounts}
