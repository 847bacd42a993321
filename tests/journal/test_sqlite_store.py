"""SqliteJournalStore: the contract, plus SQLite's durability settings."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from augury.journal import AppendRejected, ChainFault, SchemaError, SqliteJournalStore
from augury.journal.sqlite_store import INSERT_ROWS_MAX

from .contract import JournalStoreContract, Location
from .helpers import make_chain


class TestSqliteJournalStore(JournalStoreContract):
    @pytest.fixture
    def location(self, tmp_path: Path) -> Location:
        return Location(f"sqlite:///{tmp_path / 'journal.db'}", "augury")

    def raw_execute(self, location: Location, statement: str, params: tuple[Any, ...]) -> None:
        path = location.url.removeprefix("sqlite:///")
        conn = sqlite3.connect(path, isolation_level=None)
        try:
            conn.execute(statement.format(t=""), params)
        finally:
            conn.close()


def test_wal_and_full_sync(tmp_path: Path) -> None:
    with SqliteJournalStore(tmp_path / "j.db") as store:
        conn = store._conn
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert conn.execute("PRAGMA synchronous").fetchone() == (2,)  # FULL


def test_lock_file_names_the_holder(tmp_path: Path) -> None:
    with SqliteJournalStore(tmp_path / "j.db") as store:
        store.acquire_writer("engine-7")
        assert b'"owner": "engine-7"' in (tmp_path / "j.db.writer-lock").read_bytes()


def test_unknown_schema_version_is_refused(tmp_path: Path) -> None:
    with SqliteJournalStore(tmp_path / "j.db") as store:
        store._conn.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(SchemaError, match="'99'"):
        SqliteJournalStore(tmp_path / "j.db")


def test_an_append_checks_the_head_inside_sqlite(tmp_path: Path) -> None:
    """Below the store's own checks, the view's trigger still refuses a group that does
    not continue the stored head, and writes nothing of it."""
    with SqliteJournalStore(tmp_path / "j.db") as store:
        store.acquire_writer("test")
        store.append(make_chain(3))
        head = store.head()
        assert head is not None
        with pytest.raises(AppendRejected) as caught:
            store._append_group(make_chain(2, (head[0], b"\x01" * 32)))
        assert (caught.value.seq, caught.value.fault) == (4, ChainFault.BROKEN_LINK)
        with pytest.raises(AppendRejected) as caught:
            store._append_group(make_chain(2, (head[0] + 1, head[1])))
        assert (caught.value.seq, caught.value.fault) == (5, ChainFault.SEQ_GAP)
        assert store.count() == 3
        store._append_group(make_chain(2, head))
        assert store.count() == 5


@pytest.mark.parametrize("size", [7, INSERT_ROWS_MAX + 5])
def test_the_last_group_is_recorded_with_the_append(tmp_path: Path, size: int) -> None:
    with SqliteJournalStore(tmp_path / "j.db") as store:
        store.acquire_writer("test")
        store.append(make_chain(3))
        store.append(make_chain(size, store.head()), hashed=True)
        assert store._last_group() == (4, 3 + size)


def test_a_journal_from_before_the_append_view_gets_it_from_its_next_writer(
    tmp_path: Path,
) -> None:
    path = tmp_path / "j.db"
    with SqliteJournalStore(path) as store:
        store.acquire_writer("old")
        store.append(make_chain(3))
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("DROP VIEW journal_append_v1")  # drops its trigger with it
    conn.close()
    with SqliteJournalStore(path) as reader:  # a reader changes nothing
        assert reader.count() == 3
        names = "SELECT name FROM sqlite_master WHERE name LIKE 'journal_append%'"
        assert reader._conn.execute(names).fetchall() == []
    with SqliteJournalStore(path) as store:
        store.acquire_writer("new")
        store.append(make_chain(2, store.head()))
        assert store.count() == 5
        assert store._last_group() == (4, 5)
