"""Several roles starting at once on an empty PostgreSQL database (API nodes and the
projector, ``augury serve --workers``): each migrates the read models; they must take
turns (an advisory lock), not fail on each other's CREATE SCHEMA / CREATE TABLE."""

from __future__ import annotations

import threading
import time

from augury.projections import Projector

from .conftest import fresh_namespace


def test_eight_processes_migrating_one_empty_schema_at_once_all_succeed(
    pg_dsn: str, pg_namespaces: list[str]
) -> None:
    namespace = fresh_namespace()
    pg_namespaces.append(namespace)
    start = threading.Barrier(8)
    errors: list[BaseException] = []
    made: list[Projector] = []

    def migrate() -> None:
        start.wait()
        try:
            made.append(Projector(pg_dsn, namespace=namespace))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=migrate) for _ in range(8)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 120
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    try:
        assert not any(t.is_alive() for t in threads), "migrations deadlocked"
        assert errors == []
        assert len(made) == 8 and all(p.last_seq() == 0 for p in made)
    finally:
        for projector in made:
            projector.close()
