"""Where the read models live: a SQLAlchemy engine for SQLite or PostgreSQL, migrated.

``projection_engine(url, namespace)`` accepts the forms the journal does: a plain path
or ``sqlite:///...`` (one SQLite file, e.g. ``DATA_DIR/projections.db``), or
``postgresql://...`` (one schema per namespace, created if absent; every connection's
``search_path`` is that schema, so the tables, and Alembic's version table, live in it).
Commits need not be durable (SQLite ``synchronous=NORMAL``, PostgreSQL
``synchronous_commit=off``): the read models and their ``last_seq`` commit together, so
losing the last commits in a crash only means re-applying those records from the
journal.

``upgrade(engine)`` runs the Alembic migrations shipped in ``migrations/`` inside one
transaction, through Alembic's API: no ini file, no ``alembic`` command needed.
``run_serialized`` is how every chain of ours runs (these and ``augury.identity.migrate``'s):
several processes starting at once on one database (an engine and API nodes on
PostgreSQL, or ``augury serve --workers N`` on one SQLite file) migrate one after the
other, never side by side: on PostgreSQL the transaction first takes an advisory lock
(``pg_advisory_xact_lock``, released when it ends), on SQLite it begins ``IMMEDIATE``
(the database's write lock). The next process then finds the chain at its head.
"""

from __future__ import annotations

import re
import sqlite3
import time
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
DEFAULT_NAMESPACE = "augury_projections"
"""PostgreSQL schema of the read models when none is given (the journal's is "augury")."""
MIGRATION_LOCK_ID = 0x61756775_72790001
"""The PostgreSQL advisory lock every migration of ours holds (one for the database)."""
MIGRATION_WAIT_S = 120
"""SQLite: how long a migration waits for another process's (PostgreSQL waits on)."""
WAL_AUTOCHECKPOINT_PAGES = 10_000
"""SQLite: pages in the WAL (4 KiB each, ~40 MB) before it is copied back to the database."""
WAL_SWITCH_WAIT_S = 10.0
"""SQLite: how long a connection keeps asking for WAL while others hold the new file."""

_NAMESPACE_RE = re.compile(r"[a-z_][a-z0-9_]{0,62}")
_POSTGRES_PREFIXES = ("postgresql://", "postgres://", "postgresql+psycopg://")
_SQLITE_PREFIX = "sqlite:///"


def projection_engine(url: str | Path, namespace: str = DEFAULT_NAMESPACE) -> Engine:
    """An engine for the read models at ``url`` (see the module docstring); not migrated."""
    text = str(url)
    if text.startswith(_POSTGRES_PREFIXES):
        if not _NAMESPACE_RE.fullmatch(namespace):
            raise ValueError(f"namespace must match [a-z_][a-z0-9_]{{0,62}}, got {namespace!r}")
        rest = text.split("://", 1)[1]
        options = f"-c search_path={namespace} -c synchronous_commit=off"
        engine = create_engine(
            "postgresql+psycopg://" + rest,
            connect_args={"options": options, "connect_timeout": 10},
        )
        with engine.begin() as conn:
            # CREATE SCHEMA IF NOT EXISTS is not safe against another process doing the
            # same at the same moment (a unique violation): serialized like migrations
            _lock(conn)
            conn.exec_driver_sql(f'CREATE SCHEMA IF NOT EXISTS "{namespace}"')
        return engine
    if text.startswith(_SQLITE_PREFIX):
        text = text.removeprefix(_SQLITE_PREFIX)
    elif "://" in text or text.startswith("sqlite:"):
        raise ValueError(f"unsupported projection URL {text!r}: use sqlite:/// or postgresql://")
    if not text:
        raise ValueError("no SQLite file path given")
    engine = create_engine(f"sqlite:///{text}")
    event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Read models are rebuildable from the journal, so NORMAL (no fsync per commit) is
    # enough; WAL lets readers run while the projector writes. The projector rewrites the
    # same pages (balances, positions, candles) in every batch: checkpointing every
    # WAL_AUTOCHECKPOINT_PAGES instead of SQLite's 1,000 copies each of them back to the
    # database file less often (about 8 % less CPU per record at batches of 16).
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA busy_timeout = 10000")
    # Switching a new file to WAL takes an exclusive lock, and SQLite may answer "database
    # is locked" at once rather than wait while other processes open the same new file
    # (migrations of several roles starting together): try again for a while.
    deadline = time.monotonic() + WAL_SWITCH_WAIT_S
    while True:
        try:
            cursor.execute("PRAGMA journal_mode = WAL")
            break
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)
    cursor.execute("PRAGMA synchronous = NORMAL")
    cursor.execute(f"PRAGMA wal_autocheckpoint = {WAL_AUTOCHECKPOINT_PAGES}")
    cursor.close()


def alembic_config() -> Config:
    """Alembic's configuration for the packaged migrations (no ini file)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate the read models of ``engine`` to ``revision`` in one transaction."""
    run_serialized(engine, alembic_config(), revision)


def run_serialized(engine: Engine, config: Config, revision: str = "head") -> None:
    """``alembic upgrade`` of ``config``'s chain in one transaction holding the lock."""
    with engine.connect() as conn:
        waited = None
        if conn.dialect.name == "sqlite":  # wait for the others' migrations, not 10 s
            waited = conn.exec_driver_sql("PRAGMA busy_timeout").scalar()
            conn.exec_driver_sql(f"PRAGMA busy_timeout = {MIGRATION_WAIT_S * 1000}")
            conn.commit()  # (SQLAlchemy began one: nothing is written)
        try:
            with conn.begin():
                _lock(conn)
                config.attributes["connection"] = conn
                command.upgrade(config, revision)
        finally:
            if waited is not None:
                conn.exec_driver_sql(f"PRAGMA busy_timeout = {int(waited)}")
                conn.commit()


def _lock(conn: Connection) -> None:
    """Take the migrations' lock for the rest of ``conn``'s transaction."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK_ID})")
    elif conn.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN IMMEDIATE")
