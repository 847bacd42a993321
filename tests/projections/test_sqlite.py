"""The projection contract on SQLite (one file per projector)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from augury.projections import Projector, row_cache
from augury.projections.db import WAL_AUTOCHECKPOINT_PAGES

from .contract import NewProjector, ProjectionContract, dump, read_all
from .journal_builder import build_journal


class TestSqliteProjections(ProjectionContract):
    @pytest.fixture
    def new_projector(self, tmp_path: Path) -> Iterator[NewProjector]:
        made: list[Projector] = []

        def make(**kwargs: Any) -> Projector:
            made.append(Projector(tmp_path / f"projections{len(made)}.db", **kwargs))
            return made[-1]

        yield make
        for projector in made:
            projector.close()


def test_sqlite_url_forms(tmp_path: Path) -> None:
    with Projector(f"sqlite:///{tmp_path / 'a.db'}") as projector:
        assert projector.last_seq() == 0
    with pytest.raises(ValueError, match="unsupported"):
        Projector("mysql://nope")


@pytest.mark.parametrize(("seed", "cache_rows_max"), [(1, 50_000), (2, 50_000), (3, 40)])
def test_other_random_sessions_project_like_the_exchange(
    tmp_path: Path, seed: int, cache_rows_max: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 40: the row cache overflows (and is dropped) all the time; the rows must not care
    monkeypatch.setattr(row_cache, "CACHE_ROWS_MAX", cache_rows_max)
    writer = build_journal(tmp_path / "journal.db", commands=300, seed=seed)
    records = read_all(tmp_path / "journal.db")
    with (
        Projector(tmp_path / "incremental.db", batch_records=17) as incremental,
        Projector(tmp_path / "rebuilt.db") as rebuilt,
    ):
        incremental.apply_records(records[:100])
        incremental.apply_records(records)
        rebuilt.rebuild(records)
        assert dump(incremental) == dump(rebuilt)
        contract = ProjectionContract()
        contract.test_balances_match_the_ledger((incremental, writer))
        contract.test_positions_match_holdings_and_sell_escrow((incremental, writer))
        contract.test_orders_and_markets_match_the_exchange((incremental, writer))
        contract.test_fills_and_volumes_add_up((incremental, writer))


def test_every_connection_gets_the_read_models_pragmas(tmp_path: Path) -> None:
    """WAL, no fsync per commit (rebuildable), and the larger WAL before a checkpoint."""
    with Projector(tmp_path / "p.db") as projector, projector.engine.connect() as conn:
        pragma = conn.connection.driver_connection.execute  # type: ignore[union-attr]
        assert pragma("PRAGMA journal_mode").fetchone() == ("wal",)
        assert pragma("PRAGMA synchronous").fetchone() == (1,)  # NORMAL
        assert pragma("PRAGMA wal_autocheckpoint").fetchone() == (WAL_AUTOCHECKPOINT_PAGES,)
