"""Scoring through the app: market scores, calibration, trader results, leaderboards.

The app runs in-process (httpx's ASGI transport, on one event loop) on simulated time,
with services it started itself, so that the test can resolve
and void markets: the API has no resolution route yet, so those two commands are
submitted to the app's own engine. Everything else (accounts, markets, orders, the
clock, every read) goes over HTTP.

The worked numbers (binary market ``sa``, book only, resolved YES at 04:00):
alice bids YES 100 @ 0.30 and bob takes it buying NO @ 0.70 at 00:10; carol bids YES
50 @ 0.60 and bob takes it buying NO @ 0.40 at 02:10. Hourly closes stand from the end
of their hour: 0.30 from 01:00, 0.60 from 03:00 to 04:00.
  Brier at close (0.6 - 1)^2 = 0.16, log -ln 0.6 = 0.510826;
  time-averaged over 3 h: Brier (2 x 0.49 + 0.16) / 3 = 0.38,
  log (2 x 1.203973 + 0.510826) / 3 = 0.972924.
  alice pays 30, gets 100: +70; bob pays 70 + 20: -90; carol pays 30, gets 50: +20.
In ``sv`` (voided) alice and bob each pay 5 and get 5 back.
"""

from __future__ import annotations

import asyncio
import math
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from augury.domain import commands as dc
from augury.roles.services import Services

from .conftest import PASSWORD, assert_problem
from .helpers import local_app

ONE = 1_000_000


class Http:
    """A synchronous face on an AsyncClient bound to the app (cookies kept)."""

    def __init__(self, loop: asyncio.AbstractEventLoop, app: Any) -> None:
        self.loop = loop
        transport = httpx.ASGITransport(app=app)
        self.client = httpx.AsyncClient(transport=transport, base_url="http://testserver/api/v1")
        self.headers = self.client.headers

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.loop.run_until_complete(self.client.get(url, **kwargs))

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.loop.run_until_complete(self.client.post(url, **kwargs))

    def close(self) -> None:
        self.loop.run_until_complete(self.client.aclose())


@dataclass
class World:
    anon: Http
    admin: Http
    services: Services
    users: dict[str, Http]
    accounts: dict[str, str]
    markets: dict[str, str]


