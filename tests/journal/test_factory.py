"""factory: open_store() picks the backend from the URL."""

from __future__ import annotations

from pathlib import Path

import pytest

from augury.journal import PostgresJournalStore, SqliteJournalStore, open_store


def test_sqlite_urls_and_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    cases: list[tuple[str | Path, Path]] = [
        ("sqlite:///rel.db", Path("rel.db")),
        (f"sqlite:///{tmp_path}/abs.db", tmp_path / "abs.db"),
        (str(tmp_path / "plain.db"), tmp_path / "plain.db"),
        (tmp_path / "path.db", tmp_path / "path.db"),
    ]
    for url, expected in cases:
        with open_store(url) as store:
            assert isinstance(store, SqliteJournalStore) and store.path == expected
        assert expected.exists()


@pytest.mark.parametrize("url", ["mysql://x/y", "sqlite:///", "sqlite:relative.db"])
def test_unsupported_urls(url: str) -> None:
    with pytest.raises(ValueError):
        open_store(url)


def test_postgres_url(pg_dsn: str, pg_namespace: str) -> None:
    with open_store(pg_dsn, namespace=pg_namespace) as store:
        assert isinstance(store, PostgresJournalStore) and store.namespace == pg_namespace
