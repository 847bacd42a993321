"""The SDK's tests run against a real ``augury serve`` (the API tests' fixtures)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import pytest

from augury.client import AsyncClient, Client
from tests.api.conftest import PASSWORD, Server, server

__all__ = ["server"]  # the session's server, re-exported for these tests

CLOSE = "2026-06-30T00:00:00Z"


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:12]}"


Connect = Callable[..., Client]


def trader(connect: Connect, prefix: str = "c") -> tuple[str, Client]:
    """A fresh registered and logged-in trader (session)."""
    name = unique(prefix)
    client = connect()
    client.register(name, PASSWORD)
    client.login(name, PASSWORD)
    return name, client


@pytest.fixture
def connect(server: Server) -> Iterator[Connect]:
    """``connect(api_key=None, base_url=None)``: a Client closed after the test."""
    made: list[Client] = []

    def make(api_key: str | None = None, base_url: str | None = None) -> Client:
        client = Client(base_url or server.base_url, api_key=api_key)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


@pytest.fixture
def admin(server: Server) -> Iterator[Client]:
    with Client(server.base_url) as client:
        client.login("admin", server.admin_password)
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
