"""The journal in PostgreSQL (psycopg 3), one schema per journal ("namespace").

Durability: each append() is one transaction committed with synchronous_commit on (the
store turns it on for its session if the server default is off), so the group's WAL is
flushed before COMMIT returns. This also requires the server's ``fsync = on``. That
transaction is a single autocommit statement calling the PL/pgSQL function
``append_group_v2`` (fence, head check, insert, last_group note): one round trip.

Fencing, two ways (one per store object, chosen at open):

- by a **leased epoch** (``epoch=N``; the roles' failover, docs/failover.md): the
  ``lease`` row of the namespace (``pg_lease``) names the writer's epoch and its expiry.
  Every write re-reads that row in its own transaction (``FOR KEY SHARE``, so a takeover,
  which locks the row ``FOR UPDATE``, waits for a write in flight and every later write
  sees the new epoch) and fails with :class:`JournalFenced` unless the epoch is still N
  and the lease has not expired by the database's clock. A paused old leader that wakes
  up cannot write anything, whatever its connection or pooler.
- by a session-level ``pg_try_advisory_lock`` keyed on the namespace (``augury serve``,
  one process): taken on the same connection that performs every write. If the writer
  dies, or its connection drops, the server ends the session and the lock goes with it;
  the store never reconnects by itself. While it holds the lock the session's
  application_name names the owner, so a fenced-off writer can be told who holds it (via
  pg_locks and pg_stat_activity). Such a writer also refuses to write while a lease is
  live, and a lease is never granted while such a writer holds the lock.

Insert order equals commit order: every append re-reads the head inside its transaction
and seq is the primary key, so record N+1 can only be inserted by a transaction that saw
N committed; a concurrent writer (had it slipped past the lock) would hit a unique
violation rather than commit out of order.
"""

from __future__ import annotations

import hashlib
import os
import re
import struct
from collections.abc import Sequence

import psycopg
import psycopg.errors
from psycopg import sql
from psycopg.pq import ExecStatus
from psycopg.pq.abc import PGresult

from augury.journal import pg_arrays
from augury.journal.errors import JournalError, JournalFenced, JournalLocked, SchemaError
from augury.journal.pg_arrays import bytea_array, int8_array, text_array
from augury.journal.records import Head, JournalRecord
from augury.journal.store import SNAPSHOTS_KEPT, JournalStore, Snapshot

SCHEMA_VERSION = "1"
CONNECT_TIMEOUT_S = 10
APPLICATION_NAME_LEN_MAX = 63  # PostgreSQL truncates longer names (NAMEDATALEN - 1)

_NAMESPACE_RE = re.compile(r"[a-z_][a-z0-9_]{0,62}")
_DDL_LOCK_KEY = int.from_bytes(hashlib.sha256(b"augury-journal:ddl").digest()[:8], signed=True)
_COLUMNS = "seq, ts_us, kind, body, prev_hash, hash"

# SQLSTATEs raised by the append function (class "AG" is not used by PostgreSQL).
_SQLSTATE_LOCKED = "AG001"
_SQLSTATE_NOT_CONTINUED = "AG002"
_SQLSTATE_FENCED = "AG003"
_APPEND_FUNCTION = "append_group_v2"
_APPEND_SIGNATURE = "bigint, bigint, bigint[], bigint[], text[], bytea[], bytea[], bytea[], text"
LEASE_NAME = "writer"
_APPEND_NAME = b"augury_append_group"
"""The append statement, prepared once per connection (psycopg names its own _pg3_*)."""
_APPEND_TYPES = (
    pg_arrays.INT8_OID,
    pg_arrays.INT8_OID,
    pg_arrays.INT8_ARRAY_OID,
    pg_arrays.INT8_ARRAY_OID,
    pg_arrays.TEXT_ARRAY_OID,
    pg_arrays.BYTEA_ARRAY_OID,
    pg_arrays.BYTEA_ARRAY_OID,
    pg_arrays.BYTEA_ARRAY_OID,
    pg_arrays.TEXT_OID,
)
_APPEND_FORMATS = (1,) * len(_APPEND_TYPES)  # every parameter in the binary format
_INT8 = struct.Struct(">q").pack
COMMAND_OK = ExecStatus.COMMAND_OK
TUPLES_OK = ExecStatus.TUPLES_OK

