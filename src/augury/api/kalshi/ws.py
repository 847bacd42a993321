"""Kalshi's WebSocket v2 at ``/trade-api/ws/v2``, on Augury's own WebSocket hub.

The upgrade is signed like a REST request (``GET /trade-api/ws/v2``). A client sends
``{"id", "cmd": "subscribe", "params": {"channels": [...], "market_tickers": [...]}}``
and gets ``{"id", "type": "subscribed", "msg": {"channel", "sid"}}`` per channel, then
that subscription's messages, each with ``sid`` and ``seq`` (1 for the first, one more
for each next: a gap means resubscribe). ``unsubscribe`` takes ``sids``;
``update_subscription`` takes one ``sids`` entry, ``market_tickers`` and ``action``
(``add_markets`` or ``delete_markets``).

Channels, each fed by the hub's (``augury.api.ws``), so their order and consistency are
the hub's: ``orderbook_delta`` (``book:``: an ``orderbook_snapshot`` of the hub's top
levels, then ``orderbook_delta`` per changed level, ``delta_fp`` the change of its
count), ``ticker`` (``book:``: the top of the book whenever it moves), ``trade``
(``trades:``), ``fill`` (the caller's ``orders:``), ``market_lifecycle_v2`` (market
created, status changes, settlement: from the engine's records).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from augury.api.deps import Principal
from augury.api.errors import ApiError
from augury.api.kalshi import mapping
from augury.api.kalshi.common import facade_of, now_ms
from augury.api.kalshi.errors import KalshiError
from augury.api.kalshi.lifecycle import Lifecycle
from augury.api.ws import Connection, Hub
from augury.api.ws.limits import CLOSE_POLICY, MESSAGE_BYTES_MAX, QUEUE_MAX, SUBSCRIPTIONS_MAX
from augury.domain import fixed
from augury.domain.exchange import Exchange
from augury.domain.units import ONE
from augury.roles.errors import ServiceError
from augury.roles.services import Services

PATH = "/trade-api/ws/v2"
CHANNELS = ("orderbook_delta", "ticker", "trade", "fill", "market_lifecycle_v2")
MARKET_CHANNELS = ("orderbook_delta", "ticker", "trade")
TICKERS_MAX = 50
router = APIRouter()
Message = dict[str, Any]


def _micros(text: str) -> int:
    return mapping.micros(text)


class Subscription:
    """One Kalshi subscription (a ``sid``): its channel, markets, and numbering."""

    def __init__(self, session: Session, sid: int, channel: str) -> None:
        self.session = session
        self.sid = sid
        self.channel = channel
        self.seq = 0
        self.feeds: dict[str, Feed] = {}  # market ticker ("" for the private feed) -> feed

    def emit(self, kind: str, msg: Message) -> None:
        self.seq += 1
        self.session.send({"type": kind, "sid": self.sid, "seq": self.seq, "msg": msg})


class Feed(Connection):
    """A listener of one hub channel for one subscription, translating what the hub
    sends (``send``) into Kalshi's messages."""

    def __init__(self, sub: Subscription, ticker: str, market: str, outcome: int) -> None:
        super().__init__(sub.session.websocket, sub.session.principal)
        self.sub = sub
        self.ticker = ticker
        self.market = market
        self.outcome = outcome
        self.bids: dict[int, int] = {}  # YES price micros -> shares
        self.asks: dict[int, int] = {}
        self.top: tuple[int | None, int | None] = (None, None)
        self.orders: dict[int, tuple[str, int, str, str]] = {}  # id -> market, outcome, side, token
        self.hub_channel = ""

    def send(self, message: Message) -> None:
        kind = message.get("type")
        if kind == "book_delta":
            self._book(message["bids"], message["asks"])
        elif kind == "trade":
            self._trade(message)
        elif kind == "order" and message.get("event") == "accepted":
            self._remember(message["order"])
        elif kind == "fill":
            self._fill(message)

    # -- books -------------------------------------------------------------------------
    def snapshot(self, snapshot: Message) -> None:
        if self.sub.channel == "fill":
            for order in snapshot["open_orders"]:
                self._remember(order)
            return
        if "bids" not in snapshot:
            return
        self.bids = {_micros(x["price"]): _micros(x["qty"]) for x in snapshot["bids"]}
        self.asks = {_micros(x["price"]): _micros(x["qty"]) for x in snapshot["asks"]}
        if self.sub.channel == "orderbook_delta":
            self.sub.emit(
                "orderbook_snapshot",
                {
                    "market_ticker": self.ticker,
                    "yes_dollars_fp": [
                        [fixed.dollars(p), fixed.count(q)] for p, q in sorted(self.bids.items())
                    ],
                    "no_dollars_fp": [
                        [fixed.dollars(ONE - p), fixed.count(q)]
                        for p, q in sorted(self.asks.items(), reverse=True)
                    ],
                },
            )
        else:
            self._ticker()

    def _book(self, bids: list[Message], asks: list[Message]) -> None:
        for levels, book, side in ((bids, self.bids, "yes"), (asks, self.asks, "no")):
            for level in levels:
                price, qty = _micros(level["price"]), _micros(level["qty"])
                delta = qty - book.get(price, 0)
                if qty:
                    book[price] = qty
                else:
                    book.pop(price, None)
                if delta and self.sub.channel == "orderbook_delta":
                    shown = price if side == "yes" else ONE - price
                    self.sub.emit(
                        "orderbook_delta",
                        {
                            "market_ticker": self.ticker,
                            "price_dollars": fixed.dollars(shown),
                            "delta_fp": fixed.fixed(delta, fixed.COUNT_PLACES),
                            "side": side,
                        },
                    )
        if self.sub.channel == "ticker":
            self._ticker()

    def _ticker(self) -> None:
        top = (max(self.bids) if self.bids else None, min(self.asks) if self.asks else None)
        if top == self.top:
            return
        self.top = top
        bid, ask = top
        self.sub.emit(
            "ticker",
            {
                "market_ticker": self.ticker,
                "yes_bid_dollars": fixed.dollars(0 if bid is None else bid),
                "yes_ask_dollars": fixed.dollars(ONE if ask is None else ask),
                "ts": now_ms() // 1000,
            },
        )

    # -- trades and fills --------------------------------------------------------------
    def _trade(self, message: Message) -> None:
        if message["outcome"] != self.outcome:
            return
        yes = _micros(message["price"])
        self.sub.emit(
            "trade",
            {
                "trade_id": f"{message['seq']}",
                "market_ticker": self.ticker,
                "yes_price_dollars": fixed.dollars(yes),
                "no_price_dollars": fixed.dollars(ONE - yes),
                "count_fp": fixed.count(_micros(message["qty"])),
                "created_time": message["time"],
            },
        )

    def _remember(self, order: Message) -> None:
        self.orders[int(order["id"])] = (
            order["market"],
            int(order["outcome"]),
            order["side"],
            order["token"],
        )

    def _fill(self, message: Message) -> None:
        order = self.orders.get(int(message["order_id"]))
        if order is None:
            return
        market = order[0]
        session = self.sub.session
        if market not in session.shapes:  # a market new to this session: ask, then send
            session.later(market, lambda: self._fill(message))
            return
        _, outcome, side, token = order
        categorical = session.shapes[market]
        ticker = mapping.market_ticker(market, categorical, outcome if categorical else 0)
        yes = _micros(message["price"])
        buys_yes = (side == "buy") == (token == "yes")
        self.sub.emit(
            "fill",
            {
                "order_id": str(message["order_id"]),
                "market_ticker": ticker,
                "book_side": "bid" if buys_yes else "ask",
                "side": token,
                "action": side,
                "yes_price_dollars": fixed.dollars(yes),
                "no_price_dollars": fixed.dollars(ONE - yes),
                "count_fp": fixed.count(_micros(message["qty"])),
                "fee_cost": fixed.dollars(_micros(message["fee"])),
                "ts": now_ms() // 1000,
            },
        )


