"""The terminal demo runs end to end and every invariant holds at its end."""

from __future__ import annotations

import pytest

from augury.cli import main


def test_demo_runs_and_invariants_hold(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "Invariants: all hold" in out
    assert "ledger total 0" in out
    assert "REFUSED chen sells 10 YES he lacks: insufficient_shares" in out
