"""Placing through the facade on its hot route answers exactly as its FastAPI route, asks
the engine nothing but the order, and refuses a revoked key at once.

The two apps of ``tests/api/hot_pair.py``: ``hot`` as ``create_app`` builds it, and
``old`` without the hot routes, so that the FastAPI route
``portfolio_routes.create_order`` answers. The same signed requests go to both in the
same order (each side signs with its own key ids and the same private keys):
every answer must have the same status, headers and body (less ``ts_ms``, the server's
clock in milliseconds), and the hot route must be the one that answered.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from sqlalchemy import event

from augury.api.fast_orders import HotRoute
from augury.api.kalshi import PREFIX, mapping
from augury.api.kalshi.auth import SIGNATURES
from augury.api.public_keys import PublicKeys, public_keys_of
from augury.roles.services import Services
from tests.api.helpers import CLOSE
from tests.api.hot_pair import Side, pair
from tests.api.kalshi.conftest import ed25519_pair, rsa_pair
from tests.api.kalshi.test_signatures import kalshi_rsa_sign

__all__ = ["pair"]  # hot_pair's fixture, which ``signing`` builds on

MARKET = "hot-k1"
TICKER = mapping.ticker_of(MARKET)
PLACE = f"{PREFIX}/portfolio/events/orders"
URL = "http://testserver"
PRIVATE = {"ann": ed25519_pair(), "bob": rsa_pair(), "reader": ed25519_pair()}
"""Each signer's (private PEM, public PEM), the same on both sides."""
OWNERS = {
    "ann": ("ann", ["read", "trade", "admin"]),
    "bob": ("bob", ["read", "trade"]),
    "reader": ("ann", ["read"]),
}
"""Each signer's user (``hot_pair``'s) and its key's scopes."""


