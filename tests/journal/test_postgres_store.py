"""PostgresJournalStore: the contract, each test in a fresh schema, plus PostgreSQL specifics.

Without a reachable server these skip; with CI set they fail (see conftest.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.pq import Trace

from augury.journal import (
    AppendRejected,
    JournalLocked,
    JournalRecord,
    JournalStore,
    PostgresJournalStore,
)

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


def test_an_append_is_one_round_trip(pg_dsn: str, pg_namespace: str, tmp_path: Path) -> None:
    # The writer releases the GIL at every wait on the socket: one wait per group.
    with PostgresJournalStore(pg_dsn, pg_namespace) as store:
        store.acquire_writer("w")
        store.append(make_chain(3))
        group = make_chain(512, store.head(), body_len=1000)
        messages = [line.split("\t")[2] for line in _traced_append(store, group, tmp_path)]
        assert messages.count("ReadyForQuery") == 1, messages
        assert store.count() == 515


def _traced_append(
    store: PostgresJournalStore, group: list[JournalRecord], tmp_path: Path
) -> list[str]:
    """The libpq protocol trace of ``store.append(group)``: one message a line."""
    trace = tmp_path / "libpq.trace"
    with trace.open("w") as out:
        store._conn.pgconn.trace(out.fileno())
        store._conn.pgconn.set_trace_flags(Trace.SUPPRESS_TIMESTAMPS)
        try:
            store.append(group)
        finally:
            store._conn.pgconn.untrace()
    return trace.read_text().splitlines()


def test_a_rejected_group_reads_as_the_stored_head_says(pg_dsn: str, pg_namespace: str) -> None:
    # The head check runs inside the append statement; the error is the one Python gives.
    with PostgresJournalStore(pg_dsn, pg_namespace) as store:
        store.acquire_writer("w")
        for stored in ([], make_chain(4)):
            if stored:
                store.append(stored)
            head = store.head()
            for group in (
                make_chain(2, (len(stored) + 3, b"\x07" * 32)),  # a gap
                make_chain(2, (len(stored), b"\x07" * 32)),  # a fork
            ):
                with pytest.raises(AppendRejected) as caught:
                    store.append(group)
                with pytest.raises(AppendRejected) as expected:
                    JournalStore._check_continues(head, group[0])
                assert str(caught.value) == str(expected.value)
                assert (caught.value.seq, caught.value.fault) == (
                    expected.value.seq,
                    expected.value.fault,
                )
            assert store.count() == len(stored)


def test_a_journal_created_without_the_append_function_gets_it_on_open(
    pg_dsn: str, pg_namespace: str
) -> None:
    # As a journal made before the function (or before the lease table) existed.
    with PostgresJournalStore(pg_dsn, pg_namespace) as store:
        store.acquire_writer("w")
        store.append(make_chain(2))
        store._conn.execute(f"DROP FUNCTION {pg_namespace}.append_group_v2")
        store._conn.execute(f"DROP TABLE {pg_namespace}.lease")
    with PostgresJournalStore(pg_dsn, pg_namespace) as store:
        store.acquire_writer("w")
        store.append(make_chain(2, store.head()))
        assert store.count() == 4


def test_the_append_is_prepared_once_and_then_only_bound_and_executed(
    pg_dsn: str, pg_namespace: str, tmp_path: Path
) -> None:
    # The append runs through libpq: its statement is prepared on the first append (not
    # after psycopg's prepare_threshold executions), each later group is Bind/Execute.
    with PostgresJournalStore(pg_dsn, pg_namespace) as store:
        store.acquire_writer("w")
        store.append(make_chain(2))
        group = make_chain(2, store.head())
        lines = _traced_append(store, group, tmp_path)
        sent = [line.split("\t")[2] for line in lines if line[:2] == "F\t"]
        assert "Parse" not in sent and "Bind" in sent, sent
        rows = store._conn.execute(
            "SELECT name FROM pg_prepared_statements WHERE statement LIKE '%append_group%'"
        ).fetchall()
        assert rows == [("augury_append_group",)]
        assert [r.seq for r in store.read(1)] == [1, 2, 3, 4]
