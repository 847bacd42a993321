"""The operator's journal tools: ``augury verify``, ``export``, ``rebuild-projections``."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Annotated, Any

import msgspec
import typer
from rich.console import Console
from rich.markup import escape

from augury.cli._common import (
    EXIT_VERIFY_FAILED,
    CliError,
    DatabaseUrl,
    DataDir,
    JsonOut,
    Namespace,
    _err,
    _guard,
    _print_json,
    _progress,
    _redact,
    app,
)


@app.command()
def verify(
    file: Annotated[
        Path | None,
        typer.Argument(
            metavar="FILE", help="An export file (augury export), instead of a live journal."
        ),
    ] = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    namespace: Namespace = "augury",
    trusted_key: Annotated[
        str | None,
        typer.Option(
            "--trusted-key",
            metavar="HEX",
            help="The operator's Ed25519 public key (64 hex): every checkpoint must be "
            "signed by it. Default with --data-dir: the key in DIR/operator.key, if any.",
            show_default=False,
        ),
    ] = None,
    from_snapshot: Annotated[
        bool,
        typer.Option(
            "--from-snapshot",
            help="Start from the journal's newest snapshot instead of seq 1 (faster; the "
            "history before it is not re-checked). A full verify checks that snapshot.",
        ),
    ] = False,
    json_out: JsonOut = False,
) -> None:
    """Verify a journal: every hash and link, every checkpoint, and a replay of every command."""
    from augury.engine.verify import SnapshotState, start_from_snapshot
    from augury.engine.verify import verify as verify_records
    from augury.journal import FileJournalReader, SnapshotError

    with _guard("verify", json_out), ExitStack() as stack:
        _one_source(file, data_dir, database_url)
        key, key_origin = _trusted_key(trusted_key, data_dir)
        start, check, snapshot_problem = None, None, ""
        if file is not None:
            if from_snapshot:
                raise CliError(
                    "--from-snapshot needs a live journal (--data-dir or --database-url)"
                )
            if not file.is_file():
                raise CliError(f"no export file at {file}")
            records: Iterable[Any] = FileJournalReader(file)
            total, source = max(_count_lines(file) - 2, 0), str(file)
        else:
            store, source = _open_store(stack, data_dir, database_url, namespace)
            total = store.count()
            if from_snapshot:
                start = start_from_snapshot(store)
                if start is None:
                    raise CliError(f"{source} holds no snapshot")
                total -= start.head[0]
            else:
                try:
                    snap = store.latest_snapshot()
                except SnapshotError as exc:  # a cache, not history: the walk goes on
                    snap, snapshot_problem = None, str(exc)
                check = None if snap is None else SnapshotState(snap.seq, snap.state)
            records = store.read(from_seq=start.head[0] + 1 if start else 1)
        with _progress(json_out, "verifying", total) as advance:
            report = verify_records(records, key, advance, start=start, snapshot=check)
        result = msgspec.to_builtins(report)
        result.update(
            source=source,
            trusted_key=key.hex() if key else None,
            snapshot_problem=snapshot_problem or None,
        )
        if json_out:
            _print_json(result)
        else:
            _verify_summary(report, source, key, key_origin)
            if snapshot_problem:
                print(f"  warning: newest snapshot not checked: {snapshot_problem}")
        if report.discrepancy is not None:
            if not json_out:
                _err(f"augury verify: FAILED at {report.discrepancy}")
            raise typer.Exit(EXIT_VERIFY_FAILED)


@app.command()
def export(
    file: Annotated[
        Path, typer.Argument(metavar="FILE", help="The export file to write (atomically).")
    ],
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    namespace: Namespace = "augury",
    json_out: JsonOut = False,
) -> None:
    """Export a journal to one self-describing file, verifying the chain on the way."""
    from augury.journal import export_journal

    with _guard("export", json_out), ExitStack() as stack:
        store, source = _open_store(stack, data_dir, database_url, namespace)
        started = time.perf_counter()
        head = export_journal(store, file)
        seconds = time.perf_counter() - started
        result = {
            "ok": True,
            "source": source,
            "file": str(file),
            "records": head[0],
            "head_seq": head[0],
            "head_hash": head[1].hex(),
            "bytes": file.stat().st_size,
            "seconds": seconds,
        }
        if json_out:
            _print_json(result)
        else:
            Console(soft_wrap=True).print(
                f"[green]exported[/] {head[0]:,} records of {escape(source)} "
                f"to {escape(str(file))} ({result['bytes']:,} bytes) in {seconds:.2f} s\n"
                f"head seq={head[0]} hash={head[1].hex()}",
                highlight=False,
            )


@app.command("rebuild-projections")
def rebuild_projections(
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    namespace: Namespace = "augury",
    projections_url: Annotated[
        str | None,
        typer.Option(
            "--projections-url",
            metavar="URL",
            help="Where the read models go. Default: DIR/projections.db with --data-dir, "
            "the journal's database with --database-url.",
            show_default=False,
        ),
    ] = None,
    projections_namespace: Annotated[
        str,
        typer.Option("--projections-namespace", help="PostgreSQL schema of the read models."),
    ] = "augury_projections",
    json_out: JsonOut = False,
) -> None:
    """Empty the SQL read models and rebuild them from the journal (chain-checked)."""
    from augury.projections import Projector

    with _guard("rebuild-projections", json_out), ExitStack() as stack:
        store, source = _open_store(stack, data_dir, database_url, namespace)
        target = projections_url
        if target is None:
            target = str(data_dir / "projections.db") if data_dir else database_url
        assert target is not None
        projector = stack.enter_context(Projector(target, namespace=projections_namespace))
        total = store.count()
        started = time.perf_counter()
        with _progress(json_out, "projecting", total) as advance:
            applied = projector.rebuild(_chained(store.read()), advance)
        seconds = time.perf_counter() - started
        result = {
            "ok": True,
            "source": source,
            "projections": _redact(target),
            "records": applied,
            "last_seq": projector.last_seq(),
            "seconds": seconds,
            "records_per_s": applied / seconds if seconds else None,
        }
        if json_out:
            _print_json(result)
        else:
            Console(soft_wrap=True).print(
                f"[green]rebuilt[/] projections in {escape(_redact(target))} from {applied:,} "
                f"records of {escape(source)} (last seq {result['last_seq']}) in {seconds:.2f} s",
                highlight=False,
            )


def _one_source(file: Path | None, data_dir: Path | None, database_url: str | None) -> None:
    given = [
        name
        for name, value in (
            ("FILE", file),
            ("--data-dir", data_dir),
            ("--database-url", database_url),
        )
        if value is not None
    ]
    if len(given) != 1:
        names = " and ".join(given) if given else "nothing"
        raise CliError(f"give exactly one journal source, got {names}")


def _open_store(
    stack: ExitStack, data_dir: Path | None, database_url: str | None, namespace: str
) -> tuple[Any, str]:
    """The journal store of --data-dir or --database-url (never created by accident)."""
    from augury.journal import PostgresJournalStore, SqliteJournalStore

    if (data_dir is None) == (database_url is None):
        raise CliError("give exactly one of --data-dir or --database-url")
    if data_dir is not None:
        path = data_dir / "journal.db"
        if not path.is_file():
            raise CliError(f"no journal at {path}")
        return stack.enter_context(SqliteJournalStore(path)), str(path)
    assert database_url is not None
    if not database_url.startswith(("postgresql://", "postgres://", "postgresql+psycopg://")):
        raise CliError(f"--database-url must be a postgresql:// URL, got {_redact(database_url)}")
    dsn = database_url.replace("postgresql+psycopg://", "postgresql://", 1)
    _require_postgres_journal(dsn, namespace)
    store = stack.enter_context(PostgresJournalStore(dsn, namespace))
    return store, f"{_redact(database_url)} (schema {namespace})"


def _require_postgres_journal(dsn: str, namespace: str) -> None:
    """Refuse a schema without a journal (opening a store would create an empty one)."""
    import psycopg

    with psycopg.connect(dsn, connect_timeout=10) as conn:
        found = conn.execute(
            "SELECT 1 FROM information_schema.tables "
            "WHERE table_schema = %s AND table_name = 'journal'",
            (namespace,),
        ).fetchone()
    if found is None:
        raise CliError(f"no journal in schema {namespace!r} of {_redact(dsn)}")


def _count_lines(path: Path) -> int:
    lines = 0
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            lines += chunk.count(b"\n")
    return lines


def _trusted_key(hex_key: str | None, data_dir: Path | None) -> tuple[bytes | None, str]:
    """The raw public key to trust, and where it came from."""
    if hex_key is not None:
        try:
            raw = bytes.fromhex(hex_key)
        except ValueError:
            raw = b""
        if len(raw) != 32 or hex_key != hex_key.lower():
            raise CliError("--trusted-key must be 64 lowercase hex characters")
        return raw, "--trusted-key"
    if data_dir is not None and (data_dir / "operator.key").is_file():
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        from augury.journal import public_key_bytes

        path = data_dir / "operator.key"
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise CliError(f"{path} does not hold an Ed25519 private key")
        return public_key_bytes(key), str(path)
    return None, ""


def _chained(records: Iterable[Any]) -> Iterator[Any]:
    """Pass records through, raising ChainError at the first that does not chain."""
    from augury.journal.records import GENESIS_PREV_HASH, verify_link, verify_record

    head = (0, GENESIS_PREV_HASH)
    for record in records:
        verify_link(head, record)
        verify_record(record)
        head = (record.seq, record.hash)
        yield record


def _verify_summary(report: Any, source: str, key: bytes | None, key_origin: str) -> None:
    console = Console(highlight=False, soft_wrap=True)
    rate = report.records / report.seconds if report.seconds else 0.0
    status = "[green]OK[/]" if report.ok else "[red]FAILED[/]"
    console.print(f"{status} {escape(source)}")
    console.print(
        f"  {report.records:,} records verified ({report.commands:,} commands re-executed, "
        f"{report.checkpoints:,} checkpoints) in {report.seconds:.2f} s ({rate:,.0f} records/s)"
    )
    console.print(f"  head seq={report.head_seq} hash={report.head_hash}")
    if report.ledger is not None:  # the public ledger of the replayed state (at head seq)
        from augury.domain.ledger_report import summary

        console.print(f"  {summary(report.ledger)}")
    if report.from_seq:
        console.print(
            f"  started from the snapshot at seq {report.from_seq} "
            "(the history before it was not re-checked)"
        )
    if report.snapshot_verified_seq:
        console.print(f"  the snapshot at seq {report.snapshot_verified_seq} matches the replay")
    from augury.engine.verify import checkpoint_summary

    console.print("  " + escape(checkpoint_summary(report, key.hex() if key else None, key_origin)))