@dataclass
class Signing:
    """One of ``hot_pair``'s apps, with signing keys registered on it."""

    side: Side
    key_ids: dict[str, str] = field(default_factory=dict)
    last_ms: int = 0

    @property
    def kalshi_hot(self) -> HotRoute | None:
        return next((r for r in self.side.hot if r.path == PLACE), None)

    @property
    def services(self) -> Services:
        return self.side.services

    def signed(self, signer: str, method: str, path: str) -> dict[str, str]:
        # one millisecond per request: an Ed25519 signature repeats within one (a replay)
        now = self.last_ms = max(time.time_ns() // 1_000_000, self.last_ms + 1)
        message = f"{now}{method}{path}".encode()
        private = serialization.load_pem_private_key(PRIVATE[signer][0].encode(), None)
        if isinstance(private, rsa.RSAPrivateKey):
            signature = kalshi_rsa_sign(private, message)
        else:
            assert isinstance(private, ed25519.Ed25519PrivateKey)
            signature = private.sign(message)
        return {
            "KALSHI-ACCESS-KEY": self.key_ids[signer],
            "KALSHI-ACCESS-TIMESTAMP": str(now),
            "KALSHI-ACCESS-SIGNATURE": base64.b64encode(signature).decode(),
        }

    def send(self, method: str, path: str, headers: dict[str, str], body: Any) -> httpx.Response:
        content = body if isinstance(body, bytes) else None if body is None else json.dumps(body)
        if content is not None:
            headers = {**headers, "Content-Type": "application/json"}
        client = self.side.anon
        assert client is not None
        request = client.build_request(method, URL + path, headers=headers, content=content)
        response: httpx.Response = self.side.run(client.send(request))
        return response

    def call(
        self,
        method: str,
        path: str,
        signer: str | None,
        body: Any = None,
        signed_path: str | None = None,
    ) -> httpx.Response:
        """``signer``'s request (unsigned if None), signed for ``signed_path`` if given."""
        headers = self.signed(signer, method, signed_path or path) if signer else {}
        return self.send(method, path, headers, body)


def _signing(side: Side) -> Signing:
    """``side`` with the market and the signing keys of these tests."""
    market = {"id": MARKET, "question": "Hot?", "close_time": CLOSE, "tick_size": "0.01"}
    assert side.call("POST", "/markets", "admin", json=market).status_code == 201
    signing = Signing(side)
    for signer, (owner, scopes) in OWNERS.items():
        body = {"name": signer, "scopes": scopes, "public_key": PRIVATE[signer][1]}
        created = side.call("POST", "/auth/api-keys", owner, json=body)
        assert created.status_code == 201, created.text
        signing.key_ids[signer] = created.json()["id"]
    return signing


@pytest.fixture(scope="module")
def signing(pair: tuple[Side, Side]) -> tuple[Signing, Signing]:
    hot, old = _signing(pair[0]), _signing(pair[1])
    assert hot.kalshi_hot is not None and old.kalshi_hot is None
    return hot, old


def _without_ts(response: httpx.Response) -> Any:
    found = response.json()
    if isinstance(found, dict):
        found.pop("ts_ms", None)
    return found


def _same(
    signing: tuple[Signing, Signing], signer: str | None, body: Any, signed_path: str | None = None
) -> Any:
    """Send one placement to both: the hot route answered, exactly as the FastAPI route."""
    hot, old = signing
    route = hot.kalshi_hot
    assert route is not None
    before = route.served, route.handed_over
    fast = hot.call("POST", PLACE, signer, body, signed_path)
    slow = old.call("POST", PLACE, signer, body, signed_path)
    assert (route.served, route.handed_over) == (before[0] + 1, before[1]), body
    assert fast.status_code == slow.status_code, (body, fast.text, slow.text)
    assert fast.headers.multi_items() == slow.headers.multi_items(), body
    assert _without_ts(fast) == _without_ts(slow), (body, fast.text, slow.text)
    return fast.status_code, _without_ts(fast)


def _order(side: str, price: str = "0.50", count: str = "1", **fields: Any) -> dict[str, Any]:
    return {
        "ticker": TICKER,
        "side": side,
        "count": count,
        "price": price,
        "time_in_force": "good_till_canceled",
        "self_trade_prevention_type": "maker",
        **fields,
    }


def _error(answer: tuple[int, Any], status: int, code: str) -> None:
    assert answer[0] == status, answer
    assert answer[1]["error"]["code"] == code, answer


def test_the_hot_route_answers_as_the_route(signing: tuple[Signing, Signing]) -> None:
    hot, _ = signing
    status, resting = _same(signing, "ann", _order("bid", "0.50", "2"))  # buys YES
    assert status == 201 and resting["remaining_count"] == "2.00", resting
    status, crossing = _same(signing, "bob", _order("ask", "0.50"))  # holds no YES: buys NO
    assert status == 201 and crossing["fill_count"] == "1.00", crossing
    assert crossing["average_fill_price"] == "0.5000", crossing
    # ann now holds the YES share bob's order made: her ask sells it
    status, selling = _same(signing, "ann", _order("ask", "0.70"))
    assert status == 201, selling
    path = f"{PREFIX}/portfolio/orders/{selling['order_id']}"
    order = hot.call("GET", path, "ann").json()["order"]
    assert (order["action"], order["side"], order["book_side"]) == ("sell", "yes", "ask"), order
    first = _same(signing, "bob", _order("bid", "0.30", client_order_id="b-1"))
    assert _same(signing, "bob", _order("bid", "0.30", client_order_id="b-1")) == first
    _error(
        _same(signing, "bob", _order("bid", "0.31", client_order_id="b-1")),
        409,
        "duplicate_client_order_id",
    )
    for price in ("0", "1", "1.5", "0.505", "-0.5", "abc"):
        assert _same(signing, "bob", _order("bid", price))[0] == 400, price
    _error(_same(signing, "bob", _order("bid", count="0")), 400, "qty_too_small")
    _error(_same(signing, "bob", _order("bid", ticker="NO-SUCH-MARKET")), 404, "not_found")
    _error(
        _same(signing, "bob", _order("bid", reduce_only=True)), 400, "reduce_only_would_increase"
    )
    _error(
        _same(
            signing, "bob", _order("bid", time_in_force="immediate_or_cancel", expiration_time=9)
        ),
        400,
        "invalid_parameters",
    )
    _error(_same(signing, "bob", b"{not json"), 400, "invalid_parameters")
    _error(_same(signing, "bob", {"ticker": TICKER}), 400, "invalid_parameters")
    _error(_same(signing, "reader", _order("bid")), 403, "forbidden")
    _error(_same(signing, None, _order("bid")), 401, "unauthorized")
    other_path = f"{PREFIX}/portfolio/orders"
    _error(_same(signing, "bob", _order("bid"), other_path), 401, "unauthorized")


def _counting(services: Services) -> Callable[[], int]:
    """Count the engine queries of ``services`` from now on (the engine's own method)."""
    engine = services.engine
    calls = [0]
    query = engine.query

    def counted(fn: Any) -> Any:
        calls[0] += 1
        return query(fn)

    engine.query = counted  # type: ignore[method-assign]
    return lambda: calls[0]


def test_a_placement_asks_the_engine_nothing_but_the_order(
    signing: tuple[Signing, Signing],
) -> None:
    """The holdings that name a bid or an ask, the market's shape and tick: none is an
    engine query, which would wait for the engine's pipeline to drain (a query runs once
    every command before it is durable)."""
    hot, _ = signing
    queries = _counting(hot.services)
    for side in ("bid", "ask", "bid", "ask"):
        assert hot.call("POST", PLACE, "ann", _order(side, "0.40")).status_code == 201
    assert hot.call("POST", PLACE, "ann", _order("bid", ticker="NO-SUCH")).status_code == 404
    assert queries() == 0


def test_a_replay_is_refused_before_its_signature_is_checked(
    signing: tuple[Signing, Signing],
) -> None:
    hot, _ = signing
    headers = hot.signed("ann", "POST", PLACE)
    body = _order("bid", "0.11")

    def send() -> httpx.Response:
        return hot.send("POST", PLACE, headers, body)

    assert send().status_code == 201
    checks = SIGNATURES.batches
    again = send()
    assert again.status_code == 401 and "replay" in again.json()["error"]["message"]
    assert SIGNATURES.batches == checks  # ann's key is Ed25519: no check was asked for


def test_a_revoked_key_is_refused_at_once(signing: tuple[Signing, Signing]) -> None:
    hot, _ = signing
    ann = hot.key_ids["ann"]
    assert hot.call("POST", PLACE, "ann", _order("bid", "0.10")).status_code == 201  # cached
    revoked = hot.call("DELETE", f"{PREFIX}/api_keys/{ann}", "ann")
    assert revoked.status_code == 204, revoked.text
    refused = hot.call("POST", PLACE, "ann", _order("bid", "0.10"))
    assert refused.status_code == 401, refused.text
    assert refused.json()["error"]["code"] == "unauthorized"


def test_a_lookup_overtaken_by_a_revocation_is_not_cached(signing: tuple[Signing, Signing]) -> None:
    """A key read from the database just before its revocation must not be trusted for
    the cache's seconds afterwards: the revocation lands while the lookup reads."""
    hot, _ = signing
    key_id = hot.key_ids["bob"]
    keys = PublicKeys(hot.services.identity.engine)
    engine = hot.services.identity.engine

    def revoke_meanwhile(*_: Any) -> None:
        keys.forget(key_id)

    event.listen(engine, "after_cursor_execute", revoke_meanwhile)
    try:
        assert keys.lookup(key_id) is not None  # read before the revocation: answered ...
    finally:
        event.remove(engine, "after_cursor_execute", revoke_meanwhile)
    assert keys.cached(key_id) is None  # ... but not cached
    assert keys.lookup(key_id) is not None
    assert keys.cached(key_id) is not None  # an undisturbed lookup is


def test_a_deleted_users_key_is_refused_at_once(signing: tuple[Signing, Signing]) -> None:
    """The identity store forgetting a user (deleted, disabled, roles or password changed)
    drops their cached signing keys too: the next signed request reads the database."""
    hot, _ = signing
    identity = hot.services.identity
    keys = public_keys_of(hot.side.app.state, identity)
    key_id = hot.key_ids["bob"]
    assert hot.call("POST", PLACE, "bob", _order("bid", "0.11")).status_code == 201
    assert keys.cached(key_id) is not None  # the placement cached bob's key
    bob = identity.get_user("bob")
    assert bob is not None
    identity.delete_user(bob.id)
    assert keys.cached(key_id) is None
    refused = hot.call("POST", PLACE, "bob", _order("bid", "0.11"))
    assert refused.status_code == 401, refused.text
