"""Markets and their market data: creating, listing, halting; books, quotes, trades, candles."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any, Literal

from augury.client import _base as b
from augury.client import _models as m
from augury.client._async.base import Core, awalk


class MarketMethods(Core):
    """The client's methods for markets and their market data."""

    async def create_market(
        self,
        question: str,
        close_time: b.Instant,
        *,
        id: str | None = None,
        type: Literal["binary", "categorical", "scalar"] = "binary",
        outcomes: Sequence[str] | None = None,
        description: str | None = None,
        rules: str | None = None,
        category: str | None = None,
        tick_size: b.Amount | None = None,
        liquidity: b.Amount | None = None,
        fee_bps: int | None = None,
        resolution_spec: dict[str, Any] | None = None,
        scalar: b.ScalarRange | None = None,
        buckets: int | None = None,
        idempotency_key: str | None = None,
    ) -> m.Market:
        """``scalar``: a scalar market's range (with ``type="scalar"``; its outcomes are
        LONG and SHORT); with ``type="categorical"`` and ``buckets`` N, a bucketed market
        of N ranges of it, resolved by the numeric spec's sources."""
        body = b.market_body(
            question, close_time, id, type, outcomes, description, rules, category,
            tick_size, liquidity, fee_bps, resolution_spec, scalar, buckets,
        )  # fmt: skip
        req = self._req("create_market", body=body, idempotency_key=idempotency_key)
        return await self._call(req, m.Market)

    async def list_markets(
        self,
        *,
        q: str | None = None,
        category: str | None = None,
        status: str | None = None,
        sort: Literal["newest", "oldest", "close_time"] | None = None,
        cursor: str | None = None,
        limit: int | None = None,
    ) -> m.Page[m.Market]:
        params: dict[str, Any] = {"q": q, "category": category, "status": status}
        params.update(sort=sort, cursor=cursor, limit=limit)
        return await self._call(self._req("list_markets", params=params), m.Page[m.Market])

    def iter_markets(
        self,
        *,
        q: str | None = None,
        category: str | None = None,
        status: str | None = None,
        sort: Literal["newest", "oldest", "close_time"] | None = None,
        page_size: int | None = None,
    ) -> AsyncIterator[m.Market]:
        """Every market matching, page after page."""
        return awalk(
            lambda cursor: self.list_markets(
                q=q, category=category, status=status, sort=sort, cursor=cursor, limit=page_size
            )
        )

    async def get_market(self, market: str) -> m.Market:
        return await self._call(self._req("get_market", path={"market": market}), m.Market)

    async def halt_market(
        self, market: str, reason: str | None = None, *, idempotency_key: str | None = None
    ) -> m.Market:
        req = self._req(
            "halt_market",
            path={"market": market},
            body=b.body(reason=reason),
            idempotency_key=idempotency_key,
        )
        return await self._call(req, m.Market)

    async def resume_market(
        self, market: str, reason: str | None = None, *, idempotency_key: str | None = None
    ) -> m.Market:
        req = self._req(
            "resume_market",
            path={"market": market},
            body=b.body(reason=reason),
            idempotency_key=idempotency_key,
        )
        return await self._call(req, m.Market)

    async def book(self, market: str, *, outcome: int = 0, depth: int | None = None) -> m.Book:
        params = {"outcome": outcome, "depth": depth}
        return await self._call(self._req("book", path={"market": market}, params=params), m.Book)

    async def quote(self, market: str) -> m.MakerQuote:
        return await self._call(self._req("quote", path={"market": market}), m.MakerQuote)

    async def trades(
        self,
        market: str,
        *,
        outcome: int | None = None,
        cursor: str | None = None,
        limit: int | None = None,
    ) -> m.Page[m.Trade]:
        params = {"outcome": outcome, "cursor": cursor, "limit": limit}
        req = self._req("trades", path={"market": market}, params=params)
        return await self._call(req, m.Page[m.Trade])

    def iter_trades(
        self, market: str, *, outcome: int | None = None, page_size: int | None = None
    ) -> AsyncIterator[m.Trade]:
        return awalk(
            lambda cursor: self.trades(market, outcome=outcome, cursor=cursor, limit=page_size)
        )

    async def candles(
        self,
        market: str,
        *,
        outcome: int = 0,
        interval: Literal["1m", "1h", "1d"] = "1h",
        start: b.Instant | None = None,
        end: b.Instant | None = None,
        limit: int | None = None,
    ) -> m.Candles:
        params: dict[str, Any] = {"outcome": outcome, "interval": interval, "limit": limit}
        params.update({"from": b.instant(start), "to": b.instant(end)})
        req = self._req("candles", path={"market": market}, params=params)
        return await self._call(req, m.Candles)
