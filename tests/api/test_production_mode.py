"""Production mode shows no internals (issue 18, point 5), against real servers.

- The OpenAPI document and its UI are off by default (``AUGURY_API_DOCS``), or served to
  an authenticated admin only; to anyone else they do not exist (404).
- A refused fetch's reason names the address the host resolved to: an admin reads it
  as journaled, anyone else with the address withheld (the public story and
  observations, and a resolver's answers).
- ``/web/lint-spec`` needs a login and is rate-limited like the API.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from augury.settings import Settings

from .conftest import Server, assert_clean_exit, assert_problem, start_server
from .helpers import observe_now

ADDRESS = re.compile(r"127\.0\.0\.1|::1\b")
"""What ``localhost`` resolves to: it must not reach the public."""
LINT_BURST = 40


def production(tmp: Path, **env: str) -> Server:
    environment = {
        "AUGURY_MODE": "production",
        "AUGURY_SECRET_KEY": secrets.token_urlsafe(48),
        "AUGURY_COOKIE_SECURE": "false",  # the tests speak plain HTTP to 127.0.0.1
        "AUGURY_OBSERVER_INTERVAL_S": "0",
        **env,
    }
    return start_server(tmp / "data", env=environment)


@pytest.fixture(scope="module")
def prod(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Production mode with its defaults."""
    running = production(tmp_path_factory.mktemp("prod"))
    yield running
    assert_clean_exit(running)


