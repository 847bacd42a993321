"""The hot lane (``augury.api.hot_lane``) answers exactly as the middleware stack did.

Two apps with the hot routes, one with the lane and one without (``hot_lane.install``
left out), get the same requests; every answer must be the same (status, headers and
body bytes: the security headers, ``Augury-Seq``, ``Retry-After``...), and the lane's
count shows which requests it took and which went down the stack.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import httpx
import pytest

from augury.api import hot_lane
from augury.api.fast_orders import HotRoute

from .hot_pair import MARKET, Side, _close, _side

KEY_BURST = 60
SECURITY = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
}


@pytest.fixture(scope="module")
def lanes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Side, Side]]:
    limits = {"key": 0.001, "key_burst": KEY_BURST}
    fast = _side(tmp_path_factory.mktemp("lane-on"), hot=True, **limits)
    try:
        with mock.patch.object(hot_lane, "install", lambda app: None):
            plain = _side(tmp_path_factory.mktemp("lane-off"), hot=True, **limits)
        try:
            assert _lane(fast) is not None and _lane(plain) is None
            yield fast, plain
        finally:
            _close(plain)
    finally:
        _close(fast)


def _lane(side: Side) -> hot_lane.HotLane | None:
    app: Any = side.app.middleware_stack  # built by the setup's requests
    while app is not None and not isinstance(app, hot_lane.HotLane):
        app = getattr(app, "app", None)
    return app


def _served(side: Side) -> tuple[int, int]:
    hot = [r for r in side.app.router.routes if isinstance(r, HotRoute)]
    return sum(r.served for r in hot), sum(r.handed_over for r in hot)


def _same(
    lanes: tuple[Side, Side], method: str, path: str, who: str, *, lane: bool, **kwargs: Any
) -> httpx.Response:
    """The same request to both apps: the same answer; the lane took it or not."""
    fast, plain = lanes
    found = _lane(fast)
    assert found is not None
    before = found.taken, _served(fast), _served(plain)
    one = fast.call(method, path, who, **kwargs)
    two = plain.call(method, path, who, **kwargs)
    what = f"{method} {path} {who} {kwargs}"
    assert found.taken - before[0] == int(lane), what
    # the hot routes answered (or handed over) on both sides alike
    deltas = [
        tuple(now - then for now, then in zip(_served(side), was, strict=True))
        for side, was in ((fast, before[1]), (plain, before[2]))
    ]
    assert deltas[0] == deltas[1], what
    assert one.status_code == two.status_code, (what, one.text, two.text)
    assert one.headers.multi_items() == two.headers.multi_items(), (what, one.headers, two.headers)
    assert one.content == two.content, (what, one.text, two.text)
    return one


def _order(**fields: Any) -> dict[str, Any]:
    return {"market": MARKET, "side": "buy", "price": "0.5", "qty": "1", **fields}


def test_orders_carry_every_header_the_middleware_adds(lanes: tuple[Side, Side]) -> None:
    placed = _same(lanes, "POST", "/orders", "key:ann", json=_order(), lane=True)
    assert placed.status_code == 201
    for name, value in SECURITY.items():
        assert placed.headers[name] == value
    seq = int(placed.headers["augury-seq"])
    assert seq > 0
    order_id = placed.json()["id"]
    bearer = _same(lanes, "POST", "/orders", "bearer:ann", json=_order(price="0.4"), lane=True)
    assert int(bearer.headers["augury-seq"]) > seq
    keyed = {"Idempotency-Key": "lane-1"}
    for _ in range(2):  # the second is the first's answer again
        again = _same(
            lanes, "POST", "/orders", "key:ann", json=_order(price="0.3"), headers=keyed, lane=True
        )
        assert again.status_code == 201
    cancelled = _same(lanes, "DELETE", f"/orders/{order_id}", "key:ann", lane=True)
    assert cancelled.status_code == 200 and "augury-seq" in cancelled.headers
    book = _same(lanes, "GET", f"/markets/{MARKET}/book", "key:ann", lane=True)
    assert book.status_code == 200 and "augury-seq" not in book.headers
    assert book.headers["cache-control"] == "no-store"


def test_refusals_on_the_lane(lanes: tuple[Side, Side]) -> None:
    bad_key = {"X-API-Key": "aug_" + "x" * 40}
    refused = _same(lanes, "POST", "/orders", "anon", json=_order(), headers=bad_key, lane=True)
    assert refused.status_code == 401 and refused.headers["www-authenticate"] == "Bearer"
    assert refused.headers["x-frame-options"] == "DENY" and "augury-seq" not in refused.headers
    nobody = _same(lanes, "POST", "/orders", "anon", json=_order(), lane=True)
    assert nobody.status_code == 401
    basic = {"Authorization": "Basic abc"}
    assert _same(lanes, "POST", "/orders", "anon", json=_order(), headers=basic, lane=True)
    read_only = _same(lanes, "POST", "/orders", "key:ann-read", json=_order(), lane=True)
    assert read_only.status_code == 403
    broke = _order(side="sell", price="0.9", qty="1000")
    assert _same(lanes, "POST", "/orders", "key:bob", json=broke, lane=True).status_code == 422
    assert _same(lanes, "DELETE", "/orders/999999", "key:ann", lane=True).status_code == 404
    # handed over to the FastAPI route, through the rest of the stack: its 422s
    bad = _same(lanes, "POST", "/orders", "key:ann", json=_order(outcome="0"), lane=True)
    assert bad.status_code == 422 and bad.json()["code"] == "validation_error"
    odd = {"Idempotency-Key": "a b"}
    assert _same(lanes, "POST", "/orders", "key:ann", json=_order(), headers=odd, lane=True)
    raw = json.dumps(_order(price="0.11")).encode()
    text = {"Content-Type": "text/plain"}
    assert _same(lanes, "POST", "/orders", "key:ann", content=raw, headers=text, lane=True)
    too_big = b"{" + b" " * 70_000 + b"}"

    streamed = _same(lanes, "POST", "/orders", "key:ann", content=_Chunks(too_big), lane=True)
    assert streamed.status_code == 413


class _Chunks:
    """A body without content-length (each request iterates it anew): BodyLimit counts
    what comes."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield self.data


