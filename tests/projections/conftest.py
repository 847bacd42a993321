"""Fixtures for the projection tests: journals built from domain commands, and targets.

PostgreSQL tests skip (with the reason) when the server is unreachable, except under CI
(the CI environment variable is set), where they fail: CI must not go green by skipping.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from .journal_builder import JournalWriter, build_journal

PG_DSN_ENV = "AUGURY_TEST_PG_DSN"
PG_DSN_DEFAULT = "postgresql://postgres@127.0.0.1:5432/test"


@pytest.fixture(scope="session")
def pg_dsn() -> str:
    dsn = os.environ.get(PG_DSN_ENV, PG_DSN_DEFAULT)
    try:
        with psycopg.connect(dsn, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
        return dsn
    except psycopg.Error as exc:
        reason = f"PostgreSQL unreachable at {dsn} (set {PG_DSN_ENV}): {exc}"
    if os.environ.get("CI"):
        pytest.fail(f"CI is set, so this is a failure, not a skip: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture
def pg_namespaces(pg_dsn: str) -> Iterator[list[str]]:
    """Schema names handed out by a test; each is dropped (with its tables) afterwards."""
    names: list[str] = []
    yield names
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        for name in names:
            conn.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")


@pytest.fixture(scope="session")
def journal(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, JournalWriter]:
    """One journal for the session: the scripted scenario plus random trading."""
    path = tmp_path_factory.mktemp("journal") / "journal.db"
    return path, build_journal(path, commands=400, seed=11)


def fresh_namespace() -> str:
    return f"t_{uuid.uuid4().hex[:16]}"
