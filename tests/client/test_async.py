"""The async client against a real server: every endpoint, errors, pages, WebSocket."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from decimal import Decimal
from typing import TypeVar

import pytest

from augury.client import AsyncClient, Conflict, Forbidden, NotFound, Rejected, Unauthorized
from augury.client._base import ENDPOINTS
from tests.api.conftest import PASSWORD, Server
from tests.client.conftest import CLOSE, unique

T = TypeVar("T")


def run(coroutine: Awaitable[T]) -> T:
    async def wrapped() -> T:
        return await coroutine

    return asyncio.run(wrapped())


async def _trader(server: Server, prefix: str) -> tuple[str, AsyncClient]:
    name = unique(prefix)
    client = AsyncClient(server.base_url)
    await client.register(name, PASSWORD)
    await client.login(name, PASSWORD)
    return name, client


def test_every_endpoint_async(server: Server, called: set[str]) -> None:
    async def scenario() -> None:
        async with (
            AsyncClient(server.base_url) as anon,
            AsyncClient(server.base_url) as admin,
        ):
            assert (await anon.health()).status == "ok"
            assert len((await anon.journal()).public_key) == 64
            await admin.login("admin", server.admin_password)
            alice_name, session = await _trader(server, "aa")
            created = await session.create_api_key("bot", ["read", "trade"])
            assert [k.name for k in await session.list_api_keys()] == ["bot"]
            alice = AsyncClient(server.base_url, api_key=created.key)
            bob_name, bob = await _trader(server, "ab")
            assert (await alice.me()).username == alice_name

            category = unique("acat")
            market = await admin.create_market("Async?", CLOSE, category=category, liquidity="10")
            mid = market.id
            assert (await admin.get_market(mid)).liquidity == Decimal(10)
            page = await anon.list_markets(category=category)
            assert [m.id for m in page.items] == [mid]
            assert [m.id async for m in anon.iter_markets(category=category, page_size=1)] == [mid]

            assert (await alice.mint(mid, "5")).minted == Decimal(5)
            ask = await alice.place_order(mid, "sell", qty="3", price="0.7", post_only=True)
            preview = await bob.preview_order(mid, "buy", qty="1")
            assert preview.filled_qty == Decimal(1) and preview.fills
            bought = await bob.place_order(mid, "buy", type="market", budget="2")
            assert bought.filled > 0
            assert (await anon.book(mid, depth=5)).asks
            quote = await anon.quote(mid)
            assert quote.prices is not None and quote.prices[0] > Decimal("0.5")
            assert (await anon.trades(mid)).items
            assert [t.id async for t in anon.iter_trades(mid)]
            assert (await anon.candles(mid, interval="1h", start="2025-11-14T00:00:00Z")).items
            assert (await alice.get_order(ask.id)).post_only is True
            assert [o.id for o in (await alice.list_orders(status="open")).items] == [ask.id]
            assert [o.id async for o in alice.iter_orders(market=mid)] == [ask.id]
            assert (await bob.balances()).available < Decimal(1000)
            assert any(p.market == mid for p in await bob.positions())
            assert (await bob.fills(market=mid)).items[0].role == "taker"
            assert [f.market async for f in bob.iter_fills()] == [mid] * len(
                (await bob.fills()).items
            )
            assert (await alice.cancel_order(ask.id)).status == "cancelled"
            await alice.place_order(mid, "sell", qty="1", price="0.9")
            assert len((await alice.cancel_all()).cancelled) == 1
            assert (await alice.redeem(mid, "1")).redeemed == Decimal(1)
            cat = await admin.create_market(
                "Which one?", CLOSE, type="categorical", outcomes=["A", "B", "C"]
            )
            await alice.mint(cat.id, "1")
            assert (await alice.convert(cat.id, 1, "1", to_yes=False)).outcome == 1
            assert (await admin.halt_market(mid)).status == "halted"
            with pytest.raises(Conflict):
                await bob.place_order(mid, "buy", qty="1", price="0.5")
            assert (await admin.resume_market(mid, "done")).status == "open"
            assert (await admin.grant(bob_name, "1")).account == bob_name
            assert (await admin.set_roles(bob_name, ["trader"])).roles == ["trader"]
            assert (await admin.advance_clock(seconds=1)).events >= 0

            with pytest.raises(Forbidden):
                await bob.create_market("Mine?", CLOSE)
            with pytest.raises(NotFound):
                await bob.get_order(123456789)
            with pytest.raises(Rejected) as refused:
                await bob.place_order(mid, "buy", qty="50000", price="0.5")
            assert refused.value.code == "insufficient_funds"

            await session.revoke_api_key(created.id)
            with pytest.raises(Unauthorized):
                await alice.me()
            await session.logout()
            with pytest.raises(Unauthorized):
                await session.me()
            for client in (session, alice, bob):
                await client.close()

    run(scenario())
    assert called == set(ENDPOINTS)


def test_async_subscription(server: Server) -> None:
    async def scenario() -> None:
        async with AsyncClient(server.base_url) as admin:
            await admin.login("admin", server.admin_password)
            mid = (await admin.create_market("Async live?", CLOSE)).id
            _, trader = await _trader(server, "aw")
            async with trader, admin.subscribe([f"book:{mid}"], timeout=10) as sub:
                snapshot = await sub.recv()
                assert (snapshot.type, snapshot.seq) == ("subscribed", 0)
                await trader.place_order(mid, "buy", qty="1", price="0.4")
                async for message in sub:
                    assert (message.type, message.seq) == ("book_delta", 1)
                    assert message.data["bids"] == [{"price": "0.4", "qty": "1", "orders": 1}]
                    break

    run(scenario())
