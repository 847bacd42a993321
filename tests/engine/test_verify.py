"""augury.engine.verify and ``augury verify``: chain, checkpoints, and replay of every command.

The journals are built by executing domain commands (tests/projections/journal_builder),
then damaged in the ways an operator or a disk could damage them.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import sqlite3
from pathlib import Path

import msgspec
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from augury.cli import main
from augury.domain import commands as c
from augury.domain import events as ev
from augury.engine.entry import Entry, decode_entry, encode_entry
from augury.engine.verify import Fault, verify
from augury.journal import (
    JournalRecord,
    SqliteJournalStore,
    checkpoint_record,
    export_journal,
    make_record,
    public_key_bytes,
    verify_journal,
)
from tests.projections.journal_builder import ONE, JournalWriter, build_journal


class Built(msgspec.Struct):
    data_dir: Path
    key: Ed25519PrivateKey
    writer: JournalWriter

    @property
    def records(self) -> list[JournalRecord]:
        return self.writer.records

    @property
    def public_key(self) -> bytes:
        return public_key_bytes(self.key)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """A data directory: journal.db with commands and checkpoints, and operator.key."""
    data_dir = tmp_path_factory.mktemp("data")
    key = Ed25519PrivateKey.generate()
    writer = build_journal(data_dir / "journal.db", commands=150, seed=3, key=key)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fd = os.open(data_dir / "operator.key", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.write(fd, pem)
    os.close(fd)
    return Built(data_dir, key, writer)


@pytest.fixture
def data_dir(built: Built, tmp_path: Path) -> Path:
    """A private copy of the built data directory, free to damage."""
    copy = tmp_path / "data"
    shutil.copytree(built.data_dir, copy)
    return copy


def write_journal(path: Path, records: list[JournalRecord]) -> None:
    with SqliteJournalStore(path) as store:
        store.acquire_writer("test")
        for start in range(0, len(records), 500):
            store.append(records[start : start + 500])


def rechain(records: list[JournalRecord], index: int, body: bytes) -> list[JournalRecord]:
    """``records`` with record ``index``'s body replaced and every later hash recomputed."""
    out = list(records[:index])
    for position, record in enumerate(records[index:], start=index):
        prev_hash = out[-1].hash if out else bytes(32)
        new_body = body if position == index else record.body
        out.append(make_record(record.seq, record.ts_us, record.kind, new_body, prev_hash))
    return out


def renumber(records: list[JournalRecord]) -> list[JournalRecord]:
    """The same bodies as a fresh chain from seq 1 (e.g. after dropping checkpoints)."""
    out: list[JournalRecord] = []
    for record in records:
        prev_hash = out[-1].hash if out else bytes(32)
        out.append(make_record(len(out) + 1, record.ts_us, record.kind, record.body, prev_hash))
    return out


def first_index(records: list[JournalRecord], kind: type[ev.Event]) -> int:
    for index, record in enumerate(records):
        if record.kind == "command" and any(
            isinstance(e, kind) for e in decode_entry(record.body).events
        ):
            return index
    raise AssertionError(f"no {kind.__name__} in the journal")


def one_error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


# -- a good journal -----------------------------------------------------------------------
def test_a_good_journal_verifies(built: Built) -> None:
    walked: list[int] = []
    with SqliteJournalStore(built.data_dir / "journal.db") as store:
        report = verify(store.read(), built.public_key, walked.append)
    records = built.records
    commands = sum(r.kind == "command" for r in records)
    assert report.ok and report.discrepancy is None
    assert (report.records, report.commands) == (len(records), commands)
    assert report.checkpoints == len(records) - commands > 0
    assert (report.head_seq, report.head_hash) == (records[-1].seq, records[-1].hash.hex())
    assert report.last_checkpoint_seq == records[-1].seq - 1
    assert walked[-1] == len(records) and report.seconds > 0


