"""Accounts and sessions: register, log in, me, log out, CSRF, API keys and their scopes."""

from __future__ import annotations

import uuid

from tests.api.conftest import PASSWORD, Server, assert_problem


def test_register_login_me_logout(any_server: Server) -> None:
    server = any_server
    username = f"ann{uuid.uuid4().hex[:8]}"
    anonymous = server.client()
    created = anonymous.post("/auth/register", json={"username": username, "password": PASSWORD})
    assert created.status_code == 201, created.text
    assert created.json()["roles"] == ["trader"]
    assert "password" not in created.text

    login = anonymous.post("/auth/login", json={"username": username, "password": PASSWORD})
    assert login.status_code == 200
    cookies = login.headers.get_list("set-cookie")
    session = next(c for c in cookies if c.startswith("augury_session="))
    assert "HttpOnly" in session and "SameSite=lax" in session and "Path=/" in session
    csrf = next(c for c in cookies if c.startswith("augury_csrf="))
    assert "HttpOnly" not in csrf

    me = anonymous.get("/auth/me")
    assert me.status_code == 200
    assert me.json()["username"] == username
    assert me.json()["authenticated_by"] == "session"

    # the starting grant was journaled
    assert anonymous.get("/portfolio/balances").json() == {
        "account": username,
        "available": "1000",
        "escrow": "0",
        "total": "1000",
    }

    # a state-changing request with the cookie but without the CSRF header is refused
    assert_problem(anonymous.post("/auth/logout"), 403, "csrf_failed")
    anonymous.headers["X-CSRF-Token"] = "not-the-token"
    assert_problem(anonymous.post("/auth/logout"), 403, "csrf_failed")
    anonymous.headers["X-CSRF-Token"] = login.json()["csrf_token"]
    assert anonymous.post("/auth/logout").status_code == 204
    assert_problem(anonymous.get("/auth/me"), 401, "unauthorized")

    # the old session token is dead even if replayed
    replay = server.client(cookies={"augury_session": login.cookies["augury_session"]})
    assert_problem(replay.get("/auth/me"), 401, "unauthorized")


def test_register_refusals(server: Server) -> None:
    username, _ = server.user("dup")
    client = server.client()
    taken = client.post("/auth/register", json={"username": username, "password": PASSWORD})
    assert_problem(taken, 409, "username_taken")
    for body in (
        {"username": "ab", "password": PASSWORD},  # too short
        {"username": "Bad Name", "password": PASSWORD},
        {"username": "x" * 33, "password": PASSWORD},
        {"username": "fine-name", "password": "short"},
        {"username": "fine-name", "password": PASSWORD, "role": "admin"},  # unknown field
        {"username": "fine-name"},
    ):
        assert_problem(client.post("/auth/register", json=body), 422, "validation_error")


def test_login_refusals(server: Server) -> None:
    username, _ = server.user("pw")
    client = server.client()
    wrong = client.post("/auth/login", json={"username": username, "password": "wrong password"})
    assert_problem(wrong, 401, "invalid_credentials")
    nobody = client.post("/auth/login", json={"username": "nobody-here", "password": PASSWORD})
    assert_problem(nobody, 401, "invalid_credentials")
    assert "augury_session" not in client.cookies


def test_api_key_lifecycle_and_scopes(any_server: Server) -> None:
    server = any_server
    username, session = server.user("key")
    created = session.post("/auth/api-keys", json={"name": "bot", "scopes": ["read"]})
    assert created.status_code == 201, created.text
    read_key = created.json()["key"]
    assert read_key.startswith("aug_") and created.json()["scopes"] == ["read"]
    trade = session.post("/auth/api-keys", json={"name": "trader", "scopes": ["read", "trade"]})
    trade_key = trade.json()["key"]

    listed = session.get("/auth/api-keys").json()["items"]
    assert [k["name"] for k in listed] == ["bot", "trader"]
    assert read_key not in str(listed) and trade_key not in str(listed)  # shown once only

    bearer = server.client(headers={"Authorization": f"Bearer {read_key}"})
    me = bearer.get("/auth/me").json()
    assert me["username"] == username and me["authenticated_by"] == "api_key"
    assert me["scopes"] == ["read"]
    x_api_key = server.client(headers={"X-API-Key": trade_key})
    assert x_api_key.get("/portfolio/balances").status_code == 200

    # a read key may not trade, nor manage keys; no CSRF is needed with a key
    order = {"market": "nope", "side": "buy", "price": "0.5", "qty": "1"}
    assert_problem(bearer.post("/orders", json=order), 403, "forbidden")
    assert_problem(x_api_key.post("/auth/api-keys", json={"name": "x"}), 403, "forbidden")
    assert_problem(x_api_key.post("/orders", json=order), 404, "unknown_market")

    # revoke: the key stops working at once; another user cannot revoke it
    key_id = created.json()["id"]
    _, other = server.user("oth")
    assert_problem(other.delete(f"/auth/api-keys/{key_id}"), 404, "not_found")
    assert session.delete(f"/auth/api-keys/{key_id}").status_code == 204
    assert_problem(bearer.get("/auth/me"), 401, "unauthorized")
    assert_problem(session.delete(f"/auth/api-keys/{key_id}"), 404, "not_found")
    revoked = next(k for k in session.get("/auth/api-keys").json()["items"] if k["id"] == key_id)
    assert revoked["revoked_at"] is not None

    # malformed or unknown keys
    for headers in (
        {"Authorization": "Bearer aug_not-a-real-key"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"X-API-Key": "garbage"},
    ):
        assert_problem(server.client(headers=headers).get("/auth/me"), 401, "unauthorized")
