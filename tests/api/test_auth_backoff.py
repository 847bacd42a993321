"""Issue 18.4: per-account exponential backoff after failed logins (across IPs and
processes), a notice for the owner, and never a lockout an attacker can make permanent."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine

from augury.identity import migrate
from augury.identity import store as store_module
from augury.identity.login_guard import BackoffPolicy, account_subject
from augury.identity.store import IdentityStore

from .conftest import PASSWORD, Server, assert_problem
from .helpers import local_app

WRONG = "not the right password"


def _login(client: httpx.Client, username: str, password: str) -> httpx.Response:
    return client.post("/auth/login", json={"username": username, "password": password})


def test_failed_logins_back_the_account_off_and_its_owner_is_told(any_server: Server) -> None:
    server = any_server
    username, owner = server.user("bo")
    attacker = server.client()
    for _ in range(5):  # the default: 5 failures in a row are free, then 1 s, 2 s, ...
        assert_problem(_login(attacker, username, WRONG), 401, "invalid_credentials")
    # now even the right password waits (it is not even checked)
    waited = _login(server.client(), username, PASSWORD)
    body = assert_problem(waited, 429, "login_backoff")
    assert waited.headers["retry-after"] == "1"
    assert "failed logins" in body["detail"]
    assert_problem(_login(attacker, username, WRONG), 429, "login_backoff")
    # another account is not affected
    other, _ = server.user("bo2")
    assert _login(server.client(), other, PASSWORD).status_code == 200

    # the owner (still logged in elsewhere) sees a notice
    notices = owner.get("/auth/me").json()["security_notices"]
    assert [n["kind"] for n in notices] == ["login_backoff"]
    assert "5 failed logins" in notices[0]["detail"]

    # after the wait the owner logs in, which starts the count again
    time.sleep(1.1)
    assert _login(server.client(), username, PASSWORD).status_code == 200
    assert_problem(_login(attacker, username, WRONG), 401, "invalid_credentials")
    assert _login(server.client(), username, PASSWORD).status_code == 200


def test_the_count_is_per_account_across_ips(tmp_path: Path) -> None:
    """Five guesses from five IPs (each well within its own IP's limit) back it off."""
    services, app, _ = local_app(
        tmp_path,
        projector="thread",
        surveillance=False,
        rate_limit_password_per_s=0.01,
        rate_limit_password_burst=2,
    )

    async def attempt(ip: str, body: dict[str, str], path: str) -> httpx.Response:
        transport = httpx.ASGITransport(app=app, client=(ip, 40_000))
        async with httpx.AsyncClient(transport=transport, base_url="http://t/api/v1") as client:
            return await client.post(path, json=body)

    async def run() -> list[httpx.Response]:
        username = f"ip{uuid.uuid4().hex[:8]}"
        right = {"username": username, "password": PASSWORD}
        wrong = {"username": username, "password": WRONG}
        answers = [await attempt("10.0.0.1", right, "/auth/register")]
        for n in range(5):
            answers.append(await attempt(f"10.0.1.{n}", wrong, "/auth/login"))
        answers.append(await attempt("10.0.2.1", right, "/auth/login"))
        return answers

    try:
        answers = asyncio.run(run())
    finally:
        services.stop()
    assert [a.status_code for a in answers] == [201, 401, 401, 401, 401, 401, 429]
    assert_problem(answers[-1], 429, "login_backoff")


def _store(path: Path) -> IdentityStore:
    engine = create_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    return IdentityStore(engine, "k" * 40, time_cost=1, memory_kib=1024)


def test_the_count_holds_across_processes_and_the_wait_is_capped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two stores on one database (as two server processes): failures seen by one count
    in the other; the wait doubles up to the cap, and a right login after it resets.
    The stores' clock is the test's (no sleeping: a slow machine changes nothing)."""
    clock = [time.time_ns() // 1000]
    monkeypatch.setattr(store_module, "_now_us", lambda: clock[0])
    first, second = _store(tmp_path / "id.db"), _store(tmp_path / "id.db")
    user = first.create_user("carol", first.hash_password(PASSWORD), ("trader",))
    assert user is not None
    subject = account_subject(user.id)
    policy = BackoffPolicy(free_failures=2, base_s=0.1, max_s=0.3)
    assert first.attempt_login("carol", WRONG, policy).user is None
    assert second.attempt_login("carol", WRONG, policy).user is None  # the 2nd: 0.1 s
    clock[0] += 50_000
    assert first.attempt_login("carol", PASSWORD, policy).wait_us == 50_000
    waits: list[int] = []
    for n in range(4):
        clock[0] += (waits[-1] if waits else 50_000) + 1
        store = (first, second)[n % 2]
        assert store.attempt_login("carol", WRONG, policy).user is None
        waits.append(store.guard.wait_us(subject, clock[0]))
    assert waits == [200_000, 300_000, 300_000, 300_000]  # doubling, then the cap
    clock[0] += 300_001
    assert second.attempt_login("carol", PASSWORD, policy).user == user
    assert first.attempt_login("carol", WRONG, policy).wait_us == 0  # counting from 0
    assert first.guard.wait_us(subject, clock[0]) == 0
    kinds = [n.kind for n in second.guard.notices(user.id)]
    assert kinds == ["login_backoff"]  # one notice per run of failures


@pytest.mark.parametrize(
    ("failures", "wait_s"),
    [(1, 0), (4, 0), (5, 1), (6, 2), (7, 4), (14, 512), (15, 900), (16, 900), (10_000, 900)],
)
def test_the_default_policy_doubles_up_to_fifteen_minutes(failures: int, wait_s: int) -> None:
    assert BackoffPolicy().delay_us(failures) == wait_s * 1_000_000


def test_the_owners_own_browser_is_not_kept_out(any_server: Server) -> None:
    """An attacker keeps the account waiting; the browser its owner logged in with before
    (it holds the device cookie) still logs in, and its own failures back off apart."""
    server = any_server
    username, owner = server.user("dv")
    device = owner.cookies["augury_device"]
    for _ in range(6):
        _login(server.client(), username, WRONG)
    assert_problem(_login(server.client(), username, PASSWORD), 429, "login_backoff")
    browser = server.client(cookies={"augury_device": device})
    answer = _login(browser, username, PASSWORD)
    assert answer.status_code == 200, answer.text
    assert answer.cookies["augury_device"] == device  # the same device, kept
    # a forged or another account's device cookie is no way around the wait
    _, other = server.user("dv2")
    for forged in (
        device[:-1] + ("0" if device[-1] != "0" else "1"),
        other.cookies["augury_device"],
    ):
        forger = server.client(cookies={"augury_device": forged})
        assert_problem(_login(forger, username, PASSWORD), 429, "login_backoff")
    # nor is a stolen device cookie a way to guess freely: it backs off on its own
    thief = server.client(cookies={"augury_device": device})
    for _ in range(5):
        assert_problem(_login(thief, username, WRONG), 401, "invalid_credentials")
    assert_problem(_login(thief, username, PASSWORD), 429, "login_backoff")
    kinds = [n["kind"] for n in owner.get("/auth/me").json()["security_notices"]]
    assert kinds == ["login_backoff", "login_backoff"]  # the account's, then the device's
