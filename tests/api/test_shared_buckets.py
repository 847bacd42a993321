"""Rate limits shared through Redis (``AUGURY_RATE_LIMIT_URL``): one limit for all nodes.

The script's buckets are the in-process buckets, step by step; two app instances on one
Redis (as two API nodes) give the limit once; Redis stopped under them, each counts on
its own (no 5xx, never unlimited), and started again, they share again. Each test runs
a Redis of its own (``redis-server`` on a free port), so that it can be stopped.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis
from fastapi import FastAPI
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from augury.api import create_app
from augury.api.ratelimit import RateLimit, TokenBuckets
from augury.api.shared_buckets import KEY_PREFIX, SharedBuckets
from augury.roles.services import Services
from augury.settings import Settings
from tests.api.conftest import assert_clean_exit, assert_problem, free_port, start_server

LOCAL_REDIS = "redis://127.0.0.1:6379/0"
RETRY_S = 1.0
"""The nodes' wait before asking a Redis that failed again (5 s by default)."""


class RedisServer:
    """A ``redis-server`` of the test's own, which it may stop and start again."""

    def __init__(self, directory: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            reason = "redis-server is not installed"
            if os.environ.get("CI"):
                pytest.fail(f"CI is set, so this is a failure, not a skip: {reason}")
            pytest.skip(reason)
        self.binary, self.directory, self.port = binary, directory, free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        args = ["--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly"]
        self.process = subprocess.Popen(
            [self.binary, *args, "no", "--dir", str(self.directory)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis.from_url(self.url)
        deadline = time.monotonic() + 10.0
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.02)
        client.close()

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


# -- the script is the in-process token bucket ----------------------------------------------
STEP_US = 15_625
"""1/64 s: with rates that are powers of two, every token count is exact in both."""


@settings(max_examples=40, deadline=None)
@given(
    rate=st.sampled_from([0.5, 1.0, 2.0, 8.0]),
    burst=st.integers(1, 5),
    steps=st.lists(st.tuples(st.integers(0, 1), st.integers(0, 80)), min_size=1, max_size=40),
)
def test_the_script_answers_as_the_in_process_buckets(
    rate: float, burst: int, steps: list[tuple[int, int]]
) -> None:
    now_us = [1_700_000_000_000_000]
    here = TokenBuckets(rate, burst, clock=lambda: now_us[0] / 1e6)
    names = [f"test:{uuid.uuid4().hex}:{i}" for i in range(2)]

    async def run() -> list[tuple[float, float | None]]:
        shared = SharedBuckets(LOCAL_REDIS, timeout_s=5.0)
        answers = []
        try:
            for which, gap in steps:
                now_us[0] += gap * STEP_US
                there = await shared.take([(names[which], rate, burst)], now_us=now_us[0])
                answers.append((here.take(names[which]), there))
        finally:
            await shared._client.delete(*(KEY_PREFIX + name for name in names))
            await shared.close()
        return answers

    for expected, got in asyncio.run(run()):
        assert got == expected


def test_buckets_are_taken_in_order_and_idle_ones_expire() -> None:
    """A request's buckets in one call: stopping at the first empty one (those before
    it gave their token); a bucket lives in Redis until it would be full again."""
    first, second = (f"test:{uuid.uuid4().hex}:{i}" for i in range(2))

    async def run() -> None:
        shared = SharedBuckets(LOCAL_REDIS, timeout_s=5.0)
        try:
            both = [(first, 1.0, 2), (second, 1.0, 1)]
            assert await shared.take(both, now_us=0) == 0.0
            assert await shared.take(both, now_us=0) == 1.0  # the second is empty
            assert await shared.take([(first, 1.0, 2)], now_us=0) == 1.0  # first gave 2
            ttl_ms = await shared._client.pttl(KEY_PREFIX + first)
            assert 2_000 < ttl_ms <= 3_000  # 2 tokens at 1/s: full again in 2 s
        finally:
            await shared._client.delete(KEY_PREFIX + first, KEY_PREFIX + second)
            await shared.close()

    asyncio.run(run())


def test_concurrent_requests_go_to_redis_together() -> None:
    name = f"test:{uuid.uuid4().hex}"

    async def run() -> tuple[list[float | None], int]:
        shared = SharedBuckets(LOCAL_REDIS, timeout_s=5.0)
        try:
            answers = await asyncio.gather(
                *(shared.take([(name, 0.01, 10)], now_us=0) for _ in range(40))
            )
            return list(answers), shared.calls
        finally:
            await shared._client.delete(KEY_PREFIX + name)
            await shared.close()

    answers, calls = asyncio.run(run())
    assert answers == [0.0] * 10 + [100.0] * 30  # in the order they were asked
    assert calls <= 2


# -- two API nodes, one Redis ---------------------------------------------------------------
def _nodes(
    tmp_path: Path, url: str | None, **limits: float
) -> tuple[list[FastAPI], list[httpx.AsyncClient]]:
    """Two apps (as two API nodes; no lifespan, so no engine) and a client for each,
    both calling from one IP no other test uses."""
    ip = f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"
    apps, clients = [], []
    for _ in range(2):
        app = create_app(
            Settings(data_dir=tmp_path, rate_limit_url=url, **limits),  # type: ignore[arg-type]
            start=Services.start,
        )

        @app.get("/api/v1/ping")
        async def ping() -> dict[str, str]:
            return {"ok": "yes"}

        transport = httpx.ASGITransport(app=app, client=(ip, 1234))
        app.middleware_stack = app.build_middleware_stack()
        shared = _rate_limit(app).shared
        if shared is not None:  # a loaded test machine is no reason to count locally
            shared._client.connection_pool.connection_kwargs.update(
                socket_timeout=5.0, socket_connect_timeout=5.0
            )
            shared.retry_s = RETRY_S
        apps.append(app)
        clients.append(httpx.AsyncClient(transport=transport, base_url="http://test"))
    return apps, clients


def _rate_limit(app: FastAPI) -> RateLimit:
    """The app's rate-limit middleware (built on the first request)."""
    layer = app.middleware_stack
    while not isinstance(layer, RateLimit):
        layer = layer.app  # type: ignore[union-attr]
    return layer


async def _spread(
    clients: list[httpx.AsyncClient], count: int, headers: dict[str, str] | None = None
) -> list[int]:
    """``count`` requests, alternating between the nodes; their statuses."""
    statuses = []
    for i in range(count):
        response = await clients[i % len(clients)].get("/api/v1/ping", headers=headers)
        if response.status_code == 429:
            assert_problem(response, 429, "rate_limited")
            assert int(response.headers["retry-after"]) >= 1
        statuses.append(response.status_code)
    return statuses


async def _close(apps: list[FastAPI], clients: list[httpx.AsyncClient]) -> None:
    for app, client in zip(apps, clients, strict=True):
        await client.aclose()
        shared = _rate_limit(app).shared
        if shared is not None:
            await shared.close()


@pytest.mark.parametrize("shared", [True, False])
def test_two_nodes_on_one_redis_give_the_ip_limit_once(
    tmp_path: Path, redis_server: RedisServer, shared: bool
) -> None:
    url = redis_server.url if shared else None
    apps, clients = _nodes(tmp_path, url, rate_limit_ip_per_s=0.01, rate_limit_ip_burst=10)

    async def run() -> list[int]:
        try:
            return await _spread(clients, 30)
        finally:
            await _close(apps, clients)

    statuses = asyncio.run(run())
    # shared: 10 in all; each node on its own (no URL): 10 each
    assert statuses.count(200) == (10 if shared else 20)
    assert statuses.count(429) == 30 - statuses.count(200)


def test_two_nodes_share_the_api_key_and_password_buckets(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    apps, clients = _nodes(
        tmp_path,
        redis_server.url,
        rate_limit_ip_per_s=0,
        rate_limit_key_per_s=0.01,
        rate_limit_key_burst=3,
        rate_limit_password_per_s=0.01,
        rate_limit_password_burst=4,
    )

    async def run() -> tuple[list[int], list[int], list[int]]:
        try:
            keyed = await _spread(clients, 8, {"X-API-Key": "aug_" + uuid.uuid4().hex})
            logins = [
                (await clients[i % 2].get("/api/v1/auth/login")).status_code for i in range(8)
            ]
            plain = await _spread(clients, 8)
            return keyed, logins, plain
        finally:
            await _close(apps, clients)

    keyed, logins, plain = asyncio.run(run())
    assert keyed == [200] * 3 + [429] * 5
    assert logins == [405] * 4 + [429] * 4  # GET on the login route: 405 while tokens last
    assert plain == [200] * 8  # no key, not a password route: no bucket is on


def test_redis_down_each_node_counts_alone_then_they_share_again(
    tmp_path: Path, redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    apps, clients = _nodes(
        tmp_path, redis_server.url, rate_limit_ip_per_s=0.01, rate_limit_ip_burst=4
    )

    async def run() -> tuple[list[int], list[int], list[int]]:
        try:
            before = await _spread(clients, 4)
            redis_server.stop()
            started = time.monotonic()
            during = await _spread(clients, 12)
            assert time.monotonic() - started < 2.0  # no request waits on the dead Redis
            redis_server.start()  # empty: the buckets start full
            await asyncio.sleep(RETRY_S + 0.1)  # the nodes ask Redis again
            after = await _spread(clients, 12)
            return before, during, after
        finally:
            await _close(apps, clients)

    with caplog.at_level(logging.WARNING, logger="augury.api.shared_buckets"):
        before, during, after = asyncio.run(run())
    assert before == [200] * 4
    # each node its own bucket of 4 (never 5xx, never unlimited)
    assert during == [200] * 8 + [429] * 4
    assert after == [200] * 4 + [429] * 8  # one bucket again
    messages = [record.getMessage() for record in caplog.records]
    assert sum("unreachable" in m for m in messages) == 2  # once per node
    assert sum("answers again" in m for m in messages) == 2
    assert all(redis_server.url.split("//")[1] in m for m in messages)


def test_the_url_must_name_redis(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="rate_limit_url"):
        Settings(data_dir=tmp_path, rate_limit_url="http://127.0.0.1:6379")
    assert Settings(data_dir=tmp_path, rate_limit_url="unix:///run/redis.sock").rate_limit_url


def test_augury_serve_keeps_its_buckets_in_the_redis_it_is_given(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    """The setting end to end: ``AUGURY_RATE_LIMIT_URL`` in the environment of a real
    server, the buckets in that Redis, and the connections closed on a clean stop."""
    env = {
        "AUGURY_RATE_LIMIT_URL": redis_server.url,
        "AUGURY_RATE_LIMIT_IP_PER_S": "0.01",
        "AUGURY_RATE_LIMIT_IP_BURST": "5",
        "AUGURY_SURVEILLANCE": "false",
    }
    server = start_server(tmp_path / "data", env=env, startup_s=120.0)
    try:
        client = server.client()
        statuses = [client.get("/markets").status_code for _ in range(8)]
        keys = redis.Redis.from_url(redis_server.url).keys(KEY_PREFIX + "*")
    finally:
        server.stop()
    assert statuses == [200] * 5 + [429] * 3
    assert keys == [(KEY_PREFIX + "ip:127.0.0.1").encode()]
    assert_clean_exit(server)