def test_what_the_lane_leaves_to_the_stack(lanes: tuple[Side, Side]) -> None:
    declared = b"{" + b" " * 70_000 + b"}"
    over = _same(lanes, "POST", "/orders", "key:ann", content=declared, lane=False)
    assert over.status_code == 413
    dirty = _same(lanes, "POST", "/orders?x=%00", "key:ann", json=_order(), lane=False)
    assert dirty.status_code == 422 and dirty.json()["code"] == "invalid_characters"
    waits = {"Augury-Min-Seq": "1"}
    assert _same(lanes, "POST", "/orders", "key:ann", json=_order(), headers=waits, lane=False)
    session = _same(lanes, "POST", "/orders", "ann", json=_order(price="0.2"), lane=False)
    assert session.status_code == 201 and "augury_seq=" in session.headers["set-cookie"]
    assert _same(lanes, "GET", "/health", "anon", lane=False).status_code == 200
    assert _same(lanes, "POST", "/orders/", "key:ann", json=_order(), lane=False)
    assert _same(lanes, "PUT", "/orders", "key:ann", json=_order(), lane=False)


def test_rate_limits_on_the_lane(lanes: tuple[Side, Side]) -> None:
    statuses = []
    for i in range(KEY_BURST + 2):
        body = _order(price="0.05", client_order_id=f"rl-{i}")
        statuses.append(_same(lanes, "POST", "/orders", "key:bob", json=body, lane=True))
    limited = statuses[-1]
    assert limited.status_code == 429 and limited.json()["code"] == "rate_limited"
    assert limited.headers["retry-after"] and limited.headers["x-frame-options"] == "DENY"


def test_an_app_without_hot_routes_has_no_lane(tmp_path: Path) -> None:
    side = _side(tmp_path, hot=False)
    try:
        assert _lane(side) is None
    finally:
        _close(side)
