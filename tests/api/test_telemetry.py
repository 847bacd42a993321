"""FastAPI's native OpenTelemetry: asked about on each request only when turned on."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from fastapi.telemetry import _asgi

from .helpers import local_app


class _CountingTrace:
    """Stands in for ``opentelemetry.trace`` in FastAPI's telemetry: counts the asks."""

    def __init__(self) -> None:
        self.asks = 0
        self._real = _asgi.trace

    def get_tracer_provider(self) -> object:
        self.asks += 1
        return self._real.get_tracer_provider()

    def __getattr__(self, name: str) -> object:
        return getattr(self._real, name)


@pytest.mark.parametrize("telemetry", [False, True])
def test_requests_ask_for_providers_only_with_telemetry_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, telemetry: bool
) -> None:
    counting = _CountingTrace()
    monkeypatch.setattr(_asgi, "trace", counting)
    services, app, _ = local_app(tmp_path, telemetry=telemetry)
    try:
        transport = httpx.ASGITransport(app=app)

        async def get_health() -> int:
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                return (await client.get("/api/v1/health")).status_code

        assert asyncio.run(get_health()) == 200
        assert (counting.asks > 0) is telemetry
    finally:
        services.stop()
