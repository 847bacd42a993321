"""The ``augury`` command line: help, one-line errors without tracebacks, --json output."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from augury.cli import EXIT_ERROR, main
from augury.journal import PostgresJournalStore, SqliteJournalStore
from tests.projections.conftest import fresh_namespace, pg_dsn, pg_namespaces
from tests.projections.journal_builder import build_journal

__all__ = ["pg_dsn", "pg_namespaces"]  # fixtures, re-exported for this module


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("data")
    build_journal(path / "journal.db", commands=60, seed=5)
    return path


def test_help_lists_the_commands(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for command in ("demo", "verify", "export", "rebuild-projections"):
        assert command in out
    assert main(["verify", "--help"]) == 0
    assert "--trusted-key" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["verify", "/nonexistent/journal.aug"], "no export file at /nonexistent/journal.aug"),
        (["verify"], "give exactly one journal source, got nothing"),
        (["verify", "x.aug", "--data-dir", "/tmp"], "got FILE and --data-dir"),
        (["verify", "--data-dir", "/nonexistent"], "no journal at /nonexistent/journal.db"),
        (["export", "out.aug"], "give exactly one of --data-dir or --database-url"),
        (["verify", "--database-url", "mysql://x/y"], "must be a postgresql:// URL"),
        (["rebuild-projections", "--data-dir", "/nonexistent"], "no journal at"),
    ],
)
def test_errors_are_one_line_without_traceback(
    argv: list[str], expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == EXIT_ERROR
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in captured.err + captured.out
    assert lines[0].startswith(f"augury {argv[0]}: error: ") and expected in lines[0]


def test_an_unreachable_database_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    url = "postgresql://postgres@127.0.0.1:1/nowhere"
    assert main(["verify", "--database-url", url, "--json"]) == EXIT_ERROR
    captured = capsys.readouterr()
    assert len(captured.err.strip().splitlines()) == 1 and "Traceback" not in captured.err
    assert json.loads(captured.out)["ok"] is False


def test_bad_options_are_refused(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["verify", "--data-dir", str(data_dir), "--trusted-key", "abc"]
    assert main(argv) == EXIT_ERROR
    assert "64 lowercase hex" in capsys.readouterr().err
    for argv, expected in (
        (["verify", "--no-such-option"], "augury verify: error: No such option: --no-such-option"),
        (["no-such-command"], "augury: error: No such command 'no-such-command'"),
        (["export"], "augury export: error: Missing argument 'FILE'"),
    ):
        assert main(argv) == 2  # a usage error, from the parser: one line too
        assert one_line(capsys.readouterr().err).startswith(expected)
    argv = ["rebuild-projections", "--data-dir", str(data_dir), "--projections-url", "mysql://x"]
    assert main(argv) == EXIT_ERROR
    assert "unsupported projection URL" in capsys.readouterr().err


def test_json_outputs_parse(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["verify", "--data-dir", str(data_dir), "--json"]) == 0
    verified = json.loads(capsys.readouterr().out)
    assert verified["ok"] is True and verified["discrepancy"] is None
    assert verified["records"] == verified["head_seq"] > 0

    export = tmp_path / "out.aug"
    assert main(["export", "--data-dir", str(data_dir), str(export), "--json"]) == 0
    exported = json.loads(capsys.readouterr().out)
    assert exported["head_hash"] == verified["head_hash"]
    assert exported["bytes"] == export.stat().st_size

    argv = ["rebuild-projections", "--data-dir", str(data_dir), "--json"]
    assert main(argv) == 0
    rebuilt = json.loads(capsys.readouterr().out)
    assert rebuilt["ok"] is True and rebuilt["last_seq"] == verified["head_seq"]
    assert (data_dir / "projections.db").is_file()
    assert main(argv) == 0  # rebuilding again starts from empty
    assert json.loads(capsys.readouterr().out)["records"] == rebuilt["records"]


def test_human_summaries(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verify", "--data-dir", str(data_dir)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("OK ") and "records verified" in out and "head seq=" in out
    assert main(["rebuild-projections", "--data-dir", str(data_dir)]) == 0
    assert capsys.readouterr().out.startswith("rebuilt projections")


def test_the_module_runs_as_a_program_without_traceback() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "augury.cli", "verify", "/nonexistent.aug"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == EXIT_ERROR
    assert done.stderr.strip() == "augury verify: error: no export file at /nonexistent.aug"
    assert "Traceback" not in done.stderr


def test_a_postgresql_journal_and_projections(
    data_dir: Path,
    tmp_path: Path,
    pg_dsn: str,
    pg_namespaces: list[str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    journal_ns, projections_ns = fresh_namespace(), fresh_namespace()
    pg_namespaces.extend([journal_ns, projections_ns])
    with SqliteJournalStore(data_dir / "journal.db") as source:
        records = list(source.read())
    pg = ["--database-url", pg_dsn, "--namespace", journal_ns]
    assert main(["verify", *pg]) == EXIT_ERROR  # opening it would create an empty journal
    assert f"no journal in schema '{journal_ns}'" in capsys.readouterr().err
    with PostgresJournalStore(pg_dsn, journal_ns) as store:
        store.acquire_writer("test")
        store.append(records)
    assert main(["verify", *pg, "--json"]) == 0
    verified = json.loads(capsys.readouterr().out)
    assert verified["ok"] and verified["head_seq"] == records[-1].seq

    export = tmp_path / "pg.aug"
    assert main(["export", *pg, str(export), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["head_hash"] == records[-1].hash.hex()

    argv = ["rebuild-projections", *pg, "--projections-namespace", projections_ns, "--json"]
    assert main(argv) == 0
    rebuilt = json.loads(capsys.readouterr().out)
    assert rebuilt["last_seq"] == records[-1].seq
