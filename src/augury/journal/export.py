"""Export a journal to one self-describing file, and read such a file back offline.

The format ("AUGURY-JOURNAL 1"), UTF-8 text, every line ending in "\\n"::

    AUGURY-JOURNAL 1
    {"seq":1,"ts_us":...,"kind":"command","prev_hash":"<64 hex>","hash":"<64 hex>","body":"<b64>"}
    ... one such line per record, in seq order, keys in exactly this order ...
    AUGURY-JOURNAL-END {"count":N,"head_seq":N,"head_hash":"<64 hex>"}

``body`` is standard base64 with padding (RFC 4648 section 4); hashes are lowercase hex.
The trailer makes truncation at a line boundary detectable too. The reader checks the
format, not the chain: pass its records to verify_chain() or verify_journal().
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import msgspec

from augury.journal.errors import ExportFormatError
from augury.journal.records import GENESIS_PREV_HASH, HASH_LEN, Head, JournalRecord, verify_chain
from augury.journal.store import JournalStore

HEADER = b"AUGURY-JOURNAL 1\n"
TRAILER_PREFIX = b"AUGURY-JOURNAL-END "
LINE_LEN_MAX = 32 * 1024 * 1024
"""Longest accepted line: a 16 MiB body is about 22.4 MB of base64."""


class _Line(msgspec.Struct, forbid_unknown_fields=True):
    seq: int
    ts_us: int
    kind: str
    prev_hash: str
    hash: str
    body: bytes


class _Trailer(msgspec.Struct, forbid_unknown_fields=True):
    count: int
    head_seq: int
    head_hash: str


_encode = msgspec.json.Encoder().encode
_decode_line = msgspec.json.Decoder(_Line).decode
_decode_trailer = msgspec.json.Decoder(_Trailer).decode


def export_journal(store: JournalStore, path: str | Path, *, verify: bool = True) -> Head:
    """Write every record of ``store`` (up to its head as of the call) to ``path``.

    The file appears atomically (written beside it, fsynced, renamed). With ``verify`` the
    chain is checked while exporting and ChainError aborts the export. Returns the head
    exported ((0, genesis) for an empty journal).
    """
    target = Path(path)
    temp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    count = 0
    head: Head = (0, GENESIS_PREV_HASH)
    try:
        with open(temp, "wb") as out:
            out.write(HEADER)
            for record in store.read():
                head = verify_chain((record,), head) if verify else (record.seq, record.hash)
                out.write(_encode(_to_line(record)) + b"\n")
                count += 1
            trailer = _Trailer(count=count, head_seq=head[0], head_hash=head[1].hex())
            out.write(TRAILER_PREFIX + _encode(trailer) + b"\n")
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    _fsync_dir(target.parent)
    return head


def _to_line(record: JournalRecord) -> _Line:
    return _Line(
        record.seq,
        record.ts_us,
        record.kind,
        record.prev_hash.hex(),
        record.hash.hex(),
        record.body,
    )


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class FileJournalReader:
    """Iterate the records of an export file; ExportFormatError names the bad or missing seq.

    Each iteration re-reads the file from the start. After a complete iteration ``head``
    and ``count`` hold the trailer's values (checked against the records read).
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.count: int | None = None
        self.head: Head | None = None

    def __iter__(self) -> Iterator[JournalRecord]:
        with open(self.path, "rb") as lines:
            yield from self._records(lines)

    def _records(self, lines: Iterator[bytes]) -> Iterator[JournalRecord]:
        header = next(lines, b"")
        if header != HEADER:
            raise self._error(1, None, f"not an AUGURY-JOURNAL 1 file (header {header[:40]!r})")
        count, last_seq, last_hash = 0, 0, GENESIS_PREV_HASH
        for line_no, line in enumerate(lines, start=2):
            seq = last_seq + 1  # the record this line should hold, for error messages
            if not line.endswith(b"\n"):
                raise self._error(line_no, seq, "truncated: the last line is incomplete")
            if len(line) > LINE_LEN_MAX:
                raise self._error(line_no, seq, f"line longer than {LINE_LEN_MAX} bytes")
            if line.startswith(TRAILER_PREFIX):
                self._check_trailer(lines, line, line_no, count, (last_seq, last_hash))
                return
            record = self._parse(line, line_no, seq)
            yield record
            count, last_seq, last_hash = count + 1, record.seq, record.hash
        raise self._error(
            count + 2, last_seq + 1, f"truncated: file ends after seq={last_seq} without a trailer"
        )

    def _parse(self, line: bytes, line_no: int, seq: int) -> JournalRecord:
        try:
            wire = _decode_line(line)
            prev_hash = _unhex(wire.prev_hash)
            digest = _unhex(wire.hash)
        except (msgspec.DecodeError, ValueError) as exc:
            raise self._error(line_no, seq, f"malformed record line: {exc}") from None
        return JournalRecord(wire.seq, wire.ts_us, wire.kind, wire.body, prev_hash, digest)

    def _check_trailer(
        self, lines: Iterator[bytes], line: bytes, line_no: int, count: int, head: Head
    ) -> None:
        try:
            trailer = _decode_trailer(line.removeprefix(TRAILER_PREFIX))
            head_hash = _unhex(trailer.head_hash)
        except (msgspec.DecodeError, ValueError) as exc:
            raise self._error(line_no, head[0] + 1, f"malformed trailer: {exc}") from None
        if (trailer.count, trailer.head_seq, head_hash) != (count, head[0], head[1]):
            raise self._error(
                line_no,
                head[0] + 1,
                f"trailer says {trailer.count} records up to seq={trailer.head_seq}, "
                f"file holds {count} up to seq={head[0]} (records missing or hash differs)",
            )
        if next(lines, None) is not None:
            raise self._error(line_no + 1, None, "data after the trailer")
        self.count, self.head = count, (trailer.head_seq, head_hash)

    def _error(self, line_no: int, seq: int | None, detail: str) -> ExportFormatError:
        return ExportFormatError(str(self.path), line_no, seq, detail)


def _unhex(text: str) -> bytes:
    if len(text) != 2 * HASH_LEN or text != text.lower():
        raise ValueError(f"a hash must be {2 * HASH_LEN} lowercase hex characters")
    return bytes.fromhex(text)
