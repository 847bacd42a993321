"""Shared data for the resolution tests: the war-map market as a spec, and observations."""

from __future__ import annotations

import hashlib

import msgspec

from augury.domain.resolution import (
    HOUR_US,
    Expect,
    GeoJsonSource,
    HttpJsonSource,
    Location,
    Observation,
    Persistence,
    ResolutionSpec,
)
from augury.domain.resolution.spec import AnyFallback, Hold

T_OBS = 1_763_164_800_000_000
"""The observation time: 2025-11-15 00:00 UTC, in microseconds."""
CLOSE = T_OBS - 24 * HOUR_US
OUTCOMES = ("A holds the town", "B holds the town")

WAR_MAP_JSON = b"""{
  "sources": [
    {"kind": "geojson", "id": "map", "owner": "Institute for Maps",
     "url": "https://maps.example.org/front.geojson",
     "at": {"lon": 37.23, "lat": 48.30, "place": "Myrnohrad"},
     "property": "controlled_by",
     "expect": [{"outcome": 0, "value": "A"}, {"outcome": 1, "value": "B"}]},
    {"kind": "http_json", "id": "wire", "owner": "Wire Agency",
     "url": "https://api.wire.example.com/towns/myrnohrad",
     "path": "$.control.side",
     "expect": [{"outcome": 0, "value": "A"}, {"outcome": 1, "value": "B"}]}
  ],
  "observation_at_us": 1763164800000000,
  "persistence": {"hours": 12},
  "quorum": 2,
  "fallback": {"kind": "hold"},
  "challenge_window_hours": 48
}"""


def expect_ab() -> tuple[Expect, ...]:
    return (Expect(0, "A"), Expect(1, "B"))


def war_map_spec(
    quorum: int = 2,
    hours: int = 12,
    fallback: AnyFallback | None = None,
    map_interval: int | None = None,
    wire_interval: int | None = None,
) -> ResolutionSpec:
    """The war-map market; ``*_interval``: the sources' update intervals in hours."""
    return ResolutionSpec(
        sources=(
            GeoJsonSource(
                id="map",
                owner="Institute for Maps",
                expect=expect_ab(),
                url="https://maps.example.org/front.geojson",
                at=Location(37.23, 48.30, "Myrnohrad"),
                property="controlled_by",
                update_interval_hours=map_interval,
            ),
            HttpJsonSource(
                id="wire",
                owner="Wire Agency",
                expect=expect_ab(),
                url="https://api.wire.example.com/towns/myrnohrad",
                path="$.control.side",
                update_interval_hours=wire_interval,
            ),
        ),
        observation_at_us=T_OBS,
        persistence=Persistence(hours=hours),
        quorum=quorum,
        fallback=fallback if fallback is not None else Hold(),
        challenge_window_hours=48,
    )


SINGLE_REASON = "the institute's map is the only published front line"


def single_map_spec(hours: int = 1, map_interval: int | None = None) -> ResolutionSpec:
    """The November 2025 market: the map alone decides (with a stated reason)."""
    spec = war_map_spec(quorum=1, hours=hours, map_interval=map_interval)
    return msgspec.structs.replace(
        spec, sources=spec.sources[:1], single_source_reason=SINGLE_REASON
    )


def obs(source: str, hour: int, value: str | None, ok: bool = True) -> Observation:
    """An observation ``hour`` hours after T_OBS; its hash is of its (fake) content."""
    content = f"{source}|{hour}|{value}|{ok}".encode()
    return Observation(
        source,
        T_OBS + hour * HOUR_US,
        ok,
        value if ok else None,
        hashlib.sha256(content).hexdigest(),
    )


def hourly(source: str, start: int, end: int, value_at: dict[int, str]) -> list[Observation]:
    """Hourly observations for hours start..end; the value is that of the latest key <= h."""
    out = []
    for h in range(start, end + 1):
        keys = [k for k in value_at if k <= h]
        out.append(obs(source, h, value_at[max(keys)]))
    return out
