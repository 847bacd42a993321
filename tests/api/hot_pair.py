"""Two apps side by side for the hot-path tests (``fast_orders``, ``fast_reads``).

Two apps run in-process side by side (httpx's ASGI transport, one event loop), each
with services of its own on simulated time: ``hot`` as ``create_app`` builds it, and
``old`` with the hot routes taken out, so that the FastAPI routes answer everything.
Every scenario sends the same requests to both, in the same order, so both exchanges
hold the same state (order ids included) and every answer must be the same: status,
headers and body bytes. The hot routes count what they served and what they handed to
the FastAPI route, which shows which path answered each request.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from augury.api.fast_orders import HotRoute
from augury.roles.services import Services

from .conftest import PASSWORD
from .helpers import local_app

MARKET = "fast-m1"
CATEGORICAL = "fast-c1"
KEY_HEADERS = ("x-api-key", "authorization")
HOT_ROUTES = 8


@dataclass
class Side:
    """One app and its callers: a session (cookie + CSRF) and API keys per user."""

    app: FastAPI
    services: Services
    loop: asyncio.AbstractEventLoop
    sessions: dict[str, httpx.AsyncClient] = field(default_factory=dict)
    keys: dict[str, str] = field(default_factory=dict)
    anon: httpx.AsyncClient | None = None

    @property
    def hot(self) -> tuple[HotRoute, ...]:
        return tuple(r for r in self.app.router.routes if isinstance(r, HotRoute))

    def client(self) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=self.app)
        return httpx.AsyncClient(transport=transport, base_url="http://testserver/api/v1")

    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    def call(self, method: str, path: str, who: str, **kwargs: Any) -> httpx.Response:
        """``who``: "anon", a username (its session), or "key:<name>" (that API key)."""
        headers = dict(kwargs.pop("headers", {}))
        if who.startswith("key:"):
            client = self.anon
            headers.setdefault("X-API-Key", self.keys[who[4:]])
        elif who.startswith("bearer:"):
            client = self.anon
            headers.setdefault("Authorization", f"Bearer {self.keys[who[7:]]}")
        elif who == "anon":
            client = self.anon
        else:
            client = self.sessions[who]
        assert client is not None
        request = client.build_request(method, path, headers=headers, **kwargs)
        response: httpx.Response = self.run(client.send(request))
        return response


def _ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def _side(tmp: Path, hot: bool, **limits: Any) -> Side:
    services, app, password = local_app(
        tmp,
        projector="thread",
        surveillance=False,
        rate_limit_ip_per_s=limits.get("ip", 0),
        rate_limit_key_per_s=limits.get("key", 0),
        rate_limit_key_burst=limits.get("key_burst", 400),
    )
    if not hot:
        app.router.routes[:] = [r for r in app.router.routes if not isinstance(r, HotRoute)]
    side = Side(app, services, asyncio.new_event_loop())
    side.anon = side.client()
    for user, secret in (("admin", password[0]), ("ann", PASSWORD), ("bob", PASSWORD)):
        if user != "admin":
            body = {"username": user, "password": PASSWORD}
            _ok(side.run(side.anon.post("/auth/register", json=body)), 201)
        client = side.client()
        login = _ok(
            side.run(client.post("/auth/login", json={"username": user, "password": secret}))
        )
        client.headers["X-CSRF-Token"] = login["csrf_token"]
        side.sessions[user] = client
    for user, name, scopes in (
        ("ann", "ann", ["read", "trade"]),
        ("ann", "ann-read", ["read"]),
        ("bob", "bob", ["trade"]),
    ):
        created = side.run(
            side.sessions[user].post("/auth/api-keys", json={"name": name, "scopes": scopes})
        )
        side.keys[name] = _ok(created, 201)["key"]
    admin = side.sessions["admin"]
    for market in (
        {"id": MARKET, "question": "Fast?", "close_time": "2026-06-30T00:00:00Z"},
        {
            "id": CATEGORICAL,
            "type": "categorical",
            "question": "Which?",
            "outcomes": ["A", "B", "C"],
            "liquidity": "50",
            "close_time": "2026-06-30T00:00:00Z",
        },
    ):
        _ok(side.run(admin.post("/markets", json=market)), 201)
    return side


def _close(side: Side) -> None:
    clients = [side.anon, *side.sessions.values()]
    for client in clients:
        if client is not None:
            side.run(client.aclose())
    side.services.stop()
    side.loop.close()


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Side, Side]]:
    hot = _side(tmp_path_factory.mktemp("fast-hot"), hot=True)
    try:
        old = _side(tmp_path_factory.mktemp("fast-old"), hot=False)
        try:
            # place, cancel, Kalshi's place; the book, the quote, balances, an open order, preview
            assert len(hot.hot) == HOT_ROUTES and not old.hot
            yield hot, old
        finally:
            _close(old)
    finally:
        _close(hot)


def _counts(side: Side) -> tuple[int, int]:
    return sum(r.served for r in side.hot), sum(r.handed_over for r in side.hot)


def _same(
    pair: tuple[Side, Side], method: str, path: str, who: str, *, via: str, **kwargs: Any
) -> httpx.Response:
    """Send the request to both apps: equal answers, and the hot app answered ``via``."""
    hot, old = pair
    before = _counts(hot)
    fast = hot.call(method, path, who, **kwargs)
    slow = old.call(method, path, who, **kwargs)
    after = _counts(hot)
    took = {(1, 0): "hot", (0, 1): "handed_over", (0, 0): "neither"}.get(
        (after[0] - before[0], after[1] - before[1]), "both?"
    )
    what = f"{method} {path} {who} {kwargs}"
    assert took == via, f"{what}: answered by {took}, expected {via}"
    assert fast.status_code == slow.status_code, (what, fast.text, slow.text)
    assert fast.headers.multi_items() == slow.headers.multi_items(), (
        what,
        fast.headers,
        slow.headers,
    )
    assert fast.content == slow.content, (what, fast.text, slow.text)
    return fast
