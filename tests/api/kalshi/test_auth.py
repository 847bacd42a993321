"""Signed requests against a real server: the window, replays, unknown and revoked keys,
and registering public keys through Augury's own API-key endpoint."""

from __future__ import annotations

import base64
import time

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from augury.api.kalshi.auth import WINDOW_MS
from tests.api.conftest import Server
from tests.api.kalshi.conftest import Trader, rsa_pair, signing_trader
from tests.api.kalshi.test_signatures import kalshi_rsa_sign

BALANCE = "/trade-api/v2/portfolio/balance"


def signed_headers(
    trader: Trader, method: str, path: str, ts_ms: int | None = None
) -> dict[str, str]:
    private = serialization.load_pem_private_key(trader.private_pem.encode(), password=None)
    timestamp = str(ts_ms if ts_ms is not None else time.time_ns() // 1_000_000)
    message = (timestamp + method + path.split("?")[0]).encode()
    if isinstance(private, ed25519.Ed25519PrivateKey):
        signature = private.sign(message)
    else:
        assert isinstance(private, rsa.RSAPrivateKey)
        signature = kalshi_rsa_sign(private, message)
    return {
        "KALSHI-ACCESS-KEY": trader.key_id,
        "KALSHI-ACCESS-TIMESTAMP": timestamp,
        "KALSHI-ACCESS-SIGNATURE": base64.b64encode(signature).decode(),
    }


def error_code(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body["error"]) == {"code", "message", "details"}, body
    return str(body["error"]["code"])


def test_a_signed_request_is_accepted_once(server: Server) -> None:
    trader = signing_trader(server)
    headers = signed_headers(trader, "GET", BALANCE + "?subaccount=0")
    first = httpx.get(server.base_url + BALANCE + "?subaccount=0", headers=headers)
    assert first.status_code == 200, first.text
    assert first.json()["balance"] == 100_000
    again = httpx.get(server.base_url + BALANCE, headers=headers)
    assert error_code(again, 401) == "unauthorized"
    assert "replay" in again.json()["error"]["message"]


def test_stale_future_unsigned_and_foreign_requests_are_refused(server: Server) -> None:
    trader = signing_trader(server)
    now = time.time_ns() // 1_000_000
    for ts in (now - WINDOW_MS - 5_000, now + WINDOW_MS + 5_000):
        stale = httpx.get(
            server.base_url + BALANCE, headers=signed_headers(trader, "GET", BALANCE, ts)
        )
        assert error_code(stale, 401) == "unauthorized"
    assert error_code(httpx.get(server.base_url + BALANCE), 401) == "unauthorized"
    # signed for another path or method
    other_path = signed_headers(trader, "GET", "/trade-api/v2/portfolio/positions")
    assert (
        error_code(httpx.get(server.base_url + BALANCE, headers=other_path), 401) == "unauthorized"
    )
    other_method = signed_headers(trader, "POST", BALANCE)
    assert (
        error_code(httpx.get(server.base_url + BALANCE, headers=other_method), 401)
        == "unauthorized"
    )
    unknown = {**signed_headers(trader, "GET", BALANCE), "KALSHI-ACCESS-KEY": "0" * 16}
    assert error_code(httpx.get(server.base_url + BALANCE, headers=unknown), 401) == "unauthorized"


def test_a_revoked_key_signs_nothing(server: Server) -> None:
    trader = signing_trader(server)
    ok = httpx.get(server.base_url + BALANCE, headers=signed_headers(trader, "GET", BALANCE))
    assert ok.status_code == 200
    assert trader.session.delete(f"/auth/api-keys/{trader.key_id}").status_code == 204
    revoked = httpx.get(server.base_url + BALANCE, headers=signed_headers(trader, "GET", BALANCE))
    assert error_code(revoked, 401) == "unauthorized"


def test_scopes_are_the_keys(server: Server) -> None:
    reader = signing_trader(server, scopes=["read"])
    path = "/trade-api/v2/portfolio/events/orders"
    body = {
        "ticker": "X",
        "side": "bid",
        "count": "1",
        "price": "0.5",
        "time_in_force": "good_till_canceled",
        "self_trade_prevention_type": "maker",
    }
    response = httpx.post(
        server.base_url + path, json=body, headers=signed_headers(reader, "POST", path)
    )
    assert error_code(response, 403) == "forbidden"
    keys = "/trade-api/v2/api_keys"
    listed = httpx.get(server.base_url + keys, headers=signed_headers(reader, "GET", keys))
    assert error_code(listed, 403) == "forbidden"


def test_a_bad_public_key_is_refused_and_creates_no_key(server: Server) -> None:
    _, session = server.user("pk")
    before = session.get("/auth/api-keys").json()["items"]
    private_pem, _ = rsa_pair()
    for bad in ("not a pem", private_pem):
        response = session.post("/auth/api-keys", json={"name": "k", "public_key": bad})
        assert response.status_code == 422, response.text
        assert response.json()["code"] == "invalid_public_key"
    assert session.get("/auth/api-keys").json()["items"] == before


def test_unsupported_paths_answer_501_in_kalshis_shape(server: Server) -> None:
    for method, path in (("GET", "/portfolio/deposits"), ("POST", "/fcm/orders")):
        response = httpx.request(method, server.base_url + "/trade-api/v2" + path)
        assert error_code(response, 501) == "not_supported"
