"""The hub: fans the engine's records out to WebSocket connections, channel by channel
(its engine-side half runs on the engine thread, see the package docstring)."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Sequence
from typing import Any

from augury.api import live
from augury.api.notifications import store_of
from augury.api.ws import notifications
from augury.api.ws.limits import Levels, Listener, Message
from augury.api.ws.messages import (
    accepted_view,
    book_target,
    diff,
    level_list,
    levels,
    maker_prices,
    market_of,
    price_list,
)
from augury.domain import events as ev
from augury.domain import views
from augury.domain.exchange import Exchange
from augury.domain.units import format_micros
from augury.engine.entry import Entry
from augury.roles.services import Services, subscribe
from augury.settings import format_instant


class _Side:
    """What the hub keeps beside the engine: which channels are followed, their last
    book levels and prices, each channel's message count, the owners of the open orders
    of watched accounts and every market's tick. Changed on the writer thread (records)
    and the engine thread (queries), never both at once, always under ``lock``."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.seqs: dict[str, int] = {}
        self.books: dict[str, tuple[str, int, tuple[Levels, Levels]]] = {}
        self.prices: dict[str, tuple[str, tuple[int, ...] | None]] = {}
        self.trades: dict[str, str] = {}  # channel -> market
        self.accounts: dict[str, str] = {}  # channel -> account
        self.owners: dict[int, str] = {}  # open order id -> account, for watched accounts
        self.ticks: dict[str, int] = {}  # market -> tick, once anything is followed
        self.refresh_pending = False

    def next_seq(self, channel: str) -> int:
        seq = self.seqs.get(channel, 0) + 1
        self.seqs[channel] = seq
        return seq


_BOOK_EVENTS = (ev.OrderRested, ev.OrderClosed, ev.OrderReduced, ev.BookFill, ev.MakerFill)


def _order_change(event: str, order_id: int, time: str, **extra: str) -> Message:
    """An ``order`` message of the private orders channel: what happened to an order."""
    return {"type": "order", "event": event, "order_id": order_id, "time": time, **extra}


