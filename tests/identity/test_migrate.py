"""The API's tables under Alembic (``augury.identity.migrate``): fresh, adopted, serialized.

On SQLite and PostgreSQL: a fresh database migrates to exactly the tables the stores
query; a database whose tables the old code's ``create_all`` made (its DDL frozen below,
as it ran) is adopted with its rows; processes migrating one empty database at once
take turns (the lock is shown to be held, then several processes race for real).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, MetaData, inspect

from augury.api import (
    notifications,
    public_keys,  # noqa: F401  (its table joins identity's metadata)
    webhooks,
)
from augury.identity import login_guard, migrate, stored_responses
from augury.identity import store as identity
from augury.identity.store import IdentityStore
from augury.identity.stored_responses import Stored, StoredResponses
from augury.projections import db
from augury.roles import observe_job_rows
from tests.api.conftest import _pg_dsn

SECRET = "a test secret key that is long enough to use"

# What ``metadata.create_all`` of identity, login_guard and stored_responses emitted
# before this chain (SQLite; PostgreSQL differs only by SERIAL, BYTEA and a bare "key").
OLD_DDL = """
CREATE TABLE api_market_meta (market VARCHAR(64) NOT NULL, description TEXT NOT NULL,
 rules TEXT NOT NULL, category VARCHAR(64) NOT NULL, resolution_spec TEXT NOT NULL,
 created_by VARCHAR(32) NOT NULL, PRIMARY KEY (market));
CREATE INDEX ix_api_market_meta_category ON api_market_meta (category);
CREATE TABLE api_users (id INTEGER NOT NULL, username VARCHAR(32) NOT NULL,
 password_hash VARCHAR(200) NOT NULL, roles VARCHAR(200) NOT NULL,
 created_us BIGINT NOT NULL, disabled BOOLEAN NOT NULL, PRIMARY KEY (id), UNIQUE (username));
CREATE TABLE api_keys (id VARCHAR(32) NOT NULL, user_id INTEGER NOT NULL,
 name VARCHAR(100) NOT NULL, prefix VARCHAR(16) NOT NULL, key_hash VARCHAR(64) NOT NULL,
 scopes VARCHAR(100) NOT NULL, created_us BIGINT NOT NULL, revoked_us BIGINT,
 PRIMARY KEY (id), FOREIGN KEY(user_id) REFERENCES api_users (id), UNIQUE (key_hash));
CREATE INDEX ix_api_keys_user ON api_keys (user_id);
CREATE TABLE api_sessions (token_hash VARCHAR(64) NOT NULL, user_id INTEGER NOT NULL,
 created_us BIGINT NOT NULL, expires_us BIGINT NOT NULL, PRIMARY KEY (token_hash),
 FOREIGN KEY(user_id) REFERENCES api_users (id));
CREATE INDEX ix_api_sessions_user ON api_sessions (user_id);
CREATE TABLE api_login_failures (subject VARCHAR(100) NOT NULL, user_id INTEGER NOT NULL,
 failures INTEGER NOT NULL, last_failure_us BIGINT NOT NULL,
 locked_until_us BIGINT NOT NULL, PRIMARY KEY (subject));
CREATE INDEX ix_api_login_failures_user ON api_login_failures (user_id);
CREATE TABLE api_security_notices (id INTEGER NOT NULL, user_id INTEGER NOT NULL,
 kind VARCHAR(32) NOT NULL, detail TEXT NOT NULL, created_us BIGINT NOT NULL,
 PRIMARY KEY (id));
CREATE INDEX ix_api_security_notices_user ON api_security_notices (user_id, id);
CREATE TABLE api_stored_responses (scope VARCHAR(100) NOT NULL, "key" VARCHAR(100) NOT NULL,
 fingerprint VARCHAR(64) NOT NULL, status INTEGER NOT NULL, payload BLOB NOT NULL,
 created_us BIGINT NOT NULL, PRIMARY KEY (scope, "key"));
CREATE INDEX ix_api_stored_responses_created ON api_stored_responses (created_us);
"""
OLD_LOGIN_FAILURES = """
CREATE TABLE api_login_failures (user_id INTEGER NOT NULL, failures INTEGER NOT NULL,
 last_failure_us BIGINT NOT NULL, locked_until_us BIGINT NOT NULL, PRIMARY KEY (user_id));