class Session:
    """One Kalshi WebSocket connection."""

    def __init__(
        self, websocket: WebSocket, principal: Principal, hub: Hub, services: Services
    ) -> None:
        self.websocket = websocket
        self.principal = principal
        self.hub = hub
        self.services = services
        self.queue: asyncio.Queue[Message | None] = asyncio.Queue(QUEUE_MAX)
        self.subs: dict[int, Subscription] = {}
        self.next_sid = 1
        self.shapes: dict[str, bool] = {}  # market -> categorical
        self._learning: dict[str, list[Any]] = {}
        self.overflowed = False
        self.lifecycle: Lifecycle | None = None

    def send(self, message: Message) -> None:
        try:
            self.queue.put_nowait(message)
        except asyncio.QueueFull:
            self.overflowed = True
            with contextlib.suppress(asyncio.QueueFull, asyncio.QueueEmpty):
                self.queue.get_nowait()
                self.queue.put_nowait(None)

    def later(self, market: str, then: Any) -> None:
        """Run ``then`` once this session knows whether ``market`` is categorical."""
        waiting = self._learning.setdefault(market, [])
        waiting.append(then)
        if len(waiting) == 1:
            asyncio.get_running_loop().create_task(self._learn(market))

    async def _learn(self, market: str) -> None:
        def read(ex: Exchange) -> bool:
            found = ex.markets.get(market)
            return bool(found is not None and found.categorical)

        with contextlib.suppress(Exception):
            self.shapes[market] = await self.services.query(read)
        for then in self._learning.pop(market, []):
            if market in self.shapes:
                then()

    def error(self, request_id: Any, code: int, text: str) -> None:
        self.send({"id": request_id, "type": "error", "msg": {"code": code, "msg": text}})

    async def handle(self, request: Message) -> None:
        request_id = request.get("id")
        cmd = request.get("cmd")
        params = request.get("params") or {}
        if not isinstance(params, dict):
            self.error(request_id, 2, "params must be an object")
            return
        if cmd == "subscribe":
            await self._subscribe(request_id, params)
        elif cmd == "unsubscribe":
            for sid in params.get("sids") or []:
                sub = self.subs.pop(sid, None) if isinstance(sid, int) else None
                if sub is None:
                    self.error(request_id, 6, f"no subscription {sid}")
                    continue
                self._drop(sub, list(sub.feeds))
                self.send({"id": request_id, "type": "unsubscribed", "sid": sid})
        elif cmd == "update_subscription":
            await self._update(request_id, params)
        else:
            self.error(request_id, 1, "cmd: subscribe, unsubscribe or update_subscription")

    def _tickers(self, request_id: Any, params: Message) -> list[str] | None:
        """The request's market tickers (None, after an error answer, if malformed)."""
        found = params.get("market_tickers") or []
        one = params.get("market_ticker")
        if isinstance(one, str) and isinstance(found, list):
            found = [*found, one]
        if not isinstance(found, list) or not all(isinstance(t, str) for t in found):
            self.error(request_id, 8, "market_tickers must be a list of tickers")
            return None
        return list(dict.fromkeys(found))[:TICKERS_MAX]

    async def _subscribe(self, request_id: Any, params: Message) -> None:
        channels = params.get("channels")
        if not isinstance(channels, list) or not channels:
            self.error(request_id, 3, "channels: a list of channel names")
            return
        tickers = self._tickers(request_id, params)
        if tickers is None:
            return
        for channel in channels:
            if channel not in CHANNELS:
                self.error(request_id, 4, f"unknown channel {channel!r}")
                continue
            if channel in MARKET_CHANNELS and not tickers:
                self.error(request_id, 5, f"{channel} needs market_tickers")
                continue
            if len(self.subs) >= SUBSCRIPTIONS_MAX:
                self.error(request_id, 9, f"at most {SUBSCRIPTIONS_MAX} subscriptions")
                return
            sub = Subscription(self, self.next_sid, channel)
            self.next_sid += 1
            self.subs[sub.sid] = sub
            self.send(
                {
                    "id": request_id,
                    "type": "subscribed",
                    "msg": {"channel": channel, "sid": sub.sid},
                }
            )
            if channel == "fill":
                await self._feed(request_id, sub, "", "", 0, f"orders:{self.principal.account}")
            elif channel == "market_lifecycle_v2":
                await self._lifecycle(sub)
            else:
                await self._add(request_id, sub, tickers)

    async def _add(self, request_id: Any, sub: Subscription, tickers: list[str]) -> None:
        for ticker in tickers:
            if ticker in sub.feeds:
                continue
            parsed = mapping.parse_market_ticker(ticker)
            if parsed is None:
                self.error(request_id, 8, f"unknown market {ticker}")
                continue
            market, outcome = parsed
            kind = "trades" if sub.channel == "trade" else "book"
            channel = f"trades:{market}" if kind == "trades" else f"book:{market}:{outcome or 0}"
            await self._feed(request_id, sub, ticker, market, outcome or 0, channel)

    async def _feed(
        self,
        request_id: Any,
        sub: Subscription,
        ticker: str,
        market: str,
        outcome: int,
        channel: str,
    ) -> None:
        feed = Feed(sub, ticker, market, outcome)
        feed.hub_channel = channel
        try:
            answer = await self.hub.subscribe(feed, channel)
        except (ApiError, ServiceError) as error:
            self.error(request_id, 8, error.detail)
            return
        if sub.channel == "fill":
            self.shapes.update(await self.services.query(_categorical))
        sub.feeds[ticker] = feed
        feed.snapshot(answer["snapshot"])
        feed.release(channel, answer["seq"])

    async def _lifecycle(self, sub: Subscription) -> None:
        lifecycle: Lifecycle = Lifecycle.of(self.websocket.app.state, self.services)
        await lifecycle.join(sub)
        self.lifecycle = lifecycle

    async def _update(self, request_id: Any, params: Message) -> None:
        sids = params.get("sids") or []
        sub = self.subs.get(sids[0]) if len(sids) == 1 and isinstance(sids[0], int) else None
        if sub is None or sub.channel not in MARKET_CHANNELS:
            self.error(request_id, 6, "update_subscription: one sid of a market channel")
            return
        tickers = self._tickers(request_id, params)
        if tickers is None:
            return
        action = params.get("action")
        if action == "add_markets":
            await self._add(request_id, sub, tickers)
        elif action == "delete_markets":
            self._drop(sub, [t for t in tickers if t in sub.feeds])
        else:
            self.error(request_id, 7, "action: add_markets or delete_markets")
            return
        self.send(
            {
                "id": request_id,
                "type": "ok",
                "sid": sub.sid,
                "seq": sub.seq,
                "market_tickers": sorted(sub.feeds),
            }
        )

    def _drop(self, sub: Subscription, tickers: list[str]) -> None:
        for ticker in tickers:
            feed = sub.feeds.pop(ticker)
            self.hub.unsubscribe(feed, feed.hub_channel)
        if sub.channel == "market_lifecycle_v2" and self.lifecycle is not None:
            self.lifecycle.leave(sub)

    def close(self) -> None:
        for sub in list(self.subs.values()):
            self._drop(sub, list(sub.feeds))
        self.subs.clear()


