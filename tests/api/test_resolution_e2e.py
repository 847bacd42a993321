"""Resolution end to end, through the API alone, against a real server on simulated time.

Local fixture servers play the sources; the test changes what they serve as it moves
the server's clock forward an hour at a time (each advance makes the server observe
every due source). Three markets run side by side (T is the observation time and the
close, 24 hours after the start):

- ``edited``: the war map shows the town held by A; six hours before T it flips to B
  and five hours later back to A; an independent wire never flips; two fresh accounts
  buy B at 0.3 cents just before the flip. The market never resolves to B, the flip and
  its revert are in the evidence trail with hashes, and surveillance raises a high
  longshot alert naming exactly those accounts, which holds the resolution until an
  arbiter reviews it.
- ``genuine``: both sources flip to B and stay: it resolves to B by itself after the
  persistence window and the challenge period, and pays out.
- ``disputed``: the sources disagree; at the close (T) a proposal, a vote and an
  operator's resolve are refused as too early (``resolution_too_early``: nothing can be
  decided before T + the 12h window); at T + 12h a resolver proposes B with a bond, a
  trader disputes with a bond, an arbiter holding a position is refused, two arbiters
  decide A, and the bonds go to the side that was right.
- ``split``: the sources disagree and nobody proposes: at the deadline (T + 12h window
  + 24h grace) the fallback holds it for the arbiters, who decide.
- ``brief``: the November 2025 market itself: the map alone decides (a single source,
  accepted only with a stated reason, shown as a warning) with a 1-hour window; the map
  shows B from T-2h to T and is reverted at T+1h. The window counts forward from T, so
  the edit never resolves it (counted backwards it resolved B at T): held at its deadline.
- ``voided``: an operator voids it at the close, before its earliest resolution time,
  with a public reason (a void is never too early).

Every market's window counts forward: the rules settle a source only once every capture
from its answer's first appearance to T + 12h shows it, so ``edited`` and ``genuine``
are proposed at T + 12h.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from .conftest import Server, assert_problem
from .fixture_sources import FixtureSources, war_map, wire
from .helpers import observer_server, ok

HOUR = 3_600
T_US = 1_763_164_800_000_000  # 2025-11-15T00:00:00Z: START + 24h
CLOSE = "2025-11-15T00:00:00Z"


def spec(base: str, market: str, challenge_hours: int = 24) -> dict[str, Any]:
    expect = [{"outcome": 0, "value": "A"}, {"outcome": 1, "value": "B"}]
    return {
        "sources": [
            {
                "kind": "geojson", "id": "map", "owner": "Institute for Maps",
                "url": f"{base}/{market}/map.geojson",
                "at": {"lon": 37.23, "lat": 48.30, "place": "Myrnohrad"},
                "property": "controlled_by", "expect": expect,
            },
            {
                "kind": "http_json", "id": "wire", "owner": "Wire Agency",
                "url": f"{base}/{market}/wire.json", "path": "$.control.side", "expect": expect,
            },
        ],
        "observation_at_us": T_US,
        "persistence": {"hours": 12},
        "quorum": 2,
        "fallback": {"kind": "hold"},
        "challenge_window_hours": challenge_hours,
    }  # fmt: skip


SINGLE_REASON = "the institute's map is the only published front line"


def spec_for(base: str, market: str) -> dict[str, Any]:
    if market != "brief":
        return spec(base, market)
    one = spec(base, market)
    return {**one, "sources": one["sources"][:1], "quorum": 1, "persistence": {"hours": 1},
            "single_source_reason": SINGLE_REASON}  # fmt: skip


# What each source serves at hour h after the start (T is hour 24).
SIDES = {
    "edited": (lambda h: "B" if 18 <= h < 23 else "A", lambda h: "A"),
    "genuine": (lambda h: "B" if h >= 18 else "A", lambda h: "B" if h >= 19 else "A"),
    "disputed": (lambda h: "B", lambda h: "A"),
    "split": (lambda h: "B", lambda h: "A"),  # no quorum, nobody proposes: held at deadline
    "brief": (lambda h: "B" if 22 <= h <= 24 else "A", lambda h: "A"),  # the wire is unused
    "voided": (lambda h: "A", lambda h: "A"),
}


@pytest.fixture(scope="module")
def sources() -> Iterator[FixtureSources]:
    with FixtureSources() as running:
        yield running


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from observer_server(tmp_path_factory, "resolution")


def serve_hour(sources: FixtureSources, h: int) -> None:
    for market, (map_at, wire_at) in SIDES.items():
        sources.set(f"/{market}/map.geojson", war_map(map_at(h)))
        sources.set(f"/{market}/wire.json", wire(wire_at(h)))
    if h == 10:  # the genuine market's wire fails for an hour: a failure, never an answer
        sources.set("/genuine/wire.json", b"upstream exploded", status=500, kind="text/plain")


def wait_for_unconfirmed(admin: httpx.Client) -> None:
    params = {"market": "edited", "detector": "unconfirmed", "severity": "high"}
    deadline = time.monotonic() + 20
    while not ok(admin.get("/alerts", params=params))["items"]:
        assert time.monotonic() < deadline, "no high unconfirmed alert"
        time.sleep(0.2)


def with_roles(live: Server, admin: httpx.Client, prefix: str, *roles: str) -> httpx.Client:
    name, client = live.user(prefix)
    ok(admin.put(f"/admin/users/{name}/roles", json={"roles": ["trader", *roles]}))
    client.headers["X-Account"] = name  # for the assertions below, not for the server
    return client


def order(client: httpx.Client, market: str, side: str, token: str, price: str, qty: str) -> Any:
    body = {"market": market, "side": side, "token": token, "price": price, "qty": qty}
    return ok(client.post("/orders", json=body), 201)


def story(client: httpx.Client, market: str) -> dict[str, Any]:
    found: dict[str, Any] = ok(client.get(f"/markets/{market}/resolution"))
    return found


def wait_for_alert(admin: httpx.Client, market: str) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        found = ok(admin.get("/alerts", params={"market": market, "severity": "high"}))["items"]
        if found:
            return list(found)
        time.sleep(0.2)
    everything = ok(admin.get("/alerts"))["items"]
    raise AssertionError(f"no high alert on {market}: {everything}")


def test_three_markets_resolve_by_their_rules_through_the_api(
    live: Server, sources: FixtureSources
) -> None:
    admin = live.admin()
    admin.headers["X-Account"] = "admin"
    serve_hour(sources, 0)
    for market in SIDES:
        body = {
            "id": market, "question": f"Who holds Myrnohrad? ({market})", "close_time": CLOSE,
            "outcomes": ["A holds the town", "B holds the town"],
            "resolution_spec": spec_for(sources.base, market),
        }  # fmt: skip
        ok(admin.post("/markets", json=body), 201)
    bad = {"id": "bad", "question": "?", "close_time": CLOSE,
           "resolution_spec": {**spec(sources.base, "x"), "quorum": 3}}  # fmt: skip
    problem = assert_problem(admin.post("/markets", json=bad), 422, "invalid_spec")
    assert "quorum_out_of_range" in problem["detail"]

    ann = with_roles(live, admin, "ann")
    planted = [with_roles(live, admin, "p") for _ in range(2)]
    during = [with_roles(live, admin, "d") for _ in range(2)]  # buy B while the map shows it
    hal, gina, dan = (with_roles(live, admin, n) for n in ("hal", "gina", "dan"))
    resolver = with_roles(live, admin, "res", "resolver")
    arb1, arb2, arb_x = (with_roles(live, admin, n, "arbiter") for n in ("arba", "arbb", "arbx"))
    order(ann, "edited", "buy", "yes", "0.997", "900")  # A at 99.7%: B costs 0.3 cents
    order(hal, "genuine", "buy", "yes", "0.6", "10")
    order(gina, "genuine", "buy", "no", "0.4", "10")  # gina holds 10 B
    order(hal, "disputed", "buy", "yes", "0.5", "5")
    order(arb_x, "disputed", "buy", "no", "0.5", "5")  # this arbiter now holds a position

    for h in range(1, 63):
        if h == 17:  # just before the edit, two fresh accounts buy B at 0.3 cents
            for p in planted:
                order(p, "edited", "buy", "no", "0.003", "200")
        if h == 19:  # the map has read B since hour 18: two more buy B, unconfirmed
            for p in during:
                order(p, "edited", "buy", "no", "0.003", "200")
            wait_for_unconfirmed(admin)  # no clock move: before the observer's next round
        serve_hour(sources, h)
        ok(admin.post("/admin/clock", json={"seconds": HOUR}))
        if h == 24:
            too_early_at_close(live, admin, resolver, arb1)
        if h == 36:
            disputed_at_earliest(live, admin, resolver, dan, arb1, arb2, arb_x)

    # -- edited: held by the alert, never B ---------------------------------------------------
    alerts = wait_for_alert(admin, "edited")
    longshot = [a for a in alerts if a["detector"] == "longshot"]
    assert longshot and longshot[0]["holds"]
    assert set(longshot[0]["accounts"]) == {p.headers["X-Account"] for p in planted}
    edited = story(admin, "edited")
    proposals = [e for e in edited["entries"] if e["kind"] == "proposal"]
    assert [e["details"]["outcome"] for e in proposals] == [0]  # A, never B
    unconfirmed = [a for a in alerts if a["detector"] == "unconfirmed"]
    assert len(unconfirmed) == 1 and unconfirmed[0]["holds"]
    assert set(unconfirmed[0]["accounts"]) == {p.headers["X-Account"] for p in during}
    edited_b = hashlib.sha256(json.dumps(war_map("B")).encode()).hexdigest()
    assert "source 'map'" in unconfirmed[0]["reason"] and edited_b in unconfirmed[0]["reason"]
    assert unconfirmed[0]["reason"].count("profit if outcome 1: 199400000 micro-credits") == 2
    assert edited["status"] == "proposed"
    assert sorted(edited["holding_alerts"]) == sorted([longshot[0]["id"], unconfirmed[0]["id"]])
    assert edited["market_status"] == "closed"  # the challenge window is over, still held
    changes = [e for e in edited["entries"] if e["kind"] == "change"]
    map_changes = [e["details"]["change"] for e in changes if e["details"]["source_id"] == "map"]
    assert map_changes == [
        'feature "Myrnohrad": controlled_by "A" → "B"',
        'feature "Myrnohrad": controlled_by "B" → "A"',
    ]
    for entry in changes:  # the raw bytes are kept and match the journaled hash
        digest = entry["details"]["content_sha256"]
        raw = live.client().get(f"/evidence/{digest}")
        assert raw.status_code == 200 and hashlib.sha256(raw.content).hexdigest() == digest
    assert sources.hits["/edited/map.geojson"] >= 48
    review = {"verdict": "confirm", "note": "planted longshot buying"}
    ok(arb1.post(f"/alerts/{longshot[0]['id']}/review", json=review))
    assert story(admin, "edited")["status"] == "held"
    ok(arb1.post("/markets/edited/votes", json={"outcome": 0}), 201)
    final = ok(arb2.post("/markets/edited/votes", json={"outcome": 0}), 201)
    assert final["status"] == "final" and final["market_status"] == "resolved"
    for p in planted:  # their B shares paid nothing
        positions = ok(p.get("/portfolio/positions"))
        assert not [x for x in positions["items"] if x["market"] == "edited"]

    # -- split: no quorum by the deadline: held for the arbiters ------------------------------
    split = story(admin, "split")
    assert split["status"] == "held" and "no quorum of 2" in split["held_reason"]
    assert not [e for e in split["entries"] if e["kind"] == "proposal"]
    ok(arb1.post("/markets/split/votes", json={"outcome": 1}), 201)
    assert ok(arb2.post("/markets/split/votes", json={"outcome": 1}), 201)["status"] == "final"

    # -- brief: the edit around T never counts (forward window): held at its deadline --------
    brief = story(admin, "brief")
    assert not [e for e in brief["entries"] if e["kind"] == "proposal"]  # never B
    assert brief["status"] == "held" and "no quorum of 1" in brief["held_reason"]
    brief_changes = [e["details"]["change"] for e in brief["entries"] if e["kind"] == "change"]
    assert brief_changes == [
        'feature "Myrnohrad": controlled_by "A" → "B"',
        'feature "Myrnohrad": controlled_by "B" → "A"',
    ]

    # -- genuine: resolved to B by the rules, paid out ----------------------------------------
    genuine = story(admin, "genuine")
    assert genuine["market_status"] == "resolved"
    finals = [e for e in genuine["entries"] if e["kind"] == "final"]
    assert [(e["details"]["outcome"], e["details"]["by"]) for e in finals] == [(1, "rules")]
    proposed = next(e for e in genuine["entries"] if e["kind"] == "proposal")
    assert proposed["at"] == "2025-11-15T12:00:00Z"  # T + 12h: the window counts forward
    settled = next(e for e in genuine["entries"] if e["kind"] == "settlement")["details"]
    assert dict(settled["payouts"])[gina.headers["X-Account"]] == 10_000_000
    seen = ok(admin.get("/markets/genuine/observations"))["items"]
    failed = [o for o in seen if not o["ok"]]
    assert [(o["source_id"], o["http_status"], o["error_code"], o["value"]) for o in failed] == [
        ("wire", 500, "http_status", None)
    ]
    assert len(seen) >= 2 * 48
    kept = dict(next(o for o in seen if o["ok"])["headers"])
    assert kept["content-type"] == "application/json"  # the capture's headers are journaled

    # -- the whole journal verifies: every observation, proposal and vote re-executed -------
    verify = subprocess.run(
        [sys.executable, "-m", "augury.cli", "verify", "--data-dir", str(live.data_dir)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert verify.returncode == 0, verify.stdout + verify.stderr


def too_early_at_close(
    live: Server, admin: httpx.Client, resolver: httpx.Client, arb1: httpx.Client
) -> None:
    """At the close (T): nothing is decided before T + 12h; a void with a reason is fine."""
    before = story(admin, "disputed")
    assert before["earliest_resolution_at"] == "2025-11-15T12:00:00Z"
    propose = {"outcome": 1, "bond": "100", "reason": "the map says B"}
    refusals = [
        resolver.post("/markets/disputed/proposals", json=propose),
        arb1.post("/markets/disputed/votes", json={"outcome": 0}),
        admin.post("/markets/disputed/resolve", json={"outcome": 0, "reason": "the wire"}),
    ]
    for response in refusals:
        problem = assert_problem(response, 409, "resolution_too_early")
        assert "2025-11-15T12:00:00Z" in problem["detail"] and "12 hours to go" in problem["detail"]
    after = story(admin, "disputed")
    assert (after["status"], after["proposal"], after["votes"]) == ("collecting", None, [])
    assert after["entries"] == before["entries"]  # nothing was journaled
    void = {"reason": "the question was withdrawn"}
    voided = ok(admin.post("/markets/voided/void", json=void))
    assert voided["market_status"] == "voided" and "the question was withdrawn" in voided["reason"]
    entries = story(admin, "voided")["entries"]
    assert any("the question was withdrawn" in e["summary"] for e in entries)
    brief = story(live.client(), "brief")  # public: the single source's reason is shown
    warnings = {w["code"]: w for w in brief["spec_warnings"]}
    assert set(warnings) == {"single_source", "persistence_short_for_live_source"}
    assert SINGLE_REASON in warnings["single_source"]["message"]
    assert brief["status"] == "collecting" and "propose" not in brief["decision"]
    page = httpx.get(f"{live.base_url}/markets/brief", timeout=30)  # the web page
    assert page.status_code == 200 and SINGLE_REASON.replace("'", "&#39;") in page.text


def disputed_at_earliest(
    live: Server,
    admin: httpx.Client,
    resolver: httpx.Client,
    dan: httpx.Client,
    arb1: httpx.Client,
    arb2: httpx.Client,
    arb_x: httpx.Client,
) -> None:
    """At T + 12h: a wrong proposal with a bond, a dispute, a conflicted arbiter, a verdict."""
    before = {c.headers["X-Account"]: _cash(c) for c in (resolver, dan, arb1, arb2)}
    propose = {"outcome": 1, "bond": "100", "reason": "the map says B"}
    assert_problem(dan.post("/markets/disputed/proposals", json=propose), 403, "forbidden")
    ok(resolver.post("/markets/disputed/proposals", json=propose), 201)
    ok(dan.post("/markets/disputed/disputes", json={"bond": "100", "reason": "wire says A"}), 201)
    assert_problem(
        arb_x.post("/markets/disputed/votes", json={"outcome": 1}), 403, "conflict_of_interest"
    )
    assert_problem(dan.post("/markets/disputed/votes", json={"outcome": 0}), 403, "forbidden")
    ok(arb1.post("/markets/disputed/votes", json={"outcome": 0, "reason": "wire"}), 201)
    final = ok(arb2.post("/markets/disputed/votes", json={"outcome": 0}), 201)
    assert final["market_status"] == "resolved" and final["status"] == "final"
    after = {c.headers["X-Account"]: _cash(c) for c in (resolver, dan, arb1, arb2)}
    delta = {a: round(after[a] - before[a], 6) for a in before}
    names = [c.headers["X-Account"] for c in (resolver, dan, arb1, arb2)]
    assert [delta[n] for n in names] == [-100, 50, 25, 25]  # dan right: his bond + half
    assert_problem(
        admin.post("/markets/disputed/void", json={"reason": "too late"}), 409, "market_resolved"
    )


def _cash(client: httpx.Client) -> float:
    found = ok(client.get("/portfolio/balances"))
    return float(found["available"])
