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

An append is ONE statement, an ``INSERT`` of the whole group into the view
``journal_append_v1``, in its own (implicit) write transaction: a trigger on the view
checks, row by row inside SQLite's write lock, that each record continues the stored
head (seq = head seq + 1, prev_hash = head hash), inserts it into ``journal`` and, for
the group's last row, records the group's seqs in ``meta.last_group`` (what the
torn-tail check may repair). So even a writer that bypassed the flock could not fork
the chain, and the GIL is released and re-taken once per append, not once per
statement of a BEGIN ... COMMIT: behind a busy engine thread each re-take can wait a
whole switch interval (docs/benchmarks.md). A group larger than one statement takes
(``INSERT_ROWS_MAX``) is inserted in chunks inside BEGIN IMMEDIATE ... COMMIT.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import json
import os
import socket
import sqlite3
import threading
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
INSERT_ROWS_MAX = 4_000
"""Rows per INSERT statement: 8 parameters each, within SQLite's default limit of 32,766."""
_NOT_CONTINUING = "augury: the record does not continue the stored head"
"""The trigger's abort message (an IntegrityError); the store then says exactly why."""

# The append path (created by the writer, see _install_append): rows inserted into the
# view go to ``journal`` once the trigger has checked they continue the head; the row
# flagged ``last`` also sets meta.last_group to "group_first,seq". Versioned names: a
# later definition gets new names rather than an IF NOT EXISTS that keeps an old one.
_APPEND_DDL = (
    "CREATE VIEW IF NOT EXISTS journal_append_v1 AS SELECT "
    f"{_COLUMNS}, 0 AS group_first, 0 AS last FROM journal WHERE 0",
    f"""CREATE TRIGGER IF NOT EXISTS journal_append_v1_row
INSTEAD OF INSERT ON journal_append_v1
BEGIN
    SELECT RAISE(ABORT, '{_NOT_CONTINUING}')
    WHERE coalesce((SELECT max(seq) FROM journal), 0) != NEW.seq - 1
       OR NEW.prev_hash IS NOT coalesce(
            (SELECT hash FROM journal WHERE seq = NEW.seq - 1), zeroblob(32));
    INSERT INTO journal ({_COLUMNS})
    VALUES (NEW.seq, NEW.ts_us, NEW.kind, NEW.body, NEW.prev_hash, NEW.hash);
    INSERT OR REPLACE INTO meta (key, value)
    SELECT 'last_group', NEW.group_first || ',' || NEW.seq WHERE NEW.last;
END""",
)


@functools.lru_cache(maxsize=64)
def _insert_sql(rows: int) -> str:
    """``INSERT INTO journal_append_v1 ... VALUES (?,?,?,?,?,?,?,?), ...`` for ``rows`` rows."""
    return f"INSERT INTO journal_append_v1 ({_COLUMNS}, group_first, last) VALUES " + ", ".join(
        ["(?, ?, ?, ?, ?, ?, ?, ?)"] * rows
    )


