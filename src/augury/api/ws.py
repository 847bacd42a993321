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

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from starlette.concurrency import run_in_threadpool

from augury.api import live
from augury.api.deps import Principal, authenticate
from augury.api.errors import ApiError
from augury.api.services import Services, subscribe
from augury.domain import events as ev
from augury.domain import views
from augury.domain.exchange import Exchange
from augury.domain.units import ONE, format_micros
from augury.engine.entry import Entry
from augury.settings import format_instant

log = logging.getLogger(__name__)

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

router = APIRouter(tags=["websocket"])


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


def _levels(ex: Exchange, market: str, outcome: int) -> tuple[Levels, Levels]:
    found = ex.markets[market]
    book = found.books[outcome]
    tick = found.tick

    def side(bid: bool) -> Levels:
        return {p * tick: (q, n) for p, q, n in book.levels(bid, BOOK_DEPTH)}

    return side(True), side(False)


def _level_list(levels: Levels, descending: bool) -> list[Message]:
    return [
        {"price": format_micros(price), "qty": format_micros(qty), "orders": count}
        for price, (qty, count) in sorted(levels.items(), reverse=descending)
    ]


def _diff(old: Levels, new: Levels, descending: bool) -> list[Message]:
    changed: Levels = {p: v for p, v in new.items() if old.get(p) != v}
    changed.update({p: (0, 0) for p in old if p not in new})
    return _level_list(changed, descending)


_BOOK_EVENTS = (ev.OrderRested, ev.OrderClosed, ev.BookFill, ev.MakerFill)


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
        self.listeners: dict[str, set[Connection]] = {}  # event loop only
        self._side = _Side()
        self._following = False  # event loop only
        self.connections = 0  # event loop only

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
                        "order": _accepted_view(event, side.ticks[event.market]),
                    }
                    self._emit(out, watched[event.account], message)
            elif isinstance(event, ev.OrderRested):
                account = owners.get(event.order_id)
                if account is not None:
                    message = {
                        "type": "order",
                        "event": "rested",
                        "order_id": event.order_id,
                        "time": time,
                    }
                    self._emit(out, watched[account], message)
            elif isinstance(event, ev.OrderClosed):
                account = owners.pop(event.order_id, None)
                if account is not None:
                    message = {
                        "type": "order",
                        "event": "closed",
                        "order_id": event.order_id,
                        "time": time,
                        "reason": event.reason,
                    }
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
                new_bids, new_asks = _levels(ex, market, outcome)
                if new_bids == bids and new_asks == asks:
                    continue
                side.books[channel] = (market, outcome, (new_bids, new_asks))
                message = {
                    "type": "book_delta",
                    "bids": _diff(bids, new_bids, True),
                    "asks": _diff(asks, new_asks, False),
                }
                self._emit(out, channel, message)
            for channel, (market, old) in list(side.prices.items()):
                new = _maker_prices(ex, market)
                if new != old:
                    side.prices[channel] = (market, new)
                    self._emit(out, channel, {"type": "prices", "prices": _price_list(new)})
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
            market, outcome = _book_target(ex, rest)
            if channel not in side.books:
                side.books[channel] = (market, outcome, _levels(ex, market, outcome))
            bids, asks = side.books[channel][2]
            snapshot = {
                "market": market,
                "outcome": outcome,
                "bids": _level_list(bids, True),
                "asks": _level_list(asks, False),
            }
        elif kind == "prices":
            market = _market_of(ex, rest)
            if channel not in side.prices:
                side.prices[channel] = (market, _maker_prices(ex, market))
            snapshot = {"market": market, "prices": _price_list(side.prices[channel][1])}
        elif kind == "trades":
            market = _market_of(ex, rest)
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

    async def subscribe(self, connection: Connection, channel: str) -> Message:
        self._follow()
        self.listeners.setdefault(channel, set()).add(connection)
        connection.hold(channel)
        account = connection.principal.account if connection.principal else ""
        try:
            answer: Message = await self.services.query(
                lambda ex: self._activate(ex, channel, account)
            )
        except BaseException:
            self._forget(connection, channel)
            raise
        return answer

    def unsubscribe(self, connection: Connection, channel: str) -> None:
        self._forget(connection, channel)

    def _forget(self, connection: Connection, channel: str) -> None:
        found = self.listeners.get(channel)
        if found is None:
            return
        found.discard(connection)
        if not found:
            del self.listeners[channel]
            with contextlib.suppress(Exception):  # the engine may be stopping
                self.services.engine.query(lambda ex: self._deactivate(ex, channel))


def _market_of(ex: Exchange, market: str) -> str:
    if market not in ex.markets:
        raise ApiError(404, "unknown_market", f"no market {market!r}")
    return market


def _book_target(ex: Exchange, rest: str) -> tuple[str, int]:
    market, _, outcome_text = rest.partition(":")
    _market_of(ex, market)
    found = ex.markets[market]
    try:
        outcome = int(outcome_text) if outcome_text else 0
    except ValueError:
        raise ApiError(422, "invalid_outcome", "the outcome must be a number") from None
    if not 0 <= outcome < found.n:
        raise ApiError(422, "invalid_outcome", f"outcome must be 0..{found.n - 1}")
    return market, outcome if found.categorical else 0


def _accepted_view(event: ev.OrderAccepted, tick: int) -> Message:
    own_ticks = event.price if event.token == "yes" else ONE // tick - event.price
    return {
        "id": event.order_id,
        "market": event.market,
        "outcome": event.outcome,
        "side": event.side,
        "token": event.token,
        "price": format_micros(own_ticks * tick),
        "qty": format_micros(event.qty),
        "budget": format_micros(event.budget) if event.budget else None,
        "tif": event.tif,
        "expires_at": format_instant(event.expires_at) if event.expires_at else None,
        "post_only": event.post_only,
        "client_order_id": event.client_order_id or None,
        "self_trade": event.self_trade,
    }


def _maker_prices(ex: Exchange, market: str) -> tuple[int, ...] | None:
    from augury.domain import lmsr

    found = ex.markets[market]
    return lmsr.marginal_prices(found.liquidity, found.q) if found.has_maker else None


def _price_list(prices: tuple[int, ...] | None) -> list[str] | None:
    return None if prices is None else [format_micros(p) for p in prices]


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
    except ApiError as error:
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
    if channel == "orders":
        principal = connection.principal
        if principal is None or "read" not in principal.scopes:
            _error(connection, channel, "unauthorized", "log in or send an API key with 'read'")
            return None
        return f"orders:{principal.account}"
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
