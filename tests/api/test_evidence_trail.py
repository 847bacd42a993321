"""The evidence trail a person can read (issue 17, point 6), through the API alone on a
real server with simulated time and local fixture sources:

- each source's consecutive identical captures collapse into runs, paged, each with
  its first and last capture (ids, hashes, times) and count; the captures of a run are
  listed page by page; every capture stays reachable by its id and its bytes by hash;
- ``size`` is the byte length of every capture (journaled; the evidence store's length
  for records made before it was journaled);
- a proposal's evidence names each capture once;
- the answers to resolution actions are the changed resource, not the whole story;
- refusals are complete sentences, and the arbiters' decision counts the whole panel.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from augury.api.evidence_trail import collapse, observation_item

from .conftest import Server, assert_problem
from .fixture_sources import FixtureSources, war_map, wire
from .helpers import observer_server, ok

HOUR = 3_600
T_US = 1_763_164_800_000_000  # START + 24h: the observation time and the close
CLOSE = "2025-11-15T00:00:00Z"
EXPECT = [{"outcome": 0, "value": "A"}, {"outcome": 1, "value": "B"}]


def spec(base: str, market: str) -> dict[str, Any]:
    return {
        "sources": [
            {
                "kind": "geojson", "id": "map", "owner": "Institute for Maps",
                "url": f"{base}/{market}/map.geojson",
                "at": {"lon": 37.23, "lat": 48.30, "place": "Myrnohrad"},
                "property": "controlled_by", "expect": EXPECT,
            },
            {
                "kind": "http_json", "id": "wire", "owner": "Wire Agency",
                "url": f"{base}/{market}/wire.json", "path": "$.control.side", "expect": EXPECT,
            },
        ],
        "observation_at_us": T_US,
        "persistence": {"hours": 12},
        "quorum": 2,
        "fallback": {"kind": "hold"},
        "challenge_window_hours": 24,
    }  # fmt: skip


# hour -> (map side, wire side or an HTTP status for a failure)
def trail_sides(h: int) -> tuple[str, str | int]:
    """``trail``: the map flips to B for hours 6..8; the wire fails (500) hours 3..5."""
    return ("B" if 6 <= h < 9 else "A"), (500 if 3 <= h < 6 else "A")


def agreed_sides(h: int) -> tuple[str, str | int]:
    """``agreed``: both sources say A all along: the rules propose A by themselves."""
    return "A", "A"


def split_sides(h: int) -> tuple[str, str | int]:
    """``split``: the sources disagree, nobody settles: people decide."""
    return "B", "A"


MARKETS = {"trail": trail_sides, "agreed": agreed_sides, "split": split_sides}


def serve(sources: FixtureSources, h: int) -> None:
    for market, sides in MARKETS.items():
        side, wire_side = sides(h)
        sources.set(f"/{market}/map.geojson", war_map(side))
        if isinstance(wire_side, int):
            sources.set(f"/{market}/wire.json", b"upstream broke", wire_side, "text/plain")
        else:
            sources.set(f"/{market}/wire.json", wire(wire_side))


@pytest.fixture(scope="module")
def sources() -> Iterator[FixtureSources]:
    with FixtureSources() as running:
        yield running


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from observer_server(tmp_path_factory, "trail")


class World:
    """The markets, the admin, and the hour the server's clock is at (from START)."""

    def __init__(self, live: Server, sources: FixtureSources) -> None:
        self.live, self.sources, self.admin, self.hour = live, sources, live.admin(), 0
        self.holder = with_roles(live, self.admin, "arbh", "arbiter")

    def advance_to(self, hour: int) -> None:
        """Serve each hour's answers and move the clock an hour at a time (the server
        observes every due source at each step)."""
        while self.hour < hour:
            serve(self.sources, self.hour)
            ok(self.admin.post("/admin/clock", json={"seconds": HOUR}))
            self.hour += 1


