"""pg_arrays: the append's binary arrays reach PostgreSQL as the very values psycopg's
own list dumping sends (same arrays back, element by element), edge values included."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from psycopg.adapt import Dumper
from psycopg.pq import Format

from augury.journal.pg_arrays import (
    BYTEA_ARRAY_OID,
    INT8_ARRAY_OID,
    TEXT_ARRAY_OID,
    bytea_array,
    int8_array,
    text_array,
)

INTS = [1, 2, 0, -1, 2**63 - 1, -(2**63), 1_700_000_000_000_000]
BLOBS = [b"", b"\x00", bytes(range(256)) * 9, b'{"command":{}}', bytes(32)]
TEXTS = ["command", "checkpoint", "", "é ✓", "a" * 3000]


class Int8Array(bytes):
    """Our bytes, sent as the binary ``int8[]`` parameter the append sends them as."""


class ByteaArray(bytes):
    pass


class TextArray(bytes):
    pass


def _dumper(oid: int) -> type[Dumper]:
    class AsIs(Dumper):
        format = Format.BINARY

        def dump(self, obj: bytes) -> bytes:
            return obj

    AsIs.oid = oid
    return AsIs


@pytest.fixture
def conn(pg_dsn: str) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    with psycopg.connect(pg_dsn, autocommit=True) as connection:
        adapters = connection.adapters
        adapters.register_dumper(Int8Array, _dumper(INT8_ARRAY_OID))
        adapters.register_dumper(ByteaArray, _dumper(BYTEA_ARRAY_OID))
        adapters.register_dumper(TextArray, _dumper(TEXT_ARRAY_OID))
        yield connection


@pytest.mark.parametrize("size", [1, 2, 512])
def test_the_arrays_arrive_as_psycopg_sends_lists(
    conn: psycopg.Connection[tuple[object, ...]], size: int
) -> None:
    ints = (INTS * size)[:size]
    blobs = (BLOBS * size)[:size]
    texts = (TEXTS * size)[:size]
    ours = conn.execute(
        "SELECT %b::int8[], %b::bytea[], %b::text[]",
        (Int8Array(int8_array(ints)), ByteaArray(bytea_array(blobs)), TextArray(text_array(texts))),
    ).fetchone()
    theirs = conn.execute(
        "SELECT %b::int8[], %b::bytea[], %b::text[]", (ints, blobs, texts)
    ).fetchone()
    assert ours == theirs == (ints, blobs, texts)


def test_an_array_compares_equal_in_sql(conn: psycopg.Connection[tuple[object, ...]]) -> None:
    row = conn.execute(
        "SELECT %b::int8[] = %b::int8[], %b::bytea[] = %b::bytea[], array_length(%b::text[], 1)",
        (
            Int8Array(int8_array(INTS)),
            INTS,
            ByteaArray(bytea_array(BLOBS)),
            BLOBS,
            TextArray(text_array(TEXTS)),
        ),
    ).fetchone()
    assert row == (True, True, len(TEXTS))
