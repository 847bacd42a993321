"""Realized profit and settlements in the portfolio, from the account_flows read model."""

from __future__ import annotations

from decimal import Decimal

from tests.api.conftest import Server
from tests.api.helpers import create_market, place


def test_profit_and_settlements_of_a_resolved_market(server: Server) -> None:
    admin = server.admin()
    mid = create_market(admin)["id"]
    _, bob = server.user("pb")
    _, carol = server.user("pc")
    place(bob, market=mid, side="buy", token="yes", price="0.4", qty="10")  # pays 4
    place(carol, market=mid, side="buy", token="no", price="0.6", qty="10")  # pays 6: a fill
    before = {p["market"]: p for p in bob.get("/portfolio/pnl").json()["items"]}[mid]
    assert (before["paid"], before["held_at_cost"], before["realized_pnl"]) == ("4", "4", "0")
    assert bob.get("/portfolio/settlements").json()["items"] == []

    resolved = admin.post(f"/markets/{mid}/resolve", json={"outcome": 0, "reason": "it did"})
    assert resolved.status_code == 200, resolved.text
    after = {p["market"]: p for p in bob.get("/portfolio/pnl").json()["items"]}[mid]
    assert (after["status"], after["settlement"], after["held_at_cost"]) == ("resolved", "10", "0")
    assert Decimal(after["realized_pnl"]) == Decimal(6)  # paid 4, got 10
    loser = {p["market"]: p for p in carol.get("/portfolio/pnl").json()["items"]}[mid]
    assert Decimal(loser["realized_pnl"]) == Decimal(-6)
    paid = bob.get("/portfolio/settlements").json()["items"]
    assert [(s["market"], s["kind"], s["amount"]) for s in paid] == [(mid, "payout", "10")]
    assert carol.get("/portfolio/settlements").json()["items"] == []  # nothing paid out


def test_settlements_come_in_pages_to_the_end(server: Server) -> None:
    admin = server.admin()
    _, dan = server.user("pd")
    markets = [create_market(admin, liquidity="20")["id"] for _ in range(3)]
    for market in markets:
        place(dan, market=market, side="buy", type="market", qty="1")
        resolved = admin.post(f"/markets/{market}/resolve", json={"outcome": 0, "reason": "yes"})
        assert resolved.status_code == 200, resolved.text
    first = dan.get("/portfolio/settlements", params={"limit": 2}).json()
    assert [s["market"] for s in first["items"]] == markets[::-1][:2]  # newest first
    rest = dan.get(
        "/portfolio/settlements", params={"limit": 2, "cursor": first["next_cursor"]}
    ).json()
    assert [s["market"] for s in rest["items"]] == [markets[0]] and rest["next_cursor"] is None
    bad = dan.get("/portfolio/settlements", params={"cursor": "nonsense"})
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_cursor"
