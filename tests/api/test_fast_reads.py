"""The live reads on the hot path (``augury.api.fast_reads``) answer exactly as the routes.

The two apps of ``hot_pair``: the same requests to both, the same answers byte for
byte (status, headers, body), and the hot app's routes count which path answered.
"""

from __future__ import annotations

from typing import Any

from .hot_pair import CATEGORICAL, MARKET, Side, _same, pair

__all__ = ["pair"]  # the module's fixture


def _order(**fields: Any) -> dict[str, Any]:
    return {"market": MARKET, "side": "buy", "price": "0.5", "qty": "1", **fields}


def _book_with_orders(pair: tuple[Side, Side]) -> int:
    """Resting orders on both sides of MARKET and of CATEGORICAL; ann's open bid's id."""
    first = _same(pair, "POST", "/orders", "key:ann", json=_order(price="0.41", qty="3"), via="hot")
    for who, body in (
        ("key:ann", _order(price="0.42")),
        ("key:bob", _order(token="no", price="0.4", qty="2")),  # an ask at 0.60
        ("key:bob", _order(token="no", price="0.45")),  # an ask at 0.55
        ("key:ann", _order(market=CATEGORICAL, outcome=1, price="0.2")),
    ):
        _same(pair, "POST", "/orders", who, json=body, via="hot")
    order_id: int = first.json()["id"]
    return order_id


def test_the_book_and_its_parameters(pair: tuple[Side, Side]) -> None:
    _book_with_orders(pair)
    book = f"/markets/{MARKET}/book"
    for query in (
        "",
        "?outcome=0",
        "?depth=1",
        "?depth=100",
        "?outcome=0&depth=2",
        "?depth=3&outcome=0",
    ):
        answer = _same(pair, "GET", book + query, "anon", via="hot")
        assert answer.status_code == 200
    body = _same(pair, "GET", book, "anon", via="hot").json()
    assert [level["price"] for level in body["bids"]][:2] == ["0.42", "0.41"]
    assert body["asks"] and body["market"] == MARKET
    # the categorical market's outcome 1, and one it does not have (the domain refuses)
    _same(pair, "GET", f"/markets/{CATEGORICAL}/book?outcome=1", "anon", via="hot")
    missing = _same(pair, "GET", f"/markets/{CATEGORICAL}/book?outcome=9", "anon", via="hot")
    assert missing.status_code >= 400
    unknown = _same(pair, "GET", "/markets/no-such-market/book", "anon", via="hot")
    assert unknown.status_code == 404
    # authenticated callers get the same public book
    _same(pair, "GET", book, "key:ann", via="hot")
    _same(pair, "GET", book, "bob", via="hot")


def test_book_queries_it_does_not_take_go_to_the_route(pair: tuple[Side, Side]) -> None:
    book = f"/markets/{MARKET}/book"
    for query in (
        "?outcome=64",  # out of range: 422
        "?depth=0",
        "?depth=101",
        "?depth=abc",
        "?outcome=01",  # not plain digits as written (the route reads 1)
        "?outcome=-1",
        "?outcome=0&outcome=0",  # twice
        "?foo=1",  # unknown: the route ignores it
        "?depth=5&",
        "?depth=%35",  # percent-encoded
    ):
        _same(pair, "GET", book + query, "anon", via="handed_over")
    _same(pair, "GET", "/markets/" + "m" * 65 + "/book", "anon", via="handed_over")


def test_the_quote(pair: tuple[Side, Side]) -> None:
    _same(pair, "GET", f"/markets/{MARKET}/quote", "anon", via="hot")
    maker = _same(pair, "GET", f"/markets/{CATEGORICAL}/quote", "key:ann", via="hot").json()
    assert maker["prices"] is not None and len(maker["prices"]) == 3
    assert _same(pair, "GET", "/markets/nope/quote", "anon", via="hot").status_code == 404
    _same(pair, "GET", f"/markets/{MARKET}/quote?x=1", "anon", via="handed_over")


def test_balances_need_the_read_scope(pair: tuple[Side, Side]) -> None:
    _book_with_orders(pair)
    ann = _same(pair, "GET", "/portfolio/balances", "key:ann", via="hot")
    assert ann.status_code == 200 and ann.json()["escrow"] != "0"
    _same(pair, "GET", "/portfolio/balances", "key:ann-read", via="hot")
    _same(pair, "GET", "/portfolio/balances", "ann", via="hot")  # a session
    _same(pair, "GET", "/portfolio/balances", "bearer:ann", via="hot")
    assert _same(pair, "GET", "/portfolio/balances", "key:bob", via="hot").status_code == 403
    assert _same(pair, "GET", "/portfolio/balances", "anon", via="hot").status_code == 401
    wrong = {"X-API-Key": "ak_" + "0" * 40}
    assert (
        _same(pair, "GET", "/portfolio/balances", "anon", headers=wrong, via="hot").status_code
        == 401
    )
    _same(pair, "GET", "/portfolio/balances?x=1", "key:ann", via="handed_over")


