"""Kalshi's WebSocket v2 with a real client connection (``websockets``): sequence numbers
per subscription, and a book rebuilt from the snapshot and deltas equal to /orderbook."""

from __future__ import annotations

import json
import time
import uuid
from collections import defaultdict
from typing import Any

import httpx
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import ClientConnection, connect

from augury.api.kalshi import mapping
from tests.api.conftest import Server
from tests.api.kalshi.conftest import Trader, new_category, signing_trader
from tests.api.kalshi.test_auth import signed_headers

WS_PATH = "/trade-api/ws/v2"


def open_ws(server: Server, trader: Trader) -> ClientConnection:
    url = server.base_url.replace("http://", "ws://") + WS_PATH
    return connect(url, additional_headers=signed_headers(trader, "GET", WS_PATH), open_timeout=30)


def receive_until(ws: ClientConnection, done: Any, timeout_s: float = 20.0) -> list[dict[str, Any]]:
    got: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout_s
    while not done(got):
        remaining = deadline - time.monotonic()
        assert remaining > 0, got
        got.append(json.loads(ws.recv(timeout=remaining)))
    return got


def book_from(messages: list[dict[str, Any]], sid: int) -> dict[str, dict[str, str]]:
    """The book as the snapshot and deltas of ``sid`` leave it: side -> price -> count."""
    book: dict[str, dict[str, int]] = {"yes": {}, "no": {}}
    for message in messages:
        if message.get("sid") != sid:
            continue
        msg = message["msg"]
        if message["type"] == "orderbook_snapshot":
            for side in ("yes", "no"):
                book[side] = {p: mapping.micros(c) for p, c in msg[f"{side}_dollars_fp"]}
        elif message["type"] == "orderbook_delta":
            levels = book[msg["side"]]
            price = msg["price_dollars"]
            levels[price] = levels.get(price, 0) + mapping.micros(msg["delta_fp"])
            if levels[price] == 0:
                del levels[price]
    return {s: {p: str(c) for p, c in found.items()} for s, found in book.items()}


def rest_book(server: Server, ticker: str) -> dict[str, dict[str, str]]:
    response = httpx.get(f"{server.base_url}/trade-api/v2/markets/{ticker}/orderbook")
    assert response.status_code == 200, response.text
    found = response.json()["orderbook_fp"]
    return {s: {p: str(mapping.micros(c)) for p, c in found[f"{s}_dollars"]} for s in ("yes", "no")}


