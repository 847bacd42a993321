"""Who is in the cluster: heartbeats of the roles, the leader's announcements, the status.

- **Heartbeats** (:class:`Membership`): every engine (leader or standby) and every API
  node upserts one row of ``<journal namespace>.members`` each ``HEARTBEAT_S``: its
  role, the seq its state holds, its epoch, and (engines) the SHA-256 of its state's
  snapshot encoding at ``state_seq`` (computed when the state is quiet or every
  ``DIGEST_EVERY_S``), so anyone can check a standby against a fresh replay. A clean
  stop deletes the row; a dead process's row ages.
- **Announcements**: a new leader publishes ``LeaderNotice`` on ``<prefix>.leader`` once
  it serves; an API node that hears one resends its commands in flight at once (same
  idempotency keys) instead of waiting out their request timeout.
- **Status** (:func:`cluster_status`): the lease, the journal's head and every member
  with its lag: what ``augury cluster status`` prints and ``/health`` summarises.

Only with PostgreSQL (the lease lives there); SQLite is one machine, one process.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import socket
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import msgspec
import psycopg
from psycopg import sql

from augury.domain import snapshot
from augury.domain.exchange import Exchange
from augury.journal.pg_lease import LeaseState, WriterLease
from augury.settings import Settings
from augury.transport import NatsTransport, Transport
from augury.transport.nats_bus import NatsClient

if TYPE_CHECKING:
    from augury.roles.node_engine import NodeEngine

log = logging.getLogger(__name__)

HEARTBEAT_S = 1.0
NUDGE_S = 0.5
NUDGES = 8
"""After an announcement a node resends what is still in flight every NUDGE_S, NUDGES
times: a paused old leader still subscribed to the queue group may hold some resends."""
DIGEST_EVERY_S = 10.0
"""A busy engine's state digest is recomputed at most this often (a quiet one: once)."""
CONNECT_TIMEOUT_S = 2

_DDL = """CREATE TABLE IF NOT EXISTS {ns}.members (
    name text PRIMARY KEY,
    role text NOT NULL,
    host text NOT NULL,
    pid integer NOT NULL,
    seq bigint NOT NULL,
    epoch bigint NOT NULL,
    state_seq bigint NOT NULL,
    state_sha256 text NOT NULL,
    detail text NOT NULL,
    updated_at timestamptz NOT NULL
)"""
_UPSERT = """INSERT INTO {ns}.members (name, role, host, pid, seq, epoch, state_seq,
    state_sha256, detail, updated_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s,
    clock_timestamp()) ON CONFLICT (name) DO UPDATE SET role = excluded.role,
    host = excluded.host, pid = excluded.pid, seq = excluded.seq, epoch = excluded.epoch,
    state_seq = excluded.state_seq, state_sha256 = excluded.state_sha256,
    detail = excluded.detail, updated_at = excluded.updated_at"""


_DDL_LOCK_KEY = int.from_bytes(hashlib.sha256(b"augury-cluster:ddl").digest()[:8], signed=True)


def _create_members(conn: psycopg.Connection[tuple[object, ...]], ddl: sql.Composed) -> None:
    """CREATE TABLE IF NOT EXISTS, serialised: concurrent ones can still collide."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_DDL_LOCK_KEY,))
        conn.execute(ddl)


class Report(msgspec.Struct):
    """What a member says about itself in a heartbeat."""

    role: str
    """``leader``, ``standby`` or ``api``."""
    seq: int
    epoch: int = 0
    state_seq: int = 0
    state_sha256: str = ""
    detail: str = ""


class LeaderNotice(msgspec.Struct, frozen=True):
    holder: str
    epoch: int
    seq: int


def state_digest(exchange: Exchange) -> str:
    """The SHA-256 of the state's snapshot encoding: equal states, equal digests."""
    return hashlib.sha256(snapshot.dump(exchange)).hexdigest()


