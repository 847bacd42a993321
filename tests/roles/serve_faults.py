"""A supervised ``augury serve`` on SQLite under load while its server process dies:
the harness of tests/roles/test_serve_supervised.py (short) and bench/serve_faults.py.

``augury serve`` is started as a real process (the supervisor, which holds the port,
and its one child, the server). Clients (tests/roles/faults.py's) place orders with
idempotency keys and cancel the oldest beyond 20 open, logging every acknowledgement and
resending a failed request (a reset connection, a 503) with the same key. Faults:
SIGKILL the server child (:meth:`ServeRun.kill_server`), or make its engine stop by an
error (:meth:`ServeRun.break_engine`: a record appended to the journal behind its back,
as a writer that bypassed the lock would; the engine's next append is refused and the
engine stops for good). After each, the supervisor starts a new server on the same port.
:meth:`ServeRun.check` then proves: every acknowledged command is in the journal exactly
once, none ran twice, ``augury verify`` passes, the ledger conserves.
"""

from __future__ import annotations

import collections
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from augury.journal import KIND_COMMAND, checkpoint_record, load_or_create_key
from tests.api.conftest import FAST_HASHING, free_port
from tests.roles.cluster import Role, admin_key
from tests.roles.faults import (
    Ack,
    Client,
    Fault,
    check_exactly_once,
    measure,
    percentiles,
    verify_journal,
)

START_S = 120.0
"""Longest wait for a (re)started server to serve: a loaded machine is slow."""
NO_LIMITS = {
    "AUGURY_RATE_LIMIT_IP_PER_S": "0",
    "AUGURY_RATE_LIMIT_KEY_PER_S": "0",
    "AUGURY_RATE_LIMIT_PASSWORD_PER_S": "0",
}


def processes() -> dict[int, int]:
    """pid -> parent pid of every process (from /proc)."""
    found: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            found[int(entry.name)] = int(stat.rpartition(")")[2].split()[1])
    return found


def descendants(pid: int) -> set[int]:
    """Every process below ``pid``."""
    children = collections.defaultdict(list)
    for child, parent in processes().items():
        children[parent].append(child)
    found: set[int] = set()
    todo = [pid]
    while todo:
        for child in children[todo.pop()]:
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def alive(pids: set[int]) -> set[int]:
    """Those of ``pids`` still running (a zombie counts as gone)."""
    left = set()
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
        except OSError:
            continue
        if state != "Z":
            left.add(pid)
    return left