class SqliteJournalStore(JournalStore):
    """A JournalStore in the SQLite database file at ``path`` (created if absent)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        super().__init__(f"sqlite:{self.path}")
        self._lock_path = self.path.with_name(self.path.name + ".writer-lock")
        self._lock_fd: int | None = None
        # isolation_level=None: no implicit transactions; every write says BEGIN itself.
        # check_same_thread=False: the store may be handed between threads. Reads may
        # come from a worker thread (a follower filling a gap) while another closes the
        # store: closing a connection in the middle of another thread's statement crashes
        # the interpreter, so reads and the close hold ``_using`` (never the writer's
        # appends: one thread writes, and it is the one that closes an engine's store).
        self._using = threading.RLock()
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
        try:
            self._install_append()
        except BaseException:
            self._unlock_writer()
            raise

    def _install_append(self) -> None:
        """Create the append view and its trigger, unless this journal has them (a
        journal written before they existed gets them from its next writer)."""
        conn = self._conn
        found = conn.execute(
            "SELECT count(*) FROM sqlite_master WHERE name IN "
            "('journal_append_v1', 'journal_append_v1_row')"
        ).fetchone()[0]
        if found != len(_APPEND_DDL):
            with self._transaction():
                for statement in _APPEND_DDL:
                    conn.execute(statement)

    def _unlock_writer(self) -> None:
        fd, self._lock_fd = self._lock_fd, None
        if fd is not None:
            # Closing the last descriptor of the open file releases the flock.
            os.close(fd)

    # ------------------------------------------------------------------ journal
    def head(self) -> Head | None:
        with self._using:
            return _head(self._conn)

    def count(self) -> int:
        with self._using:
            return int(self._conn.execute("SELECT count(*) FROM journal").fetchone()[0])

    def _append_group(self, records: Sequence[JournalRecord]) -> None:
        # Multi-row INSERTs through the checking view (see the module docstring): one
        # sqlite3_step per statement, so the GIL is released and re-taken once per
        # INSERT_ROWS_MAX records, not once per record or per statement.
        conn = self._conn
        first = records[0].seq
        try:
            if len(records) <= INSERT_ROWS_MAX:  # one statement, its own transaction
                conn.execute(_insert_sql(len(records)), _row_values(records, first))
            else:
                with self._transaction():
                    for start in range(0, len(records), INSERT_ROWS_MAX):
                        chunk = records[start : start + INSERT_ROWS_MAX]
                        conn.execute(_insert_sql(len(chunk)), _row_values(chunk, first))
        except sqlite3.IntegrityError as exc:
            if _NOT_CONTINUING not in str(exc):
                raise
            # Nothing was written: the head says why (it raises AppendRejected).
            self._check_continues(_head(conn), records[0])
            raise  # continues the head after all: a record inside the group did not

    def _read_batch(self, from_seq: int, to_seq: int, limit: int) -> list[JournalRecord]:
        with self._using:
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
        with self._using:
            row = self._conn.execute(
                "SELECT seq, record_hash, state, state_sha256 FROM snapshots "
                "ORDER BY seq DESC LIMIT 1"
            ).fetchone()
        return None if row is None else Snapshot(*row)

    def snapshot_seqs(self) -> list[int]:
        with self._using:
            rows = self._conn.execute("SELECT seq FROM snapshots ORDER BY seq DESC").fetchall()
        return [int(row[0]) for row in rows]

    def _close(self) -> None:
        with self._using:  # after any read in progress; a later one gets a clear error
            self._conn.close()


def _row_values(records: Sequence[JournalRecord], group_first: int) -> list[object]:
    """The view's parameters for ``records``: each record's columns, the group's first
    seq, and whether it is the group's last row."""
    values: list[object] = []
    for r in records:
        values += (r.seq, r.ts_us, r.kind, r.body, r.prev_hash, r.hash, group_first, 0)
    values[-1] = 1
    return values


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


def writer_lock_holder(path: str | Path) -> str | None:
    """Who holds the writer lock of the SQLite journal at ``path`` (as JournalLocked
    names it), or None: nobody, or no journal yet. It takes a shared lock on the sidecar
    for an instant, so a writer starting at that very moment may find it taken: a check
    for a clear error before starting a writer, never the fence itself."""
    journal = Path(path)
    try:
        fd = os.open(journal.with_name(journal.name + ".writer-lock"), os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return _describe_holder(os.pread(fd, 4096, 0).decode("utf-8", "replace").strip())
    finally:
        os.close(fd)  # closing it gives the shared lock back
    return None


def _describe_holder(stamp: str) -> str:
    """Human description of the lock file's contents (written by the current holder)."""
    try:
        info = json.loads(stamp)
        since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(info["since_unix"])))
        return f"owner {info['owner']!r} (pid {info['pid']} on {info['host']}, since {since})"
    except (ValueError, KeyError, TypeError):
        return "another process (its lock file names no owner yet)"
