"""The operator's Ed25519 key and signed checkpoints of the journal head.

A checkpoint says "the record at seq N has hash H", signed by the operator. It is
appended to the journal as a record of kind "checkpoint" (chained like any other), and
can be handed to anyone. Whoever keeps one can later check that the journal still holds
exactly hash H at seq N, i.e. that history before N was not rewritten.

What is signed (the message) is a fixed layout::

    b"AUGURY-CHECKPOINT-1\\n" || head_seq (u64 big-endian) || head_hash (32 bytes)

The checkpoint body is canonical JSON: keys sorted, no whitespace, lowercase hex::

    {"head_hash":"<64 hex>","head_seq":N,"public_key":"<64 hex>","signature":"<128 hex>","v":1}

This module does file I/O only in load_or_create_key(). It never reads the journal.
"""

from __future__ import annotations

import contextlib
import os
import stat
import struct
from pathlib import Path

import msgspec
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from augury.journal.errors import CheckpointError
from augury.journal.records import (
    HASH_LEN,
    KIND_CHECKPOINT,
    SEQ_MAX,
    Head,
    JournalRecord,
    next_record,
)

CHECKPOINT_DOMAIN = b"AUGURY-CHECKPOINT-1\n"
"""Prefix of every signed checkpoint message, so the key's signatures mean one thing."""

CHECKPOINT_VERSION = 1
PUBLIC_KEY_LEN = 32
SIGNATURE_LEN = 64
KEY_FILE_MODE = 0o600
_CHECKPOINT_BODY_LEN_MAX = 1024

PublicKeyLike = Ed25519PublicKey | bytes | str
"""A public key object, its 32 raw bytes, or those bytes as 64 hex characters."""


class Checkpoint(msgspec.Struct, frozen=True):
    """A verified checkpoint: ``public_key`` signed that seq ``head_seq`` has ``head_hash``."""

    head_seq: int
    head_hash: bytes
    public_key: bytes
    signature: bytes


class _Body(msgspec.Struct, forbid_unknown_fields=True):
    """Wire form of a checkpoint body; field order is the sorted key order."""

    head_hash: str
    head_seq: int
    public_key: str
    signature: str
    v: int


def load_or_create_key(path: str | Path) -> Ed25519PrivateKey:
    """Load the operator key from a PKCS#8 PEM file, creating it (mode 0600) if absent.

    Refuses (PermissionError) a key file that group or others may read or write.
    """
    key_path = Path(path)
    if not key_path.exists():
        with contextlib.suppress(FileExistsError):  # a concurrent creator won the race
            _create_key_file(key_path)
    mode = stat.S_IMODE(key_path.stat().st_mode)
    if mode & 0o077:
        raise PermissionError(f"operator key {key_path} has mode {mode:o}; chmod 600 it")
    key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{key_path} does not hold an Ed25519 private key")
    return key


def _create_key_file(key_path: Path) -> None:
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    # O_EXCL: never overwrite a key; the mode is set at creation, never loosened after.
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, KEY_FILE_MODE)
    try:
        os.write(fd, pem)
        os.fsync(fd)
    finally:
        os.close(fd)
    dir_fd = os.open(key_path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)  # the new directory entry survives power loss too
    finally:
        os.close(dir_fd)


def public_key_bytes(key: Ed25519PrivateKey | Ed25519PublicKey) -> bytes:
    """The 32 raw bytes of the public key."""
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def public_key_hex(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    """The public key as 64 lowercase hex characters (what operators publish)."""
    return public_key_bytes(key).hex()


def checkpoint_message(head_seq: int, head_hash: bytes) -> bytes:
    """The exact bytes that a checkpoint signs."""
    if not 0 <= head_seq <= SEQ_MAX:
        raise ValueError(f"head_seq out of range: {head_seq}")
    if len(head_hash) != HASH_LEN:
        raise ValueError(f"head_hash must be {HASH_LEN} bytes, got {len(head_hash)}")
    return CHECKPOINT_DOMAIN + struct.pack(">Q", head_seq) + head_hash


def checkpoint_body(head_seq: int, head_hash: bytes, key: Ed25519PrivateKey) -> bytes:
    """Canonical JSON body of a checkpoint signing (head_seq, head_hash) with ``key``."""
    signature = key.sign(checkpoint_message(head_seq, head_hash))
    wire = _Body(
        head_hash=head_hash.hex(),
        head_seq=head_seq,
        public_key=public_key_hex(key),
        signature=signature.hex(),
        v=CHECKPOINT_VERSION,
    )
    return msgspec.json.encode(wire)


def checkpoint_record(head: Head | None, ts_us: int, key: Ed25519PrivateKey) -> JournalRecord:
    """The "checkpoint" record that follows ``head`` and signs it."""
    seq, digest = head if head is not None else (0, bytes(HASH_LEN))
    return next_record(head, ts_us, KIND_CHECKPOINT, checkpoint_body(seq, digest, key))


def verify_checkpoint(body: bytes, trusted_public_key: PublicKeyLike | None) -> Checkpoint:
    """Parse and verify a checkpoint body; raise CheckpointError if anything is off.

    With ``trusted_public_key`` the checkpoint must be signed by that key. With None,
    only the embedded key is used: that proves the body is intact, NOT who made it.
    """
    if len(body) > _CHECKPOINT_BODY_LEN_MAX:
        raise CheckpointError(f"checkpoint body of {len(body)} bytes is too long")
    try:
        wire = msgspec.json.decode(body, type=_Body)
        head_hash = _unhex(wire.head_hash, HASH_LEN, "head_hash")
        public_key = _unhex(wire.public_key, PUBLIC_KEY_LEN, "public_key")
        signature = _unhex(wire.signature, SIGNATURE_LEN, "signature")
        message = checkpoint_message(wire.head_seq, head_hash)
    except (msgspec.DecodeError, ValueError) as exc:
        raise CheckpointError(f"malformed checkpoint body: {exc}") from exc
    if wire.v != CHECKPOINT_VERSION:
        raise CheckpointError(f"unknown checkpoint version {wire.v}")
    if msgspec.json.encode(wire) != body:
        raise CheckpointError("checkpoint body is not in canonical form")
    if trusted_public_key is not None and public_key != _public_raw(trusted_public_key):
        raise CheckpointError(f"checkpoint signed by untrusted key {public_key.hex()}")
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, message)
    except (InvalidSignature, ValueError) as exc:
        raise CheckpointError(
            f"invalid signature on checkpoint of seq={wire.head_seq} by key {public_key.hex()}"
        ) from exc
    return Checkpoint(wire.head_seq, head_hash, public_key, signature)


def _unhex(text: str, length: int, name: str) -> bytes:
    """Bytes from lowercase hex of exactly ``length`` bytes, else ValueError."""
    if len(text) != 2 * length or text != text.lower():
        raise ValueError(f"{name} must be {2 * length} lowercase hex characters")
    return bytes.fromhex(text)


def _public_raw(key: PublicKeyLike) -> bytes:
    if isinstance(key, Ed25519PublicKey):
        return public_key_bytes(key)
    raw = bytes.fromhex(key) if isinstance(key, str) else key
    if len(raw) != PUBLIC_KEY_LEN:
        raise CheckpointError(f"trusted public key must be {PUBLIC_KEY_LEN} bytes")
    return raw