class Digests:
    """When to recompute a member's state digest: quiet since the last beat, or old."""

    def __init__(self) -> None:
        self.seq = -1
        self.sha256 = ""
        self._last_seen = -1
        self._at = 0.0

    def due(self, seq: int) -> bool:
        quiet = seq == self._last_seen and seq != self.seq
        self._last_seen = seq
        return quiet or (seq != self.seq and time.monotonic() - self._at >= DIGEST_EVERY_S)

    def set(self, seq: int, sha256: str) -> None:
        self.seq, self.sha256, self._at = seq, sha256, time.monotonic()


class Membership:
    """One member's heartbeats into ``<namespace>.members`` (a task on this loop)."""

    def __init__(self, dsn: str, namespace: str, name: str) -> None:
        self.dsn = dsn
        self.name = name
        self.lease = WriterLease(dsn, namespace)
        self.leader: LeaseState | None = None
        """The lease as last read (every heartbeat)."""
        self.on_lease: Callable[[LeaseState], None] | None = None
        """Called on the loop with the lease after each heartbeat."""
        ns = sql.Identifier(namespace)
        self._ddl = sql.SQL(_DDL).format(ns=ns)
        self._upsert = sql.SQL(_UPSERT).format(ns=ns)
        self._delete = sql.SQL("DELETE FROM {ns}.members WHERE name = %s").format(ns=ns)
        self._conn: psycopg.Connection[tuple[object, ...]] | None = None
        self._task: asyncio.Task[None] | None = None
        self._host = socket.gethostname().split(".")[0]

    def _connection(self) -> psycopg.Connection[tuple[object, ...]]:
        if self._conn is None or self._conn.closed or self._conn.broken:
            self._conn = psycopg.connect(
                self.dsn, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S
            )
            _create_members(self._conn, self._ddl)
        return self._conn

    def beat(self, report: Report) -> None:
        """One heartbeat (blocking): upsert our row, read the lease."""
        try:
            self._connection().execute(
                self._upsert,
                (
                    self.name,
                    report.role,
                    self._host,
                    os.getpid(),
                    report.seq,
                    report.epoch,
                    report.state_seq,
                    report.state_sha256,
                    report.detail,
                ),
            )
            self.leader = self.lease.read()
        except psycopg.Error:
            if self._conn is not None:
                self._conn.close()
            raise

    def start(self, report: Callable[[], Report]) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(report))

    async def _run(self, report: Callable[[], Report]) -> None:
        while True:
            try:
                await asyncio.to_thread(self.beat, report())
                if self.on_lease is not None and self.leader is not None:
                    self.on_lease(self.leader)
            except Exception as exc:
                log.warning("heartbeat of %s failed: %s", self.name, exc)
            await asyncio.sleep(HEARTBEAT_S)

    def view(self) -> dict[str, Any] | None:
        """The leader as last seen, for /health."""
        lease = self.leader
        if lease is None:
            return None
        return {"leader": lease.holder, "epoch": lease.epoch, "leader_live": lease.live}

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        with contextlib.suppress(Exception):
            await asyncio.to_thread(self._leave)

    def _leave(self) -> None:
        try:
            self._connection().execute(self._delete, (self.name,))
        finally:
            if self._conn is not None:
                self._conn.close()
            self.lease.close()


def is_postgres(url: str | None) -> bool:
    prefixes = ("postgresql://", "postgres://", "postgresql+psycopg://")
    return url is not None and url.startswith(prefixes)


def dsn_of(settings: Settings) -> str:
    assert settings.database_url is not None
    return settings.database_url.replace("postgresql+psycopg://", "postgresql://", 1)


