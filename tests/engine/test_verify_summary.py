"""``augury verify`` says one thing about checkpoints: a run that fails on a checkpoint
never also reports its checkpoints as signed, a clean run never mentions a failure, and
a journal with no checkpoint does not claim a signature was checked (issue 17)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from augury.domain import commands as dc
from augury.engine import SimulatedClock, open_engine
from augury.engine.verify import Discrepancy, Fault, VerifyReport, checkpoint_summary

START_US = 1_763_078_400_000_000


def _journal(data: Path, *, checkpoint: bool) -> None:
    data.mkdir(parents=True)
    engine = open_engine(data / "journal.db", data / "operator.key", SimulatedClock(START_US))
    try:
        assert engine.submit(dc.OpenAccount("alice")).result().ok
        if checkpoint:
            engine.checkpoint().result()
    finally:
        engine.close()


def _verify(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "augury.cli", "verify", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


def test_a_bad_checkpoint_is_a_failure_and_only_a_failure(tmp_path: Path) -> None:
    data = tmp_path / "data"
    _journal(data, checkpoint=True)
    good = _verify("--data-dir", str(data))
    assert good.returncode == 0, good.stdout + good.stderr
    assert good.stdout.startswith("OK ")
    assert "1 checkpoint signed by the trusted key" in good.stdout
    assert "fail" not in (good.stdout + good.stderr).lower()

    wrong = _verify("--data-dir", str(data), "--trusted-key", "ab" * 32)
    text = wrong.stdout + wrong.stderr
    assert wrong.returncode == 1, text
    assert wrong.stdout.startswith("FAILED ")
    assert "The checkpoint at seq 2 failed: checkpoint signed by untrusted key" in wrong.stdout
    assert "0 checkpoints before it verified" in wrong.stdout
    assert "signed by trusted key" not in text and "signed by the trusted key" not in text
    assert " OK" not in text and not wrong.stdout.startswith("OK")


def test_no_checkpoint_claims_no_signature(tmp_path: Path) -> None:
    data = tmp_path / "data"
    _journal(data, checkpoint=False)
    found = _verify("--data-dir", str(data))
    assert found.returncode == 0, found.stdout + found.stderr
    assert "The journal holds no checkpoint, so no signature was checked." in found.stdout
    assert "signed by" not in found.stdout


def test_the_sentence_follows_the_report() -> None:
    def report(ok: bool, checkpoints: int, fault: Fault | None = None) -> VerifyReport:
        found = None if fault is None else Discrepancy(9, fault, "why")
        return VerifyReport(ok, 8, 6, checkpoints, 8, "00", 0.1, found)

    assert checkpoint_summary(report(True, 2), "k", "here") == (
        "2 checkpoints signed by the trusted key k (here)."
    )
    assert checkpoint_summary(report(True, 1), None).startswith(
        "1 checkpoint checked against their own embedded keys only"
    )
    assert checkpoint_summary(report(False, 2, Fault.BAD_CHECKPOINT), "k") == (
        "The checkpoint at seq 9 failed: why; 2 checkpoints before it verified."
    )
    assert checkpoint_summary(report(False, 2, Fault.REJECTED), "k") == (
        "2 checkpoints before the failure signed by the trusted key k."
    )
