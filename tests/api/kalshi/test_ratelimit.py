"""The facade shares Augury's limiter: per IP and per signing key, 429 in Kalshi's shape
with Retry-After."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from augury.api import create_app
from augury.roles.services import Services
from augury.settings import Settings

SCHEDULE = "/trade-api/v2/exchange/schedule"  # answers without the engine


def _get(settings: Settings, headers: list[dict[str, str]]) -> list[httpx.Response]:
    app = create_app(settings, start=Services.start)

    async def run() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)  # no lifespan: no engine needed
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return [await client.get(SCHEDULE, headers=h) for h in headers]

    return asyncio.run(run())


def _kalshi_429(response: httpx.Response) -> None:
    assert response.status_code == 429, response.text
    assert response.json()["error"]["code"] == "rate_limited"
    assert set(response.json()["error"]) == {"code", "message", "details"}
    assert int(response.headers["retry-after"]) >= 1


def test_per_ip_in_kalshis_shape(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, rate_limit_ip_per_s=0.01, rate_limit_ip_burst=2)
    responses = _get(settings, [{}, {}, {}])
    assert [r.status_code for r in responses][:2] == [200, 200]
    _kalshi_429(responses[2])


def test_per_signing_key(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path, rate_limit_ip_per_s=0, rate_limit_key_per_s=0.01, rate_limit_key_burst=1
    )
    one, two = {"KALSHI-ACCESS-KEY": "k1"}, {"KALSHI-ACCESS-KEY": "k2"}
    responses = _get(settings, [one, one, two, {}])
    assert [r.status_code for r in responses] == [200, 429, 200, 200]
    _kalshi_429(responses[1])
