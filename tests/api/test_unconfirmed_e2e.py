"""Buying on a visible, unconfirmed source change, end to end through a real server.

The war map, one of three sources of different owners (quorum 2, window 12h), shows the
town taken by B from hour 18 to 23 (the observation time T is hour 24); the wire and a
second agency never do. Right after the server has captured the edited map, two fresh
accounts buy B at 0.3 cents. Without moving the clock (so before the observer's next
round), the watch process raises a high ``unconfirmed`` alert naming exactly those two
accounts, the map, the hash of the edited capture and what each would make; it holds
the market's resolution: the rules propose A, the challenge window passes and the
market stays unresolved until an arbiter dismisses the alert.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from .conftest import Server
from .fixture_sources import FixtureSources, war_map, wire
from .helpers import observer_server, ok

HOUR = 3_600
T_US = 1_763_164_800_000_000  # 2025-11-15T00:00:00Z: START + 24h
CLOSE = "2025-11-15T00:00:00Z"
EDIT_FROM, EDIT_TO = 18, 23  # the hours the map shows B
MARKET = "unconf"


def spec(base: str) -> dict[str, Any]:
    expect = [{"outcome": 0, "value": "A"}, {"outcome": 1, "value": "B"}]
    return {
        "sources": [
            {
                "kind": "geojson", "id": "map", "owner": "Institute for Maps",
                "url": f"{base}/{MARKET}/map.geojson",
                "at": {"lon": 37.23, "lat": 48.30, "place": "Myrnohrad"},
                "property": "controlled_by", "expect": expect,
            },
            {
                "kind": "http_json", "id": "wire", "owner": "Wire Agency",
                "url": f"{base}/{MARKET}/wire.json", "path": "$.control.side", "expect": expect,
            },
            {
                "kind": "http_json", "id": "osint", "owner": "Open Sources Collective",
                "url": f"{base}/{MARKET}/osint.json", "path": "$.control.side", "expect": expect,
            },
        ],
        "observation_at_us": T_US,
        "persistence": {"hours": 12},
        "quorum": 2,
        "fallback": {"kind": "hold"},
        "challenge_window_hours": 12,
    }  # fmt: skip


def map_side(h: int) -> str:
    return "B" if EDIT_FROM <= h < EDIT_TO else "A"


def serve_hour(sources: FixtureSources, h: int) -> None:
    sources.set(f"/{MARKET}/map.geojson", war_map(map_side(h)))
    sources.set(f"/{MARKET}/wire.json", wire("A"))
    sources.set(f"/{MARKET}/osint.json", wire("A"))


@pytest.fixture(scope="module")
def sources() -> Iterator[FixtureSources]:
    with FixtureSources() as running:
        yield running


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from observer_server(tmp_path_factory, "unconfirmed")


def with_roles(live: Server, admin: httpx.Client, prefix: str, *roles: str) -> httpx.Client:
    name, client = live.user(prefix)
    ok(admin.put(f"/admin/users/{name}/roles", json={"roles": ["trader", *roles]}))
    client.headers["X-Account"] = name  # for the assertions below, not for the server
    return client


def order(client: httpx.Client, side: str, token: str, price: str, qty: str) -> Any:
    body = {"market": MARKET, "side": side, "token": token, "price": price, "qty": qty}
    return ok(client.post("/orders", json=body), 201)


def unconfirmed_alerts(admin: httpx.Client, severity: str) -> list[dict[str, Any]]:
    params = {"market": MARKET, "detector": "unconfirmed", "severity": severity}
    return list(ok(admin.get("/alerts", params=params))["items"])


def wait_for_high_alert(admin: httpx.Client, within_s: float) -> dict[str, Any]:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        found = unconfirmed_alerts(admin, "high")
        if found:
            assert len(found) == 1, found
            return found[0]
        time.sleep(0.1)
    raise AssertionError(f"no high unconfirmed alert: {ok(admin.get('/alerts'))['items']}")


def advance(admin: httpx.Client, sources: FixtureSources, h: int) -> None:
    """Serve hour ``h`` and move the clock to it (the server observes every source)."""
    serve_hour(sources, h)
    ok(admin.post("/admin/clock", json={"seconds": HOUR}))


def test_buying_on_the_edited_map_is_alerted_at_once_and_holds_the_resolution(
    live: Server, sources: FixtureSources
) -> None:
    admin = live.admin()
    serve_hour(sources, 0)
    body = {
        "id": MARKET, "question": "Who holds Myrnohrad?", "close_time": CLOSE,
        "outcomes": ["A holds the town", "B holds the town"], "resolution_spec": spec(sources.base),
    }  # fmt: skip
    ok(admin.post("/markets", json=body), 201)
    ann = with_roles(live, admin, "ann")
    planted = [with_roles(live, admin, "p") for _ in range(2)]
    arbiter = with_roles(live, admin, "arb", "arbiter")
    order(ann, "buy", "yes", "0.997", "900")  # A at 99.7%: B costs 0.3 cents

    for h in range(1, EDIT_FROM + 1):
        advance(admin, sources, h)
    edited = hashlib.sha256(json.dumps(war_map("B")).encode()).hexdigest()
    seen = ok(admin.get(f"/markets/{MARKET}/observations"))["items"]
    assert edited in {o["content_sha256"] for o in seen}  # the server has the edited capture
    assert unconfirmed_alerts(admin, "high") == []  # nobody has bought on it yet

    for p in planted:  # right after the edit, before anything confirms it
        order(p, "buy", "no", "0.003", "200")
    # no clock move: no new observation; the watch must see the buying by itself
    alert = wait_for_high_alert(admin, within_s=20)
    names = sorted(p.headers["X-Account"] for p in planted)
    assert alert["accounts"] == names and alert["holds"] and alert["verdict"] == ""
    reason = alert["reason"]
    assert "source 'map'" in reason and edited in reason and "outcome 1" in reason
    for name in names:  # 200 shares of B at 0.003: 199.4 credits each if B won
        assert f"{name} net 200 shares (bought 200 at 0.003-0.003)" in reason
    assert reason.count("profit if outcome 1: 199400000 micro-credits") == 2

    for h in range(EDIT_FROM + 1, 52):  # revert at 23, T at 24, A settles, challenge ends
        advance(admin, sources, h)
    story = ok(admin.get(f"/markets/{MARKET}/resolution"))
    proposals = [e for e in story["entries"] if e["kind"] == "proposal"]
    assert [e["details"]["outcome"] for e in proposals] == [0]  # the rules say A
    assert story["status"] == "proposed" and story["holding_alerts"] == [alert["id"]]
    assert story["market_status"] == "closed"  # its challenge window is over: held
    assert unconfirmed_alerts(admin, "high") == [alert]  # raised once, not again per record

    review = {"verdict": "dismiss", "note": "the edit was reverted; the buyers lost"}
    ok(arbiter.post(f"/alerts/{alert['id']}/review", json=review))
    final = ok(admin.get(f"/markets/{MARKET}/resolution"))
    assert final["status"] == "final" and final["market_status"] == "resolved"
