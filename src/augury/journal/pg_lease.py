"""The journal writer's lease in PostgreSQL: who may write, under which fencing epoch.

One row, ``<namespace>.lease`` (created with the journal's schema): ``holder``,
``epoch``, ``expires_at``. Times are the database server's (``clock_timestamp()``), so
the machines' clocks never have to agree. The rules (docs/failover.md):

- **take** (:meth:`WriterLease.try_acquire`): only once it has expired (or was released),
  in one transaction that locks the row ``FOR UPDATE`` (so it waits for a journal write
  in flight, which holds the row ``FOR KEY SHARE``), bumps ``epoch`` by one and sets the
  expiry. Of two takers racing, the second re-reads the row after the first commits and
  finds it live: exactly one wins. It is refused too while an advisory-lock writer
  (``augury serve`` on PostgreSQL) holds the journal.
- **renew** (:meth:`WriterLease.renew`): only the holder at its epoch, only while live.
  It does not lock the row against writes (a plain no-key update).
- **release** (:meth:`WriterLease.release`): the holder expires it now, so a standby can
  take it at once (a clean shutdown).

Every journal write of a leased writer checks, in its own transaction, that the epoch is
still its own and the lease live (``PostgresJournalStore(epoch=...)``): the fence. A
lease object is not thread-safe; it reconnects after a lost connection on its next call.
"""

from __future__ import annotations

import msgspec
import psycopg
from psycopg import sql

from augury.journal.postgres_store import (
    LEASE_NAME,
    PostgresJournalStore,
    namespace_lock_key,
)

CONNECT_TIMEOUT_S = 2
STATEMENT_TIMEOUT_MS = 2_000
HOLDER_LEN_MAX = 200


class LeaseState(msgspec.Struct, frozen=True):
    """The lease row as read now."""

    holder: str
    epoch: int
    live: bool
    expires_in_s: float
    """Seconds until it expires by the database's clock (negative: expired that long ago)."""


class WriterLease:
    """The lease of the journal in schema ``namespace`` of the database at ``dsn``."""

    def __init__(self, dsn: str, namespace: str, ttl_s: float = 1.0, name: str = "") -> None:
        """``name``: who uses it, in its connection's application_name (for operators)."""
        if not 0.1 <= ttl_s <= 3600:
            raise ValueError(f"a lease lasts 0.1..3600 s, got {ttl_s}")
        self.dsn = dsn
        self.namespace = namespace
        self.ttl_s = ttl_s
        self.application_name = f"augury-lease {name}".strip()[:63]
        PostgresJournalStore(dsn, namespace).close()  # the schema, with the lease row
        self._lock_key = namespace_lock_key(namespace)
        ns = sql.Identifier(namespace)
        row = sql.Literal(LEASE_NAME)
        self._read = sql.SQL(
            "SELECT holder, epoch, expires_at > clock_timestamp(), "
            "extract(epoch FROM expires_at - clock_timestamp())::float8 "
            "FROM {ns}.lease WHERE name = {name}"
        ).format(ns=ns, name=row)
        self._lock = sql.SQL(
            "SELECT expires_at > clock_timestamp(), pg_try_advisory_xact_lock(%s) "
            "FROM {ns}.lease WHERE name = {name} FOR UPDATE"
        ).format(ns=ns, name=row)
        self._take = sql.SQL(
            "UPDATE {ns}.lease SET holder = %s, epoch = epoch + 1, "
            "expires_at = clock_timestamp() + make_interval(secs => %s), "
            "acquired_at = clock_timestamp() WHERE name = {name} RETURNING epoch"
        ).format(ns=ns, name=row)
        self._renew = sql.SQL(
            "UPDATE {ns}.lease SET expires_at = clock_timestamp() + make_interval(secs => %s) "
            "WHERE name = {name} AND holder = %s AND epoch = %s "
            "AND expires_at > clock_timestamp() RETURNING epoch"
        ).format(ns=ns, name=row)
        self._release = sql.SQL(
            "UPDATE {ns}.lease SET expires_at = 'epoch' "
            "WHERE name = {name} AND holder = %s AND epoch = %s"
        ).format(ns=ns, name=row)
        self._conn: psycopg.Connection[tuple[object, ...]] | None = None

    def _connection(self) -> psycopg.Connection[tuple[object, ...]]:
        if self._conn is None or self._conn.closed or self._conn.broken:
            self._conn = psycopg.connect(
                self.dsn,
                autocommit=True,
                connect_timeout=CONNECT_TIMEOUT_S,
                options=f"-c statement_timeout={STATEMENT_TIMEOUT_MS}",
                application_name=self.application_name,
            )
        return self._conn

    def _run(self, query: sql.Composed, params: tuple[object, ...] = ()) -> tuple[object, ...]:
        """One statement; a lost connection is dropped (the next call reconnects)."""
        try:
            row = self._connection().execute(query, params).fetchone()
        except psycopg.OperationalError:
            self.close()
            raise
        return row if row is not None else ()

    def read(self) -> LeaseState:
        holder, epoch, live, expires_in = self._run(self._read)
        assert isinstance(holder, str) and isinstance(epoch, int)
        expires = float(expires_in) if isinstance(expires_in, float) else -1e9
        return LeaseState(holder, epoch, live is True, expires)

    def try_acquire(self, holder: str) -> int | None:
        """Take the lease if it has expired: the new epoch, or None if it is held (or an
        advisory-lock writer holds the journal)."""
        if not 0 < len(holder) <= HOLDER_LEN_MAX:
            raise ValueError(f"holder must be 1..{HOLDER_LEN_MAX} characters")
        conn = self._connection()
        try:
            with conn.transaction():
                row = conn.execute(self._lock, (self._lock_key,)).fetchone()
                if row is None or row[0] is True or row[1] is not True:
                    return None
                taken = conn.execute(self._take, (holder, self.ttl_s)).fetchone()
        except psycopg.OperationalError:
            self.close()
            raise
        assert taken is not None and isinstance(taken[0], int)
        return taken[0]

    def renew(self, holder: str, epoch: int) -> bool:
        """Extend the lease by ``ttl_s`` from now: False if it is no longer ours (taken,
        or expired); raises psycopg.Error if the database cannot be asked."""
        return bool(self._run(self._renew, (self.ttl_s, holder, epoch)))

    def release(self, holder: str, epoch: int) -> None:
        """Expire our lease now (a standby may take it at once); no-op if not ours."""
        conn = self._connection()
        conn.execute(self._release, (holder, epoch))

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
