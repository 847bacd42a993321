"""Trading and the portfolio: orders, complete sets (mint, redeem, convert), balances,
positions, profit, settlements and fills."""

from __future__ import annotations

from collections.abc import AsyncIterator

from augury.client import _base as b
from augury.client import _models as m
from augury.client._async.base import Core, OrderType, SelfTrade, Side, Tif, Token, awalk


class TradingMethods(Core):
    """The client's methods for trading and the portfolio."""

    async def place_order(
        self,
        market: str,
        side: Side,
        *,
        qty: b.Amount | None = None,
        price: b.Amount | None = None,
        budget: b.Amount | None = None,
        outcome: int = 0,
        token: Token = "yes",
        type: OrderType | None = None,
        tif: Tif | None = None,
        expires_at: b.Instant | None = None,
        post_only: bool = False,
        client_order_id: str | None = None,
        self_trade: SelfTrade | None = None,
        idempotency_key: str | None = None,
    ) -> m.Placement:
        """A limit order when ``price`` is given, else a market order (unless ``type``)."""
        body = b.order_body(market, side, qty, price, budget, outcome, token, type, tif, self_trade)
        body.update(b.body(expires_at=b.instant(expires_at), client_order_id=client_order_id))
        if post_only:
            body["post_only"] = True
        req = self._req("place_order", body=body, idempotency_key=idempotency_key)
        return await self._call(req, m.Placement)

    async def preview_order(
        self,
        market: str,
        side: Side,
        *,
        qty: b.Amount | None = None,
        price: b.Amount | None = None,
        budget: b.Amount | None = None,
        outcome: int = 0,
        token: Token = "yes",
        type: OrderType | None = None,
        tif: Tif | None = None,
        self_trade: SelfTrade | None = None,
    ) -> m.Preview:
        """What the order would do now; nothing is placed."""
        body = b.order_body(market, side, qty, price, budget, outcome, token, type, tif, self_trade)
        return await self._call(self._req("preview_order", body=body), m.Preview)

    async def list_orders(
        self,
        *,
        market: str | None = None,
        status: str | None = None,
        cursor: str | None = None,
        limit: int | None = None,
    ) -> m.Page[m.Order]:
        params = {"market": market, "status": status, "cursor": cursor, "limit": limit}
        return await self._call(self._req("list_orders", params=params), m.Page[m.Order])

    def iter_orders(
        self, *, market: str | None = None, status: str | None = None, page_size: int | None = None
    ) -> AsyncIterator[m.Order]:
        return awalk(
            lambda cursor: self.list_orders(
                market=market, status=status, cursor=cursor, limit=page_size
            )
        )

    async def get_order(self, order_id: int) -> m.Order:
        return await self._call(self._req("get_order", path={"order_id": order_id}), m.Order)

    async def cancel_order(
        self, order_id: int, *, idempotency_key: str | None = None
    ) -> m.Cancelled:
        req = self._req(
            "cancel_order", path={"order_id": order_id}, idempotency_key=idempotency_key
        )
        return await self._call(req, m.Cancelled)

    async def amend_order(
        self,
        order_id: int,
        *,
        price: b.Amount,
        qty: b.Amount,
        client_order_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> m.Amended:
        """A resting order's new limit (in its own token) and unfilled size: the same price
        and a smaller size reduce it in place, anything else replaces it atomically."""
        body = b.body(price=b.amount(price), qty=b.amount(qty), client_order_id=client_order_id)
        req = self._req(
            "amend_order", path={"order_id": order_id}, body=body, idempotency_key=idempotency_key
        )
        return await self._call(req, m.Amended)

    async def cancel_all(
        self, market: str | None = None, *, idempotency_key: str | None = None
    ) -> m.CancelledAll:
        req = self._req("cancel_all", body=b.body(market=market), idempotency_key=idempotency_key)
        return await self._call(req, m.CancelledAll)

    async def mint(
        self, market: str, qty: b.Amount, *, idempotency_key: str | None = None
    ) -> m.Minted:
        """Mint complete sets: 1 credit -> one YES of every outcome, per share."""
        req = self._req(
            "mint",
            path={"market": market},
            body={"qty": b.amount(qty)},
            idempotency_key=idempotency_key,
        )
        return await self._call(req, m.Minted)

    async def redeem(
        self,
        market: str,
        qty: b.Amount,
        *,
        outcome: int | None = None,
        idempotency_key: str | None = None,
    ) -> m.Redeemed:
        req = self._req(
            "redeem",
            path={"market": market},
            body=b.body(qty=b.amount(qty), outcome=outcome),
            idempotency_key=idempotency_key,
        )
        return await self._call(req, m.Redeemed)

    async def convert(
        self,
        market: str,
        outcome: int,
        qty: b.Amount,
        *,
        to_yes: bool = True,
        idempotency_key: str | None = None,
    ) -> m.Converted:
        """Categorical only: NO on ``outcome`` <-> YES on every other outcome."""
        req = self._req(
            "convert",
            path={"market": market},
            body={"outcome": outcome, "qty": b.amount(qty), "to_yes": to_yes},
            idempotency_key=idempotency_key,
        )
        return await self._call(req, m.Converted)

    async def balances(self) -> m.Balances:
        return await self._call(self._req("balances"), m.Balances)

    async def positions(self) -> list[m.Position]:
        return (await self._call(self._req("positions"), m.PositionList)).items

    async def pnl(self) -> list[m.MarketProfit]:
        """My profit per market: paid, received, fees, settlement, realized."""
        return (await self._call(self._req("pnl"), m.ProfitList)).items

    async def settlements(
        self, *, limit: int | None = None, cursor: str | None = None
    ) -> list[m.Settlement]:
        """My payouts and void refunds, newest first (one page: ``iter_settlements``
        walks them all)."""
        return (await self._settlement_page(cursor, limit)).items

    async def _settlement_page(self, cursor: str | None, limit: int | None) -> m.Page[m.Settlement]:
        req = self._req("settlements", params={"limit": limit, "cursor": cursor})
        return await self._call(req, m.Page[m.Settlement])

    def iter_settlements(self, *, page_size: int | None = None) -> AsyncIterator[m.Settlement]:
        """Every payout and void refund, newest first, page after page."""
        return awalk(lambda cursor: self._settlement_page(cursor, page_size))

    async def fills(
        self, *, market: str | None = None, cursor: str | None = None, limit: int | None = None
    ) -> m.Page[m.Fill]:
        params = {"market": market, "cursor": cursor, "limit": limit}
        return await self._call(self._req("fills", params=params), m.Page[m.Fill])

    def iter_fills(
        self, *, market: str | None = None, page_size: int | None = None
    ) -> AsyncIterator[m.Fill]:
        return awalk(lambda cursor: self.fills(market=market, cursor=cursor, limit=page_size))