async def join_cluster(settings: Settings, node: NodeEngine) -> None:
    """An API node's part (PostgreSQL only): heartbeats, and resending its commands in
    flight when a new leader announces itself."""
    if not is_postgres(settings.database_url):
        return
    namespace = settings.journal_namespace
    membership = await asyncio.to_thread(Membership, dsn_of(settings), namespace, node.node)
    membership.start(lambda: Report("api", node.replica.seq, detail=f"resent {node.resent}"))
    node.cluster = membership
    loop = asyncio.get_running_loop()

    def heard(epoch: int) -> None:
        if epoch <= node.leader_epoch:
            return
        client, bus = node.batcher.client, node.bus
        if isinstance(client, NatsClient) and isinstance(bus, NatsTransport):
            client.target = leader_subject(bus, epoch)  # the new leader, never an old one
        node.leader_changed(epoch)
        task = loop.create_task(_nudge(node, epoch))
        _nudging.add(task)
        task.add_done_callback(_nudging.discard)

    def lease_seen(lease: LeaseState) -> None:  # an announcement missed: the lease row
        if lease.live:
            heard(lease.epoch)

    membership.on_lease = lease_seen
    await on_leader(node.bus, lambda notice: heard(notice.epoch))


def leader_subject(bus: NatsTransport, epoch: int) -> str:
    """The subject only the leader of ``epoch`` serves (besides ``<prefix>.cmd``)."""
    return bus.subject("cmd", f"e{epoch}")


_nudging: set[asyncio.Task[None]] = set()


async def _nudge(node: NodeEngine, epoch: int) -> None:
    for _ in range(NUDGES):
        await asyncio.sleep(NUDGE_S)
        if node.leader_epoch != epoch:
            return
        node.resend_pending(f"still unanswered after the leader of epoch {epoch} took over")


# -- the leader's announcements ---------------------------------------------------------
_notice_encoder = msgspec.json.Encoder()
_notice_decoder = msgspec.json.Decoder(LeaderNotice)


async def announce(bus: Transport, notice: LeaderNotice) -> None:
    """Tell every node a new leader serves (best effort: nodes also time out and resend)."""
    if isinstance(bus, NatsTransport):
        with contextlib.suppress(Exception):
            await bus.send(bus.subject("leader"), _notice_encoder.encode(notice))


async def on_leader(bus: Transport, callback: Callable[[LeaderNotice], None]) -> None:
    """Call ``callback`` with each leader announcement heard on ``bus``."""
    if not isinstance(bus, NatsTransport):
        return

    async def receive(msg: Any) -> None:
        try:
            notice = _notice_decoder.decode(msg.data)
        except msgspec.DecodeError:
            log.warning("refused an undecodable leader announcement")
            return
        callback(notice)

    await bus.nc.subscribe(bus.subject("leader"), cb=receive)


# -- the status -------------------------------------------------------------------------
def cluster_status(dsn: str, namespace: str) -> dict[str, Any]:
    """The lease, the journal's head and each member with its lag (blocking)."""
    lease = WriterLease(dsn, namespace)
    try:
        state = lease.read()
    finally:
        lease.close()
    ns = sql.Identifier(namespace)
    with psycopg.connect(dsn, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S) as conn:
        _create_members(conn, sql.SQL(_DDL).format(ns=ns))
        row = conn.execute(sql.SQL("SELECT max(seq) FROM {ns}.journal").format(ns=ns)).fetchone()
        head = int(row[0]) if row is not None and row[0] is not None else 0
        rows = conn.execute(
            sql.SQL(
                "SELECT name, role, host, pid, seq, epoch, state_seq, state_sha256, detail, "
                "extract(epoch FROM clock_timestamp() - updated_at)::float8 "
                "FROM {ns}.members ORDER BY role, name"
            ).format(ns=ns)
        ).fetchall()
    members = [
        {
            "name": name,
            # a leader's row outlives its lease if it died: say so
            "role": role if role != "leader" or (state.live and name == state.holder) else "fenced",
            "host": host,
            "pid": pid,
            "seq": seq,
            "lag": max(0, head - int(seq)),
            "epoch": epoch,
            "state_seq": state_seq,
            "state_sha256": sha,
            "detail": detail,
            "heartbeat_age_s": round(float(age), 3),
        }
        for name, role, host, pid, seq, epoch, state_seq, sha, detail, age in rows
    ]
    return {
        "leader": state.holder if state.live else None,
        "epoch": state.epoch,
        "lease_live": state.live,
        "lease_expires_in_s": round(state.expires_in_s, 3),
        "journal_head": head,
        "members": members,
    }