def test_cli_verifies_a_data_dir_and_an_export(
    built: Built, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["verify", "--data-dir", str(built.data_dir)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("OK ") and f"seq={built.records[-1].seq}" in out
    assert "trusted key" in out and "operator.key" in out

    export = tmp_path / "journal.aug"
    assert main(["export", "--data-dir", str(built.data_dir), str(export), "--json"]) == 0
    exported = json.loads(capsys.readouterr().out)
    assert exported["records"] == exported["head_seq"] == len(built.records)
    assert main(["verify", str(export), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["ok"] is True and result["records"] == len(built.records)
    assert result["trusted_key"] is None


# -- damage the chain detects ---------------------------------------------------------------
def test_a_flipped_body_byte_in_sqlite_is_named(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = data_dir / "journal.db"
    with sqlite3.connect(db) as conn:
        (body,) = conn.execute("SELECT body FROM journal WHERE seq = 37").fetchone()
        damaged = bytearray(body)
        damaged[len(damaged) // 2] ^= 0x01
        conn.execute("UPDATE journal SET body = ? WHERE seq = 37", (bytes(damaged),))
    conn.close()
    assert main(["verify", "--data-dir", str(data_dir)]) == 1
    err = capsys.readouterr().err
    line = one_error_line(err)
    assert "FAILED at seq=37: bad-hash" in line

    # export refuses to write it, and names the seq too
    assert main(["export", "--data-dir", str(data_dir), str(data_dir / "out.aug")]) == 1
    line = one_error_line(capsys.readouterr().err)
    assert "seq=37" in line and "bad-hash" in line
    assert not (data_dir / "out.aug").exists()


def test_a_flipped_byte_in_an_export_file_is_named(
    built: Built, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    export = tmp_path / "journal.aug"
    with SqliteJournalStore(built.data_dir / "journal.db") as store:
        export_journal(store, export)
    lines = export.read_bytes().split(b"\n")
    wire = json.loads(lines[50])  # line 1 is the header: this is seq 50
    assert wire["seq"] == 50
    body = bytearray(base64.b64decode(wire["body"]))
    body[3] ^= 0x20
    wire["body"] = base64.b64encode(bytes(body)).decode()
    lines[50] = json.dumps(wire, separators=(",", ":")).encode()
    export.write_bytes(b"\n".join(lines))
    assert main(["verify", str(export)]) == 1
    assert "FAILED at seq=50: bad-hash" in one_error_line(capsys.readouterr().err)

    assert main(["verify", str(export), "--json"]) == 1
    result = json.loads(capsys.readouterr().out)
    assert result["ok"] is False
    assert result["discrepancy"]["seq"] == 50
    assert result["discrepancy"]["fault"] == "bad-hash"
    assert result["head_seq"] == 49


def test_a_truncated_export_file_is_reported(
    built: Built, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    export = tmp_path / "journal.aug"
    with SqliteJournalStore(built.data_dir / "journal.db") as store:
        export_journal(store, export)
    data = export.read_bytes()
    last = len(built.records)
    export.write_bytes(data[: data.rindex(b"AUGURY-JOURNAL-END")])  # lost the trailer
    assert main(["verify", str(export)]) == 1
    line = one_error_line(capsys.readouterr().err)
    assert f"FAILED at seq={last + 1}: bad-format" in line and "truncated" in line

    export.write_bytes(data[: len(data) // 2])  # cut inside a record line
    assert main(["verify", str(export)]) == 1
    line = one_error_line(capsys.readouterr().err)
    assert "bad-format" in line and "truncated" in line
    seq = int(line.split("FAILED at seq=")[1].split(":")[0])
    assert 1 < seq < last


# -- damage only the replay detects ------------------------------------------------------------
def test_rewritten_history_with_a_valid_chain_is_caught_by_replay(
    built: Built, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # An operator quietly grants an account 1,000 extra credits in the events of an old
    # command, then re-hashes everything after it (and drops the checkpoints that would
    # betray the new hashes): the chain is valid, the history is not.
    commands = [r for r in built.records if r.kind == "command"]
    index = first_index(commands, ev.CreditsGranted)
    entry = decode_entry(commands[index].body)
    event = entry.events[0]
    assert isinstance(event, ev.CreditsGranted)
    richer = ev.CreditsGranted(
        event.account,
        event.amount + 1_000 * ONE,
        event.memo,
        (
            (event.postings[0][0], -(event.amount + 1_000 * ONE)),
            (event.postings[1][0], event.amount + 1_000 * ONE),
        ),
    )
    forged = Entry(entry.command, [richer], entry.account, entry.key)
    records = rechain(renumber(commands), index, encode_entry(forged))
    assert verify_journal(records).records == len(records)  # the chain itself is fine

    path = tmp_path / "rewritten"
    path.mkdir()
    write_journal(path / "journal.db", records)
    assert main(["verify", "--data-dir", str(path)]) == 1
    line = one_error_line(capsys.readouterr().err)
    assert f"FAILED at seq={index + 1}: events-mismatch" in line
    assert "CreditsGranted" in line


def test_a_command_the_exchange_refuses_is_caught_by_replay(built: Built) -> None:
    commands = [r for r in built.records if r.kind == "command"]
    index = 20
    bogus = Entry(c.GrantCredits("nobody", ONE), [], "nobody", "x")
    records = rechain(renumber(commands[: index + 1]), index, encode_entry(bogus))
    report = verify(records)
    assert not report.ok and report.discrepancy is not None
    assert report.discrepancy.seq == index + 1
    assert report.discrepancy.fault is Fault.REJECTED
    assert "unknown_account" in report.discrepancy.detail
    assert report.records == report.head_seq == index


def test_an_undecodable_body_is_malformed(built: Built) -> None:
    records = rechain(built.records[:10], 4, b"not json")
    report = verify(records)
    assert report.discrepancy is not None
    assert (report.discrepancy.seq, report.discrepancy.fault) == (5, Fault.MALFORMED)


def test_an_unknown_record_kind_is_named(built: Built) -> None:
    records = list(built.records[:5])
    records.append(make_record(6, records[-1].ts_us, "gossip", b"{}", records[-1].hash))
    report = verify(records)
    assert report.discrepancy is not None
    assert (report.discrepancy.seq, report.discrepancy.fault) == (6, Fault.UNKNOWN_KIND)


# -- checkpoints ------------------------------------------------------------------------------
def test_a_checkpoint_signed_by_another_key_is_caught_with_a_trusted_key(
    built: Built, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    records = built.records
    index = next(i for i, r in enumerate(records) if r.kind == "checkpoint")
    before = records[index - 1]
    impostor = checkpoint_record(
        (before.seq, before.hash), before.ts_us, Ed25519PrivateKey.generate()
    )
    # up to the next checkpoint: the real key's later checkpoints sign the old hashes
    end = next(i for i in range(index + 1, len(records)) if records[i].kind == "checkpoint")
    forged = rechain(records[:end], index, impostor.body)
    seq = index + 1

    assert verify(forged).ok  # without a trusted key the signature is merely intact
    report = verify(forged, built.public_key)
    assert report.discrepancy is not None
    assert (report.discrepancy.seq, report.discrepancy.fault) == (seq, Fault.BAD_CHECKPOINT)
    assert "untrusted key" in report.discrepancy.detail

    path = tmp_path / "forged"
    path.mkdir()
    write_journal(path / "journal.db", forged)
    trusted = built.public_key.hex()
    assert main(["verify", "--data-dir", str(path), "--trusted-key", trusted]) == 1
    assert f"FAILED at seq={seq}: bad-checkpoint" in one_error_line(capsys.readouterr().err)


def test_a_checkpoint_of_the_wrong_head_is_caught(built: Built) -> None:
    records = built.records
    index = next(i for i, r in enumerate(records) if r.kind == "checkpoint")
    older = records[index - 2]
    misplaced = checkpoint_record((older.seq, older.hash), older.ts_us, built.key)
    report = verify(rechain(records, index, misplaced.body), built.public_key)
    assert report.discrepancy is not None
    assert report.discrepancy.fault is Fault.BAD_CHECKPOINT
    assert "not the record it follows" in report.discrepancy.detail


# -- a journal written by the engine itself -----------------------------------------------------
def test_an_engine_journal_verifies_and_its_live_projection_equals_a_rebuild(
    tmp_path: Path,
) -> None:
    from augury.engine import SimulatedClock, open_engine
    from augury.journal import load_or_create_key
    from augury.projections import Projector
    from augury.projections import tables as t
    from tests.engine.workload import T0, command_at
    from tests.projections.contract import dump

    key_path = tmp_path / "operator.key"
    url = f"sqlite:///{tmp_path / 'journal.db'}"
    with Projector(tmp_path / "live.db") as live, Projector(tmp_path / "rebuilt.db") as rebuilt:
        engine = open_engine(url, key_path, SimulatedClock(T0), checkpoint_every=64)
        try:
            engine.subscribe(live.apply)  # each durable command record, in order
            futures = [engine.submit(command_at(5, i), "", f"k{i}") for i in range(800)]
            accepted = sum(future.result(timeout=120).ok for future in futures)
        finally:
            engine.close()
        assert accepted > 100
        with SqliteJournalStore(tmp_path / "journal.db") as store:
            report = verify(store.read(), public_key_bytes(load_or_create_key(key_path)))
            assert report.ok, report.discrepancy
            assert report.commands == accepted and report.checkpoints > 0
            rebuilt.rebuild(store.read())
        models = {table.name for table in t.READ_MODELS}
        live_rows = {name: r for name, r in dump(live).items() if name in models}
        assert live_rows == {name: r for name, r in dump(rebuilt).items() if name in models}
        assert live_rows["fills"] and live_rows["candles"]


def test_snapshots_are_checked_by_a_full_walk_and_can_start_a_short_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import hashlib

    from augury.domain import snapshot
    from augury.engine import SimulatedClock, open_engine
    from tests.engine.workload import T0, command_at

    engine = open_engine(tmp_path / "journal.db", tmp_path / "operator.key", SimulatedClock(T0))
    try:
        for i in range(300):
            engine.submit(command_at(9, i), "", f"k{i}")
        snapshot_seq = engine.snapshot().result(timeout=60)
        for i in range(300, 400):
            engine.submit(command_at(9, i), "", f"k{i}")
        head_seq = engine.checkpoint().result(timeout=60)
    finally:
        engine.close()
    assert 0 < snapshot_seq < head_seq

    assert main(["verify", "--data-dir", str(tmp_path), "--json"]) == 0
    full = json.loads(capsys.readouterr().out)
    assert full["snapshot_verified_seq"] == snapshot_seq and full["from_seq"] == 0
    assert full["trusted_key"] is not None and full["head_seq"] == head_seq

    assert main(["verify", "--data-dir", str(tmp_path), "--from-snapshot", "--json"]) == 0
    short = json.loads(capsys.readouterr().out)
    assert short["from_seq"] == snapshot_seq and short["head_seq"] == head_seq
    assert short["records"] == head_seq - snapshot_seq

    # A snapshot that does not describe the history (one balance changed, re-hashed):
    with sqlite3.connect(tmp_path / "journal.db") as conn:
        (state,) = conn.execute(
            "SELECT state FROM snapshots WHERE seq = ?", (snapshot_seq,)
        ).fetchone()
        exchange = snapshot.load(state)
        account = next(iter(sorted(exchange.accounts)))
        exchange.ledger.balances["cash:" + account] += 1
        exchange.ledger.balances["issuance"] -= 1
        forged = snapshot.dump(exchange)
        conn.execute(
            "UPDATE snapshots SET state = ?, state_sha256 = ? WHERE seq = ?",
            (forged, hashlib.sha256(forged).digest(), snapshot_seq),
        )
    conn.close()
    assert main(["verify", "--data-dir", str(tmp_path)]) == 1
    line = one_error_line(capsys.readouterr().err)
    assert f"FAILED at seq={snapshot_seq}: snapshot-mismatch" in line

    # A snapshot that is corrupt (its SHA-256 fails) is only a warning for a full walk,
    # and an error for a walk that would start from it.
    with sqlite3.connect(tmp_path / "journal.db") as conn:
        conn.execute("UPDATE snapshots SET state_sha256 = ?", (bytes(32),))
    conn.close()
    assert main(["verify", "--data-dir", str(tmp_path)]) == 0
    assert "warning: newest snapshot not checked" in capsys.readouterr().out
    assert main(["verify", "--data-dir", str(tmp_path), "--from-snapshot"]) == 2
    assert "sha256" in one_error_line(capsys.readouterr().err)
