"""export: the AUGURY-JOURNAL 1 file format and its reader."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from augury.journal import (
    GENESIS_PREV_HASH,
    ChainError,
    ExportFormatError,
    FileJournalReader,
    SqliteJournalStore,
    export_journal,
    verify_chain,
)

from .helpers import make_chain


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteJournalStore]:
    with SqliteJournalStore(tmp_path / "j.db") as store:
        store.acquire_writer("test")
        store.append(make_chain(30, body_len=40))
        yield store


@pytest.fixture
def exported(store: SqliteJournalStore, tmp_path: Path) -> Path:
    path = tmp_path / "export.augj"
    export_journal(store, path)
    return path


def test_file_layout(store: SqliteJournalStore, exported: Path) -> None:
    lines = exported.read_bytes().split(b"\n")
    assert lines[0] == b"AUGURY-JOURNAL 1"
    first = json.loads(lines[1])
    record = store.get(1)
    assert record is not None
    assert list(first) == ["seq", "ts_us", "kind", "prev_hash", "hash", "body"]
    assert base64.b64decode(first["body"]) == record.body
    assert first["hash"] == record.hash.hex()
    trailer = json.loads(lines[31].removeprefix(b"AUGURY-JOURNAL-END "))
    assert trailer == {"count": 30, "head_seq": 30, "head_hash": store.get(30).hash.hex()}  # type: ignore[union-attr]
    assert lines[32] == b""


def test_truncated_final_line_names_the_seq(exported: Path) -> None:
    data = exported.read_bytes()
    cut = data.rindex(b"\n", 0, data.rindex(b"AUGURY-JOURNAL-END")) - 1  # inside seq 30's line
    exported.write_bytes(data[:cut])
    seen: list[int] = []
    with pytest.raises(ExportFormatError, match="seq=30") as caught:
        seen.extend(record.seq for record in FileJournalReader(exported))
    assert caught.value.seq == 30 and seen == list(range(1, 30))


def test_truncation_at_a_line_boundary_is_detected(exported: Path) -> None:
    lines = exported.read_bytes().splitlines(keepends=True)
    exported.write_bytes(b"".join(lines[:21]))  # header + 20 records, no trailer
    with pytest.raises(ExportFormatError, match="after seq=20") as caught:
        list(FileJournalReader(exported))
    assert caught.value.seq == 21


def test_missing_records_contradict_the_trailer(exported: Path) -> None:
    lines = exported.read_bytes().splitlines(keepends=True)
    exported.write_bytes(b"".join(lines[:20] + lines[21:]))  # seq 20 removed
    with pytest.raises(ExportFormatError, match="trailer says 30 records"):
        list(FileJournalReader(exported))


def test_malformed_files(exported: Path, tmp_path: Path) -> None:
    lines = exported.read_bytes().splitlines(keepends=True)
    cases = {
        "header": [b"AUGURY-JOURNAL 2\n", *lines[1:]],
        "seq=5": [*lines[:5], b'{"seq":5}\n', *lines[6:]],
        "after the trailer": [*lines, b"more\n"],
    }
    for expected, content in cases.items():
        path = tmp_path / "bad.augj"
        path.write_bytes(b"".join(content))
        with pytest.raises(ExportFormatError, match=expected):
            list(FileJournalReader(path))


def test_tampered_body_in_file_fails_chain_verification(exported: Path) -> None:
    lines = exported.read_bytes().splitlines(keepends=True)
    fields = json.loads(lines[12])
    fields["body"] = base64.b64encode(b"forged").decode()
    lines[12] = json.dumps(fields, separators=(",", ":")).encode() + b"\n"
    exported.write_bytes(b"".join(lines))
    with pytest.raises(ChainError) as caught:
        verify_chain(FileJournalReader(exported))
    assert caught.value.seq == 12


def test_empty_journal_exports(tmp_path: Path) -> None:
    with SqliteJournalStore(tmp_path / "empty.db") as empty:
        assert export_journal(empty, tmp_path / "e.augj") == (0, GENESIS_PREV_HASH)
    reader = FileJournalReader(tmp_path / "e.augj")
    assert list(reader) == [] and reader.count == 0


def test_corrupt_journal_is_not_exported(store: SqliteJournalStore, tmp_path: Path) -> None:
    store._conn.execute("UPDATE journal SET body = x'00' WHERE seq = 9")
    target = tmp_path / "never.augj"
    with pytest.raises(ChainError, match="seq=9"):
        export_journal(store, target)
    assert not target.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []
    export_journal(store, target, verify=False)  # forensics: export as stored
    assert len(list(FileJournalReader(target))) == 30
