"""Shared steps of the API tests."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

from augury.api import create_app
from augury.api.services import Services
from augury.settings import Settings

from .conftest import START

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
