"""The readers' worker processes: a time limit, a size limit, failures as values, and an
event loop that keeps running while a heavy read does."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from augury.domain.resolution.spec import Expect, GeoJsonSource, HttpJsonSource, Location
from augury.evidence.fetch import FetchPolicy
from augury.evidence.observe import observe
from augury.evidence.sandbox import (
    READ_FAILED,
    READ_TIMEOUT,
    READ_TOO_LARGE,
    ReaderLimits,
    ReaderPool,
)
from augury.evidence.store import EvidenceStore

from .conftest import MYRNOHRAD, FixtureServer, run, war_map

AB = (Expect(0, "A"), Expect(1, "B"))
LOCAL = FetchPolicy(allow_hosts=frozenset({"127.0.0.1"}), timeout_s=30, max_bytes=50_000_000)
T0 = 1_763_164_800_000_000


def heavy_map(features: int = 100_000) -> bytes:
    """A layer of many small squares around (0, 0) and the town: over a second of shapely
    work to find the one feature that covers the town (12,000 squares took 0.17 s on a
    quiet machine with shapely 2.2, under the quick pool's 0.3 s: the limit must be far
    below the work whatever the machine)."""

    def square(lon: float, lat: float) -> dict[str, Any]:
        r = 0.001
        ring = [[lon - r, lat - r], [lon + r, lat - r], [lon + r, lat + r], [lon - r, lat + r]]
        return {"type": "Polygon", "coordinates": [[*ring, ring[0]]]}

    found = [
        {"type": "Feature", "properties": {"controlled_by": "B"}, "geometry": square(i * 0.01, 0)}
        for i in range(features)
    ]
    town = {"type": "Feature", "properties": {"controlled_by": "A"}, "geometry": square(*MYRNOHRAD)}
    return json.dumps({"type": "FeatureCollection", "features": [*found, town]}).encode()


def map_source(url: str = "https://maps.example.org/front.geojson") -> GeoJsonSource:
    return GeoJsonSource(
        id="map",
        owner="Maps",
        expect=AB,
        url=url,
        at=Location(*MYRNOHRAD),
        property="controlled_by",
    )


def wire() -> HttpJsonSource:
    return HttpJsonSource(
        id="wire", owner="Wire", expect=AB, url="https://wire.example/", path="$.side"
    )


@pytest.fixture
def quick() -> Iterator[ReaderPool]:
    """One worker with a 0.3 s limit and a 50 MB size limit."""
    pool = ReaderPool(ReaderLimits(timeout_s=0.3, max_bytes=50_000_000, workers=1))
    yield pool
    pool.close()


def test_a_read_over_the_time_limit_fails_and_the_next_read_works(quick: ReaderPool) -> None:
    run(quick.read(wire(), b'{"side": "A"}'))  # the worker is up: its start is not timed
    started = time.monotonic()
    out = run(quick.read(map_source(), heavy_map()))
    assert (out.ok, out.value, out.error_code) == (False, None, READ_TIMEOUT)
    assert out.error == "the reader took longer than 0.3 s"
    assert time.monotonic() - started < 5.0  # abandoned at the limit, not run to the end
    again = run(quick.read(wire(), b'{"side": "B"}'))  # a new worker took over
    assert (again.ok, again.value) == (True, "B")


def test_content_over_the_size_limit_is_neither_read_nor_compared() -> None:
    pool = ReaderPool(ReaderLimits(max_bytes=1_024, workers=1))
    try:
        big = b'{"side": "A", "pad": "' + b"x" * 2_000 + b'"}'
        out = run(pool.read(wire(), big))
        assert (out.ok, out.value, out.error_code) == (False, None, READ_TOO_LARGE)
        assert out.error == f"the content is {len(big)} bytes; a reader takes at most 1024"
        change = run(pool.change("http_json", b'{"side": "B"}', big))
        assert change == (
            f"content changed: 13 → {len(big)} bytes (not compared: over the readers' "
            "1024-byte limit)"
        )
        assert run(pool.change("http_json", big, big)) is None
    finally:
        pool.close()


def test_a_reader_that_raises_is_a_failed_read(readers: ReaderPool) -> None:
    deep = b"[" * 100_000 + b"]" * 100_000  # deeper than the JSON decoder goes
    out = run(readers.read(wire(), deep))
    assert (out.ok, out.value, out.error_code) == (False, None, READ_FAILED)
    assert out.error.startswith("the reader failed: RecursionError")
    change = run(readers.change("http_json", b"[]", deep))
    assert change is not None and change.startswith(
        f"content changed: 2 → {len(deep)} bytes (not compared: the reader failed: RecursionError"
    )
    assert run(readers.read(wire(), b'{"side": "A"}')).value == "A"  # the worker lives on


def test_a_closed_pool_fails_reads() -> None:
    pool = ReaderPool(ReaderLimits(workers=1))
    pool.close()
    out = run(pool.read(wire(), b'{"side": "A"}'))
    assert (out.ok, out.error_code) == (False, READ_FAILED)


def test_the_event_loop_runs_on_while_a_heavy_read_does(readers: ReaderPool) -> None:
    """A few tenths of a second of shapely work in a reader (22,000 squares: under the
    default 5 MB a reader takes); the loop's ticks stay well under 250 ms apart (on the
    event loop the same read would stall it for all that time)."""
    run(readers.read(wire(), b'{"side": "A"}'))  # start a worker first

    async def main() -> tuple[str | None, float, int]:
        task = asyncio.ensure_future(readers.read(map_source(), heavy_map(22_000)))
        gap, ticks, last = 0.0, 0, time.perf_counter()
        while not task.done():
            await asyncio.sleep(0.005)
            now = time.perf_counter()
            gap, ticks, last = max(gap, now - last), ticks + 1, now
        return (await task).value, gap, ticks

    value, gap, ticks = run(main())
    assert value == "A"
    assert ticks > 20, "the read was too quick to show anything"
    assert gap < 0.25, f"the event loop stalled for {gap * 1000:.0f} ms"


def test_a_capture_over_the_time_limit_is_a_failed_observation(
    server: FixtureServer, store: EvidenceStore, quick: ReaderPool
) -> None:
    body = heavy_map()
    url = server.set("/front.geojson", body)
    first = run(observe(map_source(url), now_us=T0, store=store, policy=LOCAL, readers=quick))
    assert (first.ok, first.value, first.error_code) == (False, None, READ_TIMEOUT)
    assert first.error == "the reader took longer than 0.3 s"
    assert store.get(first.content_sha256) == body  # the bytes are evidence all the same
    server.set("/front.geojson", war_map(myrnohrad="B"))
    second = run(
        observe(
            map_source(url),
            now_us=T0 + 1,
            store=store,
            policy=LOCAL,
            readers=quick,
            previous_sha256=first.content_sha256,
        )
    )
    assert (second.ok, second.value) == (True, "B")
    assert second.change  # described, or "content changed: ... (not compared: ...)"
