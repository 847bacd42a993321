"""Idempotency-Key on the routes whose answer is stored (augury.identity.stored_responses):
register, log in, log out, API key creation, the simulated clock, observe-now.

Against the real servers of conftest (SQLite, and PostgreSQL where it matters; the clock
on a server of its own, so the shared ones stay at START): a retry
with the same key and body gets the identical answer and changes nothing; another body
with the same key is 422 ``idempotency_key_reused``; without a key nothing changes; a
bad key is refused exactly as on the engine-keyed routes; what is stored is encrypted.
The in-flight 409 runs in-process (a request held on an event), expiry on an injected
clock.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import sqlite3
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from sqlalchemy import create_engine

from augury.identity import migrate
from augury.identity.stored_responses import (
    ANONYMOUS_SCOPE,
    TTL_S,
    KeyReused,
    Stored,
    StoredResponses,
    canonical_body,
)
from augury.roles.services import Services
from tests.api.conftest import PASSWORD, START, Server, assert_problem, start_server
from tests.api.helpers import create_market, local_app


def _key() -> dict[str, str]:
    return {"Idempotency-Key": f"k-{uuid.uuid4()}"}


def _same(first: httpx.Response, again: httpx.Response) -> None:
    """The identical answer: status, body bytes, and every cookie it set (but the
    ``augury_seq`` read-your-writes cookie: a replay runs no command, so it names none)."""
    assert first.status_code == again.status_code, again.text
    assert first.content == again.content
    assert _cookies(first) == _cookies(again)
    assert "augury-seq" not in again.headers


def _cookies(response: httpx.Response) -> list[str]:
    return [c for c in response.headers.get_list("set-cookie") if not c.startswith("augury_seq=")]


def _retried(
    client: httpx.Client, path: str, status: int, **request: Any
) -> tuple[httpx.Response, httpx.Response]:
    """POST the same request twice (it carries its Idempotency-Key): the first answers
    ``status``, the retry the identical answer. Both, for the test's own checks."""
    first = client.post(path, **request)
    assert first.status_code == status, first.text
    again = client.post(path, **request)
    _same(first, again)
    return first, again


