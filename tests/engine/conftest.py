"""Fixtures for the engine tests: one journal per test, on SQLite and on PostgreSQL.

``journal`` is parametrized over both backends. PostgreSQL reuses the journal tests'
fixtures: it skips when the server is unreachable, except under CI, where it fails.
Tests marked ``crash`` (SIGKILL loops, ~1 minute) can be selected with ``-m crash``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from augury.engine import Engine, SimulatedClock, open_engine
from augury.journal import JournalStore, open_store
from tests.engine.workload import T0
from tests.journal.conftest import pg_dsn, pg_namespace

__all__ = ["Journal", "pg_dsn", "pg_namespace"]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "crash: SIGKILL-and-restart tests (about a minute each)")


@dataclass
class Journal:
    """Where one test's journal lives, and helpers to run engines on it."""

    backend: str
    url: str
    namespace: str
    key_path: Path
    engines: list[Engine] = field(default_factory=list)
    stores: list[JournalStore] = field(default_factory=list)

    def store(self) -> JournalStore:
        """A new store object on the journal (closed at teardown)."""
        store = open_store(self.url, namespace=self.namespace)
        self.stores.append(store)
        return store

    def engine(self, clock: Any = None, **options: Any) -> Engine:
        """An engine on the journal (simulated time at T0 by default; closed at teardown)."""
        clock = clock if clock is not None else SimulatedClock(T0)
        source = options.pop("store", self.url)
        engine = open_engine(source, self.key_path, clock, namespace=self.namespace, **options)
        self.engines.append(engine)
        return engine

    def close_all(self) -> None:
        for engine in self.engines:
            engine.close()
        for store in self.stores:
            store.close()


@pytest.fixture(params=["sqlite", "postgres"])
def journal(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Journal]:
    if request.param == "sqlite":
        where = Journal("sqlite", f"sqlite:///{tmp_path / 'journal.db'}", "augury", tmp_path / "k")
    else:
        dsn = request.getfixturevalue("pg_dsn")
        namespace = request.getfixturevalue("pg_namespace")
        where = Journal("postgres", dsn, namespace, tmp_path / "k")
    yield where
    where.close_all()


@pytest.fixture
def sqlite_journal(tmp_path: Path) -> Iterator[Journal]:
    where = Journal("sqlite", f"sqlite:///{tmp_path / 'journal.db'}", "augury", tmp_path / "k")
    yield where
    where.close_all()


def count_appends(store: JournalStore) -> list[int]:
    """Wrap ``store.append`` so each call records its group size in the returned list."""
    sizes: list[int] = []
    append = store.append

    def counting(records: Any, **options: Any) -> None:
        append(records, **options)
        sizes.append(len(records))

    store.append = counting  # type: ignore[method-assign]
    return sizes


def fail_appends(store: JournalStore, after: int = 0) -> Callable[[], int]:
    """Make ``store.append`` raise OSError after ``after`` successful calls."""
    calls = [0]
    append = store.append

    def failing(records: Any, **options: Any) -> None:
        calls[0] += 1
        if calls[0] > after:
            raise OSError("disk on fire")
        append(records, **options)

    store.append = failing  # type: ignore[method-assign]
    return lambda: calls[0]
