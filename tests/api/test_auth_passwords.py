"""Issue 18.4: passwords that are easy to guess are refused at registration and at a
password change, with the estimator's advice; the change itself ends other sessions."""

from __future__ import annotations

import time
import uuid

import httpx
import pytest

from augury.api.passwords import password_problem

from .conftest import PASSWORD, Server, assert_problem

WEAK = [
    "short",  # under 10 characters
    "123456789",
    "password",
    "password123",
    "Password2024",
    "p@ssw0rd!!",
    "qwertyuiop",  # a keyboard row
    "asdfghjkl;'",
    "1qaz2wsx3edc",  # keyboard columns
    "1234567890",  # a run of digits
    "0987654321",
    "abcdefghijk",
    "aaaaaaaaaaaa",
    "football123",  # a common word and digits
    "monkey2024!",
    "iloveyou1234",
    "dragon12345",
    "letmein2025",
    "augury2025!",  # the site's name
]


@pytest.mark.parametrize("password", WEAK)
def test_weak_passwords_are_refused_with_a_reason(password: str) -> None:
    problem = password_problem(password, "alice")
    assert problem is not None
    assert problem.startswith("the password") and len(problem) > 30


@pytest.mark.parametrize("password", ["alice12345alice", "Alice2024!!", "alicealicealice"])
def test_the_username_does_not_make_a_password(password: str) -> None:
    assert password_problem(password, "alice") is not None


@pytest.mark.parametrize(
    "password", [PASSWORD, "tangerine glacier notebook", "vK3#pz9!Lq2w", "Tr0ub4dor&3x-horse"]
)
def test_strong_passwords_pass(password: str) -> None:
    assert password_problem(password, "alice") is None


def test_a_very_long_password_is_estimated_quickly() -> None:
    started = time.perf_counter()
    long = " ".join(f"word{n}x{n * 7919 % 104729}" for n in range(25))  # 250+ characters
    assert len(long) > 250 and password_problem(long, "alice") is None
    assert password_problem("ab" * 128, "alice") is not None  # long, but a repeat
    assert time.perf_counter() - started < 1.0


def test_the_first_admins_generated_password_passes(server: Server) -> None:
    assert server.admin_password
    assert password_problem(server.admin_password, "admin") is None


@pytest.mark.parametrize("password", ["qwertyuiop", "password123", "1234567890", "monkey2024!"])
def test_registration_refuses_weak_passwords(server: Server, password: str) -> None:
    username = f"wk{uuid.uuid4().hex[:8]}"
    client = server.client()
    refused = client.post("/auth/register", json={"username": username, "password": password})
    body = assert_problem(refused, 422, "weak_password")
    assert "too easy to guess" in body["detail"]
    # nothing was created: the name is still free
    created = client.post("/auth/register", json={"username": username, "password": PASSWORD})
    assert created.status_code == 201, created.text


def test_password_change(any_server: Server) -> None:
    server = any_server
    username, session = server.user("chg")
    elsewhere = server.login(username)
    new = "plum orchard lantern 42"

    def change(current: str, new_password: str) -> httpx.Response:
        body = {"current_password": current, "new_password": new_password}
        return session.post("/auth/password", json=body)

    assert_problem(change("wrong password!", new), 401, "invalid_credentials")
    weak = change(PASSWORD, "qwertyuiop")
    assert "too easy to guess" in assert_problem(weak, 422, "weak_password")["detail"]
    assert_problem(change(PASSWORD, "short"), 422, "validation_error")
    # an API key, even an admin one, cannot change the password
    key = session.post("/auth/api-keys", json={"name": "k", "scopes": ["read", "admin"]})
    keyed = server.client(headers={"X-API-Key": key.json()["key"]})
    body = {"current_password": PASSWORD, "new_password": new}
    assert_problem(keyed.post("/auth/password", json=body), 403, "forbidden")
    # without the CSRF header a cookie cannot either
    del elsewhere.headers["X-CSRF-Token"]
    assert_problem(elsewhere.post("/auth/password", json=body), 403, "csrf_failed")

    assert change(PASSWORD, new).status_code == 204
    assert session.get("/auth/me").status_code == 200  # this session stays
    assert_problem(elsewhere.get("/auth/me"), 401, "unauthorized")  # every other ends
    assert keyed.get("/auth/me").status_code == 200  # API keys stay
    login = server.client().post("/auth/login", json={"username": username, "password": PASSWORD})
    assert_problem(login, 401, "invalid_credentials")
    assert server.login(username, new).get("/auth/me").status_code == 200
    notices = session.get("/auth/me").json()["security_notices"]
    assert [n["kind"] for n in notices] == ["password_changed"]