def test_one_order_open_or_not(pair: tuple[Side, Side]) -> None:
    order_id = _book_with_orders(pair)
    path = f"/orders/{order_id}"
    found = _same(pair, "GET", path, "key:ann", via="hot")
    assert found.status_code == 200 and found.json()["id"] == order_id
    _same(pair, "GET", path, "ann", via="hot")
    assert _same(pair, "GET", path, "key:bob", via="hot").status_code == 403  # no read scope
    assert _same(pair, "GET", path, "anon", via="hot").status_code == 401
    # another account's order is not open for it: the route answers from the history
    assert _same(pair, "GET", path, "bob", via="handed_over").status_code == 404
    _same(pair, "GET", path + "?x=1", "key:ann", via="handed_over")
    # cancelled: no longer live, the route reads it from the history
    _same(pair, "DELETE", path, "key:ann", via="hot")
    closed = _same(pair, "GET", path, "key:ann", via="handed_over")
    assert closed.status_code == 200 and closed.json()["status"] == "cancelled"
    assert _same(pair, "GET", "/orders/999999", "key:ann", via="handed_over").status_code == 404
    _same(pair, "GET", f"/orders/{2**62 + 1}", "key:ann", via="handed_over")
    _same(pair, "GET", "/orders/0", "key:ann", via="handed_over")


PREVIEWS: list[dict[str, Any]] = [
    {"market": MARKET, "side": "buy", "budget": "2"},  # a market buy (the default type)
    {"market": MARKET, "side": "buy", "type": "limit", "price": "0.6", "qty": "3"},
    {"market": MARKET, "side": "buy", "token": "no", "type": "limit", "price": "0.7", "qty": "1"},
    {"market": MARKET, "side": "sell", "qty": "1", "tif": "ioc"},
    {"market": MARKET, "side": "buy", "type": "limit", "price": "0.3", "qty": "1", "tif": "gtd"},
    {"market": MARKET, "side": "buy", "type": "limit", "price": "0.5", "qty": "2", "tif": "fok"},
    {"market": CATEGORICAL, "outcome": 2, "side": "buy", "budget": "5", "self_trade": "allow"},
    {"market": MARKET, "side": "buy", "qty": "1", "price": "0.5"},  # market type, a price
]


def test_previews(pair: tuple[Side, Side]) -> None:
    _book_with_orders(pair)
    for body in PREVIEWS:
        answer = _same(pair, "POST", "/orders/preview", "key:ann", json=body, via="hot")
        assert answer.status_code == 200, answer.text
    seen = _same(pair, "POST", "/orders/preview", "ann", json=PREVIEWS[1], via="hot").json()
    assert seen["fills"] and seen["filled_qty"] != "0"
    # what the domain refuses or takes its own way, on the hot path as on the route
    for body in (
        {"market": "no-such-market", "side": "buy", "budget": "1"},
        {"market": MARKET, "side": "buy", "type": "limit", "price": "1.5", "qty": "1"},
        {"market": MARKET, "side": "buy", "type": "limit", "qty": "1"},  # no price
        {"market": CATEGORICAL, "outcome": 9, "side": "buy", "budget": "1"},
    ):
        _same(pair, "POST", "/orders/preview", "key:ann", json=body, via="hot")
    unknown = {"market": "no-such-market", "side": "buy", "budget": "1"}
    assert _same(pair, "POST", "/orders/preview", "ann", json=unknown, via="hot").status_code == 404
    assert (
        _same(pair, "POST", "/orders/preview", "key:bob", json=PREVIEWS[0], via="hot").status_code
        == 403
    )
    assert (
        _same(pair, "POST", "/orders/preview", "anon", json=PREVIEWS[0], via="hot").status_code
        == 401
    )


def test_preview_bodies_it_does_not_take_go_to_the_route(pair: tuple[Side, Side]) -> None:
    base = PREVIEWS[1]
    for body in (
        {**base, "price": "abc"},
        {**base, "price": 0.5},
        {**base, "outcome": 64},
        {**base, "outcome": "1"},
        {**base, "side": "hold"},
        {**base, "extra": 1},
        {**base, "market": "bad market"},
        {"side": "buy", "budget": "1"},  # no market
        [base],
    ):
        for who in ("key:ann", "anon"):
            _same(pair, "POST", "/orders/preview", who, json=body, via="handed_over")
    for raw, content_type in ((b"{", "application/json"), (b"{}", "text/plain")):
        headers = {"Content-Type": content_type}
        _same(
            pair,
            "POST",
            "/orders/preview",
            "key:ann",
            content=raw,
            headers=headers,
            via="handed_over",
        )
    _same(pair, "POST", "/orders/preview?x=1", "key:ann", json=base, via="handed_over")


def test_the_openapi_document_is_unchanged(pair: tuple[Side, Side]) -> None:
    hot, old = pair
    assert hot.app.openapi() == old.app.openapi()
