"""SqliteJournalStore: the contract, plus SQLite's durability settings."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from augury.journal import SchemaError, SqliteJournalStore

from .contract import JournalStoreContract, Location


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
