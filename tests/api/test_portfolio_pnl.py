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
