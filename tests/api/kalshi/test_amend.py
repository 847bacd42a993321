"""Kalshi's amend and decrease of an ask (a NO bid in Kalshi's book), signed requests
against a real server: the price is the YES price both ways, a decrease keeps the order,
an amend to another price replaces it, and a refused amend changes nothing; the queue
positions a decrease shortens."""

from __future__ import annotations

import json
from typing import Any

import httpx

from augury.api.kalshi import mapping
from tests.api.conftest import Server
from tests.api.helpers import create_market
from tests.api.kalshi.conftest import Trader
from tests.api.kalshi.test_auth import signed_headers

ORDERS = "/trade-api/v2/portfolio/events/orders"


def call(server: Server, trader: Trader, method: str, path: str, body: Any = None) -> Any:
    headers = signed_headers(trader, method, path)
    content = None if body is None else json.dumps(body).encode()
    if content is not None:
        headers["Content-Type"] = "application/json"
    response = httpx.request(method, server.base_url + path, headers=headers, content=content)
    return response


def book(server: Server, trader: Trader, ticker: str) -> Any:
    path = f"/trade-api/v2/markets/{ticker}/orderbook"
    response = call(server, trader, "GET", path)
    assert response.status_code == 200, response.text
    return response.json()["orderbook_fp"]


def test_an_ask_amended_and_decreased(server: Server, trader: Trader) -> None:
    ticker = mapping.ticker_of(create_market(server.admin())["id"])
    placed = call(server, trader, "POST", ORDERS, {
        "ticker": ticker, "side": "ask", "count": "5", "price": "0.70",
        "time_in_force": "good_till_canceled", "self_trade_prevention_type": "maker",
        "client_order_id": "ask-1",
    })  # fmt: skip
    assert placed.status_code == 201, placed.text
    first = placed.json()["order_id"]
    assert book(server, trader, ticker)["no_dollars"] == [["0.3000", "5.00"]]

    amended = call(server, trader, "POST", f"{ORDERS}/{first}/amend", {
        "ticker": ticker, "side": "ask", "price": "0.75", "count": "5",
    })  # fmt: skip
    assert amended.status_code == 200, amended.text
    second = amended.json()["order_id"]
    assert second != first and amended.json()["client_order_id"] == "ask-1"
    assert book(server, trader, ticker)["no_dollars"] == [["0.2500", "5.00"]]

    decreased = call(server, trader, "POST", f"{ORDERS}/{second}/decrease", {"reduce_to": "2"})
    assert decreased.status_code == 200, decreased.text
    assert decreased.json()["order_id"] == second
    assert decreased.json()["remaining_count"] == "2.00"
    assert book(server, trader, ticker)["no_dollars"] == [["0.2500", "2.00"]]

    before = call(server, trader, "GET", "/trade-api/v2/portfolio/balance").json()["balance"]
    refused = call(server, trader, "POST", f"{ORDERS}/{second}/amend", {
        "ticker": ticker, "side": "ask", "price": "0.01", "count": "100000",
    })  # fmt: skip
    assert refused.status_code == 400, refused.text
    assert book(server, trader, ticker)["no_dollars"] == [["0.2500", "2.00"]]
    after = call(server, trader, "GET", "/trade-api/v2/portfolio/balance").json()["balance"]
    assert after == before
    mismatch = call(server, trader, "POST", f"{ORDERS}/{second}/amend", {
        "ticker": ticker, "side": "bid", "price": "0.75", "count": "2",
    })  # fmt: skip
    assert mismatch.status_code == 400 and mismatch.json()["error"]["code"] == "order_mismatch"


def test_queue_positions_follow_the_book(server: Server, trader: Trader) -> None:
    """The contracts resting before each order at its price: a decrease of the first
    shortens the second's wait, the first stays first."""
    ticker = mapping.ticker_of(create_market(server.admin())["id"])
    ids = []
    for count in ("5", "3"):
        placed = call(server, trader, "POST", ORDERS, {
            "ticker": ticker, "side": "bid", "count": count, "price": "0.20",
            "time_in_force": "good_till_canceled", "self_trade_prevention_type": "maker",
        })  # fmt: skip
        assert placed.status_code == 201, placed.text
        ids.append(placed.json()["order_id"])

    def positions(query: str) -> list[tuple[str, str, str]]:
        path = "/trade-api/v2/portfolio/orders/queue_positions"
        response = call(server, trader, "GET", path + query)
        assert response.status_code == 200, response.text
        found = response.json()["queue_positions"]
        return [(q["order_id"], q["market_ticker"], q["queue_position_fp"]) for q in found]

    assert positions(f"?market_tickers={ticker}") == [
        (ids[0], ticker, "0.00"),
        (ids[1], ticker, "5.00"),
    ]
    decreased = call(server, trader, "POST", f"{ORDERS}/{ids[0]}/decrease", {"reduce_by": "4"})
    assert decreased.status_code == 200, decreased.text
    assert positions(f"?event_ticker={ticker}") == [
        (ids[0], ticker, "0.00"),
        (ids[1], ticker, "1.00"),
    ]
    one = call(server, trader, "GET", f"/trade-api/v2/portfolio/orders/{ids[1]}/queue_position")
    assert one.status_code == 200 and one.json() == {"queue_position_fp": "1.00"}
    call(server, trader, "DELETE", f"{ORDERS}/{ids[0]}")
    gone = call(server, trader, "GET", f"/trade-api/v2/portfolio/orders/{ids[0]}/queue_position")
    assert gone.status_code == 404
    bare = call(server, trader, "GET", "/trade-api/v2/portfolio/orders/queue_positions")
    assert bare.status_code == 400
