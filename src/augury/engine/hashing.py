"""The hash of a "command" record, computed by the engine thread as it builds the record
(so the writer appends records already hashed): the same digest as the journal's
``record_hash`` (journal/records.py), tested against it for every body size."""

from __future__ import annotations

import hashlib
import struct

from augury.journal import KIND_COMMAND

# The hashed preimage of a "command" record up to its body (see journal/records.py):
# magic, seq, ts_us, kind_len, kind, prev_hash, body_len. Tested against record_hash.
COMMAND_HEADER = struct.Struct(">5sQqB7s32sQ")
KIND_COMMAND_BYTES = KIND_COMMAND.encode("ascii")
assert len(KIND_COMMAND_BYTES) == 7
sha256 = hashlib.sha256

HASH_CHUNK = 2_000
"""hashlib releases the GIL for inputs of 2,048 bytes or more; getting it back behind a
busy thread can take a whole switch interval (5 ms). The engine thread hashes in smaller
pieces so that it keeps the GIL (same digest)."""


def hash_in_chunks(header: bytes, body: bytes) -> bytes:
    """``sha256(header + body)``, fed in pieces of ``HASH_CHUNK`` bytes."""
    digest = sha256(header)
    view = memoryview(body)
    for start in range(0, len(body), HASH_CHUNK):
        digest.update(view[start : start + HASH_CHUNK])
    return digest.digest()
