"""No source reader can hold the server (issue 18, point 2), against a real server.

A creator's regex is run by RE2 (linear time) and one RE2 cannot run is refused when the
spec is linted; every read runs in a worker process with a time and a size limit. While
the server reads a heavy capture, ``GET /health`` is timed from outside: it must answer
within a bound far below the read's duration (generous: the test machine is shared).
"""

from __future__ import annotations

import json
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from .conftest import Server, assert_problem
from .fixture_sources import FixtureSources, wire
from .helpers import observe_now, observer_server

CLOSE = "2025-11-15T00:00:00Z"
T_US = 1_763_164_800_000_000
HEALTH_MAX_S = 0.2
READ_MAX_BYTES = 4_500_000
"""The readers' size limit in this server (the fetcher's stays at 5 MB)."""
TOWN = (37.23, 48.30)
EXPECT = [{"outcome": 0, "value": "A"}, {"outcome": 1, "value": "B"}]


@pytest.fixture(scope="module")
def sources() -> Iterator[FixtureSources]:
    with FixtureSources() as running:
        yield running


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from observer_server(
        tmp_path_factory, "readers", AUGURY_EVIDENCE_READ_MAX_BYTES=str(READ_MAX_BYTES)
    )


@pytest.fixture(scope="module")
def warm(live: Server, sources: FixtureSources) -> None:
    """One observation first: the reader processes start and the fetcher's libraries load
    (once per server, not per read; the timed observations come after)."""
    sources.set("/warm/page.html", b"<p>side A</p>", kind="text/html")
    sources.set("/warm/wire.json", wire("A"))
    admin = live.admin()
    page = page_source(sources.base, "warm", r"side (\w)")
    assert create(admin, "warm", page, sources.base).status_code == 201
    observe(admin, "warm")()
    items = admin.get("/markets/warm/observations").json()["items"]
    assert [o["value"] for o in items] == ["A", "A"], items


def spec(first: dict[str, Any], base: str, market: str) -> dict[str, Any]:
    second = {
        "kind": "http_json", "id": "wire", "owner": "Wire Agency",
        "url": f"{base}/{market}/wire.json", "path": "$.control.side", "expect": EXPECT,
    }  # fmt: skip
    return {
        "sources": [first, second],
        "observation_at_us": T_US,
        "persistence": {"hours": 12},
        "quorum": 2,
        "fallback": {"kind": "hold"},
        "challenge_window_hours": 48,
    }


def create(admin: httpx.Client, market: str, first: dict[str, Any], base: str) -> httpx.Response:
    body = {
        "id": market,
        "question": f"Who holds the town? ({market})",
        "close_time": CLOSE,
        "outcomes": ["A", "B"],
        "resolution_spec": spec(first, base, market),
    }
    return admin.post("/markets", json=body)


def page_source(base: str, market: str, regex: str) -> dict[str, Any]:
    return {
        "kind": "html", "id": "page", "owner": "Gazette",
        "url": f"{base}/{market}/page.html", "regex": regex, "expect": EXPECT,
    }  # fmt: skip


def heavy_map(features: int, side: str = "A") -> dict[str, Any]:
    """Many small squares, then the town held by ``side``: seconds of geometry to read."""

    def square(lon: float, lat: float) -> dict[str, Any]:
        r = 0.001
        ring = [[lon - r, lat - r], [lon + r, lat - r], [lon + r, lat + r], [lon - r, lat + r]]
        return {"type": "Polygon", "coordinates": [[*ring, ring[0]]]}

    found = [
        {"type": "Feature", "properties": {"controlled_by": "B"}, "geometry": square(i * 0.01, 0)}
        for i in range(features)
    ]
    town = {"type": "Feature", "properties": {"controlled_by": side}, "geometry": square(*TOWN)}
    return {"type": "FeatureCollection", "features": [*found, town]}


def health_while(live: Server, request: Callable[[], httpx.Response]) -> list[float]:
    """Time ``GET /health`` while ``request`` (an observation) runs on another thread."""
    answer: list[httpx.Response] = []
    worker = threading.Thread(target=lambda: answer.append(request()))
    latencies: list[float] = []
    with httpx.Client(base_url=live.base_url, timeout=60) as probe:
        probe.get("/api/v1/health")  # connected
        worker.start()
        while worker.is_alive():
            started = time.perf_counter()
            assert probe.get("/api/v1/health").status_code == 200
            latencies.append(time.perf_counter() - started)
            time.sleep(0.01)
    worker.join()
    assert answer and answer[0].status_code == 200, answer
    return latencies


def observe(admin: httpx.Client, market: str) -> Callable[[], httpx.Response]:
    """Observe now, to run beside the health checks: the finished job's answer."""
    return lambda: observe_now(admin, market, timeout_s=300)


def report(name: str, latencies: list[float]) -> str:
    ms = sorted(x * 1000 for x in latencies)
    return (
        f"{name}: {len(ms)} health checks, median {statistics.median(ms):.1f} ms, "
        f"max {ms[-1]:.1f} ms"
    )


