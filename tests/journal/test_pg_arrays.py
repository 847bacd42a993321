"""pg_arrays: the append's binary arrays reach PostgreSQL as the very values psycopg's
own list dumping sends (same arrays back, element by element), edge values included."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from augury.journal.pg_arrays import ByteaArray, Int8Array, TextArray, register

INTS = [1, 2, 0, -1, 2**63 - 1, -(2**63), 1_700_000_000_000_000]
BLOBS = [b"", b"\x00", bytes(range(256)) * 9, b'{"command":{}}', bytes(32)]
TEXTS = ["command", "checkpoint", "", "é ✓", "a" * 3000]


@pytest.fixture
def conn(pg_dsn: str) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    with psycopg.connect(pg_dsn, autocommit=True) as connection:
        register(connection)
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
        (Int8Array(ints), ByteaArray(blobs), TextArray(texts)),
    ).fetchone()
    theirs = conn.execute(
        "SELECT %b::int8[], %b::bytea[], %b::text[]", (ints, blobs, texts)
    ).fetchone()
    assert ours == theirs == (ints, blobs, texts)


def test_an_array_compares_equal_in_sql(conn: psycopg.Connection[tuple[object, ...]]) -> None:
    row = conn.execute(
        "SELECT %b::int8[] = %b::int8[], %b::bytea[] = %b::bytea[], array_length(%b::text[], 1)",
        (Int8Array(INTS), INTS, ByteaArray(BLOBS), BLOBS, TextArray(TEXTS)),
    ).fetchone()
    assert row == (True, True, len(TEXTS))
