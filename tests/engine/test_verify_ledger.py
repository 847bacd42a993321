"""``augury verify`` reports the public ledger of the replayed state (totals, conserved)."""

from __future__ import annotations

import json
from pathlib import Path

import msgspec
import pytest

from augury.cli import main
from augury.domain.ledger_report import report
from augury.engine.verify import verify
from augury.journal import SqliteJournalStore
from tests.projections.journal_builder import build_journal


def test_verify_reports_the_ledger_of_the_replayed_state(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    writer = build_journal(data_dir / "journal.db", commands=60, seed=5)
    expected = report(writer.exchange)
    assert expected.conserved and expected.fees + expected.rounding > 0
    with SqliteJournalStore(data_dir / "journal.db") as store:
        result = verify(store.read())
    assert result.ok and result.ledger == expected

    assert main(["verify", "--data-dir", str(data_dir), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["ledger"] == msgspec.to_builtins(expected)
    assert out["ledger"]["conserved"] is True
    assert isinstance(out["ledger"]["credits_minted"], int)

    assert main(["verify", "--data-dir", str(data_dir)]) == 0
    human = capsys.readouterr().out
    assert f"ledger conserved: {expected.credits_minted} micros minted = " in human
    assert f"{expected.dispute_bonds} dispute bonds" in human
