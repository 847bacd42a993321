"""Scalar markets through the HTTP API: every market says its ``type``; a scalar one its
range, step and units; the book and the maker's quote show the implied value next to the
price; bad ranges are problem+json and change nothing; an operator resolves to a value."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from tests.api.conftest import Server, assert_problem
from tests.api.helpers import create_market, place

SHIPS = {"low": "0", "high": "2000", "step": "1", "units": "ships"}
SPEC: dict[str, Any] = {
    "sources": [
        {"kind": "csv", "id": "t", "owner": "Ship Tracker",
         "url": "https://tracker.example.com/m.csv", "column": "transits"},
        {"kind": "http_json", "id": "p", "owner": "Port Authority",
         "url": "https://port.example.org/api", "path": "$.transits"},
    ],
    "observation_at_us": 1_782_864_000_000_000,
    "persistence": {"hours": 12},
    "quorum": 2,
    "numeric": {"units": "ships", "tolerance": 5_000_000},
}  # fmt: skip
"""Two owners count ships (a CSV series, a JSON API), within 5 ships."""


def scalar_market(server: Server, **fields: Any) -> dict[str, Any]:
    return create_market(
        server.admin(),
        type="scalar",
        question="How many ships transit the strait in March?",
        scalar=SHIPS,
        liquidity="50",
        **fields,
    )


def test_every_market_says_its_type(server: Server) -> None:
    admin = server.admin()
    binary = create_market(admin)
    assert (binary["type"], binary["scalar"]) == ("binary", None)
    cat = create_market(admin, type="categorical", outcomes=["a", "b", "c"])
    assert cat["type"] == "categorical"
    market = scalar_market(server)
    assert market["type"] == "scalar" and market["outcomes"] == ["LONG", "SHORT"]
    assert market["scalar"] == {**SHIPS, "resolved_value": None}
    listed = admin.get("/markets", params={"limit": 200}).json()["items"]
    assert {m["id"]: m["type"] for m in listed}[market["id"]] == "scalar"


def test_the_implied_value_is_shown_next_to_the_price(server: Server) -> None:
    market = scalar_market(server)
    mid = market["id"]
    _, bob = server.user("bob")
    quote = bob.get(f"/markets/{mid}/quote").json()
    assert quote["prices"] == ["0.5", "0.5"] and quote["implied_value"] == "1000"
    place(bob, market=mid, side="buy", price="0.3", qty="2")  # rests below the maker
    book = bob.get(f"/markets/{mid}/book").json()
    assert book["bids"][0]["price"] == "0.3" and book["bids"][0]["implied_value"] == "600"
    place(bob, market=mid, side="buy", type="market", qty="10")  # LONG up: the value rises
    after = bob.get(f"/markets/{mid}/quote").json()
    assert float(after["implied_value"]) > 1000  # a test's reading, not a balance
    (candle,) = bob.get(f"/markets/{mid}/candles").json()["items"]
    for k in ("open", "high", "low", "close"):  # the chart in ships
        assert Decimal(candle["implied"][k]) == Decimal(candle[k]) * 2000


def test_bad_scalar_specs_are_problems_that_change_nothing(server: Server) -> None:
    admin = server.admin()
    before = admin.get("/markets", params={"limit": 200}).json()["items"]
    body: dict[str, Any] = {"question": "?", "close_time": "2026-06-30T00:00:00Z"}
    bad_step = {**body, "type": "scalar", "scalar": {**SHIPS, "step": "3"}}
    problem = assert_problem(admin.post("/markets", json=bad_step), 422, "invalid_market")
    assert "scalar_step" in problem["detail"]
    inverted = {**body, "type": "scalar", "scalar": {**SHIPS, "low": "10", "high": "-10"}}
    assert_problem(admin.post("/markets", json=inverted), 422, "invalid_market")
    missing = {**body, "type": "scalar"}
    assert_problem(admin.post("/markets", json=missing), 422, "validation_error")
    with_outcomes = {**body, "type": "scalar", "scalar": SHIPS, "outcomes": ["a", "b"]}
    assert_problem(admin.post("/markets", json=with_outcomes), 422, "validation_error")
    not_a_number = {**body, "type": "scalar", "scalar": {**SHIPS, "low": "ten"}}
    assert_problem(admin.post("/markets", json=not_a_number), 422, "validation_error")
    assert admin.get("/markets", params={"limit": 200}).json()["items"] == before


def test_the_linter_checks_a_scalar_spec(server: Server) -> None:
    admin = server.admin()
    spec: dict[str, Any] = {**SPEC, "numeric": {"units": "km", "tolerance": 5_000_000}}
    body = {"spec": spec, "close_time": "2026-06-30T00:00:00Z", "scalar": SHIPS}
    found = admin.post("/resolution/lint", json=body).json()
    assert not found["acceptable"]
    assert [f["code"] for f in found["findings"]] == ["scalar_units"]
    spec["numeric"] = {"units": "ships", "tolerance": 5_000_000}
    assert admin.post("/resolution/lint", json=body).json() == {"acceptable": True, "findings": []}


def test_an_operator_resolves_a_scalar_market_to_a_value(server: Server) -> None:
    market = scalar_market(server)
    mid = market["id"]
    admin = server.admin()
    _, bob = server.user("bob")
    place(bob, market=mid, side="buy", type="market", qty="4")  # 4 LONG from the maker
    resolved = admin.post(
        f"/markets/{mid}/resolve", json={"value": "1234.6", "reason": "port statistics"}
    )
    assert resolved.status_code == 200, resolved.text
    after = admin.get(f"/markets/{mid}").json()
    assert after["status"] == "resolved"
    assert after["weights"] == ["0.6175", "0.3825"]  # 1235 of 2000: the nearest whole ship
    assert after["scalar"]["resolved_value"] == "1235"
    both = admin.post(f"/markets/{mid}/resolve", json={"value": "1", "outcome": 0, "reason": "x"})
    assert_problem(both, 422, "validation_error")


def test_a_bucketed_market_from_the_same_numeric_spec(server: Server) -> None:
    """A categorical market of four ranges of the range, its spec's numeric buckets set
    from them, resolved by the same numeric sources."""
    market = create_market(
        server.admin(), type="categorical", scalar=SHIPS, buckets=4, resolution_spec=SPEC
    )
    assert market["type"] == "categorical" and market["outcomes"] == [
        "under 500 ships",
        "500 to under 1000 ships",
        "1000 to under 1500 ships",
        "1500 ships or more",
    ]
    assert market["resolution_spec"]["numeric"]["buckets"] == [
        500_000_000,
        1_000_000_000,
        1_500_000_000,
    ]
    admin = server.admin()
    too_many = {"question": "?", "close_time": "2026-06-30T00:00:00Z", "type": "categorical",
                "scalar": {**SHIPS, "high": "2"}, "buckets": 4}  # fmt: skip
    assert_problem(admin.post("/markets", json=too_many), 422, "invalid_market")


def test_a_resolved_scalar_market_is_scored_as_a_number(server: Server) -> None:
    market = scalar_market(server)
    mid = market["id"]
    _, bob = server.user("bob")
    place(bob, market=mid, side="buy", type="market", qty="10")
    admin = server.admin()
    resolved = admin.post(f"/markets/{mid}/resolve", json={"value": "1500", "reason": "count"})
    assert resolved.status_code == 200, resolved.text
    score = admin.get(f"/scoring/markets/{mid}").json()
    numeric = score["numeric"]
    assert numeric["units"] == "ships" and numeric["resolved_value"] == "1500"
    assert score["points"] >= 1  # the candle of the trade: its implied value is scored
    close = float(numeric["close_value"])  # a statistic, not a balance
    assert 1000 < close < 2000
    assert float(numeric["absolute_error_close"]) == pytest.approx(abs(close - 1500))
