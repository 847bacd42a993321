"""The projection contract on PostgreSQL (one schema per projector).

Without a reachable server these skip; with CI set they fail (see conftest.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from augury.projections import Projector

from .conftest import fresh_namespace
from .contract import NewProjector, ProjectionContract


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