def _query(server: Server, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    """Read the server's read-model database (where the identity tables live)."""
    if server.pg is not None:
        dsn, _, namespace = server.pg
        with psycopg.connect(dsn, options=f"-c search_path={namespace}") as conn:
            return list(conn.execute(sql.replace("?", "%s"), params).fetchall())
    path = server.data_dir / "projections.db"
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        return list(conn.execute(sql, params).fetchall())


def _payloads(server: Server, key: str) -> list[bytes]:
    rows = _query(server, "SELECT payload FROM api_stored_responses WHERE key = ?", key)
    return [bytes(row[0]) for row in rows]


class _Bare:
    """Requests that keep no cookies between them (each sends only what it is given)."""

    def __init__(self, server: Server) -> None:
        self.base = server.base_url + "/api/v1"

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return httpx.post(self.base + path, timeout=30.0, **kwargs)

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return httpx.get(self.base + path, timeout=30.0, **kwargs)


def _bare(server: Server) -> _Bare:
    return _Bare(server)


# -- register ---------------------------------------------------------------------------
def test_register_retry_returns_the_stored_answer(any_server: Server) -> None:
    anon = _bare(any_server)
    username = f"ir{uuid.uuid4().hex[:10]}"
    body = {"username": username, "password": PASSWORD}
    key = _key()
    first, _ = _retried(anon, "/auth/register", 201, json=body, headers=key)
    # the same body spelled differently is the same request
    spaced = anon.post(
        "/auth/register",
        content=f'{{ "password": "{PASSWORD}",  "username": "{username}" }}',
        headers={**key, "content-type": "application/json"},
    )
    _same(first, spaced)
    # one account, opened and granted once
    admin = any_server.admin()
    found = admin.get("/admin/users", params={"q": username}).json()["items"]
    assert [u["username"] for u in found] == [username]
    trader = any_server.login(username)
    assert trader.get("/portfolio/balances").json()["total"] == "1000"  # granted once
    # another body with the same key: refused, and nothing created
    other = {"username": username + "x", "password": PASSWORD}
    assert_problem(
        anon.post("/auth/register", json=other, headers=key), 422, "idempotency_key_reused"
    )
    assert admin.get("/admin/users", params={"q": username + "x"}).json()["items"] == []
    # without a key: as before
    assert_problem(anon.post("/auth/register", json=body), 409, "username_taken")


def test_a_refused_request_is_not_stored(server: Server) -> None:
    anon = _bare(server)
    taken, _ = server.user("it")
    key = _key()
    refused = anon.post(
        "/auth/register", json={"username": taken, "password": PASSWORD}, headers=key
    )
    assert_problem(refused, 409, "username_taken")
    again = anon.post("/auth/register", json={"username": taken, "password": PASSWORD}, headers=key)
    assert_problem(again, 409, "username_taken")  # ran again, not replayed from a store
    # the key is free: the corrected request runs
    fresh = f"if{uuid.uuid4().hex[:10]}"
    fixed = anon.post("/auth/register", json={"username": fresh, "password": PASSWORD}, headers=key)
    assert fixed.status_code == 201, fixed.text
    assert _payloads(server, key["Idempotency-Key"]) != []


# -- log in, log out -----------------------------------------------------------------------
def _sessions(server: Server, username: str) -> int:
    rows = _query(
        server,
        "SELECT count(*) FROM api_sessions s JOIN api_users u ON u.id = s.user_id "
        "WHERE u.username = ?",
        username,
    )
    return int(rows[0][0])


def test_login_retry_returns_the_same_session(any_server: Server) -> None:
    username, _ = any_server.user("il")
    before = _sessions(any_server, username)
    anon = _bare(any_server)
    body = {"username": username, "password": PASSWORD}
    key = _key()
    first, again = _retried(anon, "/auth/login", 200, json=body, headers=key)
    names = {c.split("=", 1)[0] for c in first.headers.get_list("set-cookie")}
    assert names == {"augury_session", "augury_csrf", "augury_device"}
    assert _sessions(any_server, username) == before + 1
    # the replayed cookies are a working session
    session = any_server.client(cookies=again.cookies)
    assert session.get("/auth/me").json()["authenticated_by"] == "session"
    # the session token and the CSRF token are not in the database in plaintext
    token, csrf = first.cookies["augury_session"], first.json()["csrf_token"]
    [payload] = _payloads(any_server, key["Idempotency-Key"])
    for secret in (token, csrf, username, "csrf_token"):
        assert secret.encode() not in payload
    # nor is the password (the fingerprint is keyed, not a bare digest of the body)
    rows = _query(
        any_server,
        "SELECT scope, fingerprint FROM api_stored_responses WHERE key = ?",
        key["Idempotency-Key"],
    )
    assert rows[0][0] == ANONYMOUS_SCOPE
    canonical = canonical_body(json.dumps(body).encode())
    for candidate in (canonical, b"POST\n/api/v1/auth/login\n" + canonical):
        assert hashlib.sha256(candidate).hexdigest() != rows[0][1]
    # another body (a wrong password) with the same key: refused
    wrong = {"username": username, "password": "wrong password"}
    assert_problem(anon.post("/auth/login", json=wrong, headers=key), 422, "idempotency_key_reused")
    # without a key: a new session each time, as before
    assert anon.post("/auth/login", json=body).status_code == 200
    assert _sessions(any_server, username) == before + 2


def test_a_failed_login_can_be_retried_with_its_key(server: Server) -> None:
    username, _ = server.user("iw")
    anon, key = _bare(server), _key()
    wrong = {"username": username, "password": "not it"}
    assert_problem(anon.post("/auth/login", json=wrong, headers=key), 401, "invalid_credentials")
    right = {"username": username, "password": PASSWORD}
    assert anon.post("/auth/login", json=right, headers=key).status_code == 200


def test_logout_retry_after_the_session_ended(server: Server) -> None:
    username, client = server.user("io")
    token = client.cookies["augury_session"]
    csrf = client.headers["X-CSRF-Token"]
    headers = {
        **_key(),
        "X-CSRF-Token": csrf,
        "Cookie": f"augury_session={token}; augury_csrf={csrf}",
    }
    anon = _bare(server)
    first = anon.post("/auth/logout", headers=headers)
    assert first.status_code == 204, first.text
    assert len(first.headers.get_list("set-cookie")) == 2  # both cookies cleared
    # the session is gone, yet the retry (same cookie, same key) gets the same answer
    again = anon.post("/auth/logout", headers=headers)
    _same(first, again)
    assert _sessions(server, username) == 0
    # without the key: the ended session is not logged in, as before
    no_key = {k: v for k, v in headers.items() if k != "Idempotency-Key"}
    assert_problem(anon.post("/auth/logout", headers=no_key), 401, "unauthorized")
    # with a new key and nobody logged in: 401 as well (nothing stored to replay)
    assert_problem(anon.post("/auth/logout", headers={**no_key, **_key()}), 401, "unauthorized")
    assert_problem(anon.post("/auth/logout", headers=_key()), 401, "unauthorized")


def test_logout_by_api_key_and_the_path_is_part_of_the_request(server: Server) -> None:
    _, client = server.user("ik")
    created = client.post("/auth/api-keys", json={"name": "k", "scopes": ["read", "admin"]})
    assert created.status_code == 201, created.text
    api, key = _bare(server), {**_key(), "X-API-Key": created.json()["key"]}
    first = api.post("/auth/logout", headers=key)
    assert first.status_code == 204
    _same(first, api.post("/auth/logout", headers=key))
    # the same key on another route of the same account: another request
    reused = api.post("/auth/api-keys", json={"name": "x"}, headers=key)
    assert_problem(reused, 422, "idempotency_key_reused")


# -- API keys --------------------------------------------------------------------------------
def test_api_key_creation_retry_returns_the_same_key(any_server: Server) -> None:
    _, client = any_server.user("ia")
    body = {"name": "bot", "scopes": ["read", "trade"]}
    key = _key()
    first, _ = _retried(client, "/auth/api-keys", 201, json=body, headers=key)
    listed = client.get("/auth/api-keys").json()["items"]
    assert [k["id"] for k in listed] == [first.json()["id"]]
    secret = first.json()["key"]
    assert _bare(any_server).get("/auth/me", headers={"X-API-Key": secret}).status_code == 200
    # the key shown once is not in the database in plaintext
    [payload] = _payloads(any_server, key["Idempotency-Key"])
    for text in (secret, secret[4:], first.json()["id"], "bot"):
        assert text.encode() not in payload
    other = client.post("/auth/api-keys", json={**body, "name": "bot2"}, headers=key)
    assert_problem(other, 422, "idempotency_key_reused")
    # keys are per account: another user may use the same one
    _, other_user = any_server.user("ib")
    theirs = other_user.post("/auth/api-keys", json=body, headers=key)
    assert theirs.status_code == 201 and theirs.json()["key"] != secret
    # without a key: a new key each time, as before
    assert client.post("/auth/api-keys", json=body).status_code == 201
    assert len(client.get("/auth/api-keys").json()["items"]) == 2


# -- the clock, observe-now ------------------------------------------------------------------
@pytest.fixture
def clock_server(tmp_path: Path) -> Iterator[Server]:
    """A server of its own: the shared ones must stay at START for the other tests."""
    running = start_server(tmp_path / "data", "--clock", "simulated", "--start", START)
    try:
        yield running
    finally:
        running.stop()


def test_clock_retry_does_not_advance_again(clock_server: Server) -> None:
    admin = clock_server.admin()

    def now() -> str:
        found: str = admin.get("/health").json()["time"]
        return found

    start = now()
    key = _key()
    first = admin.post("/admin/clock", json={"seconds": 60}, headers=key)
    assert first.status_code == 200, first.text
    moved = now()
    assert moved != start and first.json()["time"] == moved
    again = admin.post("/admin/clock", json={"seconds": 60}, headers=key)
    _same(first, again)
    assert now() == moved  # advanced once
    other = admin.post("/admin/clock", json={"seconds": 61}, headers=key)
    assert_problem(other, 422, "idempotency_key_reused")
    assert now() == moved
    # without a key: advances every time, as before
    assert admin.post("/admin/clock", json={"seconds": 60}).json()["time"] != moved


def test_observe_now_retry_returns_the_stored_answer(server: Server) -> None:
    admin = server.admin()
    market = create_market(admin)["id"]
    key = _key()
    first = admin.post(f"/markets/{market}/observe", headers=key)
    assert first.status_code == 202, first.text
    again = admin.post(f"/markets/{market}/observe", headers=key)
    _same(first, again)
    assert again.headers["location"] == first.headers["location"] == first.json()["location"]
    other = create_market(admin)["id"]
    assert_problem(
        admin.post(f"/markets/{other}/observe", headers=key), 422, "idempotency_key_reused"
    )


# -- the header ------------------------------------------------------------------------------
COVERED: list[tuple[str, str, Any]] = [
    ("POST", "/auth/register", {"username": "nobody-here", "password": PASSWORD}),
    ("POST", "/auth/login", {"username": "nobody-here", "password": PASSWORD}),
    ("POST", "/auth/logout", None),
    ("POST", "/auth/api-keys", {"name": "never"}),
    ("POST", "/admin/clock", {"seconds": 1}),
    ("POST", "/markets/nowhere/observe", None),
]


@pytest.mark.parametrize("bad", ["", "k" * 101, "a b", "tab\there"])
def test_a_bad_key_is_refused_as_on_every_other_route(server: Server, bad: str) -> None:
    admin = server.admin()
    reference = admin.post(
        "/admin/grants", json={"account": "admin", "amount": "1"}, headers={"Idempotency-Key": bad}
    )
    expected = assert_problem(reference, 422, "validation_error")
    for method, path, body in COVERED:
        response = admin.request(method, path, json=body, headers={"Idempotency-Key": bad})
        got = assert_problem(response, 422, "validation_error")
        assert (got["detail"], got["errors"]) == (expected["detail"], expected["errors"]), path
    assert _query(server, "SELECT count(*) FROM api_stored_responses WHERE key = ?", bad)[0][0] == 0


def test_the_openapi_document_names_the_header_on_every_covered_route(server: Server) -> None:
    document = httpx.get(server.base_url + "/openapi.json").json()
    reference = next(
        p
        for p in document["paths"]["/api/v1/admin/grants"]["post"]["parameters"]
        if p["name"] == "Idempotency-Key"
    )
    for method, path, _ in COVERED:
        template = path.replace("/markets/nowhere/", "/markets/{market}/")
        operation = document["paths"]["/api/v1" + template][method.lower()]
        [param] = [p for p in operation["parameters"] if p["name"] == "Idempotency-Key"]
        assert param["in"] == "header" and not param.get("required", False)
        constraints = {k: v for k, v in param["schema"].items() if k != "description"}
        expected = {k: v for k, v in reference["schema"].items() if k != "description"}
        assert constraints == expected, path
        assert "24 h" in param["description"]


# -- in flight: in-process, the first request held on an event --------------------------------
@pytest.fixture
def local(tmp_path: Path) -> Iterator[tuple[Services, Any, list[str]]]:
    services, app, password = local_app(tmp_path, projector="thread", surveillance=False)
    try:
        yield services, app, password
    finally:
        services.stop()


def test_a_retry_while_the_first_runs_is_409(
    local: tuple[Services, Any, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    services, app, password = local
    identity = services.identity
    release = threading.Event()
    entered = threading.Event()
    create_api_key, hash_password = identity.create_api_key, identity.hash_password

    def slow_key(*args: Any) -> Any:
        entered.set()
        assert release.wait(10)
        return create_api_key(*args)

    def slow_hash(secret: str) -> str:
        entered.set()
        assert release.wait(10)
        return hash_password(secret)

    async def run() -> None:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://testserver/api/v1"
        ) as client:
            login = await client.post(
                "/auth/login", json={"username": "admin", "password": password[0]}
            )
            client.headers["X-CSRF-Token"] = login.json()["csrf_token"]

            async def held(path: str, body: dict[str, Any], key: dict[str, str]) -> None:
                release.clear()
                entered.clear()
                first = asyncio.create_task(client.post(path, json=body, headers=key))
                while not entered.is_set():
                    await asyncio.sleep(0.01)
                busy = await client.post(path, json=body, headers=key)
                assert_problem(busy, 409, "idempotency_key_in_flight")
                assert busy.headers["Retry-After"] == "1"
                release.set()
                done = await first
                assert done.status_code == 201, done.text
                again = await client.post(path, json=body, headers=key)
                _same(done, again)

            monkeypatch.setattr(identity, "create_api_key", slow_key)
            await held("/auth/api-keys", {"name": "slow"}, _key())
            monkeypatch.undo()
            monkeypatch.setattr(identity, "hash_password", slow_hash)
            await held("/auth/register", {"username": "slowpoke", "password": PASSWORD}, _key())
            monkeypatch.undo()
        assert services.in_flight == set()

    asyncio.run(run())


# -- the store itself: expiry, tampering, another secret key ---------------------------------
SECRET = "a test secret key that is long enough to use"


def test_entries_expire_after_24_hours() -> None:
    now = [1_700_000_000_000_000]
    engine = create_engine("sqlite://")
    migrate.upgrade(engine)
    store = StoredResponses(engine, SECRET, now_us=lambda: now[0])
    assert TTL_S == 24 * 3600
    fp = store.fingerprint("POST", "/api/v1/admin/clock", b'{"seconds": 60}')
    assert fp == store.fingerprint("post", "/api/v1/admin/clock", b'{"seconds":60}')
    assert fp != store.fingerprint("POST", "/api/v1/admin/clock", b'{"seconds": 61}')
    answer = Stored(200, {"time": "2025-11-14T00:01:00Z", "events": 0}, ("a=b; Path=/",))
    assert store.save("admin", "k", fp, answer)
    assert not store.save("admin", "k", fp, answer)  # a live entry is kept
    assert store.find("admin", "k", fp) == answer
    assert store.find("bob", "k", fp) is None  # per scope
    with pytest.raises(KeyReused):
        store.find("admin", "k", "0" * 64)
    now[0] += TTL_S * 1_000_000 - 1
    assert store.find("admin", "k", fp) == answer  # still within 24 h
    now[0] += 1
    assert store.find("admin", "k", fp) is None  # 24 h on: gone
    assert store.find("admin", "k", "0" * 64) is None  # and the key is free for anything
    later = Stored(200, {"time": "later", "events": 1})
    assert store.save("admin", "k", fp, later)  # replaces the expired entry
    assert store.find("admin", "k", fp) == later
    assert store.save("admin", "old", fp, answer)
    now[0] += TTL_S * 1_000_000
    assert store.purge() == 2
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM api_stored_responses").scalar() == 0


def test_stored_payloads_are_sealed() -> None:
    engine = create_engine("sqlite://")
    migrate.upgrade(engine)
    store = StoredResponses(engine, SECRET)
    fp = store.fingerprint("POST", "/api/v1/auth/api-keys", b'{"name":"bot"}')
    secret = "aug_" + "s" * 43
    assert store.save("ann", "k", fp, Stored(201, {"key": secret, "name": "bot"}))
    with engine.connect() as conn:
        [(payload,)] = conn.exec_driver_sql("SELECT payload FROM api_stored_responses").all()
    assert secret.encode() not in payload and b"bot" not in payload
    # another server secret cannot read it (nor match its fingerprint)
    other = StoredResponses(engine, SECRET + "!")
    assert other.fingerprint("POST", "/api/v1/auth/api-keys", b'{"name":"bot"}') != fp
    assert other.find("ann", "k", fp) is None
    # a row moved to another scope does not decrypt either
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE api_stored_responses SET scope = 'bob'")
    assert store.find("bob", "k", fp) is None
