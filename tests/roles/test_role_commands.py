"""The role commands from outside: one clear line when the bus or the database cannot be
reached; ``augury serve --workers N``: N API nodes on one port, stopped together."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.api.conftest import FAST_HASHING, free_port
from tests.transport.helpers import NatsServerProcess


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "augury.cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
    )


@pytest.mark.parametrize("role", [["engine"], ["api"], ["follow", "--role", "project"]])
def test_an_unreachable_bus_is_one_line_naming_the_url(role: list[str], tmp_path: Path) -> None:
    port = free_port()  # nothing listens there
    done = _run(*role, "--data-dir", str(tmp_path), "--nats-url", f"nats://127.0.0.1:{port}")
    assert done.returncode == 2, done
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and f"127.0.0.1:{port}" in lines[0], done.stderr


def test_an_unreachable_database_is_one_line_naming_it(tmp_path: Path) -> None:
    nats = NatsServerProcess(tmp_path / "nats")
    nats.start()
    try:
        port = free_port()
        url = f"postgresql://postgres:secret@127.0.0.1:{port}/test"
        done = _run("api", "--database-url", url, "--nats-url", nats.url)
    finally:
        nats.kill()
    assert done.returncode == 2, done
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and f"127.0.0.1:{port}" in lines[0], done.stderr
    assert "secret" not in done.stderr  # the password is not printed


def test_a_role_without_a_bus_says_how_to_give_one(tmp_path: Path) -> None:
    done = _run("engine", "--data-dir", str(tmp_path), env={"AUGURY_NATS_URL": ""})
    assert done.returncode == 2 and "--nats-url" in done.stderr


@pytest.fixture
def nats(tmp_path: Path) -> Iterator[NatsServerProcess]:
    server = NatsServerProcess(tmp_path / "nats")
    server.start()
    yield server
    server.kill()


def test_serve_with_workers_runs_the_roles_on_one_port(
    tmp_path: Path, nats: NatsServerProcess
) -> None:
    port = free_port()
    log = tmp_path / "serve.log"
    args = ["serve", "--workers", "2", "--nats-url", nats.url, "--port", str(port)]
    args += ["--data-dir", str(tmp_path / "data")]
    env = {**os.environ, **FAST_HASHING}
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "augury.cli", *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
    try:
        nodes: set[str] = set()
        deadline = time.monotonic() + 180
        while len(nodes) < 2 and time.monotonic() < deadline:
            try:
                answer = httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=2)
                if answer.status_code == 200:
                    nodes.add(answer.json()["node"]["node"])
                    continue
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        assert nodes == {"api-1", "api-2"}, log.read_text()
        assert "password: " in log.read_text()  # one node made the first admin
        children = _children(process.pid)
        assert len(children) >= 6  # engine, project, watch, observe, 2 API nodes
    finally:
        process.send_signal(signal.SIGTERM)
        code = process.wait(60)
    assert code == 0, log.read_text()
    assert not [pid for pid in children if Path(f"/proc/{pid}").exists()]  # none left


def _children(pid: int) -> list[int]:
    found = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True)
    return [int(line) for line in found.stdout.split()]
