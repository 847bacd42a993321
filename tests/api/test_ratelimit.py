"""Rate limits: token buckets per IP and per API key, 429 with Retry-After."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from augury.api import create_app
from augury.api.ratelimit import TokenBuckets
from augury.roles.services import Services
from augury.settings import Settings
from tests.api.conftest import assert_problem


def test_token_bucket() -> None:
    now = [100.0]
    buckets = TokenBuckets(rate_per_s=2.0, burst=3, clock=lambda: now[0])
    assert [buckets.take("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert buckets.take("a") == 0.5  # half a second until the next token
    assert buckets.take("b") == 0.0  # buckets are per key
    now[0] += 0.5
    assert buckets.take("a") == 0.0
    assert buckets.take("a") > 0.0
    now[0] += 60.0  # refills up to the burst, never more
    assert [buckets.take("a") for _ in range(4)][-1] > 0.0


def _statuses(
    settings: Settings, requests: list[dict[str, str]], path: str = "/api/v1/ping"
) -> list[httpx.Response]:
    app = create_app(settings, start=Services.start)

    @app.get("/api/v1/ping")
    async def ping() -> dict[str, str]:
        return {"ok": "yes"}

    async def run() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)  # no lifespan: no engine needed
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return [await client.get(path, headers=h) for h in requests]

    return asyncio.run(run())


def test_per_ip(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, rate_limit_ip_per_s=0.01, rate_limit_ip_burst=2)
    responses = _statuses(settings, [{}, {}, {}])
    assert [r.status_code for r in responses] == [200, 200, 429]
    assert_problem(responses[2], 429, "rate_limited")
    assert int(responses[2].headers["retry-after"]) >= 1
    assert responses[2].headers["x-content-type-options"] == "nosniff"


def test_per_api_key(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path, rate_limit_ip_per_s=0, rate_limit_key_per_s=0.01, rate_limit_key_burst=1
    )
    responses = _statuses(
        settings,
        [
            {"X-API-Key": "aug_one"},
            {"Authorization": "Bearer aug_one"},  # the same key, the other header
            {"X-API-Key": "aug_two"},
            {},
        ],
    )
    assert [r.status_code for r in responses] == [200, 429, 200, 200]


def test_password_routes_have_a_stricter_bucket(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path, rate_limit_password_per_s=0.01, rate_limit_password_burst=2
    )
    # GET on the login route: 405 while tokens last, then 429; other routes are unaffected
    logins = _statuses(settings, [{}, {}, {}], path="/api/v1/auth/login")
    assert [r.status_code for r in logins] == [405, 405, 429]
    assert [r.status_code for r in _statuses(settings, [{}, {}, {}])] == [200, 200, 200]
