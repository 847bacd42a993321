"""The pages' pure helpers: sparklines, percentages, the spec in plain words."""

from __future__ import annotations

from augury.web import data


def test_sparkline_scales_into_the_box() -> None:
    assert data.sparkline([]) == "" and data.sparkline([500_000]) == ""
    points = [tuple(map(float, p.split(","))) for p in data.sparkline([100_000, 900_000]).split()]
    assert points[0][0] == 0 and points[-1][0] == data.SPARK_W
    assert all(0 <= y <= data.SPARK_H for _, y in points)
    assert points[0][1] > points[-1][1]  # up is up
    many = data.sparkline(list(range(0, 1_000_000, 1_000)))
    assert len(many.split()) == data.SPARK_POINTS


def test_percent_and_shares() -> None:
    assert data.percent(634_000) == "63%"
    assert data.percent(3_000) == "0.3%"
    assert data.shares(1_500_000_000) == "1.5k"
    assert data.shares(2_000_000_000_000) == "2.0M"
    assert data.when("2026-01-31T00:00:00Z") == "31 Jan 2026, 00:00 UTC"


def test_spec_in_words() -> None:
    spec = {
        "sources": [
            {
                "kind": "geojson",
                "id": "map",
                "owner": "Institute for Maps",
                "at": {"lon": 37.2, "lat": 48.3, "place": "Myrnohrad"},
                "expect": [{"outcome": 0, "value": "A"}, {"outcome": 1, "value": "B"}],
            },
            {
                "kind": "http_json",
                "id": "wire",
                "owner": "Wire Agency",
                "expect": [{"outcome": 0, "value": "Yes"}, {"outcome": 1, "value": "No"}],
            },
        ],
        "observation_at_us": 1_763_164_800_000_000,
        "persistence": {"hours": 12},
        "quorum": 2,
        "fallback": {"kind": "hold"},
        "challenge_window_hours": 48,
    }
    words = data.spec_in_words(spec, ["Yes", "No"])
    assert words[0] == "Decided when 2 of 2 sources agree (2 independent owners)."
    assert words[1] == "Institute for Maps (map layer at Myrnohrad): “A” means Yes; “B” means No."
    assert words[2] == "Wire Agency (data feed), naming the outcome."
    assert "15 Nov 2025, 00:00 UTC" in words[3]
    assert "12 hours" in words[4] and "arbiters" in words[5] and "48 hours" in words[6]
    assert data.spec_in_words({}, ["Yes", "No"]) == []
    assert data.spec_in_words({"sources": "nonsense", "quorum": "x"}, ["Yes", "No"]) == []
