"""Positions and settlements through the facade come in pages that a client can walk to
the end with the cursor (none is cut off at ``limit``)."""

from __future__ import annotations

from typing import Any

import httpx

from augury.api.kalshi import mapping
from tests.api.conftest import Server
from tests.api.helpers import create_market, place
from tests.api.kalshi.conftest import Trader, new_category
from tests.api.kalshi.test_auth import signed_headers


def walk(server: Server, trader: Trader, path: str, key: str, limit: int) -> list[list[Any]]:
    """Every page of ``path`` (signed), following the cursor; each page's ``key`` items."""
    pages: list[list[Any]] = []
    cursor = ""
    while True:
        query = f"?limit={limit}" + (f"&cursor={cursor}" if cursor else "")
        headers = signed_headers(trader, "GET", path)
        response = httpx.get(server.base_url + path + query, headers=headers)
        assert response.status_code == 200, response.text
        body = response.json()
        pages.append(body[key])
        cursor = body["cursor"]
        if not cursor:
            return pages
        assert len(pages) < 10, "the cursor never ends"


def test_positions_and_settlements_page_to_the_end(server: Server, trader: Trader) -> None:
    admin = server.admin()
    category = new_category()
    markets = [create_market(admin, category=category, liquidity="50")["id"] for _ in range(5)]
    for market in markets:
        place(trader.session, market=market, side="buy", type="market", qty="1")
    positions = walk(server, trader, "/trade-api/v2/portfolio/positions", "market_positions", 2)
    assert [len(page) for page in positions] == [2, 2, 1]
    tickers = [p["ticker"] for page in positions for p in page]
    assert sorted(tickers) == tickers == sorted(mapping.ticker_of(m) for m in markets)
    for market in markets:
        resolved = admin.post(f"/markets/{market}/resolve", json={"outcome": 0, "reason": "test"})
        assert resolved.status_code == 200, resolved.text
    settled = walk(server, trader, "/trade-api/v2/portfolio/settlements", "settlements", 2)
    assert [len(page) for page in settled] == [2, 2, 1]
    names = {s["ticker"] for page in settled for s in page}
    assert names == {mapping.ticker_of(m) for m in markets}
    assert all(s["market_result"] == "yes" for page in settled for s in page)
