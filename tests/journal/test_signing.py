"""signing: the operator key file and checkpoint bodies."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from augury.journal import (
    KIND_CHECKPOINT,
    CheckpointError,
    checkpoint_body,
    checkpoint_record,
    load_or_create_key,
    public_key_bytes,
    public_key_hex,
    verify_checkpoint,
)
from augury.journal.signing import checkpoint_message

HEAD_HASH = bytes(range(32))


@pytest.fixture(scope="module")
def key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def test_key_is_created_once_with_mode_0600(tmp_path: Path) -> None:
    path = tmp_path / "operator.pem"
    created = load_or_create_key(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    assert public_key_bytes(load_or_create_key(path)) == public_key_bytes(created)
    assert len(public_key_bytes(created)) == 32
    assert public_key_hex(created) == public_key_bytes(created.public_key()).hex()


def test_key_readable_by_others_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "operator.pem"
    load_or_create_key(path)
    os.chmod(path, 0o644)
    with pytest.raises(PermissionError, match="chmod 600"):
        load_or_create_key(path)


def test_checkpoint_round_trip(key: Ed25519PrivateKey) -> None:
    body = checkpoint_body(41, HEAD_HASH, key)
    fields = json.loads(body)
    assert list(fields) == ["head_hash", "head_seq", "public_key", "signature", "v"]
    assert fields["head_seq"] == 41 and fields["public_key"] == public_key_hex(key)
    for trusted in (key.public_key(), public_key_bytes(key), public_key_hex(key), None):
        checkpoint = verify_checkpoint(body, trusted)
        assert (checkpoint.head_seq, checkpoint.head_hash) == (41, HEAD_HASH)
    # What is signed is exactly the documented message.
    key.public_key().verify(checkpoint.signature, checkpoint_message(41, HEAD_HASH))


def _edit(body: bytes, **changes: object) -> bytes:
    fields = json.loads(body)
    fields.update(changes)
    return json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()


@pytest.mark.parametrize(
    "alter",
    [
        lambda b: _edit(b, head_seq=42),
        lambda b: _edit(b, head_hash="ff" * 32),
        lambda b: _edit(b, signature="00" * 64),
        lambda b: _edit(b, signature=_flip_first(json.loads(b)["signature"])),
        lambda b: _edit(b, v=2),
        lambda b: _edit(b, extra=1),
        lambda b: _edit(b, head_hash=json.loads(b)["head_hash"].upper()),
        lambda b: b.replace(b",", b", "),  # not canonical
        lambda b: b[:-1],
        lambda b: b"",
    ],
)
def test_altered_checkpoint_is_rejected(key: Ed25519PrivateKey, alter: object) -> None:
    body = checkpoint_body(41, HEAD_HASH, key)
    assert callable(alter)
    with pytest.raises(CheckpointError):
        verify_checkpoint(alter(body), None)


def test_forged_checkpoint_is_rejected_by_the_trusted_key(key: Ed25519PrivateKey) -> None:
    forger = Ed25519PrivateKey.generate()
    forged = checkpoint_body(41, HEAD_HASH, forger)
    verify_checkpoint(forged, None)  # self-consistent: proves integrity, not authorship
    with pytest.raises(CheckpointError, match="untrusted key"):
        verify_checkpoint(forged, key.public_key())
    # Swapping in the trusted public key leaves the forger's signature invalid.
    swapped = _edit(forged, public_key=public_key_hex(key))
    with pytest.raises(CheckpointError, match="invalid signature"):
        verify_checkpoint(swapped, key.public_key())


def test_checkpoint_record_signs_the_head_it_follows(key: Ed25519PrivateKey) -> None:
    record = checkpoint_record((7, HEAD_HASH), 99, key)
    assert (record.seq, record.kind, record.prev_hash) == (8, KIND_CHECKPOINT, HEAD_HASH)
    checkpoint = verify_checkpoint(record.body, key.public_key())
    assert (checkpoint.head_seq, checkpoint.head_hash) == (7, HEAD_HASH)
    genesis = checkpoint_record(None, 99, key)
    assert verify_checkpoint(genesis.body, key.public_key()).head_seq == 0


def test_checkpoint_matches_the_documented_vector() -> None:
    key = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
    head_hash = bytes.fromhex("42dda1fbb62bae26a8ff366e077b8f1923ca80146c5732d3fb0e2944c8b346a2")
    assert public_key_hex(key) == "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8"
    message = checkpoint_message(1, head_hash)
    assert (
        message
        == bytes.fromhex("4155475552592d434845434b504f494e542d310a0000000000000001") + head_hash
    )
    assert json.loads(checkpoint_body(1, head_hash, key))["signature"] == (
        "ac5b878e9aac23cb9b06a511d2e39d29d085653d28435a05887c4cf5aea49a98"
        "52d8d74c1007968b031d699fd4584f736873403cd2ad8915d4e502f5bddc480a"
    )


def _flip_first(signature_hex: str) -> str:
    """The signature with one bit of its first byte changed (its last byte is often 00
    already: an Ed25519 scalar's top byte is small, so "set it to 00" may change nothing)."""
    return f"{int(signature_hex[:2], 16) ^ 1:02x}{signature_hex[2:]}"
