"""Shared steps of the API tests."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from augury.api import create_app
from augury.roles.services import Services
from augury.settings import Settings

from .conftest import START, Server, assert_clean_exit, start_server

CLOSE = "2026-06-30T00:00:00Z"


def create_market(creator: httpx.Client, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": f"m-{uuid.uuid4().hex[:10]}",
        "question": "Will the test pass?",
        "close_time": CLOSE,
        **fields,
    }
    response = creator.post("/markets", json=body)
    assert response.status_code == 201, response.text
    market: dict[str, Any] = response.json()
    return market


def place(client: httpx.Client, **fields: Any) -> dict[str, Any]:
    response = client.post("/orders", json=fields)
    assert response.status_code == 201, response.text
    order: dict[str, Any] = response.json()
    return order


def balance(client: httpx.Client) -> dict[str, Any]:
    response = client.get("/portfolio/balances")
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def local_app(data_dir: Path, **settings: Any) -> tuple[Services, FastAPI, list[str]]:
    """The server's app and services in this process, for tests that call it directly:
    simulated time from START, cheap password hashing, no rate limits, unless
    ``settings`` say otherwise. The list receives the first admin's password. The caller
    stops the services."""
    fields: dict[str, Any] = {
        "data_dir": data_dir,
        "clock": "simulated",
        "start": START,
        "argon2_time_cost": 1,
        "argon2_memory_kib": 1024,
        "rate_limit_ip_per_s": 0,
        "rate_limit_key_per_s": 0,
        "rate_limit_password_per_s": 0,
        **settings,
    }
    resolved = Settings(**fields)
    passwords: list[str] = []
    services = Services.start(resolved, lambda _user, secret: passwords.append(secret))
    app = create_app(resolved, services=services)
    app.state.services = services  # what the lifespan does (it does not run here)
    return services, app, passwords


def ok(response: httpx.Response, status: int = 200) -> Any:
    """The answer's JSON, once its status is ``status``."""
    assert response.status_code == status, response.text
    return response.json()


def observer_server(
    tmp_path_factory: pytest.TempPathFactory, name: str, **env: str
) -> Iterator[Server]:
    """For a module-scoped fixture: a server on simulated time from START that may fetch
    the fixture sources on 127.0.0.1 and observes only when asked or when the clock moves
    (no periodic loop), with ``env`` on top; it must exit cleanly afterwards."""
    settings = {"AUGURY_EVIDENCE_ALLOW_HOSTS": '["127.0.0.1"]', "AUGURY_OBSERVER_INTERVAL_S": "0"}
    running = start_server(
        Path(tmp_path_factory.mktemp(name)) / "data",
        "--clock", "simulated", "--start", START,
        env={**settings, **env},
    )  # fmt: skip
    yield running
    assert_clean_exit(running)


def finished_job(client: httpx.Client, location: str, timeout_s: float = 30.0) -> httpx.Response:
    """Poll an observation job (its ``Location``) until it is done or failed: the last
    answer (200)."""
    deadline = time.monotonic() + timeout_s
    while True:
        answer = client.get(location.removeprefix("/api/v1"))
        assert answer.status_code == 200, answer.text
        if answer.json()["status"] not in ("pending", "running"):
            return answer
        assert time.monotonic() < deadline, f"the job never finished: {answer.text}"
        time.sleep(0.05)


def observe_now(client: httpx.Client, market: str, timeout_s: float = 30.0) -> httpx.Response:
    """Observe a market now: 202 and a job, polled until it is finished."""
    started = client.post(f"/markets/{market}/observe")
    assert started.status_code == 202, started.text
    return finished_job(client, started.headers["Location"], timeout_s)
