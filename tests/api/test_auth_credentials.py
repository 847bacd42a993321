"""Issue 18.3: a session token is only a session (the cookie, with CSRF on changes), an
API key only a key (a header, with its scopes), whatever the authentication cache holds."""

from __future__ import annotations

from .conftest import Server, assert_problem

ORDER = {"market": "nope", "side": "buy", "price": "0.5", "qty": "1"}


def _session_and_read_key(server: Server) -> tuple[str, str, str]:
    """(username, session token, a read-only API key), each just used as meant, so
    both sit in the server's authentication cache."""
    username, session = server.user("cred")
    token = session.cookies["augury_session"]
    created = session.post("/auth/api-keys", json={"name": "ro", "scopes": ["read"]})
    assert created.status_code == 201, created.text
    key = created.json()["key"]
    # the legitimate uses warm the cache
    assert session.get("/auth/me").json()["authenticated_by"] == "session"
    keyed = server.client(headers={"X-API-Key": key})
    assert keyed.get("/auth/me").json()["scopes"] == ["read"]
    return username, token, key


def test_a_session_token_is_not_an_api_key(any_server: Server) -> None:
    server = any_server
    _, token, _ = _session_and_read_key(server)
    for headers in ({"X-API-Key": token}, {"Authorization": f"Bearer {token}"}):
        client = server.client(headers=headers)
        assert_problem(client.get("/auth/me"), 401, "unauthorized")
        # the CSRF check a cookie needs is not skipped by sending the token as a key
        assert_problem(client.post("/orders", json=ORDER), 401, "unauthorized")
        assert_problem(
            client.post("/auth/api-keys", json={"name": "x", "scopes": ["admin"]}),
            401,
            "unauthorized",
        )


def test_an_api_key_is_not_a_session(any_server: Server) -> None:
    server = any_server
    _, _, key = _session_and_read_key(server)
    as_cookie = server.client(cookies={"augury_session": key})
    me = as_cookie.get("/auth/me")
    assert_problem(me, 401, "unauthorized")
    # nor does it gain the trade or admin scope, CSRF token or not
    as_cookie.cookies.set("augury_csrf", "x")
    as_cookie.headers["X-CSRF-Token"] = "x"
    assert as_cookie.post("/orders", json=ORDER).status_code in (401, 403)
    created = as_cookie.post("/auth/api-keys", json={"name": "x", "scopes": ["admin"]})
    assert created.status_code in (401, 403), created.text
    # the key itself still works as a key, with its one scope
    keyed = server.client(headers={"X-API-Key": key})
    assert keyed.get("/auth/me").json()["scopes"] == ["read"]
    assert_problem(keyed.post("/orders", json=ORDER), 403, "forbidden")


def test_the_session_still_works_as_a_cookie(server: Server) -> None:
    username, token, _ = _session_and_read_key(server)
    client = server.client(cookies={"augury_session": token})
    me = client.get("/auth/me").json()
    assert me["username"] == username and me["authenticated_by"] == "session"
