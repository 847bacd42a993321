"""A Jepsen-style fault harness for failover (issue 15), shared by tests/roles/test_failover.py
(a short run) and bench/faults.py (a long one).

A leader and standbys (``augury engine [--standby]``), two API nodes, the projector, a
private NATS server and PostgreSQL (fresh schemas), as real processes. Clients place and
cancel orders with idempotency keys through either node and log every acknowledgement
(with its seq and when it came); a request that failed (503, a dead node) is resent with
the same key, through the other node. A supervisor restarts every engine that exits as a
standby, and every killed API node. Faults: SIGKILL the leader, SIGSTOP it for 3 s then
SIGCONT (the zombie), SIGKILL an API node, restart NATS, terminate the leader's database
connections. :meth:`Harness.check` then proves from the clients' logs and the journal:
every acknowledged command is in the journal exactly once, nothing executed twice, the
chain verifies (``augury verify``), the ledger conserves, and every engine's state equals
a fresh replay of the journal.
"""

from __future__ import annotations

import collections
import itertools
import random
import signal
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import httpx
import psycopg

from augury.engine import replay
from augury.engine.entry import decode_entry
from augury.journal import PostgresJournalStore
from augury.roles.cluster import cluster_status, state_digest
from tests.roles.cluster import Cluster, Role
from tests.transport.helpers import NatsServerProcess

FAULTS = ("kill_leader", "zombie_leader", "kill_api", "restart_nats", "terminate_db")
LEADER_FAULTS = frozenset({"kill_leader", "zombie_leader", "terminate_db"})
ZOMBIE_PAUSE_S = 3.0
REQUEST_TIMEOUT_S = 30.0
RESTART_S = 120.0
OPEN_ORDERS_KEPT = 20
"""A client cancels its oldest open order beyond this many (the account's limit is 1,000)."""


@dataclass
class Ack:
    key: str
    kind: str
    """``place`` or ``cancel``."""
    seq: int
    at: float


@dataclass
class Fault:
    kind: str
    at: float
    target: str
    head: int = 0
    """The journal's head right after the fault was injected."""
    recovered_s: float | None = None
    """From the fault to the first acknowledgement of a command journaled after it (a seq
    past ``head``); None if none came."""


class FailoverCluster(Cluster):
    """A :class:`Cluster` whose engines are named, restartable leaders and standbys."""

    incarnations: collections.Counter[str]

    def _wait(self, role: Role, ready: Any) -> None:
        """The Cluster's wait, but up to RESTART_S: on a loaded machine a restarted node
        replays the whole journal slowly (killed and retried otherwise, never done)."""
        deadline = time.monotonic() + RESTART_S
        try:
            while time.monotonic() < deadline:
                if role.process.poll() is not None:
                    raise AssertionError(f"{role.name} exited {role.process.returncode}")
                if ready():
                    return
                time.sleep(0.1)
            raise AssertionError(f"{role.name} did not start in {RESTART_S} s")
        except AssertionError:
            role.kill(signal.SIGKILL)  # never two incarnations of one name at once
            raise

    def engine_role(self, name: str, standby: bool = True) -> Role:
        if not hasattr(self, "incarnations"):
            self.incarnations = collections.Counter()
        self.incarnations[name] += 1
        args = ["engine", "--node-name", name] + (["--standby"] if standby else [])
        role = self._start(f"{name}.{self.incarnations[name]}", *args)
        self._wait(role, lambda: "standby at seq" in role.output() or _leads(role))
        role.name = name
        return role

    def api_role(self, name: str, port: int = 0) -> Role:
        """An API node (a restart keeps its name and port; its log is its own)."""
        if not hasattr(self, "incarnations"):
            self.incarnations = collections.Counter()
        self.incarnations[name] += 1
        if self.incarnations[name] == 1:
            return self.api(name, port)
        role = self._start(
            f"{name}.{self.incarnations[name]}", "api", "--port", str(port), "--node-name", name
        )
        role.port = port
        self._wait(role, lambda: _healthy(role))
        role.name = name
        return role

    @property
    def namespace(self) -> str:
        return self.env["AUGURY_JOURNAL_NAMESPACE"]

    def lease(self) -> tuple[str, int, bool]:
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            row = conn.execute(
                f"SELECT holder, epoch, expires_at > clock_timestamp() FROM {self.namespace}.lease"
            ).fetchone()
        assert row is not None
        return str(row[0]), int(row[1]), bool(row[2])


