"""Conflicts of interest through the HTTP API: affiliated accounts may not trade by default.

A market blocks trading by accounts affiliated with an owner of one of its sources or
with its creator's organization (403 ``affiliated_account``, nothing changes); a
market created with ``block_affiliated_trading`` false must give a public reason, which
its API answer and its page show.
"""

from __future__ import annotations

import html
import uuid

import httpx

from tests.api.conftest import Server, assert_problem
from tests.api.helpers import CLOSE, balance, create_market, place
from tests.api.test_trading import SPEC

REASON = "A newsroom market: the agencies' reporters may trade, as the rules explain."


def _orders(market: str) -> list[tuple[str, dict[str, object]]]:
    """Trading of every kind: limit, market by qty, by budget, a sell, minting sets."""
    return [
        ("/orders", {"market": market, "side": "buy", "price": "0.4", "qty": "1"}),
        ("/orders", {"market": market, "side": "buy", "type": "market", "qty": "1"}),
        ("/orders", {"market": market, "side": "buy", "token": "no", "type": "market",
                     "budget": "2"}),
        ("/orders", {"market": market, "side": "sell", "price": "0.9", "qty": "1"}),
        (f"/markets/{market}/mint", {"qty": "1"}),
    ]  # fmt: skip


def _refused_without_change(client: httpx.Client, market: str) -> None:
    before = balance(client)
    orders_before = client.get("/orders").json()["items"]
    for path, body in _orders(market):
        problem = assert_problem(client.post(path, json=body), 403, "affiliated_account")
        assert "may not trade this market." in problem["detail"]
    assert balance(client) == before
    assert client.get("/orders").json()["items"] == orders_before


def test_an_affiliate_of_a_source_owner_is_refused_by_default(server: Server) -> None:
    admin = server.admin()
    market = create_market(admin, liquidity="10", resolution_spec=SPEC)
    assert market["block_affiliated_trading"] is True
    assert market["affiliated_trading_reason"] == ""
    mid = market["id"]
    _, bob = server.user("bob")
    place(bob, market=mid, side="buy", price="0.3", qty="1")  # before declaring: fine
    declared = bob.post("/me/affiliations", json={"organization": "  deepSTATE "})
    assert declared.status_code == 200, declared.text
    _refused_without_change(bob, mid)
    cancelled = bob.post("/orders/cancel-all", json={"market": mid})
    assert cancelled.status_code == 200, cancelled.text  # cancelling stays allowed
    _, carol = server.user("carol")
    place(carol, market=mid, side="buy", price="0.4", qty="1")  # not affiliated
    page = httpx.get(f"{server.base_url}/markets/{mid}")
    assert "may not trade this market" in page.text


def test_an_affiliate_of_the_creators_organization_is_refused(server: Server) -> None:
    admin = server.admin()
    creator_name, creator = server.user("mc")
    roles = admin.put(f"/admin/users/{creator_name}/roles", json={"roles": ["market_creator"]})
    assert roles.status_code == 200, roles.text
    org = f"Org {uuid.uuid4().hex[:8]}"
    linked = admin.post("/admin/affiliations", json={"account": creator_name, "organization": org})
    assert linked.status_code == 200, linked.text
    mid = create_market(creator)["id"]
    _, dan = server.user("dan")
    place(dan, market=mid, side="buy", price="0.4", qty="1")
    assert dan.post("/me/affiliations", json={"organization": org.upper()}).status_code == 200
    _refused_without_change(dan, mid)


def test_a_market_allows_affiliated_trading_only_with_a_public_reason(server: Server) -> None:
    admin = server.admin()
    base = {"id": f"m-{uuid.uuid4().hex[:10]}", "question": "Q?", "close_time": CLOSE,
            "resolution_spec": SPEC}  # fmt: skip
    for reason in ("", "   "):
        problem = assert_problem(
            admin.post(
                "/markets",
                json={
                    **base,
                    "block_affiliated_trading": False,
                    "affiliated_trading_reason": reason,
                },
            ),
            422,
            "invalid_market",
        )
        assert "public reason" in problem["detail"]
    assert admin.get(f"/markets/{base['id']}").status_code == 404  # nothing was created
    market = create_market(
        admin, resolution_spec=SPEC, block_affiliated_trading=False,
        affiliated_trading_reason=REASON,
    )  # fmt: skip
    assert market["block_affiliated_trading"] is False
    assert market["affiliated_trading_reason"] == REASON
    mid = market["id"]
    assert admin.get(f"/markets/{mid}").json()["affiliated_trading_reason"] == REASON
    listed = admin.get("/markets", params={"q": "Will the test pass?", "limit": 200}).json()
    assert any(m["id"] == mid and m["affiliated_trading_reason"] == REASON for m in listed["items"])
    _, eve = server.user("eve")
    assert eve.post("/me/affiliations", json={"organization": "ISW"}).status_code == 200
    placed = place(eve, market=mid, side="buy", price="0.4", qty="1")
    assert placed["status"] == "resting"
    page = httpx.get(f"{server.base_url}/markets/{mid}")
    assert REASON in html.unescape(page.text) and "<strong>may</strong> trade" in page.text


def test_the_create_page_offers_the_setting(server: Server) -> None:
    admin = server.admin()
    web = httpx.Client(base_url=server.base_url, cookies=admin.cookies, timeout=30.0)
    page = web.get("/create")
    web.close()
    assert page.status_code == 200, page.text
    assert 'name="allow_affiliated"' in page.text
    assert 'name="affiliated_trading_reason"' in page.text