@dataclass
class ServeRun:
    """One ``augury serve`` (supervised, SQLite, system clock) and its clients."""

    workdir: Path
    clients_n: int = 4
    args: tuple[str, ...] = ()
    apis: list[Role] = field(default_factory=list)
    """The one server (a Role for the clients of tests/roles/faults.py)."""
    api_key: str = ""
    admin_password: str = ""
    market: str = ""
    clients: list[Client] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    server_pids: list[int] = field(default_factory=list)
    stop_clients: threading.Event = field(default_factory=threading.Event)
    drain_until: float = 0.0

    @property
    def data_dir(self) -> Path:
        return self.workdir / "data"

    @property
    def journal_path(self) -> Path:
        return self.data_dir / "journal.db"

    @property
    def server(self) -> Role:
        return self.apis[0]

    def output(self) -> str:
        return self.server.output()

    # -- starting ----------------------------------------------------------------------
    def start(self, load: bool = True) -> None:
        port = free_port()
        log = self.workdir / "serve.log"
        command = [sys.executable, "-m", "augury.cli", "serve", "--data-dir", str(self.data_dir)]
        command += ["--port", str(port), *self.args]
        with open(log, "ab") as out:
            process = subprocess.Popen(
                command,
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**os.environ, **FAST_HASHING, **NO_LIMITS},
            )
        self.apis = [Role("serve", process, log, port)]
        self.server_pids.append(self.wait_serving())
        found = re.search(r"password: (\S+)", self.output())
        assert found, self.output()
        self.admin_password = found.group(1)
        if load:
            self._start_load()

    def _start_load(self) -> None:
        self.api_key = admin_key(self.server.url, self.admin_password)
        with httpx.Client(base_url=self.server.url, timeout=30) as client:
            client.headers["X-API-Key"] = self.api_key
            self.market = f"m-{uuid.uuid4().hex[:8]}"
            body = {"id": self.market, "question": "Restart?", "close_time": "2099-01-01T00:00:00Z"}
            created = client.post("/markets", json=body)
            assert created.status_code == 201, created.text
            grant = {"account": "admin", "amount": "10000000", "memo": "faults"}
            granted = client.post("/admin/grants", json=grant)
            assert granted.status_code == 201, granted.text
        self.clients = [Client(self, f"c{i}", self.market) for i in range(self.clients_n)]
        for client in self.clients:
            client.start()

    def server_pid(self) -> int | None:
        """The server: the supervisor's child that holds the journal (None between two
        of them). Its lock file names it; a warm spare is a child that does not."""
        children = self.children()
        try:
            stamp = json.loads(self.journal_path.with_name("journal.db.writer-lock").read_text())
        except (OSError, ValueError):
            return None
        pid = int(stamp["pid"])
        return pid if pid in children else None

    def children(self) -> set[int]:
        """The supervisor's live children: the server, and a warm spare if any."""
        parent = self.server.process.pid
        return alive({pid for pid, ppid in processes().items() if ppid == parent})

    def wait_serving(self, not_pid: int | None = None) -> int:
        """Until a server other than ``not_pid`` answers /health; its pid."""
        deadline = time.monotonic() + START_S
        while time.monotonic() < deadline:
            code = self.server.process.poll()
            assert code is None, f"augury serve exited {code}:\n{self.output()}"
            pid = self.server_pid()
            if pid is not None and pid != not_pid:
                try:
                    health = httpx.get(self.server.url + "/health", timeout=5.0)
                except httpx.TransportError:
                    health = None
                serves = health is not None and health.status_code == 200
                # (after a restart: once the supervisor said so too)
                said = self.output().count("serving again") >= len(self.faults)
                if serves and said and self.server_pid() == pid:
                    return pid
            time.sleep(0.05)
        raise AssertionError(f"no server came back in {START_S} s:\n{self.output()}")

    # -- faults ------------------------------------------------------------------------
    def kill_server(self) -> Fault:
        """SIGKILL the server child; returns once the next one serves."""
        pid = self.server_pid()
        assert pid is not None
        fault = Fault("kill_server", time.monotonic(), str(pid))
        os.kill(pid, signal.SIGKILL)
        while alive({pid}):
            time.sleep(0.01)
        fault.head = self.head()
        self.faults.append(fault)
        self.server_pids.append(self.wait_serving(not_pid=pid))
        return fault

    def break_engine(self) -> Fault:
        """Append a valid record (a checkpoint signed with the operator key) behind the
        engine's back: its next append does not continue the stored head, so the engine
        stops by an error; the server must exit and the next one recover. Returns once
        the next one serves."""
        pid = self.server_pid()
        assert pid is not None
        fault = Fault("engine_error", time.monotonic(), str(pid))
        key = load_or_create_key(self.data_dir / "operator.key")
        with sqlite3.connect(self.journal_path, isolation_level=None, timeout=30) as db:
            while True:
                seq, ts_us, digest = db.execute(
                    "SELECT seq, ts_us, hash FROM journal ORDER BY seq DESC LIMIT 1"
                ).fetchone()
                record = checkpoint_record((seq, bytes(digest)), ts_us, key)
                try:  # through the view that checks the record continues the head
                    db.execute(
                        "INSERT INTO journal_append_v1 (seq, ts_us, kind, body, prev_hash, "
                        "hash, group_first, last) VALUES (?, ?, ?, ?, ?, ?, ?, 1)",
                        (record.seq, record.ts_us, record.kind, record.body,
                         record.prev_hash, record.hash, record.seq),
                    )  # fmt: skip
                    break
                except sqlite3.IntegrityError:
                    continue  # the engine appended first: again on the new head
        fault.head = record.seq
        self.faults.append(fault)
        self.server_pids.append(self.wait_serving(not_pid=pid))
        return fault

    def head(self) -> int:
        with sqlite3.connect(f"file:{self.journal_path}?mode=ro", uri=True, timeout=30) as db:
            row = db.execute("SELECT max(seq) FROM journal").fetchone()
        return int(row[0] or 0)

    # -- ending and checking -----------------------------------------------------------
    def stop_load(self, drain_s: float = 60.0) -> None:
        """Stop the clients (each finishes the command it is on)."""
        self.drain_until = time.monotonic() + drain_s
        self.stop_clients.set()
        for client in self.clients:
            client.join(drain_s + 30)

    def acks(self) -> list[Ack]:
        return sorted((a for c in self.clients for a in c.acks), key=lambda a: a.at)

    def check(self) -> dict[str, Any]:
        """Every invariant (AssertionError naming what broke); the figures."""
        acks = self.acks()
        with sqlite3.connect(f"file:{self.journal_path}?mode=ro", uri=True, timeout=30) as db:
            rows = db.execute("SELECT body FROM journal WHERE kind = ?", (KIND_COMMAND,))
            counts = check_exactly_once((bytes(body) for (body,) in rows), acks)
        self.check_first_answers(acks[:: max(1, len(acks) // 20)])
        verify_journal(["--data-dir", str(self.data_dir)])
        with httpx.Client(headers={"X-API-Key": self.api_key}, timeout=30) as client:
            ledger = client.get(self.server.url + "/ledger").json()
        assert ledger["conserved"] is True, ledger
        unacked = [k for c in self.clients for k in c.unacknowledged]
        return {
            "acknowledged": len(acks),
            "unacknowledged": len(unacked),
            "unacknowledged_in_journal": sum(counts[k] for k in unacked),
            "refused": sum(len(c.refused) for c in self.clients),
            "refused_sample": [why for c in self.clients for _, why in c.refused[:1]][:3],
        }

    def check_first_answers(self, acks: list[Ack]) -> None:
        """Resending an acknowledged order with its key is answered with the first
        answer (the same seq and order), not run again."""
        with httpx.Client(headers={"X-API-Key": self.api_key}, timeout=30) as client:
            for ack in (a for a in acks if a.kind == "place"):
                i = int(ack.key.rpartition("-p")[2])  # Client's body for its i-th order
                body = {"market": self.market, "side": "buy", "qty": "1"}
                body["price"] = f"0.{1 + i % 40:02d}"
                again = client.post(
                    self.server.url + "/orders", json=body, headers={"Idempotency-Key": ack.key}
                )
                assert again.status_code in (200, 201), again.text
                assert int(again.headers["Augury-Seq"]) == ack.seq, (ack, again.headers)

    def summary(self) -> dict[str, Any]:
        measure(self.faults, self.acks())
        times = sorted(f.recovered_s for f in self.faults if f.recovered_s is not None)
        return {
            "clients": len(self.clients),
            "faults": len(self.faults),
            "fault_kinds": dict(collections.Counter(f.kind for f in self.faults)),
            "kill_to_first_ack_s": percentiles(times),
            "never_recovered": [f.kind for f in self.faults if f.recovered_s is None],
            "failed_requests": sum(c.failed_requests for c in self.clients),
            "server_pids": len(set(self.server_pids)),
            "per_fault_s": [f.recovered_s for f in self.faults],
        }

    def stop(self, signum: int = signal.SIGTERM, timeout_s: float = 60.0) -> int:
        """Send ``signum`` to the supervisor; its exit status."""
        process = self.server.process
        if process.poll() is None:
            process.send_signal(signum)
            process.wait(timeout_s)
        return process.returncode

    def close(self) -> None:
        """Whatever happened: no process of this run is left."""
        self.stop_clients.set()
        left = descendants(self.server.process.pid) if self.apis else set()
        if self.apis and self.server.process.poll() is None:
            self.server.process.kill()
            self.server.process.wait(10)
        for pid in alive(left):
            os.kill(pid, signal.SIGKILL)