def _leads(role: Role) -> bool:
    return "sequencing at seq" in role.output()


def _healthy(role: Role) -> bool:
    try:  # a loaded machine: a node may take a while to answer
        return httpx.get(role.url + "/health", timeout=5.0).status_code == 200
    except httpx.TransportError:
        return False


class Client(threading.Thread):
    """Places orders and cancels its oldest open one beyond ``OPEN_ORDERS_KEPT``, with
    idempotency keys, resending a failed request with the same key through the next
    node, until acknowledged."""

    def __init__(self, harness: Harness, name: str, market: str) -> None:
        super().__init__(daemon=True, name=name)
        self.harness = harness
        self.market = market
        self.acks: list[Ack] = []
        self.failed_requests = 0
        self.unacknowledged: list[str] = []
        self.refused: list[tuple[str, str]] = []
        count = len(harness.apis)
        self._nodes = itertools.cycle(range(count))
        for _ in range(int(name.removeprefix("c")) % count + 1):  # spread over the nodes
            self._node = next(self._nodes)

    def run(self) -> None:
        clients = [
            httpx.Client(headers={"X-API-Key": self.harness.api_key}, timeout=REQUEST_TIMEOUT_S)
            for _ in self.harness.apis
        ]
        open_orders: list[str] = []
        try:
            for i in itertools.count():
                if self.harness.stop_clients.is_set():
                    return
                price = f"0.{1 + i % 40:02d}"
                body = {"market": self.market, "side": "buy", "qty": "1", "price": price}
                key = f"{self.name}-p{i}"
                placed = self._send(clients, "POST", "/orders", body, key, "place")
                if placed is not None:
                    open_orders.append(placed["id"])
                if len(open_orders) > OPEN_ORDERS_KEPT:  # the account's open orders stay bounded
                    path = f"/orders/{open_orders.pop(0)}"
                    self._send(clients, "DELETE", path, None, f"{self.name}-c{i}", "cancel")
        finally:
            for client in clients:
                client.close()

    def _send(
        self,
        clients: list[httpx.Client],
        method: str,
        path: str,
        body: Any,
        key: str,
        kind: str,
    ) -> dict[str, Any] | None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            node = self.harness.apis[self._node]
            try:
                answer = clients[self._node].request(
                    method, node.url + path, json=body, headers={"Idempotency-Key": key}
                )
            except httpx.TransportError:
                answer = None
            if answer is not None and answer.status_code in (200, 201):
                seq = int(answer.headers.get("Augury-Seq", "0"))
                self.acks.append(Ack(key, kind, seq, time.monotonic()))
                return dict(answer.json())
            if answer is not None and answer.status_code != 503:
                self.refused.append((key, f"{answer.status_code} {answer.text[:120]}"))
                return None  # acknowledged as refused: nothing to resend
            self.failed_requests += 1
            self._node = next(self._nodes)  # another node, the same key
            time.sleep(0.1)
            if self.harness.stop_clients.is_set() and time.monotonic() > self.harness.drain_until:
                break
        self.unacknowledged.append(key)
        return None