@pytest.fixture(scope="module")
def world(live: Server, sources: FixtureSources) -> World:
    """Three markets observed every hour for 16 hours; an arbiter holds a position in
    ``split`` (bought before the close)."""
    here = World(live, sources)
    for market in MARKETS:
        body = {
            "id": market, "question": f"Who holds Myrnohrad? ({market})", "close_time": CLOSE,
            "outcomes": ["A holds the town", "B holds the town"],
            "resolution_spec": spec(sources.base, market), "liquidity": "10",
        }  # fmt: skip
        ok(here.admin.post("/markets", json=body), 201)
    order = {"market": "split", "side": "buy", "price": "0.9", "qty": "1"}
    assert ok(here.holder.post("/orders", json=order), 201)["filled"] == "1"
    here.advance_to(16)
    return here


def _runs(client: httpx.Client, market: str, **params: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = ok(
        client.get(f"/markets/{market}/observations/runs", params=params)
    )["items"]
    return found


def test_identical_captures_collapse_into_runs(live: Server, world: World) -> None:
    anon = live.client()
    every = ok(anon.get("/markets/trail/observations"))["items"]
    assert len(every) == 32  # 16 hours, 2 sources
    runs = _runs(anon, "trail")
    assert sum(r["count"] for r in runs) == len(every)
    by_source = {s: [r for r in runs if r["source_id"] == s] for s in ("map", "wire")}
    assert [(r["value"], r["count"]) for r in by_source["map"]] == [("A", 6), ("B", 3), ("A", 7)]
    assert [(r["ok"], r["http_status"], r["count"]) for r in by_source["wire"]] == [
        (True, 200, 3),
        (False, 500, 3),
        (True, 200, 10),
    ]
    failed = by_source["wire"][1]
    assert failed["error_code"] == "http_status" and failed["value"] is None
    assert failed["summary"].startswith("failed the same way (http_status), 3 captures from")
    ids = {o["id"]: o for o in every}
    for run in runs:  # the first and last capture, exactly, and everything between
        first, last = ids[run["first_id"]], ids[run["last_id"]]
        assert (run["first_sha256"], run["first_at"]) == (
            first["content_sha256"],
            first["fetched_at"],
        )
        assert (run["last_sha256"], run["last_at"]) == (last["content_sha256"], last["fetched_at"])
        inside = [o for o in every if o["source_id"] == run["source_id"]]
        inside = [o for o in inside if run["first_id"] <= o["id"] <= run["last_id"]]
        assert len(inside) == run["count"]
        assert {o["content_sha256"] for o in inside} == {run["first_sha256"]}
        if run["count"] > 1 and run["ok"]:
            assert run["summary"] == (
                f"unchanged, {run['count']} captures from {run['first_at']} to {run['last_at']}"
            )
    # the runs start where the change is: the flip and the revert carry the diff
    assert by_source["map"][1]["change"] == 'feature "Myrnohrad": controlled_by "A" → "B"'
    assert by_source["map"][2]["change"] == 'feature "Myrnohrad": controlled_by "B" → "A"'
    assert [r["first_id"] for r in runs] == sorted(r["first_id"] for r in runs)
    assert _runs(anon, "trail", source="map") == by_source["map"]


def test_runs_and_captures_are_paged(live: Server, world: World) -> None:
    anon = live.client()
    whole = _runs(anon, "trail")
    paged: list[dict[str, Any]] = []
    cursor = None
    for _ in range(len(whole) + 1):
        params: dict[str, Any] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = ok(anon.get("/markets/trail/observations/runs", params=params))
        assert len(page["items"]) <= 2
        paged += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert paged == whole
    longest = max(whole, key=lambda r: r["count"])
    link = httpx.URL(longest["captures"])
    query = dict(link.params)
    assert query == {
        "source": longest["source_id"],
        "after": str(longest["first_id"] - 1),
        "until": str(longest["last_id"]),
    }
    path = link.path.removeprefix("/api/v1")
    captures: list[dict[str, Any]] = []
    for _ in range(longest["count"] + 1):
        page = ok(anon.get(path, params={**query, "limit": 3}))
        assert len(page["items"]) <= 3
        captures += page["items"]
        if page["next_after"] is None:
            break
        query["after"] = str(page["next_after"])
    assert len(captures) == longest["count"]
    assert captures[0]["id"] == longest["first_id"] and captures[-1]["id"] == longest["last_id"]
    assert {c["source_id"] for c in captures} == {longest["source_id"]}
    # bad pages are refused with a stable code
    assert_problem(
        anon.get("/markets/trail/observations/runs", params={"cursor": "x"}), 422, "invalid_cursor"
    )
    assert_problem(
        anon.get("/markets/trail/observations/runs", params={"limit": 1001}),
        422,
        "validation_error",
    )
    assert_problem(
        anon.get("/markets/trail/observations", params={"limit": 5001}), 422, "validation_error"
    )
    assert_problem(anon.get("/markets/nowhere/observations/runs"), 404, "unknown_market")


def test_every_capture_is_reachable_with_its_size(live: Server, world: World) -> None:
    anon = live.client()
    every = ok(anon.get("/markets/trail/observations"))["items"]
    for o in every:
        assert ok(anon.get(f"/markets/trail/observations/{o['id']}")) == o
        raw = anon.get(f"/evidence/{o['content_sha256']}")
        assert (
            raw.status_code == 200
            and hashlib.sha256(raw.content).hexdigest() == o["content_sha256"]
        )
        assert o["size"] == len(raw.content) > 0  # the 500 page has a body too
    assert_problem(anon.get("/markets/trail/observations/999999"), 404, "not_found")
    assert_problem(anon.get("/markets/agreed/observations/1"), 404, "not_found")


def test_size_falls_back_to_the_store_for_old_records() -> None:
    """A record journaled before ``size`` existed: the store's length, or None."""
    old = {
        "source_id": "map", "ok": True, "value": "A", "content_sha256": "ab" * 32,
        "http_status": 200, "error_code": "", "error": "", "change": None,
        "fetched_at_us": T_US,
    }  # fmt: skip
    assert observation_item(7, old, lambda sha: 1234)["size"] == 1234
    assert observation_item(7, old, lambda sha: None)["size"] is None
    assert observation_item(7, old, None)["size"] is None
    assert observation_item(7, {**old, "content_sha256": ""}, None)["size"] == 0
    assert observation_item(7, {**old, "size": 99}, lambda sha: 1234)["size"] == 99
    items = [observation_item(i, {**old, "size": 1}, None) for i in (3, 5, 8)]
    runs = collapse(items, "/x")
    assert [(r["count"], r["first_id"], r["last_id"]) for r in runs] == [(3, 3, 8)]
    assert runs[0]["captures"] == "/x?source=map&after=2&until=8"


def test_the_story_can_leave_the_captures_out(live: Server, world: World) -> None:
    anon = live.client()
    full = ok(anon.get("/markets/trail/resolution"))
    lean = ok(anon.get("/markets/trail/resolution", params={"observations": "none"}))
    captured = {"observation", "change"}
    assert sum(e["kind"] in captured for e in full["entries"]) == 32
    assert not [e for e in lean["entries"] if e["kind"] in captured]
    assert [e for e in full["entries"] if e["kind"] not in captured] == lean["entries"]


def _wait_for(client: httpx.Client, market: str, status: str) -> dict[str, Any]:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        found: dict[str, Any] = ok(client.get(f"/markets/{market}/resolution"))
        if found["status"] == status:
            return found
        time.sleep(0.1)
    raise AssertionError(f"{market} never became {status}: {found['status']}")


def test_a_proposal_names_each_capture_once(live: Server, world: World) -> None:
    anon = live.client()
    world.advance_to(40)  # past T + 12 h: the rules propose A on the agreed market
    story = _wait_for(anon, "agreed", "proposed")
    evidence = story["proposal"]["evidence"]
    assert evidence and len(evidence) == len(set(evidence))
    proposals = [e for e in story["entries"] if e["kind"] == "proposal"]
    assert [e["details"]["evidence"] for e in proposals] == [evidence]
    seen = {o["content_sha256"] for o in ok(anon.get("/markets/agreed/observations"))["items"]}
    assert set(evidence) <= seen


def with_roles(live: Server, admin: httpx.Client, prefix: str, *roles: str) -> httpx.Client:
    name, client = live.user(prefix)
    ok(admin.put(f"/admin/users/{name}/roles", json={"roles": ["trader", *roles]}))
    client.headers["X-Account"] = name
    return client


def sentence(problem: dict[str, Any]) -> str:
    detail: str = problem["detail"]
    assert detail[:1].isupper() and detail.endswith("."), detail
    return detail


def test_answers_are_the_changed_resource_and_refusals_are_sentences(
    live: Server, world: World
) -> None:
    admin = world.admin
    world.advance_to(44)  # T + 20 h: past the earliest resolution time, the sources split
    resolver = with_roles(live, admin, "res", "resolver")
    dan = with_roles(live, admin, "dan")
    arbs = [with_roles(live, admin, f"arb{i}", "arbiter") for i in range(3)]
    long_text = "The map is the source that counts, " * 20 + "so B it is."

    sentence(assert_problem(dan.post("/markets/split/disputes", json={"bond": "100"}), 409,
                            "wrong_resolution_phase"))  # fmt: skip
    clarified = ok(admin.post("/markets/split/clarifications", json={"text": "Town hall."}), 201)
    assert "entries" not in clarified and clarified["market"] == "split"
    assert clarified["clarification"]["text"] == "Town hall." and clarified["rules_version"] == 2
    body = {"outcome": 1, "bond": "100", "reason": long_text}
    proposed = ok(resolver.post("/markets/split/proposals", json=body), 201)
    assert set(proposed) == {"market", "status", "market_status", "proposal"}
    assert proposed["status"] == "proposed" and proposed["proposal"]["reason"] == long_text
    assert proposed["proposal"]["proposer"] == resolver.headers["X-Account"]
    twice = assert_problem(resolver.post("/markets/split/proposals", json=body), 409,
                           "wrong_resolution_phase")  # fmt: skip
    assert sentence(twice).startswith("An outcome can no longer be proposed: an outcome is")
    disputed = ok(dan.post("/markets/split/disputes", json={"bond": "100", "reason": "wire"}), 201)
    assert set(disputed) == {"market", "status", "market_status", "dispute"}
    assert disputed["dispute"]["disputer"] == dan.headers["X-Account"]
    # an arbiter with a position is refused, in a whole sentence naming why
    conflicted = assert_problem(
        world.holder.post("/markets/split/votes", json={"outcome": 0}), 403,
        "conflict_of_interest",
    )  # fmt: skip
    assert sentence(conflicted) == (
        f"The account {world.holder.headers['X-Account']} holds a position in market split, "
        "so it cannot judge its resolution."
    )
    voted = ok(arbs[0].post("/markets/split/votes", json={"outcome": 0, "reason": "wire"}), 201)
    assert set(voted) == {"market", "status", "market_status", "vote", "votes"}
    assert voted["vote"] == {"arbiter": arbs[0].headers["X-Account"], "outcome": 0, "value": None}
    again = assert_problem(arbs[0].post("/markets/split/votes", json={"outcome": 0}), 409,
                           "already_voted")  # fmt: skip
    sentence(again)
    final = ok(arbs[1].post("/markets/split/votes", json={"outcome": 0}), 201)
    assert (final["status"], final["market_status"]) == ("final", "resolved")
    assert "entries" not in final
    story = ok(live.client().get("/markets/split/resolution"))
    decided = next(e for e in story["entries"] if e["kind"] == "final")
    assert "2 of 3 arbiters voted for outcome 0" in decided["summary"]
    assert "1 arbiter did not vote" in decided["summary"]
    assert "2 of 2" not in decided["summary"]
    voided = ok(admin.post("/markets/trail/void", json={"reason": "the map was edited"}))
    assert set(voided) == {"market", "status", "market_status", "reason"}
    assert voided["market_status"] == "voided" and voided["reason"].endswith("the map was edited")
    late = assert_problem(admin.post("/markets/trail/void", json={"reason": "again"}), 409,
                          "market_voided")  # fmt: skip
    assert sentence(late) == "The market is already voided."
