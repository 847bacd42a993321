"""Stored responses across API nodes: a request's claim on its Idempotency-Key is a row
every node sees, so a retry through another node while the first runs gets 409, and
one after it gets the stored answer; a claim left by a dead node is taken over.

Two ``StoredResponses`` on one database stand for two nodes (SQLite and PostgreSQL);
through HTTP, one node is this process's app and the other a store on its database.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine

from augury.identity import migrate
from augury.identity.stored_responses import (
    ANONYMOUS_SCOPE,
    CLAIM_S,
    Stored,
    StoredResponses,
)
from augury.roles.services import Services
from tests.api.conftest import PASSWORD, assert_problem
from tests.api.helpers import local_app

SECRET = "a test secret key that is long enough to use"
ANSWER = Stored(201, {"id": 7}, ("a=b; Path=/",))
NODE_B_ANSWER = {
    "username": "nodes",
    "account": "nodes",
    "roles": ["trader"],
    "created_at": "2001-02-03T04:05:06Z",  # no clock of this test's says that
}


Nodes = tuple[StoredResponses, StoredResponses, list[int]]


@pytest.fixture
def nodes(empty_database: Engine) -> Nodes:
    """Two nodes' stores on one database (each backend in turn), and their clock."""
    migrate.upgrade(empty_database)
    now = [1_700_000_000_000_000]
    a = StoredResponses(empty_database, SECRET, now_us=lambda: now[0])
    b = StoredResponses(empty_database, SECRET, now_us=lambda: now[0])
    return a, b, now


def test_a_claim_holds_the_key_on_every_node(nodes: Nodes) -> None:
    a, b, _ = nodes
    fp = a.fingerprint("POST", "/api/v1/auth/register", b'{"username":"ann"}')
    claimed = a.claim("s", "k", fp)
    assert claimed
    assert b.claim("s", "k", fp) is None  # running on node A
    assert b.claim("s", "k", "0" * 64) is None  # whatever the body: 409 while it runs
    assert b.find("s", "k", fp) is None  # a claim is no answer
    assert a.save("s", "k", fp, ANSWER)  # the answer replaces the claim
    a.release("s", "k", claimed)  # (after an answer, releasing does nothing)
    assert b.claim("s", "k", fp) == 0  # an answer is stored: replay it
    assert b.find("s", "k", fp) == ANSWER
    # a request that failed releases its claim: the key can be used again
    claimed = a.claim("s", "k2", fp)
    assert claimed and b.claim("s", "k2", fp) is None
    a.release("s", "k2", claimed)
    assert b.claim("s", "k2", fp)


def test_a_claim_of_a_dead_node_is_taken_over(nodes: Nodes) -> None:
    a, b, now = nodes
    fp = a.fingerprint("POST", "/x", b"{}")
    first = a.claim("s", "k", fp)
    assert first
    now[0] += CLAIM_S * 1_000_000 - 1
    assert b.claim("s", "k", fp) is None  # still held
    now[0] += 1
    second = b.claim("s", "k", fp)
    assert second and second != first  # A's node is taken for dead
    a.release("s", "k", first)  # A, late, releases its own claim only
    assert a.claim("s", "k", fp) is None
    assert b.save("s", "k", fp, ANSWER)
    assert not a.save("s", "k", fp, Stored(201, {"id": 8}))  # the first answer stays
    assert a.find("s", "k", fp) == ANSWER


@pytest.fixture
def node(tmp_path: Path) -> Iterator[tuple[Services, Any]]:
    services, app, _ = local_app(tmp_path, projector="thread", surveillance=False)
    try:
        yield services, app
    finally:
        services.stop()


def test_through_http_another_nodes_claim_is_409_and_its_answer_replayed(
    node: tuple[Services, Any],
) -> None:
    """Node B (a store on the shared database) runs a registration with key K; node A
    (the app) answers a retry with K 409 while B runs, then B's stored answer."""
    services, app = node
    other = StoredResponses(services.projector.engine, services.settings.secret_key)
    body = {"username": "nodes", "password": PASSWORD}
    content = httpx.Request("POST", "/", json=body).content
    fp = other.fingerprint("POST", "/api/v1/auth/register", content)
    key = {"Idempotency-Key": "k-nodes", "Content-Type": "application/json"}

    async def run() -> tuple[httpx.Response, httpx.Response, httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test/api/v1") as c:
            claimed = other.claim(ANONYMOUS_SCOPE, "k-nodes", fp)
            assert claimed
            busy = await c.post("/auth/register", content=content, headers=key)
            other.save(ANONYMOUS_SCOPE, "k-nodes", fp, Stored(201, NODE_B_ANSWER))
            replayed = await c.post("/auth/register", content=content, headers=key)
            # a key node B claimed and released (its request failed) is free on A
            claimed = other.claim(ANONYMOUS_SCOPE, "k-free", fp)
            assert claimed
            other.release(ANONYMOUS_SCOPE, "k-free", claimed)
            free = await c.post(
                "/auth/register", content=content, headers={**key, "Idempotency-Key": "k-free"}
            )
            return busy, replayed, free

    busy, replayed, free = asyncio.run(run())
    assert_problem(busy, 409, "idempotency_key_in_flight")
    assert busy.headers["Retry-After"] == "1"
    assert replayed.status_code == 201 and replayed.json() == NODE_B_ANSWER
    assert free.status_code == 201, free.text  # registered here, by node A
    assert services.identity.get_user("nodes") is not None