def _categorical(ex: Exchange) -> dict[str, bool]:
    return {market.id: market.categorical for market in ex.markets.values()}


@router.websocket(PATH)
async def kalshi_websocket(websocket: WebSocket) -> None:
    try:
        principal = await facade_of(websocket).verifier.principal(websocket, "GET")
    except KalshiError as error:
        await websocket.close(CLOSE_POLICY, error.message[:120])
        return
    if "read" not in principal.scopes:
        await websocket.close(CLOSE_POLICY, "this API key lacks the 'read' scope")
        return
    await websocket.accept()
    services: Services = websocket.app.state.services
    session = Session(websocket, principal, websocket.app.state.hub, services)
    writer = asyncio.create_task(_write(session))
    try:
        while True:
            text = await websocket.receive_text()
            if len(text) > MESSAGE_BYTES_MAX:
                await websocket.close(CLOSE_POLICY, "message too large")
                return
            try:
                request = json.loads(text)
                if not isinstance(request, dict):
                    raise ValueError
            except ValueError:
                session.error(None, 2, "send a JSON object")
                continue
            await session.handle(request)
    except WebSocketDisconnect:
        pass
    finally:
        session.close()
        writer.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await writer


async def _write(session: Session) -> None:
    while True:
        message = await session.queue.get()
        if message is None or session.overflowed:
            await session.websocket.close(1013, "too slow: resubscribe")
            return
        await session.websocket.send_text(json.dumps(message, separators=(",", ":")))
