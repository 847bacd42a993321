"""Journal records and the hash chain that links them.

A record is the engine's opaque payload (``body``) wrapped with its position
(``seq``), a timestamp, a short ``kind`` word and two SHA-256 hashes: the previous
record's and its own. Each hash covers the previous one, so altering, dropping or
reordering any record changes every hash after it.

The exact byte layout that is hashed (docs/journal.md repeats it for third parties)::

    offset  size  field
    0       5     magic      b"AUGJ1"
    5       8     seq        unsigned 64-bit big-endian, 1-based, < 2**63
    13      8     ts_us      signed 64-bit big-endian, UTC microseconds since the epoch
    21      1     kind_len   unsigned 8-bit, 1..32
    22      k     kind       ascii, matching [a-z][a-z0-9_-]*
    22+k    32    prev_hash  hash of record seq-1; 32 zero bytes for seq 1 (genesis)
    54+k    8     body_len   unsigned 64-bit big-endian
    62+k    n     body       the payload, verbatim

    hash = SHA-256(all of the above)

This module is pure: no I/O, no clock. It must never interpret ``body``.
"""

from __future__ import annotations

import hashlib
import re
import struct
from collections.abc import Iterable

import msgspec

from augury.journal.errors import ChainError, ChainFault

MAGIC = b"AUGJ1"
"""Domain-separation prefix of every hashed record; the 1 is the layout version."""

HASH_LEN = 32
"""Length in bytes of every hash (SHA-256)."""

GENESIS_PREV_HASH = bytes(HASH_LEN)
"""The prev_hash of record seq=1: 32 zero bytes."""

SEQ_MAX = 2**63 - 1
"""Largest seq: both SQLite INTEGER and PostgreSQL bigint are signed 64-bit."""

TS_US_MIN, TS_US_MAX = -(2**63), 2**63 - 1

KIND_LEN_MAX = 32
"""Longest kind word in bytes."""

BODY_LEN_MAX = 16 * 1024 * 1024
"""Largest body in bytes (16 MiB); commands are small, snapshots are not records."""

KIND_COMMAND = "command"
KIND_CHECKPOINT = "checkpoint"

_KIND_RE = re.compile(r"[a-z][a-z0-9_-]*")
_HEADER = struct.Struct(">5sQqB")
_BODY_LEN = struct.Struct(">Q")

Head = tuple[int, bytes]
"""(seq, hash) of the last record of a chain; (0, GENESIS_PREV_HASH) for an empty one."""


class JournalRecord(msgspec.Struct, frozen=True, gc=False):
    """One entry of the journal. Build it with make_record(); check it with verify_record()."""

    seq: int
    ts_us: int
    kind: str
    body: bytes
    prev_hash: bytes
    hash: bytes


def validate_kind(kind: str) -> None:
    """Raise ValueError unless ``kind`` is a short lowercase ascii word."""
    if not (0 < len(kind) <= KIND_LEN_MAX and _KIND_RE.fullmatch(kind) and kind.isascii()):
        raise ValueError(f"kind must match [a-z][a-z0-9_-]{{0,31}}, got {kind!r}")


def record_hash(seq: int, ts_us: int, kind: str, body: bytes, prev_hash: bytes) -> bytes:
    """SHA-256 of the canonical layout above. Raises ValueError on out-of-range fields."""
    if not 1 <= seq <= SEQ_MAX:
        raise ValueError(f"seq out of range: {seq}")
    if not TS_US_MIN <= ts_us <= TS_US_MAX:
        raise ValueError(f"ts_us out of range: {ts_us}")
    validate_kind(kind)
    if len(prev_hash) != HASH_LEN:
        raise ValueError(f"prev_hash must be {HASH_LEN} bytes, got {len(prev_hash)}")
    if len(body) > BODY_LEN_MAX:
        raise ValueError(f"body of {len(body)} bytes exceeds {BODY_LEN_MAX}")
    kind_bytes = kind.encode("ascii")
    digest = hashlib.sha256(_HEADER.pack(MAGIC, seq, ts_us, len(kind_bytes)))
    digest.update(kind_bytes)
    digest.update(prev_hash)
    digest.update(_BODY_LEN.pack(len(body)))
    digest.update(body)
    return digest.digest()


def make_record(seq: int, ts_us: int, kind: str, body: bytes, prev_hash: bytes) -> JournalRecord:
    """A record with its hash computed. Raises ValueError on out-of-range fields."""
    if not isinstance(body, bytes):  # a bytearray or memoryview would stay mutable
        raise TypeError(f"body must be bytes, got {type(body).__name__}")
    digest = record_hash(seq, ts_us, kind, body, prev_hash)
    return JournalRecord(seq, ts_us, kind, body, bytes(prev_hash), digest)


def next_record(head: Head | None, ts_us: int, kind: str, body: bytes) -> JournalRecord:
    """The record that follows ``head`` (a store's head(), or None for an empty journal)."""
    seq, prev_hash = head if head is not None else (0, GENESIS_PREV_HASH)
    return make_record(seq + 1, ts_us, kind, body, prev_hash)


def verify_record(record: JournalRecord) -> None:
    """Raise ChainError (MALFORMED or BAD_HASH) unless the record's own hash verifies."""
    seq = record.seq if isinstance(record.seq, int) else -1
    fields_ok = (
        isinstance(record.body, bytes)
        and isinstance(record.prev_hash, bytes)
        and isinstance(record.hash, bytes)
        and isinstance(record.kind, str)
        and isinstance(record.ts_us, int)
        and len(record.hash) == HASH_LEN
    )
    if not fields_ok:
        raise ChainError(seq, ChainFault.MALFORMED, "a field has the wrong type or length")
    try:
        expected = record_hash(record.seq, record.ts_us, record.kind, record.body, record.prev_hash)
    except ValueError as exc:
        raise ChainError(seq, ChainFault.MALFORMED, str(exc)) from exc
    if expected != record.hash:
        raise ChainError(
            seq,
            ChainFault.BAD_HASH,
            f"stored hash {record.hash.hex()[:16]}.. != computed {expected.hex()[:16]}..",
        )


def verify_link(head: Head, record: JournalRecord) -> None:
    """Raise ChainError (SEQ_GAP or BROKEN_LINK) unless ``record`` directly follows ``head``."""
    head_seq, head_hash = head
    if record.seq != head_seq + 1:
        raise ChainError(
            record.seq, ChainFault.SEQ_GAP, f"expected seq {head_seq + 1} after {head_seq}"
        )
    if record.prev_hash != head_hash:
        raise ChainError(
            record.seq,
            ChainFault.BROKEN_LINK,
            f"prev_hash {record.prev_hash.hex()[:16]}.. != hash of seq {head_seq} "
            f"{head_hash.hex()[:16]}..",
        )


def verify_chain(records: Iterable[JournalRecord], start: Head = (0, GENESIS_PREV_HASH)) -> Head:
    """Verify that ``records`` form a chain continuing ``start``; return the new head.

    ``start`` is the (seq, hash) of the record before the first one; the default is the
    genesis. Streams: memory does not grow with the number of records. Raises ChainError
    naming the first seq that is malformed, mis-hashed, mis-linked or out of sequence.
    An empty iterable returns ``start`` unchanged.
    """
    assert len(start[1]) == HASH_LEN
    head = start
    for record in records:
        verify_link(head, record)
        verify_record(record)
        head = (record.seq, record.hash)
    return head