def place(
    trader: Trader, server: Server, ticker: str, side: str, count: str, price: str
) -> dict[str, Any]:
    path = "/trade-api/v2/portfolio/events/orders"
    body = {
        "ticker": ticker,
        "side": side,
        "count": count,
        "price": price,
        "time_in_force": "good_till_canceled",
        "self_trade_prevention_type": "maker",
    }
    response = httpx.post(
        server.base_url + path, json=body, headers=signed_headers(trader, "POST", path)
    )
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def test_channels_number_their_messages_and_the_book_rebuilds(server: Server) -> None:
    admin = server.admin()
    market_id = f"kw{uuid.uuid4().hex[:8]}"
    created = admin.post(
        "/markets",
        json={
            "id": market_id,
            "question": "WS?",
            "category": new_category(),
            "close_time": "2030-01-01T00:00:00Z",
            "tick_size": "0.01",
        },
    )
    assert created.status_code == 201, created.text
    ticker = mapping.ticker_of(market_id)
    alice, bob = signing_trader(server), signing_trader(server)
    place(bob, server, ticker, "bid", "4", "0.20")  # before the snapshot
    with open_ws(server, alice) as ws:
        ws.send(
            json.dumps(
                {
                    "id": 1,
                    "cmd": "subscribe",
                    "params": {
                        "channels": ["orderbook_delta", "ticker", "trade", "fill"],
                        "market_tickers": [ticker],
                    },
                }
            )
        )
        first = receive_until(
            ws,
            lambda got: (
                sum(m.get("type") == "subscribed" for m in got) == 4
                and any(m.get("type") == "orderbook_snapshot" for m in got)
            ),
        )
        sids = {m["msg"]["channel"]: m["msg"]["sid"] for m in first if m["type"] == "subscribed"}
        assert all(m["id"] == 1 for m in first if m["type"] == "subscribed")
        place(bob, server, ticker, "bid", "2", "0.25")
        place(bob, server, ticker, "ask", "3", "0.70")
        place(alice, server, ticker, "bid", "1", "0.70")  # fills: a trade, a fill for alice
        place(bob, server, ticker, "bid", "5", "0.20")
        rest = rest_book(server, ticker)
        messages = first + receive_until(
            ws,
            lambda got: (
                book_from(first + got, sids["orderbook_delta"]) == rest
                and any(m.get("type") == "fill" for m in got)
                and any(m.get("type") == "trade" for m in got)
            ),
        )
        # every subscription numbers its messages 1, 2, 3, ... with no gap
        seqs: dict[int, list[int]] = defaultdict(list)
        for message in messages:
            if "seq" in message and "sid" in message and message["type"] != "ok":
                seqs[message["sid"]].append(message["seq"])
        for sid, numbers in seqs.items():
            assert numbers == list(range(1, len(numbers) + 1)), (sid, numbers)
        assert book_from(messages, sids["orderbook_delta"]) == rest
        assert rest["yes"] == {"0.2000": "9000000", "0.2500": "2000000"}, rest
        trade = next(m for m in messages if m["type"] == "trade")
        assert trade["sid"] == sids["trade"] and trade["msg"]["yes_price_dollars"] == "0.7000"
        assert trade["msg"]["count_fp"] == "1.00"
        fill = next(m for m in messages if m["type"] == "fill")
        assert fill["msg"]["market_ticker"] == ticker and fill["msg"]["book_side"] == "bid"
        tickers = [m["msg"] for m in messages if m["type"] == "ticker"]
        assert tickers[-1]["yes_bid_dollars"] == "0.2500"
        # unsubscribing stops a channel; update_subscription drops a market
        ws.send(json.dumps({"id": 2, "cmd": "unsubscribe", "params": {"sids": [sids["trade"]]}}))
        ws.send(
            json.dumps(
                {
                    "id": 3,
                    "cmd": "update_subscription",
                    "params": {
                        "sids": [sids["ticker"]],
                        "market_tickers": [ticker],
                        "action": "delete_markets",
                    },
                }
            )
        )
        answers = receive_until(ws, lambda got: {m.get("id") for m in got} >= {2, 3})
        assert {"unsubscribed", "ok"} <= {m["type"] for m in answers}
        ws.send(json.dumps({"id": 4, "cmd": "subscribe", "params": {"channels": ["nope"]}}))
        error = receive_until(ws, lambda got: any(m.get("id") == 4 for m in got))[-1]
        assert error["type"] == "error" and error["msg"]["code"] == 4


def test_lifecycle_reports_status_changes_and_settlement(server: Server) -> None:
    admin = server.admin()
    alice = signing_trader(server)
    with open_ws(server, alice) as ws:
        ws.send(
            json.dumps(
                {"id": 1, "cmd": "subscribe", "params": {"channels": ["market_lifecycle_v2"]}}
            )
        )
        receive_until(ws, lambda got: any(m.get("type") == "subscribed" for m in got))
        market_id = f"kl{uuid.uuid4().hex[:8]}"
        created = admin.post(
            "/markets",
            json={"id": market_id, "question": "Life?", "close_time": "2030-01-01T00:00:00Z"},
        )
        assert created.status_code == 201, created.text
        assert admin.post(f"/markets/{market_id}/halt", json={}).status_code == 200
        resolved = admin.post(
            f"/markets/{market_id}/resolve", json={"outcome": 1, "reason": "test"}
        )
        assert resolved.status_code == 200, resolved.text
        ticker = mapping.ticker_of(market_id)
        got = receive_until(
            ws,
            lambda got: any(
                m.get("msg", {}).get("event_type") == "settled"
                and m["msg"]["market_ticker"] == ticker
                for m in got
            ),
        )
        mine = [m["msg"] for m in got if m.get("msg", {}).get("market_ticker") == ticker]
        assert [m["event_type"] for m in mine][:2] == ["created", "deactivated"], mine
        assert mine[-1]["result"] == "no"


def test_an_unsigned_upgrade_is_refused(server: Server) -> None:
    url = server.base_url.replace("http://", "ws://") + WS_PATH
    with pytest.raises(InvalidStatus):
        connect(url, open_timeout=30).close()