"""
TABLES = {
    "api_users",
    "api_sessions",
    "api_keys",
    "api_market_meta",
    "api_login_failures",
    "api_security_notices",
    "api_stored_responses",
    "api_observe_jobs",
    "api_key_public_keys",
    "api_notices",
    "api_login_places",
    "api_notification_marks",
    "api_notification_reads",
    "api_notification_settings",
    "api_webhooks",
    "api_webhook_deliveries",
    "api_webhook_attempts",
}


def _old_ddl(dialect: str) -> list[str]:
    text = OLD_DDL
    if dialect == "postgresql":
        text = text.replace("payload BLOB", "payload BYTEA")
        for table in ("api_users", "api_security_notices"):
            text = text.replace(f"TABLE {table} (id INTEGER", f"TABLE {table} (id SERIAL")
    return [statement for statement in text.split(";") if statement.strip()]


def _target() -> MetaData:
    """Every table the stores query, as their modules declare them."""
    union = MetaData()
    for module in (
        identity,
        login_guard,
        stored_responses,
        observe_job_rows,
        notifications,
        webhooks,
    ):
        for table in module.metadata.tables.values():
            table.to_metadata(union)
    return union


def _ours(name: str | None, kind: str, parents: dict[str, str | None]) -> bool:
    """Our tables and their indexes (not the read models', nor the version tables)."""
    if kind == "schema":
        return True
    return name in TABLES if kind == "table" else parents.get("table_name") in TABLES


def _assert_matches_the_stores(engine: Engine) -> None:
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "include_name": _ours}
        )
        diffs = compare_metadata(context, _target())
        heads = conn.exec_driver_sql(f"SELECT version_num FROM {migrate.VERSION_TABLE}").all()
    assert diffs == []
    assert heads == [("0004",)]


def test_a_fresh_database_migrates_to_the_stores_tables(empty_database: Engine) -> None:
    migrate.upgrade(empty_database)
    db.upgrade(empty_database)  # the read models' chain beside it, each with its version table
    migrate.upgrade(empty_database)  # at its head: nothing to do
    _assert_matches_the_stores(empty_database)
    assert inspect(empty_database).has_table("alembic_version")
    store = IdentityStore(empty_database, SECRET, time_cost=1, memory_kib=1024)
    user = store.create_user("ann", store.hash_password("x" * 12), ("trader",))
    assert user is not None and store.session_user(store.create_session(user, 60)) == user


def test_tables_made_by_create_all_are_adopted_with_their_rows(empty_database: Engine) -> None:
    with empty_database.begin() as conn:
        for statement in _old_ddl(empty_database.dialect.name):
            conn.exec_driver_sql(statement)
    old = IdentityStore(empty_database, SECRET, time_cost=1, memory_kib=1024)
    ann = old.create_user("ann", old.hash_password("x" * 12), ("trader",))
    assert ann is not None
    token = old.create_session(ann, 3600)
    key, _ = old.create_api_key(ann, "bot", ("read",)) or ("", None)
    responses = StoredResponses(empty_database, SECRET)
    fingerprint = responses.fingerprint("POST", "/x", b"{}")
    assert responses.save("ann", "k1", fingerprint, Stored(201, {"a": 1}))
    migrate.upgrade(empty_database)
    _assert_matches_the_stores(empty_database)
    store = IdentityStore(empty_database, SECRET, time_cost=1, memory_kib=1024)
    assert store.session_user(token) == ann
    assert store.api_key_user(key) == (ann, ("read",))
    assert StoredResponses(empty_database, SECRET).find("ann", "k1", fingerprint) == Stored(
        201, {"a": 1}
    )
    bob = store.create_user("bob", store.hash_password("y" * 12), ("trader",))
    assert bob is not None and bob.id == ann.id + 1  # the id sequence goes on


