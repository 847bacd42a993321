"""The hot path of trading (``augury.api.fast_orders``) answers exactly as the FastAPI routes.

The two apps of ``hot_pair`` (one with and one without the hot routes) get the same
requests; every answer must be the same, status, headers and body bytes, and the hot
routes' counts show which path answered.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from augury.api.fast_orders import read_body

from .hot_pair import CATEGORICAL, MARKET, Side, _close, _same, _side, pair

__all__ = ["pair"]  # the module's fixture


def _order(**fields: Any) -> dict[str, Any]:
    return {"market": MARKET, "side": "buy", "price": "0.5", "qty": "1", **fields}


SUCCESSES: list[tuple[str, dict[str, Any]]] = [
    ("key:ann", _order()),
    ("key:bob", _order(token="no", price="0.4", qty="2")),  # crosses ann's bid at 0.5 YES
    ("key:ann", _order(price="0.3", qty="5", client_order_id="ann-1", post_only=True)),
    ("key:ann", _order(tif="gtd", expires_at="2025-11-15T00:00:00+00:00", price="0.25")),
    ("key:ann", _order(outcome=1, token="yes", price="0.45")),  # the NO side of outcome 0
    ("key:bob", _order(type="market", price=None, qty=None, budget="3", tif="ioc")),
    ("key:bob", _order(side="sell", type="market", price=None, qty="1", tif="fok")),
    (
        "key:ann",
        _order(market=CATEGORICAL, outcome=2, type="market", price=None, qty=None, budget="5"),
    ),
    ("bearer:ann", _order(price="0.2", self_trade="cancel_incoming", tif=None)),
    ("ann", _order(price="0.21", self_trade="allow")),  # a session with its CSRF header
    (
        "key:ann",
        {
            "market": MARKET,
            "outcome": 0,
            "side": "buy",
            "token": "yes",
            "type": "limit",
            "price": "0.110000",
            "qty": "1.5",
            "budget": None,
            "tif": "gtc",
            "expires_at": None,
            "post_only": False,
            "client_order_id": None,
            "self_trade": "cancel_resting",
        },
    ),
]


def test_the_hot_path_places_orders_as_the_route_did(pair: tuple[Side, Side]) -> None:
    for who, body in SUCCESSES:
        response = _same(pair, "POST", "/orders", who, json=body, via="hot")
        assert response.status_code == 201, (body, response.text)
    # a refusal of the exchange raised on the hot path: the app's handler answers it
    no_shares = _order(side="sell", token="yes", price="0.9", qty="1000")
    response = _same(pair, "POST", "/orders", "key:bob", json=no_shares, via="hot")
    assert response.json()["code"] == "insufficient_shares"
    # The orders are the same ones in both exchanges, read back through the old routes.
    listed = [side.call("GET", "/orders", "key:ann").json() for side in pair]
    assert listed[0] == listed[1] and len(listed[0]["items"]) >= 5


def test_content_types_it_takes_and_those_it_hands_over(pair: tuple[Side, Side]) -> None:
    raw = json.dumps(_order(price="0.12")).encode()
    for content_type, via in (
        ("application/json; charset=utf-8", "hot"),
        ("Application/JSON", "hot"),
        ("application/problem+json", "handed_over"),  # +json: decoded by FastAPI
        ("text/plain", "handed_over"),
        (None, "handed_over"),  # no content type: FastAPI does not decode the body
    ):
        headers = {} if content_type is None else {"Content-Type": content_type}
        _same(pair, "POST", "/orders", "key:ann", content=raw, headers=headers, via=via)


def _bodies() -> list[tuple[bytes, str]]:
    """Request bodies the hot path hands over: refused (a control character in a field:
    ``invalid_characters``), or taken by the route though not by the hot path."""
    refused: list[Any] = [
        {},
        [],
        None,
        "x",
        {"side": "buy", "price": "0.5", "qty": "1"},
        {"market": MARKET, "price": "0.5", "qty": "1"},
        _order(extra=1),
        _order(outcome=64),
        _order(outcome=-1),
        _order(outcome=None),
        _order(outcome=2**70),
        _order(side="hold"),
        _order(token="maybe"),
        _order(type="stop"),
        _order(price=0.5),
        _order(price="0.1234567"),
        _order(price="-1"),
        _order(price="abc"),
        _order(price=""),
        _order(qty="1e3"),
        _order(qty=" 1"),
        _order(budget=["1"]),
        _order(price=None),
        _order(type="market"),
        _order(tif="day"),
        _order(expires_at="yesterday"),
        _order(expires_at="2025-11-15T00:00:00"),
        _order(expires_at=12),
        _order(expires_at="x" * 41),
        _order(client_order_id=""),
        _order(client_order_id="a b"),
        _order(client_order_id="c" * 65),
        _order(client_order_id="é"),
        _order(self_trade="never"),
        _order(post_only=None),
        _order(market="bad id!"),
        _order(market=""),
        _order(market="m" * 65),
        _order(market=5),
        _order(side="buy", qty="1", price="0.5", outcome=0, token="no", type="limit", x=None),
        # the route's models are strict: no string, float or bool for a number or a bool
        _order(outcome="0", price="0.13"),
        _order(outcome=0.0, price="0.14"),
        _order(outcome=False, price="0.14"),
        _order(post_only="false", price="0.15"),
        _order(post_only=0, price="0.16"),
    ]
    bodies = [(json.dumps(b).encode(), "refused") for b in refused]
    bodies += [
        (json.dumps(_order(market="abc\n")).encode(), "text"),
        (json.dumps(_order(client_order_id="a\x00b")).encode(), "text"),
    ]
    bodies += [
        (b"", "refused"),
        (b"{", "refused"),
        (b'{"market": "fast-m1",}', "refused"),
        (b"\xff\xfe", "refused"),
        (b'{"market": NaN}', "refused"),
        (b'{"market": "fast-m1", "side": "buy", "price": "0.5", "qty": "1"} x', "refused"),
    ]
    bodies += [
        ("\ufeff".encode() + json.dumps(_order(price="0.17")).encode(), "taken"),  # BOM
        (json.dumps(_order(price="0.18")).encode("utf-16"), "taken"),
        (
            b'{"market": "x", "market": "fast-m1", "side": "buy", "price": "0.19", "qty": "1"}',
            "hot",
        ),
    ]
    return bodies


def test_every_bad_body_gets_the_routes_own_answer(pair: tuple[Side, Side]) -> None:
    headers = {"Content-Type": "application/json"}
    for body, kind in _bodies():
        via = "hot" if kind == "hot" else "handed_over"
        response = _same(pair, "POST", "/orders", "key:ann", content=body, headers=headers, via=via)
        if kind in ("refused", "text"):
            assert response.status_code == 422, (body, response.text)
            code = "validation_error" if kind == "refused" else "invalid_characters"
            assert response.json()["code"] == code, (body, response.text)
        else:
            assert response.status_code == 201, (body, response.text)


def test_refusals_of_the_exchange(pair: tuple[Side, Side]) -> None:
    for body in (
        _order(market="no-such-market"),
        _order(price="0.5005"),  # not on the tick
        _order(price="1"),
        _order(qty="0"),
        _order(qty="100000000"),  # more than ann can pay
        _order(side="sell", qty="100000"),
        _order(type="market", price=None, budget="1", side="sell"),
        _order(outcome=3),
        _order(tif="gtd"),  # no expires_at
        _order(client_order_id="ann-1"),  # used above
        _order(post_only=True, price="0.9"),  # would cross bob's... or rest: either way equal
    ):
        response = _same(pair, "POST", "/orders", "key:ann", json=body, via="hot")
        assert response.status_code in (201, 404, 409, 422), response.text


def test_authentication_and_authorization(pair: tuple[Side, Side]) -> None:
    good = {"json": _order(price="0.22")}
    bad = {"json": _order(side="hold")}
    for who, kwargs, via, status in (
        ("anon", good, "hot", 401),
        ("anon", bad, "handed_over", 401),  # authenticated before the body is validated
        (
            "anon",
            {"content": b"{", "headers": {"Content-Type": "application/json"}},
            "handed_over",
            422,
        ),
        ("key:ann-read", good, "hot", 403),
        ("key:ann-read", bad, "handed_over", 403),
        ("anon", {**good, "headers": {"X-API-Key": "aug_nobody"}}, "hot", 401),
        ("anon", {**good, "headers": {"Authorization": "Basic abc"}}, "hot", 401),
        ("anon", {**good, "headers": {"Authorization": "Bearer "}}, "hot", 401),
        ("ann", {**good, "headers": {"X-CSRF-Token": "forged"}}, "hot", 403),
        ("ann", {**good, "headers": {"X-CSRF-Token": ""}}, "hot", 403),
        ("ann", bad, "handed_over", 422),
        ("admin", {"json": _order(price="0.23")}, "hot", 201),
    ):
        response = _same(pair, "POST", "/orders", who, via=via, **kwargs)
        assert response.status_code == status, (who, kwargs, response.text)


def test_a_session_without_the_csrf_header(pair: tuple[Side, Side]) -> None:
    for side in pair:
        del side.sessions["bob"].headers["X-CSRF-Token"]
    try:
        response = _same(pair, "POST", "/orders", "bob", json=_order(price="0.24"), via="hot")
        assert response.status_code == 403 and response.json()["code"] == "csrf_failed"
        response = _same(pair, "DELETE", "/orders/1", "bob", via="hot")
        assert response.status_code == 403 and response.json()["code"] == "csrf_failed"
    finally:
        for side in pair:
            csrf = side.sessions["bob"].cookies["augury_csrf"]
            side.sessions["bob"].headers["X-CSRF-Token"] = csrf


def test_idempotency_keys(pair: tuple[Side, Side]) -> None:
    body = _order(price="0.26", qty="2")
    key = {"Idempotency-Key": "fast-1"}
    first = _same(pair, "POST", "/orders", "key:ann", json=body, headers=key, via="hot")
    again = _same(pair, "POST", "/orders", "key:ann", json=body, headers=key, via="hot")
    assert first.status_code == again.status_code == 201 and first.content == again.content
    other = _same(
        pair, "POST", "/orders", "key:ann", json={**body, "qty": "3"}, headers=key, via="hot"
    )
    assert other.json()["code"] == "idempotency_key_reused"
    # the same key of another account is another key
    _same(pair, "POST", "/orders", "key:bob", json=body, headers=key, via="hot")
    for bad_key in ("", "a b", "k" * 101, "ключ".encode()):
        headers = {"Idempotency-Key": bad_key}
        response = _same(
            pair, "POST", "/orders", "key:ann", json=body, headers=headers, via="handed_over"
        )
        assert response.status_code == 422
        _same(pair, "POST", "/orders", "key:ann", json={}, headers=headers, via="handed_over")
    # while a request holds the key, another one with it is 409, bad body or not
    for side in pair:
        side.services.in_flight.add(("ann", "busy"))
    try:
        busy = {"Idempotency-Key": "busy"}
        response = _same(pair, "POST", "/orders", "key:ann", json=body, headers=busy, via="hot")
        assert response.status_code == 409 and response.headers["retry-after"] == "1"
        _same(pair, "POST", "/orders", "key:ann", json={"x": 1}, headers=busy, via="handed_over")
        _same(pair, "DELETE", "/orders/1", "key:ann", headers=busy, via="hot")
    finally:
        for side in pair:
            side.services.in_flight.discard(("ann", "busy"))
    # and it is released after each request, whatever its answer
    assert all(not side.services.in_flight for side in pair)
    refused = _order(price="0.5005")
    for _ in range(2):
        response = _same(
            pair,
            "POST",
            "/orders",
            "key:ann",
            json=refused,
            headers={"Idempotency-Key": "r"},
            via="hot",
        )
        assert response.status_code == 422  # a refusal is not remembered: it runs again


def test_cancel(pair: tuple[Side, Side]) -> None:
    placed = _same(pair, "POST", "/orders", "key:ann", json=_order(price="0.05"), via="hot").json()
    assert placed["status"] == "resting"
    order = f"/orders/{placed['id']}"
    _same(pair, "DELETE", order, "key:bob", via="hot")  # another's: 404, as a missing one
    _same(pair, "DELETE", order, "key:ann-read", via="hot")
    _same(pair, "DELETE", order, "anon", via="hot")
    key = {"Idempotency-Key": "cancel-1"}
    first = _same(pair, "DELETE", order, "key:ann", headers=key, via="hot")
    assert first.status_code == 200 and first.json()["status"] == "cancelled"
    again = _same(pair, "DELETE", order, "key:ann", headers=key, via="hot")
    assert again.content == first.content  # the stored result
    gone = _same(pair, "DELETE", order, "key:ann", via="hot")
    assert gone.status_code == 404
    _same(pair, "DELETE", order, "key:ann", headers={"Idempotency-Key": "a b"}, via="handed_over")
    for path in (
        "/orders/0",
        f"/orders/{2**62 + 1}",
        "/orders/" + "9" * 30,
        "/orders/" + "9" * 5_000,
    ):
        response = _same(pair, "DELETE", path, "key:ann", via="handed_over")
        assert response.status_code == 422
    _same(pair, "DELETE", "/orders/0", "anon", via="handed_over")
    second = _same(pair, "POST", "/orders", "ann", json=_order(price="0.06"), via="hot").json()
    _same(pair, "DELETE", f"/orders/{second['id']}", "ann", via="hot")  # session + CSRF


def test_other_methods_and_paths_are_not_the_hot_paths(pair: tuple[Side, Side]) -> None:
    for method, path in (
        ("PUT", "/orders"),
        ("PATCH", "/orders/1"),
        ("DELETE", "/orders"),
        ("DELETE", "/orders/abc"),
        ("POST", "/orders/1"),
        ("POST", "/orders/"),
    ):
        _same(pair, method, path, "key:ann", via="neither")
    _same(pair, "GET", "/orders", "key:ann", via="neither")
    _same(pair, "POST", "/orders/preview", "key:ann", json=_order(), via="hot")  # fast_reads


def test_the_openapi_document_still_has_both_routes(pair: tuple[Side, Side]) -> None:
    hot, old = pair
    assert hot.app.openapi() == old.app.openapi()
    paths = hot.app.openapi()["paths"]
    assert "post" in paths["/api/v1/orders"] and "delete" in paths["/api/v1/orders/{order_id}"]


def test_rate_limits_apply_to_the_hot_path(tmp_path: Path) -> None:
    sides = [
        _side(tmp_path / name, hot=name == "hot", key=0.001, key_burst=2) for name in ("hot", "old")
    ]
    try:
        pair = (sides[0], sides[1])
        # the setup never used the keys: two tokens, then 429
        answers = [
            _same(pair, "POST", "/orders", "key:ann", json=_order(price="0.3"), via=via).status_code
            for via in ("hot", "hot", "neither")
        ]
        assert answers == [201, 201, 429]
        _same(pair, "DELETE", "/orders/1", "key:ann", via="neither")
        _same(pair, "POST", "/orders", "key:bob", json=_order(price="0.3"), via="hot")
    finally:
        for side in sides:
            _close(side)


def test_read_body_joins_the_chunks_and_gives_none_on_a_disconnect() -> None:
    def receiving(*messages: dict[str, Any]) -> Any:
        queue = list(messages)

        async def receive() -> dict[str, Any]:
            return queue.pop(0)

        return receive

    def read(*messages: dict[str, Any]) -> bytes | None:
        return asyncio.run(read_body(receiving(*messages)))

    assert read({"type": "http.request", "body": b'{"a": 1}'}) == b'{"a": 1}'
    assert read({"type": "http.request"}) == b""
    chunks = [
        {"type": "http.request", "body": b'{"a"', "more_body": True},
        {"type": "http.request", "body": b"", "more_body": True},
        {"type": "http.request", "body": b": 1}", "more_body": False},
    ]
    assert read(*chunks) == b'{"a": 1}'
    assert read(chunks[0], {"type": "http.disconnect"}) is None
