"""The PostgreSQL journal's append parameters as binary arrays built in one go.

An append sends six arrays (seq, ts_us, kind, body, prev_hash, hash) of a whole group.
psycopg dumps a Python list element by element, a few Python calls per element: about
3 us per record, most of the writer thread's time. These values carry the array's bytes
in PostgreSQL's binary array format (what ``array_recv`` reads), built with one
``struct`` call or one ``bytes.join`` per array; their dumpers hand the bytes over as
they are. The server stores exactly what it stored before (the same values arrive).

Binary array format: ndim (int32, 1), has-null flag (int32, 0), element type oid
(int32), then per dimension its length and lower bound (int32 each, lower bound 1), then
every element as its length (int32) and its binary value (int8: 8 bytes big-endian;
text: UTF-8; bytea: the bytes).
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

import psycopg
from psycopg.adapt import Dumper
from psycopg.pq import Format

_HEADER = struct.Struct(">iiIii")
_LENGTH = struct.Struct(">i").pack

INT8_OID = 20
TEXT_OID = 25
BYTEA_OID = 17
INT8_ARRAY_OID = 1016
TEXT_ARRAY_OID = 1009
BYTEA_ARRAY_OID = 1001


class Int8Array:
    """An ``int8[]`` parameter, already in the binary format."""

    __slots__ = ("data",)

    def __init__(self, values: Sequence[int]) -> None:
        n = len(values)
        items = [8, 0] * n  # each element: its length (8), then its value
        items[1::2] = values
        self.data = _HEADER.pack(1, 0, INT8_OID, n, 1) + struct.pack(">" + "iq" * n, *items)


class ByteaArray:
    """A ``bytea[]`` parameter, already in the binary format."""

    __slots__ = ("data",)
    element_oid = BYTEA_OID

    def __init__(self, values: Sequence[bytes]) -> None:
        n = len(values)
        parts = [b""] * (2 * n)
        parts[0::2] = [_LENGTH(len(value)) for value in values]
        parts[1::2] = values
        self.data = _HEADER.pack(1, 0, self.element_oid, n, 1) + b"".join(parts)


class TextArray(ByteaArray):
    """A ``text[]`` parameter, already in the binary format."""

    __slots__ = ()
    element_oid = TEXT_OID

    def __init__(self, values: Sequence[str]) -> None:
        super().__init__([value.encode() for value in values])


class _Int8ArrayDumper(Dumper):
    format = Format.BINARY
    oid = INT8_ARRAY_OID

    def dump(self, obj: Int8Array) -> bytes:
        return obj.data


class _ByteaArrayDumper(Dumper):
    format = Format.BINARY
    oid = BYTEA_ARRAY_OID

    def dump(self, obj: ByteaArray) -> bytes:
        return obj.data


class _TextArrayDumper(_ByteaArrayDumper):
    oid = TEXT_ARRAY_OID


def register(conn: psycopg.Connection[tuple[object, ...]]) -> None:
    """Teach ``conn`` to send these values (as binary parameters, ``%b``)."""
    adapters = conn.adapters
    adapters.register_dumper(Int8Array, _Int8ArrayDumper)
    adapters.register_dumper(ByteaArray, _ByteaArrayDumper)
    adapters.register_dumper(TextArray, _TextArrayDumper)
