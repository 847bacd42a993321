"""A real server for the API tests: ``augury serve`` in a subprocess on a free port.

One server per backend for the whole session (SQLite always; PostgreSQL when reachable,
and under CI it must be). It runs on simulated time from 2025-11-14T00:00:00Z, so
close times and candles are deterministic. Tests talk to it over HTTP with httpx, each
with usernames of its own, so they never depend on one another.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from sqlalchemy import Engine

from augury.projections.db import projection_engine
from tests.journal.conftest import PG_DSN_DEFAULT, PG_DSN_ENV

START = "2025-11-14T00:00:00Z"
PASSWORD = "correct horse battery"
STARTUP_S_MAX = 120.0

# Cheap password hashing for tests (production keeps argon2's defaults), and no limit
# on logins: every test user logs in from 127.0.0.1.
FAST_HASHING = {
    "AUGURY_ARGON2_TIME_COST": "1",
    "AUGURY_ARGON2_MEMORY_KIB": "1024",
    "AUGURY_RATE_LIMIT_PASSWORD_PER_S": "0",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Server:
    """A running ``augury serve`` and what it printed."""

    process: subprocess.Popen[bytes]
    base_url: str
    data_dir: Path
    log: Path
    admin_password: str = ""
    clients: list[httpx.Client] = field(default_factory=list)
    pg: tuple[str, str, str] | None = None
    """PostgreSQL (dsn, journal schema, projections schema), when the server runs on it."""

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def client(self, **kwargs: Any) -> httpx.Client:
        client = httpx.Client(base_url=self.base_url + "/api/v1", timeout=30.0, **kwargs)
        self.clients.append(client)
        return client

    def login(self, username: str, password: str = PASSWORD) -> httpx.Client:
        """A client holding a session cookie and sending the CSRF header."""
        client = self.client()
        response = client.post("/auth/login", json={"username": username, "password": password})
        assert response.status_code == 200, response.text
        client.headers["X-CSRF-Token"] = response.json()["csrf_token"]
        return client

    def user(self, prefix: str = "u") -> tuple[str, httpx.Client]:
        """Register a fresh trader and log it in."""
        username = f"{prefix}{uuid.uuid4().hex[:12]}"
        response = self.client().post(
            "/auth/register", json={"username": username, "password": PASSWORD}
        )
        assert response.status_code == 201, response.text
        return username, self.login(username)

    def admin(self) -> httpx.Client:
        return self.login("admin", self.admin_password)

    def stop(self) -> int:
        for client in self.clients:
            client.close()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        return self.process.returncode


def start_server(
    data_dir: Path,
    *args: str,
    env: dict[str, str] | None = None,
    startup_s: float = STARTUP_S_MAX,
) -> Server:
    port = free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    log = data_dir.parent / f"{data_dir.name}-server-{port}.log"
    environment = {**os.environ, **FAST_HASHING, **(env or {})}
    command = [
        sys.executable,
        "-m",
        "augury.cli",
        "serve",
        "--data-dir",
        str(data_dir),
        "--port",
        str(port),
        *args,
    ]
    with open(log, "wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=environment)
    server = Server(process, f"http://127.0.0.1:{port}", data_dir, log)
    deadline = time.monotonic() + startup_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the server exited with {process.returncode}:\n{server.output()}")
        try:
            if httpx.get(server.base_url + "/api/v1/health", timeout=1.0).status_code == 200:
                break
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    else:
        server.stop()
        raise AssertionError(f"the server did not become healthy:\n{server.output()}")
    found = re.search(r"password: (\S+)", server.output())
    server.admin_password = found.group(1) if found else ""
    return server


def assert_clean_exit(server: Server) -> None:
    """SIGTERM shuts down gracefully (uvicorn then re-raises the signal: exit -15)."""
    code = server.stop()
    assert code in (0, -signal.SIGTERM), server.output()
    assert "Application shutdown complete" in server.output()


def _pg_dsn() -> str:
    dsn = os.environ.get(PG_DSN_ENV, PG_DSN_DEFAULT)
    try:
        with psycopg.connect(dsn, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
        return dsn
    except psycopg.Error as exc:
        reason = f"PostgreSQL unreachable at {dsn} (set {PG_DSN_ENV}): {exc}"
    if os.environ.get("CI"):
        pytest.fail(f"CI is set, so this is a failure, not a skip: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The SQLite server on simulated time, shared by the session."""
    running = start_server(
        tmp_path_factory.mktemp("api") / "data", "--clock", "simulated", "--start", START
    )
    yield running
    assert_clean_exit(running)


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The same server on PostgreSQL (journal and read models in fresh schemas)."""
    dsn = _pg_dsn()
    suffix = uuid.uuid4().hex[:12]
    journal_ns, projections_ns = f"t_api_j_{suffix}", f"t_api_p_{suffix}"
    env = {
        "AUGURY_JOURNAL_NAMESPACE": journal_ns,
        "AUGURY_PROJECTIONS_NAMESPACE": projections_ns,
    }
    running = start_server(
        tmp_path_factory.mktemp("api-pg") / "data",
        "--database-url",
        dsn,
        "--clock",
        "simulated",
        "--start",
        START,
        env=env,
    )
    running.pg = (dsn, journal_ns, projections_ns)
    try:
        yield running
        assert_clean_exit(running)
    finally:
        running.stop()
        with psycopg.connect(dsn, autocommit=True) as conn:
            for namespace in (journal_ns, projections_ns):
                conn.execute(f"DROP SCHEMA IF EXISTS {namespace} CASCADE")


@pytest.fixture(params=["sqlite", "postgres"])
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An empty database for the API's tables, on each backend in turn: a SQLite file,
    or a fresh PostgreSQL schema (dropped afterwards)."""
    if request.param == "sqlite":
        engine = projection_engine(tmp_path / "projections.db")
        yield engine
        engine.dispose()
        return
    dsn, namespace = _pg_dsn(), f"t_api_db_{uuid.uuid4().hex[:12]}"
    engine = projection_engine(dsn, namespace)
    try:
        yield engine
    finally:
        engine.dispose()
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {namespace} CASCADE")


@pytest.fixture(params=["sqlite", "postgres"])
def any_server(request: pytest.FixtureRequest) -> Server:
    """Each backend in turn (for the tests that must hold on both)."""
    name = "server" if request.param == "sqlite" else "pg_server"
    found: Server = request.getfixturevalue(name)
    return found


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """An RFC 9457 problem with a stable code, and never a stack trace."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json"), response.headers
    body: dict[str, Any] = response.json()
    assert body["code"] == code, body
    assert body["status"] == status
    assert {"type", "title", "status", "code", "detail"} <= body.keys()
    assert "Traceback" not in response.text and 'File "' not in response.text
    return body
