"""PostgresJournalStore: the contract, each test in a fresh schema, plus PostgreSQL specifics.

Without a reachable server these skip; with CI set they fail (see conftest.py).
"""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from augury.journal import JournalLocked, PostgresJournalStore

from .contract import JournalStoreContract, Location
from .helpers import make_chain


class TestPostgresJournalStore(JournalStoreContract):
    @pytest.fixture
    def location(self, pg_dsn: str, pg_namespace: str) -> Location:
        return Location(pg_dsn, pg_namespace)

    def raw_execute(self, location: Location, statement: str, params: tuple[Any, ...]) -> None:
        text = statement.format(t=f"{location.namespace}.").replace("?", "%s")
        with psycopg.connect(location.url, autocommit=True) as conn:
            conn.execute(text, params)


def test_namespace_must_be_a_plain_identifier(pg_dsn: str) -> None:
    with pytest.raises(ValueError, match="namespace"):
        PostgresJournalStore(pg_dsn, 'x"; DROP TABLE y; --')


def test_commits_are_synchronous(pg_dsn: str, pg_namespace: str) -> None:
    with PostgresJournalStore(pg_dsn, pg_namespace) as store:
        assert store._conn.execute("SHOW synchronous_commit").fetchone() != ("off",)


def test_namespaces_are_separate_journals(pg_dsn: str, pg_namespace: str) -> None:
    other = pg_namespace + "_b"
    try:
        with (
            PostgresJournalStore(pg_dsn, pg_namespace) as first,
            PostgresJournalStore(pg_dsn, other) as second,
        ):
            first.acquire_writer("a")
            second.acquire_writer("b")  # a different lock key
            assert second.head() is None
    finally:
        with psycopg.connect(pg_dsn, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {other} CASCADE")


def test_a_writer_that_lost_its_lock_cannot_append(pg_dsn: str, pg_namespace: str) -> None:
    # As if a connection pooler had reset the session: the lock is gone, the socket is not.
    with (
        PostgresJournalStore(pg_dsn, pg_namespace) as stale,
        PostgresJournalStore(pg_dsn, pg_namespace) as usurper,
    ):
        stale.acquire_writer("stale")
        stale.append(make_chain(3))
        stale._conn.execute("SELECT pg_advisory_unlock_all()")
        usurper.acquire_writer("usurper")
        with pytest.raises(JournalLocked, match="usurper"):
            stale.append(make_chain(1, stale.head()))
        assert usurper.count() == 3