def test_the_first_login_failures_table_is_replaced_a_foreign_one_refused(
    empty_database: Engine,
) -> None:
    with empty_database.begin() as conn:
        for statement in _old_ddl(empty_database.dialect.name):
            conn.exec_driver_sql(statement)
        conn.exec_driver_sql("DROP TABLE api_login_failures")
        conn.exec_driver_sql(OLD_LOGIN_FAILURES)
        conn.exec_driver_sql("INSERT INTO api_login_failures VALUES (1, 3, 5, 6)")
    migrate.upgrade(empty_database)
    _assert_matches_the_stores(empty_database)
    with empty_database.begin() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM api_login_failures").scalar() == 0
        conn.exec_driver_sql("DROP TABLE api_stored_responses")
        conn.exec_driver_sql(f"DELETE FROM {migrate.VERSION_TABLE}")
        conn.exec_driver_sql("CREATE TABLE api_stored_responses (scope TEXT, other TEXT)")
    with pytest.raises(RuntimeError, match="api_stored_responses exists without the columns"):
        migrate.upgrade(empty_database)
    with empty_database.connect() as conn:  # one transaction: nothing was half done
        assert conn.exec_driver_sql(f"SELECT count(*) FROM {migrate.VERSION_TABLE}").scalar() == 0


# -- several processes at once ---------------------------------------------------------------
MIGRATE_SCRIPT = """
import sys, time
from pathlib import Path
from augury.identity import migrate
from augury.projections import db
url, namespace, ready, go = sys.argv[1], sys.argv[2], Path(sys.argv[3]), Path(sys.argv[4])
engine = db.projection_engine(url, namespace)
ready.touch()  # imported and connected: a slow start of Python is not the race
while not go.exists():
    time.sleep(0.005)
db.upgrade(engine)
migrate.upgrade(engine)
print("migrated", flush=True)
"""


def _start(url: str, namespace: str, signals: Path, count: int) -> list[subprocess.Popen[str]]:
    """``count`` processes that migrate once ``signals/go`` exists, each having made
    ``signals/ready-<i>`` when it is ready to (see :func:`_ready`)."""
    signals.mkdir(exist_ok=True)
    return [
        subprocess.Popen(
            [sys.executable, "-c", MIGRATE_SCRIPT, url, namespace, *_paths(signals, i)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=os.environ.copy(),
        )
        for i in range(count)
    ]


def _paths(signals: Path, i: int) -> tuple[str, str]:
    return str(signals / f"ready-{i}"), str(signals / "go")


def _ready(signals: Path, processes: list[subprocess.Popen[str]]) -> None:
    deadline = time.monotonic() + 300
    while len(list(signals.glob("ready-*"))) < len(processes):
        assert all(p.poll() is None for p in processes), [p.communicate() for p in processes]
        assert time.monotonic() < deadline
        time.sleep(0.02)


def _all_migrated(processes: list[subprocess.Popen[str]]) -> None:
    for process in processes:
        out, err = process.communicate(timeout=300)
        assert process.returncode == 0, err
        assert out.strip() == "migrated"


@pytest.fixture(params=["sqlite", "postgres"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """(URL, namespace) of a database nothing has touched yet (no schema, no file)."""
    if request.param == "sqlite":
        yield str(tmp_path / "projections.db"), db.DEFAULT_NAMESPACE
        return
    dsn, namespace = _pg_dsn(), f"t_mig_{uuid.uuid4().hex[:12]}"
    yield dsn, namespace
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {namespace} CASCADE")


def test_a_migration_waits_for_the_lock(empty_url: tuple[str, str], tmp_path: Path) -> None:
    """While another transaction holds the migrations' lock, a process cannot migrate."""
    url, namespace = empty_url
    holder = db.projection_engine(url, namespace)
    processes = _start(url, namespace, tmp_path / "signals", 1)
    _ready(tmp_path / "signals", processes)
    with holder.connect() as conn:
        conn.begin()
        db._lock(conn)
        (tmp_path / "signals" / "go").touch()
        time.sleep(3.0)
        assert processes[0].poll() is None  # waiting on the lock
        assert not inspect(conn).has_table("api_users")
        conn.rollback()
    _all_migrated(processes)
    _assert_matches_the_stores(holder)
    holder.dispose()


def test_processes_migrating_one_empty_database_at_once_take_turns(
    empty_url: tuple[str, str], tmp_path: Path
) -> None:
    url, namespace = empty_url
    processes = _start(url, namespace, tmp_path / "signals", 4)
    _ready(tmp_path / "signals", processes)
    (tmp_path / "signals" / "go").touch()
    _all_migrated(processes)
    engine = db.projection_engine(url, namespace)
    _assert_matches_the_stores(engine)
    engine.dispose()
