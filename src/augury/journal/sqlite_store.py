"""The journal in one SQLite file (stdlib sqlite3), for single-host deployments and tests.

Durability: WAL mode with synchronous=FULL. In WAL mode, NORMAL only syncs the WAL at
checkpoints, so a commit survives a process crash but the last transactions can vanish
on power loss or an OS crash; FULL fsyncs the WAL at every commit, so once append()
returns the group is on the medium. Group commit amortises that fsync over the group.

Fencing: an exclusive, non-blocking flock() on the sidecar file ``<db>.writer-lock``,
held from acquire_writer() until release or close. flock locks belong to the open file,
so a second store object in the same process is fenced too, and the kernel drops the
lock when the holder dies, even by SIGKILL. The sidecar names the current holder. Like
SQLite's WAL itself, this needs a local filesystem (not NFS).

Appends also run under BEGIN IMMEDIATE (SQLite's own write lock) and re-read the head
inside the transaction, so even a writer that bypassed the flock could not fork the chain.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import json
import os
import socket
import sqlite3
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from augury.journal.errors import JournalLocked, SchemaError
from augury.journal.records import Head, JournalRecord
from augury.journal.store import SNAPSHOTS_KEPT, JournalStore, Snapshot

SCHEMA_VERSION = "1"
BUSY_TIMEOUT_MS = 10_000
"""How long a statement waits for SQLite's own lock (readers, checkpoints) before failing."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS journal (
    seq INTEGER PRIMARY KEY CHECK (seq >= 1),
    ts_us INTEGER NOT NULL,
    kind TEXT NOT NULL,
    body BLOB NOT NULL,
    prev_hash BLOB NOT NULL,
    hash BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS snapshots (
    seq INTEGER PRIMARY KEY,
    record_hash BLOB NOT NULL,
    state BLOB NOT NULL,
    state_sha256 BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', '1');
"""

_COLUMNS = "seq, ts_us, kind, body, prev_hash, hash"
INSERT_ROWS_MAX = 5_000
"""Rows per INSERT statement: 6 parameters each, within SQLite's default limit of 32,766."""


@functools.lru_cache(maxsize=64)
def _insert_sql(rows: int) -> str:
    """``INSERT INTO journal ... VALUES (?,?,?,?,?,?), ...`` for ``rows`` rows."""
    return f"INSERT INTO journal ({_COLUMNS}) VALUES " + ", ".join(["(?, ?, ?, ?, ?, ?)"] * rows)


class SqliteJournalStore(JournalStore):
    """A JournalStore in the SQLite database file at ``path`` (created if absent)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        super().__init__(f"sqlite:{self.path}")
        self._lock_path = self.path.with_name(self.path.name + ".writer-lock")
        self._lock_fd: int | None = None
        # isolation_level=None: no implicit transactions; every write says BEGIN itself.
        # check_same_thread=False: the store may be handed between threads (one at a time).
        self._conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        try:
            self._configure()
        except BaseException:
            self._conn.close()
            raise

    def _configure(self) -> None:
        conn = self._conn
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if mode != "wal":
            raise SchemaError(f"{self.name}: cannot use WAL mode (got {mode!r})")
        conn.execute("PRAGMA synchronous = FULL")  # see the module docstring
        conn.execute("PRAGMA fullfsync = ON")  # macOS: a real flush, not just to the drive
        exists = conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'meta'").fetchone()
        if exists is None:  # only the first opener takes SQLite's write lock for DDL
            with self._transaction():
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        conn.execute(statement)
        version = self._meta("schema_version")
        if version != SCHEMA_VERSION:
            raise SchemaError(f"{self.name}: unknown journal schema version {version!r}")

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE ... COMMIT, rolled back on any exception."""
        conn = self._conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    def _meta(self, key: str) -> str | None:
        row = self._conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    # ------------------------------------------------------------------ writer lock
    def _lock_writer(self, owner: str) -> None:
        fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 4096, 0).decode("utf-8", "replace").strip()
            os.close(fd)
            raise JournalLocked(self.name, _describe_holder(holder)) from None
        except BaseException:
            os.close(fd)
            raise
        stamp = {
            "owner": owner,
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "since_unix": int(time.time()),
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(stamp).encode() + b"\n", 0)
        self._lock_fd = fd

    def _unlock_writer(self) -> None:
        fd, self._lock_fd = self._lock_fd, None
        if fd is not None:
            # Closing the last descriptor of the open file releases the flock.
            os.close(fd)

    # ------------------------------------------------------------------ journal
    def head(self) -> Head | None:
        return _head(self._conn)

    def count(self) -> int:
        return int(self._conn.execute("SELECT count(*) FROM journal").fetchone()[0])

    def _append_group(self, records: Sequence[JournalRecord]) -> None:
        with self._transaction() as conn:
            self._check_continues(_head(conn), records[0])
            # Multi-row INSERTs: one sqlite3_step per statement, so the GIL is released and
            # re-taken once per INSERT_ROWS_MAX records, not once per record (executemany),
            # which behind a busy engine thread costs a switch interval each time.
            for start in range(0, len(records), INSERT_ROWS_MAX):
                chunk = records[start : start + INSERT_ROWS_MAX]
                values: list[object] = []
                for r in chunk:
                    values += (r.seq, r.ts_us, r.kind, r.body, r.prev_hash, r.hash)
                conn.execute(_insert_sql(len(chunk)), values)
            _set_last_group(conn, (records[0].seq, records[-1].seq))

    def _read_batch(self, from_seq: int, to_seq: int, limit: int) -> list[JournalRecord]:
        rows = self._conn.execute(
            f"SELECT {_COLUMNS} FROM journal WHERE seq >= ? AND seq <= ? ORDER BY seq LIMIT ?",
            (from_seq, to_seq, limit),
        ).fetchall()
        return [JournalRecord(*row) for row in rows]

    def _last_group(self) -> tuple[int, int] | None:
        return _parse_group(self._meta("last_group"))

    def _drop_from(self, seq: int, last_group: tuple[int, int] | None) -> None:
        with self._transaction() as conn:
            conn.execute("DELETE FROM journal WHERE seq >= ?", (seq,))
            conn.execute("DELETE FROM snapshots WHERE seq >= ?", (seq,))
            _set_last_group(conn, last_group)

    # ------------------------------------------------------------------ snapshots
    def _save_snapshot(self, snapshot: Snapshot) -> None:
        with self._transaction() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO snapshots (seq, record_hash, state, state_sha256) "
                "VALUES (?, ?, ?, ?)",
                (snapshot.seq, snapshot.record_hash, snapshot.state, snapshot.state_sha256),
            )
            conn.execute(
                "DELETE FROM snapshots WHERE seq NOT IN "
                "(SELECT seq FROM snapshots ORDER BY seq DESC LIMIT ?)",
                (SNAPSHOTS_KEPT,),
            )

    def _latest_snapshot(self) -> Snapshot | None:
        row = self._conn.execute(
            "SELECT seq, record_hash, state, state_sha256 FROM snapshots ORDER BY seq DESC LIMIT 1"
        ).fetchone()
        return None if row is None else Snapshot(*row)

    def snapshot_seqs(self) -> list[int]:
        rows = self._conn.execute("SELECT seq FROM snapshots ORDER BY seq DESC").fetchall()
        return [int(row[0]) for row in rows]

    def _close(self) -> None:
        self._conn.close()


def _head(conn: sqlite3.Connection) -> Head | None:
    row = conn.execute("SELECT seq, hash FROM journal ORDER BY seq DESC LIMIT 1").fetchone()
    return None if row is None else (int(row[0]), bytes(row[1]))


def _set_last_group(conn: sqlite3.Connection, group: tuple[int, int] | None) -> None:
    if group is None:
        conn.execute("DELETE FROM meta WHERE key = 'last_group'")
    else:
        conn.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES ('last_group', ?)",
            (f"{group[0]},{group[1]}",),
        )


def _parse_group(value: str | None) -> tuple[int, int] | None:
    if value is None:
        return None
    first, _, last = value.partition(",")
    return (int(first), int(last))


def _describe_holder(stamp: str) -> str:
    """Human description of the lock file's contents (written by the current holder)."""
    try:
        info = json.loads(stamp)
        since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(info["since_unix"])))
        return f"owner {info['owner']!r} (pid {info['pid']} on {info['host']}, since {since})"
    except (ValueError, KeyError, TypeError):
        return "another process (its lock file names no owner yet)"
