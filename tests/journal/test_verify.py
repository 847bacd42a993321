"""verify: whole-journal audits and checkpoints held outside the journal."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from augury.journal import (
    CheckpointError,
    SqliteJournalStore,
    checkpoint_body,
    checkpoint_record,
    confirm_checkpoint,
    next_record,
    verify_journal,
)

from .helpers import head_of, make_chain


def test_checkpoint_must_sign_the_record_it_follows() -> None:
    key = Ed25519PrivateKey.generate()
    records = make_chain(5)
    stale = next_record(head_of(records), 0, "checkpoint", checkpoint_body(3, records[2].hash, key))
    with pytest.raises(CheckpointError, match="not the record it follows"):
        verify_journal([*records, stale], key.public_key())
    fresh = checkpoint_record(head_of(records), 0, key)
    report = verify_journal([*records, fresh], key.public_key())
    assert report.checkpoints == 1 and report.head == (6, fresh.hash)


def test_genesis_checkpoint_and_confirmation(tmp_path: Path) -> None:
    key = Ed25519PrivateKey.generate()
    with SqliteJournalStore(tmp_path / "j.db") as store:
        store.acquire_writer("t")
        genesis = checkpoint_record(None, 0, key)
        store.append([genesis])
        store.append(make_chain(4, store.head()))
        assert confirm_checkpoint(store, genesis.body, key.public_key()) == store.head()
        # Someone rewrites the tail after a checkpoint: the chain since no longer descends.
        store._conn.execute("UPDATE journal SET prev_hash = zeroblob(32) WHERE seq = 4")
        with pytest.raises(Exception, match="seq=4"):
            confirm_checkpoint(store, genesis.body, key.public_key())
