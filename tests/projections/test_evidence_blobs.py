"""The evidence store in the shared database (``augury.evidence.sql_store``), on the
read models' database after their migrations: the same behaviour as the file store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import update

from augury.evidence.sql_store import SqlEvidenceStore, evidence_blobs
from augury.evidence.store import sha256_hex
from augury.projections import Projector

from .conftest import fresh_namespace


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlEvidenceStore]:
    if request.param == "sqlite":
        projector = Projector(str(tmp_path / "projections.db"))
    else:
        dsn = request.getfixturevalue("pg_dsn")
        namespace = fresh_namespace()
        request.getfixturevalue("pg_namespaces").append(namespace)
        projector = Projector(dsn, namespace=namespace)
    try:
        yield SqlEvidenceStore(projector.engine)
    finally:
        projector.close()


def test_bytes_round_trip_by_their_hash(store: SqlEvidenceStore) -> None:
    body = b"<html>the front line, 14:00</html>" * 100
    sha = store.put(body)
    assert sha == sha256_hex(body)
    assert store.has(sha) and store.size(sha) == len(body)
    assert store.get(sha) == body and store.verify(sha)
    assert store.put(body) == sha and store.count() == 1  # idempotent


def test_absent_and_malformed_names(store: SqlEvidenceStore) -> None:
    missing = sha256_hex(b"never stored")
    assert not store.has(missing) and store.size(missing) is None
    with pytest.raises(KeyError):
        store.get(missing)
    for bad in ("../../etc/passwd", "ABCDEF" * 11, "", "0" * 63):
        assert not store.has(bad) and store.size(bad) is None
        with pytest.raises(ValueError):
            store.get(bad)


def test_a_damaged_row_fails_verification_and_is_replaced_by_a_put(store: SqlEvidenceStore) -> None:
    body = b"original capture"
    sha = store.put(body)
    with store.engine.begin() as conn:
        conn.execute(update(evidence_blobs).values(body=b"tampered"))
    assert not store.verify(sha)
    store.put(body)
    assert store.verify(sha) and store.get(sha) == body