@pytest.fixture(scope="module")
def prod_admin_docs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Production mode, the docs for admins, and a small per-IP bucket (nothing refills
    it during the test)."""
    running = production(
        tmp_path_factory.mktemp("prod-docs"),
        AUGURY_API_DOCS="admin",
        AUGURY_RATE_LIMIT_IP_PER_S="0.01",
        AUGURY_RATE_LIMIT_IP_BURST=str(LINT_BURST),
    )
    yield running
    assert_clean_exit(running)


def web(server: Server, api: httpx.Client | None = None) -> httpx.Client:
    """A client at the site's root, with ``api``'s session cookie and CSRF header."""
    client = httpx.Client(base_url=server.base_url, timeout=30.0)
    server.clients.append(client)
    if api is not None:
        client.cookies = api.cookies
        if "X-CSRF-Token" in api.headers:
            client.headers["X-CSRF-Token"] = api.headers["X-CSRF-Token"]
    return client


def lint_body() -> dict[str, Any]:
    expect = [{"outcome": 0, "value": "Yes"}, {"outcome": 1, "value": "No"}]
    return {
        "spec": {
            "sources": [
                {"kind": "html", "id": "page", "owner": "Gazette", "url": "https://a.example/",
                 "regex": r"(?<=side )(\w)", "expect": expect},
                {"kind": "http_json", "id": "wire", "owner": "Wire", "url": "https://b.example/",
                 "path": "$.answer", "expect": expect},
            ],
            "observation_at_us": 1_900_000_000_000_000,
            "persistence": {"hours": 12}, "quorum": 2, "fallback": {"kind": "hold"},
            "challenge_window_hours": 48,
        },
        "outcomes": ["Yes", "No"],
        "close_time": "2030-01-01T00:00:00Z",
    }  # fmt: skip


# -- the API's documentation ----------------------------------------------------------------


def test_the_docs_default_to_public_in_development_and_off_in_production() -> None:
    key = "k" * 40
    assert Settings(mode="development").docs_access == "public"
    assert Settings(mode="production", secret_key=key).docs_access == "off"
    for access in ("off", "admin", "public"):
        assert Settings(mode="production", secret_key=key, api_docs=access).docs_access == access


def test_the_docs_are_off_by_default_in_production(prod: Server) -> None:
    anonymous, admin = web(prod), web(prod, prod.admin())
    for client in (anonymous, admin):
        for path in ("/docs", "/redoc", "/openapi.json", "/docs/oauth2-redirect"):
            response = client.get(path)
            assert response.status_code == 404, (path, response.text[:200])
            assert '"paths"' not in response.text and "swagger" not in response.text.lower()


def test_the_docs_can_be_for_admins_only(prod_admin_docs: Server) -> None:
    server = prod_admin_docs
    _, trader = server.user("reader")
    reader_key = trader.post("/auth/api-keys", json={"name": "r", "scopes": ["read"]})
    assert reader_key.status_code == 201, reader_key.text
    admin = server.admin()
    admin_key = admin.post("/auth/api-keys", json={"name": "a", "scopes": ["read", "admin"]})
    assert admin_key.status_code == 201, admin_key.text
    read_only = admin.post("/auth/api-keys", json={"name": "ro", "scopes": ["read"]})
    assert read_only.status_code == 201, read_only.text
    nobody = {
        "anonymous": web(server),
        "a trader's session": web(server, trader),
        "a trader's key": web(server),
        "an admin's key without the admin scope": web(server),
        "a bogus key": web(server),
    }
    nobody["a trader's key"].headers["X-API-Key"] = reader_key.json()["key"]
    nobody["an admin's key without the admin scope"].headers["X-API-Key"] = read_only.json()["key"]
    nobody["a bogus key"].headers["X-API-Key"] = "aug_" + "x" * 40
    for who, client in nobody.items():
        for path in ("/docs", "/openapi.json"):
            response = client.get(path)
            assert response.status_code == 404, (who, path, response.text[:200])
    by_key = web(server)
    by_key.headers["X-API-Key"] = admin_key.json()["key"]
    for client in (web(server, admin), by_key):
        document = client.get("/openapi.json")
        assert document.status_code == 200 and document.json()["openapi"].startswith("3.")
        assert "/api/v1/orders" in document.json()["paths"]
        page = client.get("/docs")
        assert page.status_code == 200 and "/openapi.json" in page.text


# -- SSRF refusals: the addresses stay with the admins ------------------------------------------


def _observed(client: httpx.Client, market: str) -> dict[str, Any]:
    job: dict[str, Any] = observe_now(client, market).json()
    return job


def test_a_refused_fetch_shows_no_address_to_the_public(prod: Server) -> None:
    admin = prod.admin()
    market = "internal"
    close = datetime.now(UTC) + timedelta(days=1)
    expect = [{"outcome": 0, "value": "Yes"}, {"outcome": 1, "value": "No"}]
    sources = [
        {"kind": "http_json", "id": id_, "owner": owner, "url": f"http://localhost:9/{id_}",
         "path": "$.answer", "expect": expect}
        for id_, owner in (("wire", "Wire Agency"), ("registry", "Public Registry"))
    ]  # fmt: skip
    spec = {
        "sources": sources,
        "observation_at_us": int((close + timedelta(hours=1)).timestamp()) * 1_000_000,
        "persistence": {"hours": 12},
        "quorum": 2,
        "fallback": {"kind": "hold"},
        "challenge_window_hours": 48,
    }
    body = {
        "id": market,
        "question": "Does the intranet answer?",
        "close_time": close.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "resolution_spec": spec,
    }
    created = admin.post("/markets", json=body)
    assert created.status_code == 201, created.text
    assert _observed(admin, market)["status"] == "done"

    # The admin reads the reason as journaled: the host and the address it resolved to.
    for item in admin.get(f"/markets/{market}/observations").json()["items"]:
        assert item["error_code"] == "forbidden_address"
        assert ADDRESS.search(item["error"]) and "'localhost' resolves to" in item["error"]
    story = admin.get(f"/markets/{market}/resolution").json()["entries"]
    assert any(ADDRESS.search(e["summary"]) for e in story if e["kind"] == "observation")

    # Anyone else: the same reason with the address withheld.
    resolver_name, resolver = prod.user("res")
    roles = {"roles": ["trader", "resolver"]}
    assert admin.put(f"/admin/users/{resolver_name}/roles", json=roles).status_code == 200
    _, trader = prod.user("t")
    answers = {
        "anonymous": prod.client().get(f"/markets/{market}/observations").json()["items"],
        "a trader": trader.get(f"/markets/{market}/observations").json()["items"],
        "a resolver observing": _observed(resolver, market)
        and resolver.get(f"/markets/{market}/observations").json()["items"],
        "a run of captures": trader.get(f"/markets/{market}/observations/runs").json()["items"],
    }
    for who, items in answers.items():
        assert len(items) >= 2, who
        for item in items:
            assert item["error_code"] == "forbidden_address", who
            assert not ADDRESS.search(item["error"]), (who, item["error"])
            assert item["error"].startswith(
                "'localhost' resolves to [address withheld], a loopback address"
            ), (who, item["error"])
    for client in (prod.client(), trader):
        entries = client.get(f"/markets/{market}/resolution").json()["entries"]
        observed = [e for e in entries if e["kind"] == "observation"]
        assert observed
        for entry in observed:
            assert not ADDRESS.search(entry["summary"]), entry["summary"]
            assert not ADDRESS.search(entry["details"]["error"]), entry["details"]
            assert "[address withheld]" in entry["summary"]


# -- the spec linter of the web form --------------------------------------------------------------


def test_the_web_linter_needs_a_login(prod: Server) -> None:
    refused = web(prod).post("/web/lint-spec", json=lint_body())
    assert_problem(refused, 401, "unauthorized")
    _, trader = prod.user("linter")
    without_csrf = web(prod, trader)
    del without_csrf.headers["X-CSRF-Token"]
    assert_problem(without_csrf.post("/web/lint-spec", json=lint_body()), 403, "csrf_failed")
    answer = web(prod, trader).post("/web/lint-spec", json=lint_body())
    assert answer.status_code == 200, answer.text
    found = answer.json()
    assert not found["ok"] and [f["code"] for f in found["findings"]] == ["unsupported_regex"]


def test_the_web_linter_is_rate_limited(prod_admin_docs: Server) -> None:
    """The per-IP bucket of the API counts the linter too: it runs dry and answers 429."""
    _, trader = prod_admin_docs.user("flood")
    client = web(prod_admin_docs, trader)
    statuses = []
    for _ in range(LINT_BURST + 5):
        response = client.post("/web/lint-spec", json=lint_body())
        statuses.append(response.status_code)
        if response.status_code == 429:
            break
    assert statuses[-1] == 429, statuses
    assert set(statuses[:-1]) == {200}
    problem = assert_problem(response, 429, "rate_limited")
    assert "retry in" in problem["detail"] and int(response.headers["Retry-After"]) >= 1
    time.sleep(0.1)  # still dry: the API shares the bucket
    assert trader.get("/markets").status_code == 429