def test_a_regex_that_needs_backtracking_is_refused_when_linted(
    live: Server, sources: FixtureSources
) -> None:
    admin = live.admin()
    for i, regex in enumerate([r"^(a+)+\1$", r"(?=(a+))+\1", r"(?<=side )(\w)"]):
        refused = create(
            admin, f"backtrack{i}", page_source(sources.base, "x", regex), sources.base
        )
        problem = assert_problem(refused, 422, "invalid_spec")
        assert "unsupported_regex" in problem["detail"] and "linear-time" in problem["detail"]
        assert admin.get(f"/markets/backtrack{i}").status_code == 404  # nothing was created
        body = {"spec": spec(page_source(sources.base, "x", regex), sources.base, "x"),
                "outcomes": ["A", "B"], "close_time": CLOSE}  # fmt: skip
        linted = admin.post("/resolution/lint", json=body).json()
        assert not linted["acceptable"]
        assert [f["code"] for f in linted["findings"]] == ["unsupported_regex"]
        assert linted["findings"][0]["where"] == "$.sources[0].regex"


def test_a_catastrophic_pattern_over_a_long_capture_holds_nothing(
    live: Server, sources: FixtureSources, warm: None
) -> None:
    """``(a+)+`` is exponential in Python's re over "aaa...a!"; RE2 answers at once."""
    admin = live.admin()
    market = "nested"
    sources.set(f"/{market}/page.html", b"<p>" + b"a" * 100_000 + b"!</p>", kind="text/html")
    sources.set(f"/{market}/wire.json", wire("A"))
    page = page_source(sources.base, market, r"<p>(a+)+</p>")
    assert create(admin, market, page, sources.base).status_code == 201, "RE2 runs it"
    latencies = health_while(live, observe(admin, market))
    print(report("nested quantifier", latencies))
    read = {o["source_id"]: o for o in admin.get(f"/markets/{market}/observations").json()["items"]}
    assert (read["page"]["ok"], read["page"]["error_code"]) == (False, "no_match")
    assert read["wire"]["value"] == "A"
    assert max(latencies) < HEALTH_MAX_S, report("nested quantifier", latencies)


def test_a_heavy_read_does_not_delay_health(
    live: Server, sources: FixtureSources, warm: None
) -> None:
    """Seconds of geometry (and then a diff of two such layers) in the readers."""
    admin = live.admin()
    market = "heavy"
    sources.set(f"/{market}/wire.json", wire("A"))
    town = {
        "kind": "geojson", "id": "map", "owner": "Institute for Maps",
        "url": f"{sources.base}/{market}/map.geojson",
        "at": {"lon": TOWN[0], "lat": TOWN[1]}, "property": "controlled_by", "expect": EXPECT,
    }  # fmt: skip
    assert create(admin, market, town, sources.base).status_code == 201
    # First capture: read by POST /observe. Second, an hour later: the clock's advance
    # observes every due source (this one's read, then its diff with the first).
    advance = {"seconds": 3_600}
    requests = [observe(admin, market), lambda: admin.post("/admin/clock", json=advance)]
    for side, request in zip("AB", requests, strict=True):
        layer = json.dumps(heavy_map(14_000, side)).encode()
        assert len(layer) < READ_MAX_BYTES  # under the fetch and reader size limits: read
        sources.set(f"/{market}/map.geojson", layer)
        started = time.perf_counter()
        latencies = health_while(live, request)
        took = time.perf_counter() - started
        print(report(f"heavy map, town {side} ({took:.1f} s)", latencies))
        seen = admin.get(f"/markets/{market}/observations").json()["items"]
        read = [o for o in seen if o["source_id"] == "map"]
        assert (read[-1]["ok"], read[-1]["value"]) == (True, side)
        assert max(latencies) < HEALTH_MAX_S, report("heavy map", latencies)
        assert len(latencies) >= 10, f"the read took only {took:.2f} s"
    assert read[-1]["change"]  # described, or "content changed: ... (not compared: ...)"


def test_a_capture_over_the_readers_size_limit_is_a_failed_observation(
    live: Server, sources: FixtureSources
) -> None:
    admin = live.admin()
    market = "huge"
    body = b'{"control": {"side": "A"}, "pad": "' + b"x" * READ_MAX_BYTES + b'"}'
    sources.set(f"/{market}/wire.json", wire("A"))
    sources.set(f"/{market}/huge.json", body)
    huge = {
        "kind": "http_json", "id": "huge", "owner": "Big Data Inc",
        "url": f"{sources.base}/{market}/huge.json", "path": "$.control.side", "expect": EXPECT,
    }  # fmt: skip
    assert create(admin, market, huge, sources.base).status_code == 201
    assert observe(admin, market)().json()["status"] == "done"
    items = admin.get(f"/markets/{market}/observations").json()["items"]
    seen = {o["source_id"]: o for o in items}
    assert (seen["huge"]["ok"], seen["huge"]["value"]) == (False, None)
    assert seen["huge"]["error_code"] == "read_too_large"
    assert seen["huge"]["error"] == (
        f"the content is {len(body)} bytes; a reader takes at most {READ_MAX_BYTES}"
    )
    assert seen["wire"]["value"] == "A"  # the other source was read as usual
    kept = live.client().get(f"/evidence/{seen['huge']['content_sha256']}")
    assert kept.status_code == 200 and kept.content == body  # the bytes are evidence
