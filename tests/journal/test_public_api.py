"""The public surface of augury.journal is exactly the intended names."""

from __future__ import annotations

import augury.journal

EXPECTED = {
    # records
    "GENESIS_PREV_HASH", "KIND_CHECKPOINT", "KIND_COMMAND", "Head", "JournalRecord",
    "make_record", "next_record", "record_hash", "verify_chain", "verify_record",
    # signing
    "Checkpoint", "checkpoint_body", "checkpoint_record", "load_or_create_key",
    "public_key_bytes", "public_key_hex", "verify_checkpoint",
    # stores
    "GROUP_RECORDS_MAX", "JournalStore", "Snapshot", "TailReport", "SqliteJournalStore",
    "PostgresJournalStore", "open_store",
    # export and audit
    "FileJournalReader", "export_journal", "VerifyReport", "confirm_checkpoint", "verify_journal",
    # errors
    "JournalError", "ChainError", "ChainFault", "AppendRejected", "JournalFenced",
    "JournalLocked", "NotWriter",
    "TornTail", "SnapshotError", "CheckpointError", "ExportFormatError", "SchemaError",
}  # fmt: skip


def test_exported_names_are_exactly_the_intended_ones() -> None:
    assert set(augury.journal.__all__) == EXPECTED
    for name in EXPECTED:
        assert getattr(augury.journal, name) is not None