_DDL = [
    "CREATE SCHEMA IF NOT EXISTS {ns}",
    """CREATE TABLE IF NOT EXISTS {ns}.journal (
        seq bigint PRIMARY KEY CHECK (seq >= 1),
        ts_us bigint NOT NULL,
        kind text NOT NULL,
        body bytea NOT NULL,
        prev_hash bytea NOT NULL,
        hash bytea NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS {ns}.snapshots (
        seq bigint PRIMARY KEY,
        record_hash bytea NOT NULL,
        state bytea NOT NULL,
        state_sha256 bytea NOT NULL
    )""",
    "CREATE TABLE IF NOT EXISTS {ns}.meta (key text PRIMARY KEY, value text NOT NULL)",
    "INSERT INTO {ns}.meta (key, value) VALUES ('schema_version', '1') ON CONFLICT DO NOTHING",
    # The writer's lease (docs/failover.md): one row, always present; epoch 0 = never led.
    """CREATE TABLE IF NOT EXISTS {ns}.lease (
        name text PRIMARY KEY,
        holder text NOT NULL,
        epoch bigint NOT NULL,
        expires_at timestamptz NOT NULL,
        acquired_at timestamptz NOT NULL
    )""",
    f"""INSERT INTO {{ns}}.lease (name, holder, epoch, expires_at, acquired_at)
        VALUES ('{LEASE_NAME}', '', 0, 'epoch', 'epoch') ON CONFLICT DO NOTHING""",
    # One append in one statement, so in one round trip (see _append_group). Fencing,
    # the head check, the insert and the last_group note run in the statement's own
    # transaction; a failed check raises before anything is written. A NULL epoch is the
    # advisory-lock writer; any other is a leased one.
    f"""CREATE OR REPLACE FUNCTION {{ns}}.{_APPEND_FUNCTION}(
        lock_key bigint, writer_epoch bigint, seqs bigint[], ts bigint[], kinds text[],
        bodies bytea[], prevs bytea[], hashes bytea[], last_group text
    ) RETURNS void LANGUAGE plpgsql AS $fn$
    DECLARE
        head_seq bigint;
        head_hash bytea;
        lease_epoch bigint;
        lease_live boolean;
    BEGIN
        SELECT l.epoch, l.expires_at > clock_timestamp() INTO lease_epoch, lease_live
            FROM {{ns}}.lease AS l WHERE l.name = '{LEASE_NAME}' FOR KEY SHARE;
        IF writer_epoch IS NULL THEN
            IF NOT pg_try_advisory_xact_lock(lock_key) THEN
                RAISE EXCEPTION 'another session holds the journal writer lock'
                    USING ERRCODE = '{_SQLSTATE_LOCKED}';
            END IF;
            IF lease_live THEN
                RAISE EXCEPTION 'a leased writer leads this journal'
                    USING ERRCODE = '{_SQLSTATE_FENCED}', DETAIL = lease_epoch::text;
            END IF;
        ELSIF lease_epoch IS DISTINCT FROM writer_epoch OR lease_live IS NOT TRUE THEN
            RAISE EXCEPTION 'the writer''s lease is no longer current'
                USING ERRCODE = '{_SQLSTATE_FENCED}', DETAIL = coalesce(lease_epoch::text, '');
        END IF;
        SELECT j.seq, j.hash INTO head_seq, head_hash
            FROM {{ns}}.journal AS j ORDER BY j.seq DESC LIMIT 1;
        -- An empty journal's head is (0, 32 zero bytes).
        IF seqs[1] IS DISTINCT FROM coalesce(head_seq, 0) + 1
            OR prevs[1] IS DISTINCT FROM coalesce(head_hash, decode(repeat('00', 32), 'hex'))
        THEN
            RAISE EXCEPTION 'the group does not continue the stored head'
                USING ERRCODE = '{_SQLSTATE_NOT_CONTINUED}',
                      DETAIL = coalesce(head_seq || ':' || encode(head_hash, 'hex'), '');
        END IF;
        INSERT INTO {{ns}}.journal ({_COLUMNS})
            SELECT * FROM unnest(seqs, ts, kinds, bodies, prevs, hashes);
        INSERT INTO {{ns}}.meta (key, value) VALUES ('last_group', last_group)
            ON CONFLICT (key) DO UPDATE SET value = excluded.value;
    END
    $fn$""",
]


