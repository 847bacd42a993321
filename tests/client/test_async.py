"""The async client against a real server: every endpoint, errors, pages, WebSocket."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable
from decimal import Decimal
from typing import TypeVar

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from augury.client import AsyncClient, Conflict, Forbidden, NotFound, Rejected, Unauthorized
from augury.client._base import ENDPOINTS, instant
from tests.api.conftest import PASSWORD, Server
from tests.client.conftest import (
    CLOSE,
    HOUR_S,
    NOTARY_OWNER,
    close_soon,
    resolution_spec,
    sign,
    unique,
)

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


def test_every_endpoint_async(backend: Server, called: set[str]) -> None:
    server = backend

    async def scenario() -> None:
        async with (
            AsyncClient(server.base_url) as anon,
            AsyncClient(server.base_url) as admin,
        ):
            assert (await anon.health()).status == "ok"
            assert len((await anon.journal()).public_key) == 64
            assert (await anon.ledger()).conserved
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
            feed = await bob.notifications(unread=True, limit=5)
            assert feed.items and {n.kind for n in feed.items} == {"fill"}
            assert [n.id async for n in bob.iter_notifications()] == [n.id for n in feed.items]
            assert await bob.unread_notifications() == feed.unread == len(feed.items)
            assert await bob.mark_notification_read(feed.items[0].id) == feed.unread - 1
            assert await bob.mark_all_notifications_read() == 0
            assert (await bob.set_notification_settings(["fill"]))["fill"] is False
            assert (await bob.notification_settings())["fill"] is False
            hook = await bob.create_webhook("https://hooks.example.org/a", kinds=["fill"])
            assert hook.secret and [w.id for w in await bob.list_webhooks()] == [hook.id]
            assert (await bob.webhook_deliveries(hook.id, limit=5)).items == []
            await bob.delete_webhook(hook.id)
            assert await bob.list_webhooks() == []
            moved = await alice.amend_order(ask.id, price="0.8", qty="1")
            assert moved.replaced and moved.placement is not None
            assert (await alice.cancel_order(moved.placement.id)).status == "cancelled"
            await alice.place_order(mid, "sell", qty="1", price="0.9")
            assert len((await alice.cancel_all()).cancelled) == 1
            assert (await alice.redeem(mid, "1")).redeemed == Decimal(1)
            assert mid in {p.market for p in await alice.pnl()}
            assert await alice.settlements(limit=5) == []
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
            found = (await admin.list_users(q=bob_name)).items
            assert [u.roles for u in found] == [["trader"]]
            assert (await admin.advance_clock(seconds=1)).events >= 0
            await resolution_and_scoring(server, admin, anon)

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
            await session.change_password(PASSWORD, "plum orchard lantern 42")
            assert [n.kind for n in (await session.me()).security_notices] == ["password_changed"]
            await session.logout()
            with pytest.raises(Unauthorized):
                await session.me()
            for client in (session, alice, bob):
                await client.close()

    run(scenario())
    assert called == set(ENDPOINTS)


async def resolution_and_scoring(server: Server, admin: AsyncClient, anon: AsyncClient) -> None:
    """Every resolution and scoring endpoint, awaited (test_sync.py checks more)."""
    notary = Ed25519PrivateKey.generate()
    close = close_soon((await anon.health()).time)
    spec = resolution_spec(close, notary)
    _, dora = await _trader(server, "ad")
    eve_name, eve = await _trader(server, "ae")
    resolver_name, resolver = await _trader(server, "ar")
    arbiters = [await _trader(server, "av") for _ in range(2)]
    await admin.set_roles(resolver_name, ["trader", "resolver"])
    for name, _ in arbiters:
        await admin.set_roles(name, ["trader", "arbiter"])
    (arb1_name, arb1), (_, arb2) = arbiters
    async with dora, eve, resolver, arb1, arb2:
        assert (await dora.lint_spec(spec, close, outcomes=["A", "B"])).acceptable
        mid = (await admin.create_market("Async town?", close, resolution_spec=spec)).id
        assert (await admin.set_spec(mid, spec, "the same again")).spec_version == 2
        clarified = await admin.clarify(mid, "Async clarification.", cancel_orders=True)
        assert clarified.clarification is not None and clarified.clarification.author == "admin"
        await dora.place_order(mid, "buy", qty="5", price="0.5")
        await eve.place_order(mid, "buy", qty="5", price="0.5", token="no")

        job = await resolver.observe_now(mid)
        assert job.status == "done" and await resolver.observe_job(job.id) == job
        assert [(o.source_id, o.ok) for o in job.observations] == [("wire", False)]
        signed_at = instant((await anon.health()).time)
        assert signed_at is not None
        signature = sign(notary, "notary", signed_at, "B")
        attested = await eve.attest(mid, "notary", "B", signed_at, signature)
        digest = attested.content_sha256
        assert attested.source_id == "notary"
        assert hashlib.sha256(await anon.evidence(digest)).hexdigest() == digest
        assert (await anon.observations(mid))[-1] == attested
        assert await anon.observation(mid, attested.id) == attested
        runs = await anon.observation_runs(mid, source="notary")
        assert [(r.count, r.first_id) for r in runs.items] == [(1, attested.id)]
        with pytest.raises(NotFound):
            await anon.evidence("f" * 64)
        declared = await arb2.declare_affiliation(NOTARY_OWNER)
        assert declared.organizations == [NOTARY_OWNER]
        assert (await arb2.declare_affiliation(NOTARY_OWNER, False)).organizations == []
        assert (await admin.link_affiliation(arb1_name, "Elsewhere Inc")).account == arb1_name

        await admin.advance_clock(seconds=14 * HOUR_S + 60)  # T + the 12 h window
        proposed = await resolver.propose(mid, 0, "10", "a guess")
        assert proposed.proposal is not None and proposed.proposal.outcome == 0
        assert (await dora.dispute(mid, Decimal(10), "the notary says B")).status == "disputed"
        await arb1.vote(mid, 1)
        with pytest.raises(Conflict) as twice:
            await arb1.vote(mid, 1)
        assert twice.value.code == "already_voted"
        assert (await arb2.vote(mid, 1, "the notary")).market_status == "resolved"
        story = await anon.market_resolution(mid, limit=1)
        assert story.status == "final" and story.next_cursor is not None
        kinds = [e.kind async for e in anon.iter_resolution(mid, page_size=4)]
        assert kinds[0] == "spec" and "final" in kinds

        score = await anon.market_score(mid)
        assert score.weights == [Decimal(0), Decimal(1)]
        assert (await anon.calibration()).predictions >= 0
        board = await anon.leaderboard(by="score", window="7d", limit=5)
        assert board.by == "score" and len(board.items) <= 5
        assert (await anon.trader_score(eve_name)).profit == Decimal("2.5")

        other = await admin.create_market("Async override?", CLOSE)
        resolved = await admin.resolve_market(other.id, "the operator's call", outcome=0)
        assert resolved.market_status == "resolved"
        doomed = await admin.create_market("Async void?", CLOSE)
        assert (await admin.void_market(doomed.id, "ambiguous")).market_status == "voided"
        with pytest.raises(Conflict) as unscored:
            await anon.market_score(doomed.id)
        assert unscored.value.code == "market_not_resolved"
        assert await arb1.alerts(market=mid) == []
        with pytest.raises(Forbidden):
            await dora.alerts()
        with pytest.raises(NotFound):
            await admin.review_alert(10**9, "confirm")
        with pytest.raises(Conflict) as settled:
            await resolver.propose(other.id, 0, "10")
        assert settled.value.code == "market_resolved"


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
