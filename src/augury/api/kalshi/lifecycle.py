"""``market_lifecycle_v2``: markets created, their status changes and settlements, read
from the engine's records (a subscriber that touches only its arguments).

One per app (on ``app.state``), following the engine from the first subscription on.
Messages reach the subscriptions on the event loop, in the records' order.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from typing import Any, Protocol

from augury.api.kalshi import mapping
from augury.domain import events as ev
from augury.domain.exchange import Exchange
from augury.domain.units import ONE
from augury.engine.entry import Entry
from augury.roles.services import Services, subscribe
from augury.settings import format_instant


class Subscription(Protocol):
    """What the lifecycle uses of a subscription (``augury.api.kalshi.ws.Subscription``)."""

    def emit(self, kind: str, msg: dict[str, Any]) -> None: ...


STATUS_EVENT = {"open": "activated", "halted": "deactivated", "closed": "closed"}
"""Augury's new market status -> the lifecycle event type."""


class Lifecycle:
    def __init__(self, services: Services, loop: asyncio.AbstractEventLoop) -> None:
        self.services = services
        self.loop = loop
        self.subs: set[Subscription] = set()  # event loop only
        self._lock = threading.Lock()
        self._shapes: dict[str, tuple[bool, int]] = {}  # market -> (categorical, outcomes)
        self._following = False

    @classmethod
    def of(cls, state: Any, services: Services) -> Lifecycle:
        found: Lifecycle | None = getattr(state, "kalshi_lifecycle", None)
        if found is None:
            found = state.kalshi_lifecycle = cls(services, asyncio.get_running_loop())
        return found

    async def join(self, sub: Subscription) -> None:
        self.subs.add(sub)
        if not self._following:
            self._following = True
            await self.services.query(self._start)

    def leave(self, sub: Subscription) -> None:
        self.subs.discard(sub)

    def _start(self, ex: Exchange) -> None:
        """On the engine thread: the markets so far, then every record after them."""
        with self._lock:
            self._shapes = {m.id: (m.categorical, m.n) for m in ex.markets.values()}
        subscribe(self.services.engine, self._on_record, reads_state=False)

    def _on_record(self, seq: int, ts_us: int, entry: Entry) -> None:
        out: list[dict[str, Any]] = []
        with self._lock:
            for event in entry.events:
                if isinstance(event, ev.MarketCreated):
                    self._shapes[event.market] = (event.categorical, len(event.outcomes))
                    self._each(out, event.market, "created", ts_us, None)
                elif isinstance(event, ev.MarketStatusChanged):
                    kind = STATUS_EVENT.get(event.status)
                    if kind is not None:
                        self._each(out, event.market, kind, ts_us, None)
                elif isinstance(event, ev.MarketSettled):
                    self._each(out, event.market, "settled", ts_us, event.weights)
                elif isinstance(event, ev.MarketVoided):
                    self._each(out, event.market, "settled", ts_us, ())
        if out:
            self.loop.call_soon_threadsafe(self._dispatch, out)

    def _each(
        self,
        out: list[dict[str, Any]],
        market: str,
        kind: str,
        ts_us: int,
        weights: Sequence[int] | None,
    ) -> None:
        categorical, n = self._shapes.get(market, (False, 2))
        for outcome in range(n) if categorical else [0]:
            msg: dict[str, Any] = {
                "market_ticker": mapping.market_ticker(market, categorical, outcome),
                "event_ticker": mapping.ticker_of(market),
                "event_type": kind,
                "ts": ts_us // 1_000_000,
                "time": format_instant(ts_us),
            }
            if weights is not None:
                weight = weights[outcome] if weights else None
                msg["result"] = (
                    ""
                    if weight is None
                    else "yes"
                    if weight == ONE
                    else "no"
                    if weight == 0
                    else "scalar"
                )
            out.append(msg)

    def _dispatch(self, out: list[dict[str, Any]]) -> None:
        for msg in out:
            for sub in list(self.subs):
                sub.emit("market_lifecycle_v2", dict(msg))
