"""Whole-journal audits: the chain, every checkpoint in it, and checkpoints held outside.

verify_journal() streams any source of records (a store's read(), a FileJournalReader)
and checks every link, every hash and every "checkpoint" record. A checkpoint record at
seq S must sign (S - 1, prev_hash of S): the head it was appended after.

confirm_checkpoint() is what a holder of an old checkpoint runs: it proves that today's
journal still has that exact hash at that seq, and that today's head descends from it.
"""

from __future__ import annotations

from collections.abc import Iterable

import msgspec

from augury.journal.errors import ChainError, CheckpointError
from augury.journal.records import (
    GENESIS_PREV_HASH,
    KIND_CHECKPOINT,
    Head,
    JournalRecord,
    verify_chain,
    verify_link,
    verify_record,
)
from augury.journal.signing import Checkpoint, PublicKeyLike, verify_checkpoint
from augury.journal.store import JournalStore


class VerifyReport(msgspec.Struct, frozen=True):
    """Outcome of a successful verify_journal()."""

    head: Head
    records: int
    checkpoints: int
    last_checkpoint: Checkpoint | None


def verify_journal(
    records: Iterable[JournalRecord],
    trusted_public_key: PublicKeyLike | None = None,
    start: Head = (0, GENESIS_PREV_HASH),
) -> VerifyReport:
    """Verify the chain and its checkpoint records; raise ChainError or CheckpointError.

    With ``trusted_public_key`` every checkpoint must be signed by it. Streams.
    """
    head, count, checkpoints = start, 0, 0
    last: Checkpoint | None = None
    for record in records:
        verify_link(head, record)
        verify_record(record)
        if record.kind == KIND_CHECKPOINT:
            last = _verify_checkpoint_record(record, trusted_public_key)
            checkpoints += 1
        head = (record.seq, record.hash)
        count += 1
    return VerifyReport(head, count, checkpoints, last)


def _verify_checkpoint_record(
    record: JournalRecord, trusted_public_key: PublicKeyLike | None
) -> Checkpoint:
    try:
        checkpoint = verify_checkpoint(record.body, trusted_public_key)
    except CheckpointError as exc:
        raise CheckpointError(f"checkpoint record seq={record.seq}: {exc}") from exc
    if (checkpoint.head_seq, checkpoint.head_hash) != (record.seq - 1, record.prev_hash):
        raise CheckpointError(
            f"checkpoint record seq={record.seq} signs seq={checkpoint.head_seq}, "
            f"not the record it follows"
        )
    return checkpoint


def confirm_checkpoint(
    store: JournalStore, body: bytes, trusted_public_key: PublicKeyLike | None
) -> Head:
    """Check a checkpoint obtained earlier against today's journal; return today's head.

    Raises CheckpointError if the signature fails or the journal no longer holds the
    signed hash at the signed seq, and ChainError if the records since do not chain.
    """
    checkpoint = verify_checkpoint(body, trusted_public_key)
    signed: Head = (checkpoint.head_seq, checkpoint.head_hash)
    if checkpoint.head_seq == 0:
        if checkpoint.head_hash != GENESIS_PREV_HASH:
            raise CheckpointError("checkpoint of seq=0 must sign the genesis hash")
    else:
        record = store.get(checkpoint.head_seq)
        if record is None or record.hash != checkpoint.head_hash:
            raise CheckpointError(
                f"journal {store.name} no longer holds the checkpointed hash "
                f"{checkpoint.head_hash.hex()} at seq={checkpoint.head_seq}"
            )
        try:
            verify_record(record)
        except ChainError as exc:
            raise CheckpointError(f"checkpointed record does not verify: {exc}") from exc
    return verify_chain(store.read(checkpoint.head_seq + 1), signed)