@dataclass
class Harness:
    cluster: FailoverCluster
    nats: NatsServerProcess
    clients_n: int = 4
    engines: dict[str, Role] = field(default_factory=dict)
    apis: list[Role] = field(default_factory=list)
    api_key: str = ""
    clients: list[Client] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    leaderless: list[float] = field(default_factory=list)
    stop_clients: threading.Event = field(default_factory=threading.Event)
    drain_until: float = 0.0
    restart_failures: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _threads: list[threading.Thread] = field(default_factory=list)

    # -- starting ----------------------------------------------------------------------
    def start(self, standbys: int = 1) -> None:
        cluster = self.cluster
        self.engines["eng-0"] = cluster.engine_role("eng-0", standby=False)
        for i in range(1, standbys + 1):
            self.engines[f"eng-{i}"] = cluster.engine_role(f"eng-{i}")
        cluster.projector()
        self.apis = [cluster.api_role("api-a"), cluster.api_role("api-b")]
        self.api_key = cluster.admin_key(self.apis[0])
        with httpx.Client(
            base_url=self.apis[0].url, headers={"X-API-Key": self.api_key}, timeout=30
        ) as client:
            market = f"m-{uuid.uuid4().hex[:8]}"
            body = {"id": market, "question": "Failover?", "close_time": "2099-01-01T00:00:00Z"}
            created = client.post("/markets", json=body)
            assert created.status_code == 201, created.text
            grant = {"account": "admin", "amount": "10000000", "memo": "faults"}
            granted = client.post("/admin/grants", json=grant)
            assert granted.status_code == 201, granted.text
        self.clients = [Client(self, f"c{i}", market) for i in range(self.clients_n)]
        for target in (self._supervise, self._watch_lease):
            thread = threading.Thread(target=target, daemon=True)
            thread.start()
            self._threads.append(thread)
        for client in self.clients:
            client.start()

    def leader(self) -> Role | None:
        holder, _, live = self.cluster.lease()
        role = self.engines.get(holder)
        return role if live and role is not None and role.process.poll() is None else None

    def _supervise(self) -> None:
        """Restart each engine that exited (as a standby) and each killed API node."""
        while not self._stop.is_set():
            try:
                with self._lock:
                    for name, role in list(self.engines.items()):
                        if role.process.poll() is not None:
                            self.engines[name] = self.cluster.engine_role(name)
                    for i, api in enumerate(self.apis):
                        if api.process.poll() is not None:
                            self.apis[i] = self.cluster.api_role(api.name, api.port)
            except AssertionError as exc:  # it did not start: try again
                self.restart_failures += 1
                print(f"supervisor: {str(exc)[:300]}", file=sys.stderr)
            time.sleep(0.2)

    def _watch_lease(self) -> None:
        """The windows in which no lease was live (by the database's clock)."""
        lapsed_at: float | None = None
        while not self._stop.is_set():
            try:
                _, _, live = self.cluster.lease()
            except psycopg.Error:
                live = True
            now = time.monotonic()
            if not live and lapsed_at is None:
                lapsed_at = now
            elif live and lapsed_at is not None:
                self.leaderless.append(now - lapsed_at)
                lapsed_at = None
            time.sleep(0.05)

    # -- faults ------------------------------------------------------------------------
    def _wait_for_leader(self, timeout_s: float = 30.0) -> Role:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            found = self.leader()
            if found is not None:
                return found
            time.sleep(0.05)
        raise AssertionError("no engine leads")

    def _wait_for_standby(self, timeout_s: float = 60.0) -> None:
        """Until some engine other than the leader is up and following (a restarted one
        takes a few seconds to load on a busy machine)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            status = cluster_status(self.cluster.dsn, self.cluster.namespace)
            ready = [
                m
                for m in status["members"]
                if m["role"] == "standby"
                and m["heartbeat_age_s"] < 2.0
                and self.engines.get(m["name"]) is not None
                and self.engines[m["name"]].process.poll() is None
            ]
            if ready:
                return
            time.sleep(0.2)
        raise AssertionError("no standby is ready")

    def inject(self, kind: str) -> Fault:
        if kind in LEADER_FAULTS:
            self._wait_for_standby()
            target = self._wait_for_leader()
        else:
            target = random.choice(self.apis) if kind == "kill_api" else None
        fault = Fault(kind, time.monotonic(), target.name if target else "nats")
        self.faults.append(fault)
        if kind == "kill_leader" and target is not None:
            target.kill(signal.SIGKILL)
            fault.head = self.head()
        elif kind == "zombie_leader" and target is not None:
            target.process.send_signal(signal.SIGSTOP)
            fault.head = self.head()
            time.sleep(ZOMBIE_PAUSE_S)
            target.process.send_signal(signal.SIGCONT)
        elif kind == "kill_api" and target is not None:
            with self._lock:  # not while the supervisor restarts it
                fault.at = time.monotonic()
                target.kill(signal.SIGKILL)
                fault.head = self.head()
                time.sleep(0.5)
        elif kind == "restart_nats":
            self.nats.kill()
            time.sleep(1.0)
            self.nats.start()
        elif kind == "terminate_db" and target is not None:
            with psycopg.connect(self.cluster.dsn, autocommit=True) as conn:
                conn.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE application_name LIKE %s OR application_name = %s",
                    (f"augury-journal {target.name} %", f"augury-lease {target.name}"),
                )
        if not fault.head:
            fault.head = self.head()
        return fault

    def head(self) -> int:
        with psycopg.connect(self.cluster.dsn, autocommit=True) as conn:
            row = conn.execute(f"SELECT max(seq) FROM {self.cluster.namespace}.journal").fetchone()
        return int(row[0]) if row is not None and row[0] is not None else 0

    def run_faults(
        self, kinds: list[str], every_s: float, log: Callable[[str], None] = print
    ) -> None:
        time.sleep(every_s)
        for kind in kinds:
            fault = self.inject(kind)
            log(f"fault {kind} on {fault.target}")
            time.sleep(every_s)

    # -- ending and checking -----------------------------------------------------------
    def stop_load(self, drain_s: float = 60.0) -> None:
        """Stop the clients (each finishes its command), then wait for the supervisor to
        have every engine and node running again."""
        self.drain_until = time.monotonic() + drain_s
        self.stop_clients.set()
        for client in self.clients:
            client.join(drain_s + 30)
        deadline = time.monotonic() + 2 * RESTART_S
        while any(r.process.poll() is not None for r in [*self.engines.values(), *self.apis]):
            assert time.monotonic() < deadline, "the supervisor did not restart every role"
            time.sleep(0.2)
        self._stop.set()
        for thread in self._threads:
            thread.join(30)

    def acks(self) -> list[Ack]:
        return sorted((a for c in self.clients for a in c.acks), key=lambda a: a.at)

    def measure(self) -> None:
        measure(self.faults, self.acks())

    def check(self) -> dict[str, Any]:
        """Every invariant (AssertionError naming what broke); the figures."""
        cluster = self.cluster
        records = cluster.journal()
        acks = self.acks()
        counts = check_exactly_once((body for _seq, body in records), acks)
        unacked = [k for c in self.clients for k in c.unacknowledged]
        verify_journal(
            ["--database-url", cluster.dsn, "--namespace", cluster.namespace], cluster.env
        )
        api = self.apis[0]
        with httpx.Client(headers={"X-API-Key": self.api_key}, timeout=30) as client:
            ledger = client.get(api.url + "/ledger").json()
        assert ledger["conserved"] is True, ledger
        digests = self.check_replicas()
        return {
            "acknowledged": len(acks),
            "journal_records": len(records),
            "unacknowledged": len(unacked),
            "unacknowledged_in_journal": sum(counts[k] for k in unacked),
            "refused": sum(len(c.refused) for c in self.clients),
            "refused_sample": [why for c in self.clients for _, why in c.refused[:1]][:3],
            "engines_checked": digests,
        }

    def check_replicas(self, timeout_s: float = 60.0) -> int:
        """Each live engine's state (heartbeat digest) equals a fresh replay's."""
        cluster = self.cluster
        with PostgresJournalStore(cluster.dsn, cluster.namespace) as store:
            fresh = replay(store)
        head, digest = fresh.head[0], state_digest(fresh.exchange)
        live = {name for name, role in self.engines.items() if role.process.poll() is None}
        deadline = time.monotonic() + timeout_s
        while True:
            status = cluster_status(cluster.dsn, cluster.namespace)
            engines = {
                m["name"]: m for m in status["members"] if m["role"] in ("leader", "standby")
            }
            ready = [n for n in live if n in engines and engines[n]["state_seq"] == head]
            if len(ready) == len(live):
                break
            assert time.monotonic() < deadline, f"engines never reached seq {head}: {engines}"
            time.sleep(0.5)
        wrong = [n for n in ready if engines[n]["state_sha256"] != digest]
        assert not wrong, f"engines whose state differs from a fresh replay at {head}: {wrong}"
        return len(ready)

    def summary(self, seconds: float) -> dict[str, Any]:
        self.measure()
        times = sorted(f.recovered_s for f in self.faults if f.recovered_s is not None)
        leader = sorted(
            f.recovered_s
            for f in self.faults
            if f.kind in LEADER_FAULTS and f.recovered_s is not None
        )
        return {
            "seconds": round(seconds, 1),
            "clients": len(self.clients),
            "faults": len(self.faults),
            "fault_kinds": dict(collections.Counter(f.kind for f in self.faults)),
            "leader_failover_s": percentiles(leader),
            "any_fault_recovery_s": percentiles(times),
            "never_recovered": [f.kind for f in self.faults if f.recovered_s is None],
            "leaderless_windows": len(self.leaderless),
            "leaderless_s": percentiles(sorted(self.leaderless)),
            "failed_requests": sum(c.failed_requests for c in self.clients),
            "per_fault": [
                {"kind": f.kind, "target": f.target, "recovered_s": f.recovered_s}
                for f in self.faults
            ],
        }

    def close(self) -> None:
        self._stop.set()
        self.stop_clients.set()
        for role in self.engines.values():
            if role.process.poll() is None:
                role.process.send_signal(signal.SIGCONT)


def check_exactly_once(bodies: Iterable[bytes], acks: list[Ack]) -> collections.Counter[str]:
    """How many times each client key is in the journal (the command records' ``bodies``);
    AssertionError unless every acknowledged one is there exactly once, and none twice."""
    counts: collections.Counter[str] = collections.Counter()
    for body in bodies:
        entry = decode_entry(body)
        if entry.key.startswith("h:"):
            counts[entry.key.removeprefix("h:")] += 1
    missing = [a.key for a in acks if counts[a.key] != 1]
    assert not missing, f"acknowledged commands not in the journal exactly once: {missing[:5]}"
    twice = [key for key, n in counts.items() if n > 1]
    assert not twice, f"commands executed twice: {twice[:5]}"
    return counts


def verify_journal(where: list[str], env: dict[str, str] | None = None) -> None:
    """``augury verify`` on the journal ``where`` names passes (chain, checkpoints, replay)."""
    verify = subprocess.run(
        [sys.executable, "-m", "augury.cli", "verify", *where, "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert verify.returncode == 0, verify.stdout + verify.stderr


def measure(faults: list[Fault], acks: list[Ack]) -> None:
    """Each fault's ``recovered_s``: to the first acknowledgement of a command journaled
    after it."""
    for fault in faults:
        after = [a.at for a in acks if a.at >= fault.at and a.seq > fault.head]
        fault.recovered_s = round(min(after) - fault.at, 3) if after else None


def percentiles(values: list[float]) -> dict[str, float | int | None]:
    if not values:
        return {"n": 0, "p50": None, "p99": None, "max": None}
    p99 = values[min(len(values) - 1, round(0.99 * (len(values) - 1)))]
    return {
        "n": len(values),
        "p50": round(statistics.median(values), 3),
        "p99": round(p99, 3),
        "max": round(values[-1], 3),
    }
