"""The PostgreSQL journal's append parameters as binary arrays built in one go.

An append sends six arrays (seq, ts_us, kind, body, prev_hash, hash) of a whole group.
psycopg dumps a Python list element by element, a few Python calls per element: about
3 us per record, most of the writer thread's time. These values carry the array's bytes
in PostgreSQL's binary array format (what ``array_recv`` reads), built with one
``struct`` call or one ``bytes.join`` per array; the append hands them to libpq as
binary parameters of these types (``postgres_store``). The server stores exactly what
it stored before (the same values arrive).

Binary array format: ndim (int32, 1), has-null flag (int32, 0), element type oid
(int32), then per dimension its length and lower bound (int32 each, lower bound 1), then
every element as its length (int32) and its binary value (int8: 8 bytes big-endian;
text: UTF-8; bytea: the bytes).
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

_HEADER = struct.Struct(">iiIii")
_LENGTH = struct.Struct(">i").pack

INT8_OID = 20
TEXT_OID = 25
BYTEA_OID = 17
INT8_ARRAY_OID = 1016
TEXT_ARRAY_OID = 1009
BYTEA_ARRAY_OID = 1001


def int8_array(values: Sequence[int]) -> bytes:
    """An ``int8[]`` parameter in the binary format."""
    n = len(values)
    items = [8, 0] * n  # each element: its length (8), then its value
    items[1::2] = values
    return _HEADER.pack(1, 0, INT8_OID, n, 1) + struct.pack(">" + "iq" * n, *items)


def bytea_array(values: Sequence[bytes], element_oid: int = BYTEA_OID) -> bytes:
    """A ``bytea[]`` parameter in the binary format (``element_oid``: of another array
    whose elements' binary form is their bytes)."""
    n = len(values)
    parts = [b""] * (2 * n)
    parts[0::2] = [_LENGTH(len(value)) for value in values]
    parts[1::2] = values
    return _HEADER.pack(1, 0, element_oid, n, 1) + b"".join(parts)


def text_array(values: Sequence[str]) -> bytes:
    """A ``text[]`` parameter in the binary format."""
    return bytea_array([value.encode() for value in values], TEXT_OID)