def namespace_lock_key(namespace: str) -> int:
    """The signed 64-bit advisory lock key of a namespace."""
    digest = hashlib.sha256(b"augury-journal:writer:" + namespace.encode()).digest()
    return int.from_bytes(digest[:8], signed=True)


class PostgresJournalStore(JournalStore):
    """A JournalStore in schema ``namespace`` of the database at ``dsn`` (created if absent)."""

    def __init__(self, dsn: str, namespace: str = "augury", *, epoch: int | None = None) -> None:
        """``epoch``: write as the holder of the lease at that epoch (see the module
        docstring); None: write under the session advisory lock."""
        if not _NAMESPACE_RE.fullmatch(namespace):
            raise ValueError(f"namespace must match [a-z_][a-z0-9_]{{0,62}}, got {namespace!r}")
        if epoch is not None and epoch < 1:
            raise ValueError(f"a leased epoch is >= 1, got {epoch}")
        self.namespace = namespace
        self.epoch = epoch
        self._lock_key = namespace_lock_key(namespace)
        self._lock_key_bytes = _INT8(self._lock_key)
        self._append_prepared = False
        self._q = _Queries(namespace)
        self._conn = psycopg.connect(dsn, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S)
        info = self._conn.info
        super().__init__(f"postgresql://{info.host}:{info.port}/{info.dbname} [{namespace}]")
        try:
            self._configure()
        except BaseException:
            self._conn.close()
            raise

    def _configure(self) -> None:
        conn = self._conn
        if conn.execute("SHOW synchronous_commit").fetchone() == ("off",):
            conn.execute("SET synchronous_commit = on")  # acknowledged means flushed
        # A journal created before the append function existed gets it here, on open.
        exists = conn.execute(
            "SELECT to_regclass(%s) IS NOT NULL AND to_regclass(%s) IS NOT NULL "
            "AND to_regprocedure(%s) IS NOT NULL",
            (
                f'"{self.namespace}".meta',
                f'"{self.namespace}".lease',
                f'"{self.namespace}".{_APPEND_FUNCTION}({_APPEND_SIGNATURE})',
            ),
        ).fetchone()
        if exists != (True,):
            with conn.transaction():
                # Serialise concurrent creators: CREATE ... IF NOT EXISTS can still race.
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (_DDL_LOCK_KEY,))
                for statement in self._q.ddl:
                    conn.execute(statement)
        version = self._meta("schema_version")
        if version != SCHEMA_VERSION:
            raise SchemaError(f"{self.name}: unknown journal schema version {version!r}")

    def _meta(self, key: str) -> str | None:
        row = self._conn.execute(self._q.meta_get, (key,)).fetchone()
        return None if row is None else str(row[0])

    # ------------------------------------------------------------------ writer lock
    def _lock_writer(self, owner: str) -> None:
        conn = self._conn
        app_name = f"augury-journal {owner} pid={os.getpid()}"[:APPLICATION_NAME_LEN_MAX]
        # Name ourselves first, so whoever is fenced off by our lock can read who we are.
        conn.execute("SELECT set_config('application_name', %s, false)", (app_name,))
        if self.epoch is not None:  # leased: the lease must be ours, now
            epoch, holder, live = self._lease()
            if epoch != self.epoch or not live:
                conn.execute("RESET application_name")
                raise JournalFenced(self.name, self.epoch, epoch, holder)
            return
        row = conn.execute("SELECT pg_try_advisory_lock(%s)", (self._lock_key,)).fetchone()
        if row is None or row[0] is not True:
            conn.execute("RESET application_name")
            raise JournalLocked(self.name, self._describe_holder())
        epoch, holder, live = self._lease()
        if live:
            self._conn.execute("SELECT pg_advisory_unlock(%s)", (self._lock_key,))
            conn.execute("RESET application_name")
            raise JournalLocked(self.name, f"{holder!r} (the lease holder at epoch {epoch})")

    def _lease(self) -> tuple[int, str, bool]:
        """The lease row now: (epoch, holder, live by the database's clock)."""
        row = self._conn.execute(self._q.lease).fetchone()
        assert row is not None, "the lease row is created with the schema"
        return int(row[0]), str(row[1]), bool(row[2])

    def _fenced_error(self) -> JournalError:
        epoch, holder, live = self._lease()
        if self.epoch is None:
            return JournalLocked(self.name, f"{holder!r} (the lease holder at epoch {epoch})")
        return JournalFenced(self.name, self.epoch, epoch, holder if live else "")

    def _describe_holder(self) -> str:
        unsigned = self._lock_key & 0xFFFF_FFFF_FFFF_FFFF
        row = self._conn.execute(
            """SELECT a.pid, a.application_name, a.client_addr::text, a.backend_start
               FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
               WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
                 AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
                 AND l.classid::bigint = %s AND l.objid::bigint = %s""",
            (unsigned >> 32, unsigned & 0xFFFF_FFFF),
        ).fetchone()
        if row is None:
            return "another session (it released the lock or is not visible to this role)"
        pid, app_name, addr, since = row
        connected = f", connected since {since:%Y-%m-%dT%H:%M:%S%z}" if since else ""
        return (
            f"{app_name or 'an unnamed session'!r} (server backend pid {pid}, "
            f"client {addr or 'local socket'}{connected})"
        )

    def _unlock_writer(self) -> None:
        if self._conn.closed:
            return  # the session, and with it the lock, is already gone
        if self.epoch is not None:  # leased: the lease is its keeper's to release
            return
        try:
            self._conn.execute("SELECT pg_advisory_unlock(%s)", (self._lock_key,))
            self._conn.execute("RESET application_name")
        except psycopg.Error:
            self._conn.close()  # ending the session is the sure way to drop the lock
            raise

    # ------------------------------------------------------------------ journal
    def head(self) -> Head | None:
        return self._head(self._conn)

    def _head(self, conn: psycopg.Connection[tuple[object, ...]]) -> Head | None:
        with conn.cursor(binary=True) as cur:
            row = cur.execute(self._q.head).fetchone()
        return None if row is None else _as_head(row)

    def _fenced_head(self, cur: psycopg.Cursor[tuple[object, ...]]) -> Head | None:
        """Inside a write transaction: prove no other session holds the writer lock (a
        transaction-level try-lock on the same key succeeds only then, and is released at
        commit), and read the head, in one round trip."""
        if self.epoch is not None:
            row = cur.execute(self._q.leased_head, (self.epoch,)).fetchone()
            assert row is not None
            if row[0] is not True:
                raise self._fenced_error()
            return None if row[1] is None else _as_head(row[1:])
        row = cur.execute(self._q.fenced_head, (self._lock_key,)).fetchone()
        assert row is not None
        if row[0] is not True:
            raise JournalLocked(self.name, self._describe_holder())
        if row[3] is True:
            raise self._fenced_error()
        return None if row[1] is None else _as_head(row[1:3])

    def count(self) -> int:
        row = self._conn.execute(self._q.count).fetchone()
        assert row is not None
        return int(row[0])

    def _append_group(self, records: Sequence[JournalRecord]) -> None:
        # One statement, one round trip: every time the writer thread waits on the socket
        # it releases the GIL, and getting it back behind a busy engine thread can cost a
        # whole switch interval. The function fences, checks the head, inserts and notes
        # the group in the statement's own (autocommit, synchronous) transaction.
        # The arrays go as binary values built in one go each (pg_arrays), not as lists
        # psycopg would dump element by element; the statement is prepared once on this
        # connection and run through libpq directly (``pgconn``: it waits for the server
        # without the GIL), not through psycopg's cursor layer (query conversion,
        # prepared-statement bookkeeping, result handling: most of the writer thread's
        # fixed cost per group). The same values reach the same function.
        epoch = self.epoch
        params = (
            self._lock_key_bytes,
            None if epoch is None else _INT8(epoch),
            int8_array([r.seq for r in records]),
            int8_array([r.ts_us for r in records]),
            text_array([r.kind for r in records]),
            bytea_array([r.body for r in records]),
            bytea_array([r.prev_hash for r in records]),
            bytea_array([r.hash for r in records]),
            f"{records[0].seq},{records[-1].seq}".encode(),
        )
        conn = self._conn
        with conn.lock:
            if not self._append_prepared:
                self._check(conn.pgconn.prepare(_APPEND_NAME, self._q.append_libpq, _APPEND_TYPES))
                self._append_prepared = True
            # None is a NULL parameter (libpq's NULL pointer), as psycopg itself sends it.
            result = conn.pgconn.exec_prepared(_APPEND_NAME, params, _APPEND_FORMATS)  # type: ignore[arg-type]
        if result.status != TUPLES_OK:
            exc = psycopg.errors.error_from_result(result, conn.info.encoding)
            if exc.sqlstate == _SQLSTATE_LOCKED:
                raise JournalLocked(self.name, self._describe_holder()) from None
            if exc.sqlstate == _SQLSTATE_FENCED:
                raise self._fenced_error() from None
            if exc.sqlstate == _SQLSTATE_NOT_CONTINUED:
                self._check_continues(_parse_head(exc.diag.message_detail), records[0])
            raise exc

    def _check(self, result: PGresult) -> None:
        """Raise the error of a libpq ``result`` that did not succeed."""
        if result.status not in (COMMAND_OK, TUPLES_OK):
            raise psycopg.errors.error_from_result(result, self._conn.info.encoding)

    def _read_batch(self, from_seq: int, to_seq: int, limit: int) -> list[JournalRecord]:
        with self._conn.cursor(binary=True) as cur:
            rows = cur.execute(self._q.read, (from_seq, to_seq, limit)).fetchall()
        return [JournalRecord(*row) for row in rows]

    def _last_group(self) -> tuple[int, int] | None:
        value = self._meta("last_group")
        if value is None:
            return None
        first, _, last = value.partition(",")
        return (int(first), int(last))

    def _drop_from(self, seq: int, last_group: tuple[int, int] | None) -> None:
        conn = self._conn
        with conn.transaction(), conn.cursor(binary=True) as cur:
            self._fenced_head(cur)
            conn.execute(self._q.drop_records, (seq,))
            conn.execute(self._q.drop_snapshots, (seq,))
            if last_group is None:
                conn.execute(self._q.meta_delete, ("last_group",))
            else:
                conn.execute(self._q.meta_set, ("last_group", f"{last_group[0]},{last_group[1]}"))

    # ------------------------------------------------------------------ snapshots
    def _save_snapshot(self, snapshot: Snapshot) -> None:
        conn = self._conn
        with conn.transaction(), conn.cursor(binary=True) as cur:
            self._fenced_head(cur)
            conn.execute(
                self._q.snapshot_put,
                (snapshot.seq, snapshot.record_hash, snapshot.state, snapshot.state_sha256),
            )
            conn.execute(self._q.snapshot_prune, (SNAPSHOTS_KEPT,))

    def _latest_snapshot(self) -> Snapshot | None:
        with self._conn.cursor(binary=True) as cur:
            row = cur.execute(self._q.snapshot_latest).fetchone()
        return None if row is None else Snapshot(*row)

    def snapshot_seqs(self) -> list[int]:
        return [int(row[0]) for row in self._conn.execute(self._q.snapshot_seqs).fetchall()]

    def _close(self) -> None:
        self._conn.close()


