"""records: the canonical hash layout, record construction and chain verification."""

from __future__ import annotations

import hashlib
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from augury.journal import (
    GENESIS_PREV_HASH,
    ChainError,
    ChainFault,
    JournalRecord,
    make_record,
    next_record,
    record_hash,
    verify_chain,
    verify_record,
)
from augury.journal.records import BODY_LEN_MAX

from .helpers import TS0_US, make_chain

# The worked example in docs/journal.md; a third-party verifier must reproduce it.
DOC_VECTOR_BYTES = bytes.fromhex(
    "4155474a31"
    "0000000000000001"
    "0006474846204000"
    "07"
    "636f6d6d616e64" + "00" * 32 + "0000000000000005"
    "68656c6c6f"
)
DOC_VECTOR_HASH = "42dda1fbb62bae26a8ff366e077b8f1923ca80146c5732d3fb0e2944c8b346a2"


def test_hash_layout_matches_the_documented_vector() -> None:
    layout = (
        b"AUGJ1"
        + struct.pack(">QqB", 1, TS0_US, 7)
        + b"command"
        + GENESIS_PREV_HASH
        + struct.pack(">Q", 5)
        + b"hello"
    )
    assert layout == DOC_VECTOR_BYTES
    assert hashlib.sha256(layout).hexdigest() == DOC_VECTOR_HASH
    assert record_hash(1, TS0_US, "command", b"hello", GENESIS_PREV_HASH).hex() == DOC_VECTOR_HASH


def test_next_record_links_to_the_head() -> None:
    first = next_record(None, TS0_US, "command", b"a")
    second = next_record((first.seq, first.hash), TS0_US, "checkpoint", b"b")
    assert (first.seq, first.prev_hash) == (1, GENESIS_PREV_HASH)
    assert (second.seq, second.prev_hash) == (2, first.hash)
    assert verify_chain([first, second]) == (2, second.hash)


@pytest.mark.parametrize(
    ("seq", "ts_us", "kind", "body", "prev_hash"),
    [
        (0, 0, "command", b"", GENESIS_PREV_HASH),
        (2**63, 0, "command", b"", GENESIS_PREV_HASH),
        (1, 2**63, "command", b"", GENESIS_PREV_HASH),
        (1, 0, "", b"", GENESIS_PREV_HASH),
        (1, 0, "Command", b"", GENESIS_PREV_HASH),
        (1, 0, "has space", b"", GENESIS_PREV_HASH),
        (1, 0, "k" * 33, b"", GENESIS_PREV_HASH),
        (1, 0, "cömmand", b"", GENESIS_PREV_HASH),
        (1, 0, "command", b"", bytes(31)),
    ],
)
def test_make_record_refuses_out_of_range_fields(
    seq: int, ts_us: int, kind: str, body: bytes, prev_hash: bytes
) -> None:
    with pytest.raises(ValueError):
        make_record(seq, ts_us, kind, body, prev_hash)


def test_make_record_refuses_mutable_or_huge_bodies() -> None:
    with pytest.raises(TypeError):
        make_record(1, 0, "command", bytearray(b"x"), GENESIS_PREV_HASH)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        make_record(1, 0, "command", bytes(BODY_LEN_MAX + 1), GENESIS_PREV_HASH)


def test_verify_record_reports_malformed_fields() -> None:
    good = make_chain(1)[0]
    short_hash = JournalRecord(1, good.ts_us, good.kind, good.body, good.prev_hash, bytes(31))
    with pytest.raises(ChainError) as caught:
        verify_record(short_hash)
    assert caught.value.fault is ChainFault.MALFORMED
    bad_kind = JournalRecord(1, good.ts_us, "BAD KIND", good.body, good.prev_hash, good.hash)
    with pytest.raises(ChainError) as caught:
        verify_record(bad_kind)
    assert (caught.value.seq, caught.value.fault) == (1, ChainFault.MALFORMED)


def test_verify_chain_continues_from_a_start() -> None:
    records = make_chain(10)
    start = (records[4].seq, records[4].hash)
    assert verify_chain(records[5:], start) == (10, records[9].hash)
    assert verify_chain([], start) == start
    with pytest.raises(ChainError) as caught:
        verify_chain(records[5:])  # not from genesis
    assert (caught.value.seq, caught.value.fault) == (6, ChainFault.SEQ_GAP)


def _tamper(record: JournalRecord, field: str, index: int) -> JournalRecord:
    value = bytearray(getattr(record, field))
    value[index % len(value)] ^= 0x01
    fields = {f: getattr(record, f) for f in record.__struct_fields__}
    fields[field] = bytes(value)
    return JournalRecord(**fields)


@given(
    n=st.integers(1, 12),
    data=st.data(),
    field=st.sampled_from(["body", "prev_hash", "hash"]),
)
def test_any_flipped_byte_is_reported_at_its_seq(n: int, data: st.DataObject, field: str) -> None:
    records = make_chain(n, body_len=16)
    k = data.draw(st.integers(0, n - 1), label="record")
    index = data.draw(st.integers(0, 1_000), label="byte")
    records[k] = _tamper(records[k], field, index)
    with pytest.raises(ChainError) as caught:
        verify_chain(records)
    assert caught.value.seq == k + 1


@given(n=st.integers(2, 12), data=st.data())
def test_dropping_or_swapping_records_is_detected(n: int, data: st.DataObject) -> None:
    records = make_chain(n)
    i = data.draw(st.integers(0, n - 2))
    dropped = records[:i] + records[i + 1 :]
    with pytest.raises(ChainError):
        verify_chain(dropped)
    swapped = list(records)
    swapped[i], swapped[i + 1] = swapped[i + 1], swapped[i]
    with pytest.raises(ChainError) as caught:
        verify_chain(swapped)
    assert caught.value.fault is ChainFault.SEQ_GAP


@given(ts_us=st.integers(-(2**63), 2**63 - 1), body=st.binary(max_size=64))
def test_timestamp_and_body_are_covered_by_the_hash(ts_us: int, body: bytes) -> None:
    record = make_record(1, ts_us, "command", body, GENESIS_PREV_HASH)
    verify_record(record)
    other_ts = ts_us - 1 if ts_us > -(2**63) else ts_us + 1
    assert record_hash(1, other_ts, "command", body, GENESIS_PREV_HASH) != record.hash
    assert record_hash(1, ts_us, "command", body + b"\x00", GENESIS_PREV_HASH) != record.hash