def _login(loop: asyncio.AbstractEventLoop, app: Any, username: str, password: str) -> Http:
    client = Http(loop, app)
    response = client.post("/auth/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    client.headers["X-CSRF-Token"] = response.json()["csrf_token"]
    return client


def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def _resolve(world: World, market: str, weights: tuple[int, ...]) -> None:
    result = world.services.engine.submit(dc.ResolveMarket(market, weights, "test")).result()
    assert result.ok, result.message


def _order(client: Http, market: str, **fields: Any) -> Any:
    body = {"market": market, "outcome": 0, "side": "buy", "token": "yes", **fields}
    return _ok(client.post("/orders", json=body), 201)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    services, app, admin_password = local_app(Path(tmp_path_factory.mktemp("scoring")))
    loop = asyncio.new_event_loop()
    anon = Http(loop, app)
    try:
        admin = _login(loop, app, "admin", admin_password[0])
        users: dict[str, Http] = {}
        accounts: dict[str, str] = {}
        for name in ("alice", "bob", "carol"):
            username = f"{name}{uuid.uuid4().hex[:6]}"
            body = {"username": username, "password": PASSWORD}
            accounts[name] = _ok(anon.post("/auth/register", json=body), 201)["account"]
            users[name] = _login(loop, app, username, PASSWORD)
        markets: dict[str, str] = {}
        extras: tuple[tuple[str, dict[str, Any]], ...] = (
            ("sa", {}),
            ("sv", {}),
            ("sc", {"type": "categorical", "outcomes": ["A", "B", "C"], "liquidity": "50"}),
            ("so", {}),
        )
        for key, extra in extras:
            body = {"question": f"{key}?", "close_time": "2025-11-20T00:00:00Z", **extra}
            markets[key] = _ok(admin.post("/markets", json=body), 201)["id"]
        world = World(anon, admin, services, users, accounts, markets)
        _ok(admin.post("/admin/clock", json={"seconds": 600}))  # 00:10
        alice, bob, carol = users["alice"], users["bob"], users["carol"]
        _order(alice, markets["sa"], price="0.3", qty="100")
        _order(bob, markets["sa"], token="no", price="0.7", qty="100")
        _order(alice, markets["sv"], price="0.5", qty="10")
        _order(bob, markets["sv"], token="no", price="0.5", qty="10")
        _order(bob, markets["so"], price="0.5", qty="10")
        _order(carol, markets["sc"], outcome=2, price="0.6", qty="20", tif="ioc")
        _ok(admin.post("/admin/clock", json={"seconds": 2 * 3600}))  # 02:10
        _order(carol, markets["sa"], price="0.6", qty="50")
        _order(bob, markets["sa"], token="no", price="0.4", qty="50")
        _ok(admin.post("/admin/clock", json={"to": "2025-11-14T04:00:00Z"}))
        _resolve(world, markets["sa"], (ONE, 0))
        _resolve(world, markets["sc"], (0, 0, ONE))
        assert world.services.engine.submit(dc.VoidMarket(markets["sv"], "test")).result().ok
        yield world
        for client in (anon, admin, *users.values()):
            client.close()
    finally:
        services.stop()
        loop.close()


def test_a_resolved_binary_market_is_scored_by_hand(world: World) -> None:
    body = _ok(world.anon.get(f"/scoring/markets/{world.markets['sa']}"))
    assert body["weights"] == ["1", "0"] and body["categorical"] is False
    assert body["first_price_time"] == "2025-11-14T01:00:00Z"
    assert body["end_time"] == "2025-11-14T04:00:00Z"
    assert body["series"] == [
        {"time": "2025-11-14T01:00:00Z", "probabilities": ["0.3", "0.7"]},
        {"time": "2025-11-14T03:00:00Z", "probabilities": ["0.6", "0.4"]},
    ]
    assert (body["points"], body["scored_seconds"], body["series_thinned"]) == (2, 3 * 3600, False)
    assert body["close_probabilities"] == ["0.6", "0.4"]
    assert body["brier_close"] == "0.16"
    assert body["log_close"] == f"{-math.log(0.6):.6f}"
    assert body["brier_time_avg"] == "0.38"
    expected_log = (2 * -math.log(0.3) - math.log(0.6)) / 3
    assert body["log_time_avg"] == f"{expected_log:.6f}"


def test_a_categorical_market_uses_the_multi_outcome_brier(world: World) -> None:
    body = _ok(world.anon.get(f"/scoring/markets/{world.markets['sc']}"))
    assert body["categorical"] is True and body["weights"] == ["0", "0", "1"]
    probs = [float(p) for p in body["close_probabilities"]]
    assert abs(sum(probs) - 1) < 1e-5 and probs[2] > probs[0]
    brier = sum((p - o) ** 2 for p, o in zip(probs, (0, 0, 1), strict=True))
    assert abs(float(body["brier_close"]) - brier) < 1e-5
    assert 0 <= float(body["brier_close"]) <= 2


def test_unresolved_voided_and_unknown_markets_are_refused(world: World) -> None:
    for key in ("so", "sv"):
        response = world.anon.get(f"/scoring/markets/{world.markets[key]}")
        assert_problem(response, 409, "market_not_resolved")
    assert_problem(world.anon.get("/scoring/markets/nope"), 404, "unknown_market")
    assert_problem(world.anon.get("/scoring/traders/nobody"), 404, "unknown_account")
    assert_problem(world.anon.get("/leaderboard?by=luck"), 422, "validation_error")
    assert_problem(world.anon.get("/leaderboard?window=1d"), 422, "validation_error")


def test_calibration_counts_every_sample(world: World) -> None:
    body = _ok(world.anon.get("/scoring/calibration", params={"buckets": 10, "samples": 6}))
    assert body["markets"] == 2  # sa and sc; the voided and the open one are not resolved
    assert body["predictions"] == 6 * 1 + 6 * 3  # a binary 1 per sample, a categorical 3
    buckets = body["buckets"]
    assert len(buckets) == 10 and sum(b["count"] for b in buckets) == body["predictions"]
    assert [b["lower"] for b in buckets[:3]] == ["0", "0.1", "0.2"] and buckets[-1]["upper"] == "1"
    # sa's samples over 01:00-04:00, the midpoints of 6 half hours: 0.3 (YES happened)
    # for 4, 0.6 for 2. sc traded once, C at its average fill price (~0.36, happened);
    # A and B, never traded, share the rest (~0.32 each, did not happen): 3 x 6 samples.
    assert (buckets[6]["count"], buckets[6]["predicted"], buckets[6]["observed"]) == (2, "0.6", "1")
    assert buckets[3]["count"] == 4 + 18 and buckets[3]["observed"] == f"{10 / 22:.6f}"
    for b in buckets:
        if b["count"] == 0:
            assert b["predicted"] is None and b["observed"] is None
        else:
            assert float(b["lower"]) <= float(b["predicted"]) <= float(b["upper"])


def test_a_traders_profit_return_score_and_calibration(world: World) -> None:
    alice = _ok(world.anon.get(f"/scoring/traders/{world.accounts['alice']}"))
    assert alice["profit"] == "70" and alice["capital"] == "35" and alice["return"] == "2"
    assert alice["score"] == "0.7" and alice["fills"] == 1 and alice["shares"] == "100"
    assert alice["markets"] == 2  # sa and the voided sv
    counted = [b for b in alice["calibration"] if b["count"]]
    assert counted == [
        {"lower": "0.3", "upper": "0.4", "count": 1, "predicted": "0.3", "observed": "1"}
    ]
    bob = _ok(world.anon.get(f"/scoring/traders/{world.accounts['bob']}"))
    assert (bob["profit"], bob["capital"], bob["return"]) == ("-90", "95", "-0.947368")
    assert bob["score"] == "-0.6" and bob["shares"] == "150"  # the open market is not counted
    week = _ok(world.anon.get(f"/scoring/traders/{world.accounts['bob']}?window=7d"))
    assert week["profit"] == "-90" and week["since"] == "2025-11-07T04:00:00Z"


def test_leaderboards_rank_deterministically_over_windows(world: World) -> None:
    alice, bob, carol = (world.accounts[n] for n in ("alice", "bob", "carol"))
    profit = _ok(world.anon.get("/leaderboard", params={"by": "profit"}))
    ranked = [e["account"] for e in profit["items"]]
    assert [e["rank"] for e in profit["items"]] == list(range(1, len(ranked) + 1))
    assert ranked.index(alice) < ranked.index(carol) < ranked.index(bob)
    values = [int(float(e["profit"]) * ONE) for e in profit["items"]]
    assert values == sorted(values, reverse=True)
    assert _ok(world.anon.get("/leaderboard", params={"by": "profit"})) == profit
    score = _ok(world.anon.get("/leaderboard", params={"by": "score", "limit": 2}))
    assert len(score["items"]) == 2 and score["items"][0]["account"] == alice
    assert score["items"][0]["score"] == "0.7" and score["min_shares"] == "10"
    whole = _ok(world.anon.get("/leaderboard", params={"by": "score"}))
    assert whole["items"][-1]["account"] == bob
    # 8 days later the week is empty, the month and all time are not
    _ok(world.admin.post("/admin/clock", json={"to": "2025-11-22T05:00:00Z"}))
    week = _ok(world.anon.get("/leaderboard", params={"window": "7d"}))
    assert week["items"] == [] and week["since"] == "2025-11-15T05:00:00Z"
    month = _ok(world.anon.get("/leaderboard", params={"window": "30d"}))
    assert month["items"] == _ok(world.anon.get("/leaderboard"))["items"] != []
