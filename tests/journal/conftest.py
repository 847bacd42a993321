"""Fixtures for the journal tests: where PostgreSQL is, and a fresh schema per test.

PostgreSQL tests skip (with the reason) when the server is unreachable, except under CI
(the CI environment variable is set), where they fail: CI must not go green by skipping.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import psycopg
import pytest

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
def pg_namespace(pg_dsn: str) -> Iterator[str]:
    """A schema name no other test uses; dropped (with everything in it) afterwards."""
    namespace = f"t_{uuid.uuid4().hex[:16]}"
    yield namespace
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {namespace} CASCADE")
