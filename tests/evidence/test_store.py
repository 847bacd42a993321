"""The content-addressed evidence store."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from augury.evidence.store import EvidenceStore


def test_round_trip_and_layout(store: EvidenceStore) -> None:
    sha = store.put(b"front line")
    assert sha == hashlib.sha256(b"front line").hexdigest()
    assert store.get(sha) == b"front line"
    assert store.has(sha)
    assert store.verify(sha)
    assert (store.root / sha[:2] / sha).read_bytes() == b"front line"


def test_put_is_idempotent_and_leaves_no_temporary_files(store: EvidenceStore) -> None:
    a = store.put(b"same")
    b = store.put(b"same")
    assert a == b
    files = sorted(p.relative_to(store.root) for p in store.root.rglob("*") if p.is_file())
    assert files == [Path(a[:2]) / a]


def test_empty_body(store: EvidenceStore) -> None:
    sha = store.put(b"")
    assert sha == hashlib.sha256(b"").hexdigest()
    assert store.get(sha) == b""


def test_missing_is_a_key_error(store: EvidenceStore) -> None:
    absent = "0" * 64
    assert not store.has(absent)
    with pytest.raises(KeyError):
        store.get(absent)
    with pytest.raises(KeyError):
        store.verify(absent)


@pytest.mark.parametrize(
    "name",
    [
        "../../etc/passwd",
        "../" + "a" * 61,
        "/etc/passwd",
        "A" * 64,  # upper case is not the canonical name
        "a" * 63,
        "a" * 65,
        "g" * 64,
        "",
        "a" * 62 + "/x",
    ],
)
def test_malformed_names_refused(store: EvidenceStore, name: str) -> None:
    store.put(b"x")
    with pytest.raises(ValueError):
        store.get(name)
    assert not store.has(name)


def test_verify_detects_and_put_repairs_damage(store: EvidenceStore) -> None:
    sha = store.put(b"original")
    (store.root / sha[:2] / sha).write_bytes(b"edited")
    assert store.has(sha)
    assert not store.verify(sha)
    assert store.put(b"original") == sha
    assert store.verify(sha)
    assert store.get(sha) == b"original"


@settings(max_examples=50, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.binary(max_size=300), max_size=5))
def test_every_put_is_its_hash_and_reads_back(store: EvidenceStore, blobs: list[bytes]) -> None:
    shas = [store.put(b) for b in blobs]
    for blob, sha in zip(blobs, shas, strict=True):
        assert sha == hashlib.sha256(blob).hexdigest()
        assert store.get(sha) == blob
        assert store.verify(sha)