class _Queries:
    """Every statement, composed once with the namespace as a quoted identifier."""

    def __init__(self, namespace: str) -> None:
        ns = sql.Identifier(namespace)

        def q(text: str) -> sql.Composed:
            return sql.SQL(text).format(ns=ns)

        self.ddl = [q(statement) for statement in _DDL]
        self.head = q("SELECT seq, hash FROM {ns}.journal ORDER BY seq DESC LIMIT 1")
        self.fenced_head = q(
            "SELECT fence.ok, last.seq, last.hash, "
            "(SELECT expires_at > clock_timestamp() FROM {ns}.lease "
            f"WHERE name = '{LEASE_NAME}' FOR KEY SHARE) "
            "FROM (SELECT pg_try_advisory_xact_lock(%s) AS ok) AS fence LEFT JOIN LATERAL "
            "(SELECT seq, hash FROM {ns}.journal ORDER BY seq DESC LIMIT 1) AS last ON true"
        )
        self.leased_head = q(
            "SELECT l.epoch = %s AND l.expires_at > clock_timestamp(), last.seq, last.hash "
            "FROM {ns}.lease AS l LEFT JOIN LATERAL "
            "(SELECT seq, hash FROM {ns}.journal ORDER BY seq DESC LIMIT 1) AS last ON true "
            f"WHERE l.name = '{LEASE_NAME}' FOR KEY SHARE OF l"
        )
        self.lease = q(
            "SELECT epoch, holder, expires_at > clock_timestamp() FROM {ns}.lease "
            f"WHERE name = '{LEASE_NAME}'"
        )
        self.count = q("SELECT count(*) FROM {ns}.journal")
        # Run through libpq (see _append_group): $n placeholders, types given at prepare.
        self.append_libpq = q(
            f"SELECT {{ns}}.{_APPEND_FUNCTION}($1, $2, $3, $4, $5, $6, $7, $8, $9)"
        ).as_bytes(None)
        self.read = q(
            f"SELECT {_COLUMNS} FROM {{ns}}.journal WHERE seq >= %s AND seq <= %s "
            "ORDER BY seq LIMIT %s"
        )
        self.drop_records = q("DELETE FROM {ns}.journal WHERE seq >= %s")
        self.drop_snapshots = q("DELETE FROM {ns}.snapshots WHERE seq >= %s")
        self.meta_get = q("SELECT value FROM {ns}.meta WHERE key = %s")
        self.meta_set = q(
            "INSERT INTO {ns}.meta (key, value) VALUES (%s, %s) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value"
        )
        self.meta_delete = q("DELETE FROM {ns}.meta WHERE key = %s")
        self.snapshot_put = q(
            "INSERT INTO {ns}.snapshots (seq, record_hash, state, state_sha256) "
            "VALUES (%s, %s, %s, %s) ON CONFLICT (seq) DO UPDATE SET "
            "record_hash = excluded.record_hash, state = excluded.state, "
            "state_sha256 = excluded.state_sha256"
        )
        self.snapshot_prune = q(
            "DELETE FROM {ns}.snapshots WHERE seq NOT IN "
            "(SELECT seq FROM {ns}.snapshots ORDER BY seq DESC LIMIT %s)"
        )
        self.snapshot_seqs = q("SELECT seq FROM {ns}.snapshots ORDER BY seq DESC")
        self.snapshot_latest = q(
            "SELECT seq, record_hash, state, state_sha256 FROM {ns}.snapshots "
            "ORDER BY seq DESC LIMIT 1"
        )


def _as_head(row: Sequence[object]) -> Head:
    seq, digest = row
    assert isinstance(seq, int) and isinstance(digest, bytes)
    return (seq, digest)


def _parse_head(detail: str | None) -> Head | None:
    """The stored head as the append function reports it: "seq:hash hex", or "" if empty."""
    if not detail:
        return None
    seq, _, digest = detail.partition(":")
    return (int(seq), bytes.fromhex(digest))
