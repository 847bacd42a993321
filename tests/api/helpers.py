"""Shared steps of the API tests."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

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