class Hub:
    """Fans the engine's records out to WebSocket connections, channel by channel.

    It follows the engine with a subscriber that touches only its arguments (so an
    engine that pipelines keeps doing so): trades and private order updates come
    straight from the events. Book levels and maker prices need the state: a record
    that may have moved them schedules one refresh query (at most one is pending), which
    runs on the engine thread at the durable head and sends what changed.
    """

    def __init__(self, services: Services, loop: asyncio.AbstractEventLoop) -> None:
        self.services = services
        self.loop = loop
        self.listeners: dict[str, set[Listener]] = {}  # event loop only
        self._side = _Side()
        self._following = False  # event loop only
        self.connections = 0  # event loop only
        self.notifications = notifications.NotificationChannels(self)  # polls the feed

    def _follow(self) -> None:
        """Subscribe to the engine on the first WebSocket subscription."""
        if not self._following:
            self._following = True
            subscribe(self.services.engine, self._on_record, reads_state=False)

    # -- the engine's writer thread: the record only, never the state --------------------
    def _on_record(self, seq: int, ts_us: int, entry: Entry) -> None:
        side = self._side
        out: list[tuple[str, Message]] = []
        refresh = False
        with side.lock:
            if not (side.books or side.prices or side.trades or side.accounts):
                return
            events = entry.events
            for event in events:
                if isinstance(event, ev.MarketCreated):
                    side.ticks[event.market] = event.tick
            self._trades(events, ts_us, out)
            if side.accounts:
                self._orders(events, ts_us, out)
            if (side.books or side.prices) and not side.refresh_pending:
                refresh = any(isinstance(e, _BOOK_EVENTS) for e in events)
                side.refresh_pending = refresh
        if out:
            self.loop.call_soon_threadsafe(self._dispatch, out)
        if refresh:
            try:
                self.services.engine.query(self._refresh)
            except Exception:  # stopping or overloaded: the next record tries again
                with side.lock:
                    side.refresh_pending = False

    def _emit(self, out: list[tuple[str, Message]], channel: str, message: Message) -> None:
        message["channel"] = channel
        message["seq"] = self._side.next_seq(channel)
        out.append((channel, message))

    def _trades(self, events: Sequence[Any], ts_us: int, out: list[tuple[str, Message]]) -> None:
        side = self._side
        watched = set(side.trades.values())
        if not watched:
            return
        for event in events:
            if isinstance(event, ev.BookFill) and event.market in watched:
                price = event.price * side.ticks[event.market]
                kind = "book"
            elif isinstance(event, ev.MakerFill) and event.market in watched:
                price = views.maker_fill_yes_price(event)
                kind = "maker"
            else:
                continue
            self._emit(
                out,
                f"trades:{event.market}",
                {
                    "type": "trade",
                    "time": format_instant(ts_us),
                    "outcome": event.outcome,
                    "price": format_micros(price),
                    "qty": format_micros(event.qty),
                    "kind": kind,
                },
            )

    def _orders(self, events: Sequence[Any], ts_us: int, out: list[tuple[str, Message]]) -> None:
        side = self._side
        watched = {account: channel for channel, account in side.accounts.items()}
        owners = side.owners
        time = format_instant(ts_us)
        for event in events:
            if isinstance(event, ev.OrderAccepted):
                if event.account in watched:
                    owners[event.order_id] = event.account
                    message: Message = {
                        "type": "order",
                        "event": "accepted",
                        "order_id": event.order_id,
                        "time": time,
                        "order": accepted_view(event, side.ticks[event.market]),
                    }
                    self._emit(out, watched[event.account], message)
            elif isinstance(event, ev.OrderRested):
                account = owners.get(event.order_id)
                if account is not None:
                    message = _order_change("rested", event.order_id, time)
                    self._emit(out, watched[account], message)
            elif isinstance(event, ev.OrderClosed):
                account = owners.pop(event.order_id, None)
                if account is not None:
                    message = _order_change("closed", event.order_id, time, reason=event.reason)
                    self._emit(out, watched[account], message)
            elif isinstance(event, ev.OrderReduced):
                account = owners.get(event.order_id)
                if account is not None:
                    remaining = format_micros(event.remaining)
                    message = _order_change("reduced", event.order_id, time, remaining=remaining)
                    self._emit(out, watched[account], message)
            elif isinstance(event, ev.BookFill):
                price = event.price * side.ticks[event.market]
                for order_id in (event.taker_order, event.resting_order):
                    fee = views.book_fill_fee(event, order_id)
                    self._fill(out, watched, order_id, event.qty, price, fee, time)
            elif isinstance(event, ev.MakerFill):
                price = views.maker_fill_yes_price(event)
                self._fill(out, watched, event.order_id, event.qty, price, event.fee, time)

    def _fill(
        self, out: list[tuple[str, Message]], watched: dict[str, str], order_id: int, qty: int,
        yes_price: int, fee: int, time: str,
    ) -> None:  # fmt: skip
        account = self._side.owners.get(order_id)
        if account is not None:
            message = {
                "type": "fill",
                "order_id": order_id,
                "qty": format_micros(qty),
                "price": format_micros(yes_price),
                "fee": format_micros(fee),
                "time": time,
            }
            self._emit(out, watched[account], message)

    # -- the engine thread (queries) -----------------------------------------------------
    def _refresh(self, ex: Exchange) -> None:
        """Send the book levels and maker prices that changed (at the durable head)."""
        side = self._side
        out: list[tuple[str, Message]] = []
        with side.lock:
            side.refresh_pending = False
            for channel, (market, outcome, (bids, asks)) in list(side.books.items()):
                new_bids, new_asks = levels(ex, market, outcome)
                if new_bids == bids and new_asks == asks:
                    continue
                side.books[channel] = (market, outcome, (new_bids, new_asks))
                message = {
                    "type": "book_delta",
                    "bids": diff(bids, new_bids, True),
                    "asks": diff(asks, new_asks, False),
                }
                self._emit(out, channel, message)
            for channel, (market, old) in list(side.prices.items()):
                new = maker_prices(ex, market)
                if new != old:
                    side.prices[channel] = (market, new)
                    self._emit(out, channel, {"type": "prices", "prices": price_list(new)})
        if out:
            self.loop.call_soon_threadsafe(self._dispatch, out)

    def _activate(self, ex: Exchange, channel: str, account: str) -> Message:
        """Start following ``channel`` (if not yet) and answer its snapshot and seq.

        A query: the engine has drained, so every earlier record has been through
        ``_on_record`` and none is being, and the state is the durable head."""
        with self._side.lock:
            return self._activate_locked(ex, channel, account)

    def _activate_locked(self, ex: Exchange, channel: str, account: str) -> Message:
        side = self._side
        # Ticks follow MarketCreated events only while some channel is followed: renew.
        side.ticks = {market.id: market.tick for market in ex.markets.values()}
        kind, _, rest = channel.partition(":")
        snapshot: Message
        if kind == "book":
            market, outcome = book_target(ex, rest)
            if channel not in side.books:
                side.books[channel] = (market, outcome, levels(ex, market, outcome))
            bids, asks = side.books[channel][2]
            snapshot = {
                "market": market,
                "outcome": outcome,
                "bids": level_list(bids, True),
                "asks": level_list(asks, False),
            }
        elif kind == "prices":
            market = market_of(ex, rest)
            if channel not in side.prices:
                side.prices[channel] = (market, maker_prices(ex, market))
            snapshot = {"market": market, "prices": price_list(side.prices[channel][1])}
        elif kind == "trades":
            market = market_of(ex, rest)
            side.trades[channel] = market
            snapshot = {"market": market}
        else:
            assert kind == "orders" and account
            side.accounts[channel] = account
            orders = ex.open_orders.get(account, {})
            for order_id in orders:
                side.owners[order_id] = account
            snapshot = {"open_orders": [live.order_view(ex, o) for o in orders.values()]}
        return {"seq": side.seqs.get(channel, 0), "snapshot": snapshot}

    def _deactivate(self, ex: Exchange, channel: str) -> None:
        with self._side.lock:
            self._deactivate_locked(channel)

    def _deactivate_locked(self, channel: str) -> None:
        side = self._side
        side.books.pop(channel, None)
        side.prices.pop(channel, None)
        side.trades.pop(channel, None)
        account = side.accounts.pop(channel, None)
        if account is not None:
            side.owners = {k: v for k, v in side.owners.items() if v != account}

    # -- event loop ----------------------------------------------------------------------
    def _dispatch(self, out: list[tuple[str, Message]]) -> None:
        for channel, message in out:
            for connection in self.listeners.get(channel, ()):
                connection.deliver(channel, message)

    async def subscribe(self, connection: Listener, channel: str) -> Message:
        self._follow()
        self.listeners.setdefault(channel, set()).add(connection)
        connection.hold(channel)
        account = connection.principal.account if connection.principal else ""
        try:
            if channel.startswith(notifications.PREFIX):  # the database's, not the engine's
                store = store_of(connection.websocket.app)
                return await self.notifications.activate(channel, store)
            answer: Message = await self.services.query(
                lambda ex: self._activate(ex, channel, account)
            )
        except BaseException:
            self._forget(connection, channel)
            raise
        return answer

    def unsubscribe(self, connection: Listener, channel: str) -> None:
        self._forget(connection, channel)

    def _forget(self, connection: Listener, channel: str) -> None:
        found = self.listeners.get(channel)
        if found is None:
            return
        found.discard(connection)
        if not found:
            del self.listeners[channel]
            with contextlib.suppress(Exception):  # the engine may be stopping
                self.services.engine.query(lambda ex: self._deactivate(ex, channel))
