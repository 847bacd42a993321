"""The projection contract on PostgreSQL (one schema per projector).

Without a reachable server these skip; with CI set they fail (see conftest.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import event
from sqlalchemy import exc as sa_exc

from augury.projections import Projector

from .conftest import fresh_namespace
from .contract import NewProjector, ProjectionContract, commands_of, read_all
from .journal_builder import JournalWriter


class TestPostgresProjections(ProjectionContract):
    @pytest.fixture
    def new_projector(self, pg_dsn: str, pg_namespaces: list[str]) -> Iterator[NewProjector]:
        made: list[Projector] = []

        def make(**kwargs: Any) -> Projector:
            pg_namespaces.append(fresh_namespace())
            made.append(Projector(pg_dsn, namespace=pg_namespaces[-1], **kwargs))
            return made[-1]

        yield make
        for projector in made:
            projector.close()


def test_tables_live_in_the_namespace(pg_dsn: str, pg_namespaces: list[str]) -> None:
    pg_namespaces.append(fresh_namespace())
    with Projector(pg_dsn, namespace=pg_namespaces[-1]) as projector:
        assert projector.last_seq() == 0
    with psycopg.connect(pg_dsn) as conn:
        found = conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
            (pg_namespaces[-1],),
        ).fetchall()
    assert {name for (name,) in found} >= {"markets", "orders", "fills", "alembic_version"}


def test_namespace_must_be_a_plain_identifier(pg_dsn: str) -> None:
    with pytest.raises(ValueError, match="namespace"):
        Projector(pg_dsn, namespace='x"; DROP TABLE y; --')


def test_a_connection_lost_between_batches_fails_one_batch_and_is_replaced(
    pg_dsn: str, pg_namespaces: list[str], journal: tuple[Path, JournalWriter]
) -> None:
    """The projector keeps one connection for its batches: if the server drops it (a
    restart, an administrator), the next batch fails and writes nothing, and the one
    after runs on a new connection, as a retry does."""
    items = list(commands_of(read_all(journal[0])))
    pg_namespaces.append(fresh_namespace())
    with Projector(pg_dsn, namespace=pg_namespaces[-1]) as projector:
        checked_out: list[int] = []  # the backends of the connections the projector took
        event.listen(
            projector.engine,
            "checkout",
            lambda dbapi, _record, _proxy: checked_out.append(dbapi.info.backend_pid),
        )
        assert projector.apply_many(items[:5]) == 5
        assert projector.apply_many(items[5:10]) == 10 - 5
        assert len(checked_out) == 1  # one connection for both batches, kept
        with psycopg.connect(pg_dsn, autocommit=True) as admin:
            killed = admin.execute("SELECT pg_terminate_backend(%s)", checked_out).fetchall()
        assert killed == [(True,)]
        with pytest.raises(sa_exc.OperationalError):
            projector.apply_many(items[10:20])
        assert projector.last_seq() == items[9][0]
        assert projector.apply_many(items[10:20]) == 10
        assert projector.last_seq() == items[19][0]
