"""A cluster of real role processes for the tests: ``augury engine``, ``augury api``
nodes and ``augury follow --role project`` on PostgreSQL (fresh schemas) and a NATS
server (the machine's, or a private one that a test can restart)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg

from tests.api.conftest import FAST_HASHING, free_port

STARTUP_S = 40.0


@dataclass
class Role:
    name: str
    process: subprocess.Popen[bytes]
    log: Path
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v1"

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def kill(self, signum: int = signal.SIGKILL) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signum)
            if signum in (signal.SIGKILL, signal.SIGTERM):
                try:
                    self.process.wait(20)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait(5)


@dataclass
class Cluster:
    """Roles started by the test; ``stop`` ends them and drops the schemas."""

    workdir: Path
    dsn: str
    nats_url: str
    suffix: str = field(default_factory=lambda: uuid.uuid4().hex[:10])
    roles: list[Role] = field(default_factory=list)
    admin_password: str = ""

    @property
    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            **FAST_HASHING,
            "AUGURY_DATABASE_URL": self.dsn,
            "AUGURY_JOURNAL_NAMESPACE": f"t_roles_j_{self.suffix}",
            "AUGURY_PROJECTIONS_NAMESPACE": f"t_roles_p_{self.suffix}",
            "AUGURY_BUS_PREFIX": f"t{self.suffix}",
            "AUGURY_NATS_URL": self.nats_url,
            "AUGURY_DATA_DIR": str(self.workdir / "data"),
            "AUGURY_RATE_LIMIT_IP_PER_S": "0",
            "AUGURY_RATE_LIMIT_KEY_PER_S": "0",
            "AUGURY_RATE_LIMIT_PASSWORD_PER_S": "0",
        }

    def _start(self, name: str, *args: str, port: int = 0) -> Role:
        log = self.workdir / f"{name}.log"
        with open(log, "ab") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "augury.cli", *args],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=self.env,
            )
        role = Role(name, process, log, port)
        self.roles.append(role)
        return role

    def engine(self) -> Role:
        role = self._start("engine", "engine")
        self._wait(role, lambda: "sequencing at seq" in role.output())
        return role

    def projector(self) -> Role:
        role = self._start("project", "follow", "--role", "project")
        self._wait(role, lambda: "projecting" in role.output())
        return role

    def api(self, name: str, port: int = 0) -> Role:
        port = port or free_port()
        role = self._start(name, "api", "--port", str(port), "--node-name", name, port=port)
        self._wait(role, lambda: _healthy(role))
        found = re.search(r"password: (\S+)", role.output())
        if found:
            self.admin_password = found.group(1)
        return role

    def _wait(self, role: Role, ready: Any) -> None:
        deadline = time.monotonic() + STARTUP_S
        while time.monotonic() < deadline:
            if role.process.poll() is not None:
                raise AssertionError(
                    f"{role.name} exited {role.process.returncode}:\n{role.output()}"
                )
            if ready():
                return
            time.sleep(0.1)
        raise AssertionError(f"{role.name} did not start:\n{role.output()}")

    def admin_key(self, node: Role) -> str:
        return admin_key(node.url, self.admin_password)

    def journal(self) -> list[tuple[int, bytes]]:
        """(seq, body) of every command record, in seq order, read from PostgreSQL."""
        ns = self.env["AUGURY_JOURNAL_NAMESPACE"]
        with psycopg.connect(self.dsn) as conn:
            rows = conn.execute(
                f"SELECT seq, body FROM {ns}.journal WHERE kind = 'command' ORDER BY seq"
            ).fetchall()
        return [(int(seq), bytes(body)) for seq, body in rows]

    def stop(self) -> None:
        for role in reversed(self.roles):
            role.kill(signal.SIGTERM)
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            for key in ("AUGURY_JOURNAL_NAMESPACE", "AUGURY_PROJECTIONS_NAMESPACE"):
                conn.execute(f"DROP SCHEMA IF EXISTS {self.env[key]} CASCADE")


def admin_key(url: str, password: str) -> str:
    """A new API key of the admin (read, trade, admin), made through the API at ``url``."""
    with httpx.Client(base_url=url, timeout=30) as client:
        login = {"username": "admin", "password": password}
        response = client.post("/auth/login", json=login)
        assert response.status_code == 200, response.text
        csrf = {"X-CSRF-Token": response.json()["csrf_token"]}
        body = {"name": "test", "scopes": ["read", "trade", "admin"]}
        response = client.post("/auth/api-keys", json=body, headers=csrf)
        assert response.status_code == 201, response.text
        return str(response.json()["key"])


def _healthy(role: Role) -> bool:
    try:
        return httpx.get(role.url + "/health", timeout=1.0).status_code == 200
    except httpx.TransportError:
        return False
