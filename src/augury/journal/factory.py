"""open_store(): pick a JournalStore backend from a URL or a path.

Accepted forms::

    sqlite:///relative/file.db     SQLite, path relative to the working directory
    sqlite:////abs/path/file.db    SQLite, absolute path (SQLAlchemy's convention)
    /abs/path/file.db, file.db     SQLite (a plain path)
    postgresql://user@host:5432/db PostgreSQL (also postgres:// and postgresql+psycopg://)

The PostgreSQL schema is the ``namespace`` argument, never part of the URL, so the URL
stays a valid libpq connection string.
"""

from __future__ import annotations

from pathlib import Path

from augury.journal.postgres_store import PostgresJournalStore
from augury.journal.sqlite_store import SqliteJournalStore
from augury.journal.store import JournalStore

_SQLITE_PREFIX = "sqlite:///"
_POSTGRES_PREFIXES = ("postgresql://", "postgres://", "postgresql+psycopg://")


def open_store(url: str | Path, *, namespace: str = "augury") -> JournalStore:
    """Open (creating if needed) the journal at ``url``; see the module docstring."""
    if isinstance(url, Path):
        return SqliteJournalStore(url)
    if url.startswith(_SQLITE_PREFIX):
        path = url.removeprefix(_SQLITE_PREFIX)
        if not path:
            raise ValueError(f"no file path in {url!r}")
        return SqliteJournalStore(path)
    if url.startswith(_POSTGRES_PREFIXES):
        dsn = url.replace("postgresql+psycopg://", "postgresql://", 1)
        return PostgresJournalStore(dsn, namespace)
    if "://" in url or url.startswith("sqlite:"):
        raise ValueError(f"unsupported journal URL {url!r}: use sqlite:/// or postgresql://")
    return SqliteJournalStore(url)
