"""The SDK's tests run against a real ``augury serve`` (the API tests' fixtures)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from augury.client import AsyncClient, Client
from tests.api.conftest import PASSWORD, Server, pg_server, server

__all__ = ["pg_server", "server"]  # the session's servers, re-exported for these tests

CLOSE = "2026-06-30T00:00:00Z"
HOUR_S = 3_600
WIRE_OWNER = "Wire Agency"
NOTARY_OWNER = "Notary Office"


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:12]}"


Connect = Callable[..., Client]


def close_soon(now: datetime, hours: int = 2) -> datetime:
    """A close time ``hours`` after the server's ``now``, on a whole second."""
    return (now + timedelta(hours=hours)).replace(microsecond=0)


def resolution_spec(close: datetime, notary: Ed25519PrivateKey) -> dict[str, Any]:
    """A valid spec for a two-outcome market closing at ``close`` (observed then): a wire
    (an ``http_json`` source on a loopback address, which the server refuses to fetch)
    and a notary's signed attestation, two owners, quorum 2 of 2, 12 h persistence."""
    expect = [{"outcome": 0, "value": "A"}, {"outcome": 1, "value": "B"}]
    return {
        "sources": [
            {
                "kind": "http_json", "id": "wire", "owner": WIRE_OWNER,
                "url": "http://127.0.0.1:9/wire.json", "path": "$.side", "expect": expect,
            },
            {
                "kind": "attestation", "id": "notary", "owner": NOTARY_OWNER,
                "attester": "J. Notary", "expect": expect,
                "public_key": notary.public_key().public_bytes_raw().hex(),
            },
        ],
        "observation_at_us": int(close.timestamp()) * 1_000_000,
        "persistence": {"hours": 12},
        "quorum": 2,
        "fallback": {"kind": "hold"},
        "challenge_window_hours": 24,
        "bonds": {"proposal": 10_000_000, "dispute": 10_000_000},  # 10 credits each
    }  # fmt: skip


def sign(notary: Ed25519PrivateKey, source_id: str, signed_at: str, statement: str) -> str:
    """The hex Ed25519 signature of an attestation statement (docs/evidence.md)."""
    message = f"augury-attestation-v1\n{source_id}\n{signed_at}\n{statement}".encode()
    return notary.sign(message).hex()


def trader(connect: Connect, prefix: str = "c") -> tuple[str, Client]:
    """A fresh registered and logged-in trader (session)."""
    name = unique(prefix)
    client = connect()
    client.register(name, PASSWORD)
    client.login(name, PASSWORD)
    return name, client


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> Server:
    """The SQLite server, then the PostgreSQL one: the SDK's tests hold on both."""
    name = "server" if request.param == "sqlite" else "pg_server"
    found: Server = request.getfixturevalue(name)
    return found


@pytest.fixture
def connect(backend: Server) -> Iterator[Connect]:
    """``connect(api_key=None, base_url=None)``: a Client closed after the test."""
    made: list[Client] = []

    def make(api_key: str | None = None, base_url: str | None = None) -> Client:
        client = Client(base_url or backend.base_url, api_key=api_key)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


@pytest.fixture
def admin(backend: Server) -> Iterator[Client]:
    with Client(backend.base_url) as client:
        client.login("admin", backend.admin_password)
        yield client


@pytest.fixture
def called(monkeypatch: pytest.MonkeyPatch) -> set[str]:
    """The names of the endpoints the SDK requested during a test."""
    seen: set[str] = set()
    for cls in (Client, AsyncClient):
        original = cls._req

        def recording(
            self: object, name: str, _original: object = original, **kw: object
        ) -> object:
            seen.add(name)
            return _original(self, name, **kw)  # type: ignore[operator]

        monkeypatch.setattr(cls, "_req", recording)
    return seen
