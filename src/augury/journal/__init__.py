"""Augury's journal: the hash-chained, signed, append-only record of accepted commands.

The engine appends one record per accepted command, in groups (group commit), and
answers callers only after append() returns. State is a replay of the journal. Every
record's body is opaque here: this package never interprets it.

Modules: records (the chain), signing (operator key, checkpoints), store (the backend
contract), sqlite_store and postgres_store (backends), factory (open_store), export
(offline files), verify (whole-journal audits), errors (the exception hierarchy).
"""

from augury.journal.errors import (
    AppendRejected,
    ChainError,
    ChainFault,
    CheckpointError,
    ExportFormatError,
    JournalError,
    JournalFenced,
    JournalLocked,
    NotWriter,
    SchemaError,
    SnapshotError,
    TailReport,
    TornTail,
)
from augury.journal.export import FileJournalReader, export_journal
from augury.journal.factory import open_store
from augury.journal.postgres_store import PostgresJournalStore
from augury.journal.records import (
    GENESIS_PREV_HASH,
    KIND_CHECKPOINT,
    KIND_COMMAND,
    Head,
    JournalRecord,
    make_record,
    next_record,
    record_hash,
    verify_chain,
    verify_record,
)
from augury.journal.signing import (
    Checkpoint,
    checkpoint_body,
    checkpoint_record,
    load_or_create_key,
    public_key_bytes,
    public_key_hex,
    verify_checkpoint,
)
from augury.journal.sqlite_store import SqliteJournalStore
from augury.journal.store import GROUP_RECORDS_MAX, JournalStore, Snapshot
from augury.journal.verify import VerifyReport, confirm_checkpoint, verify_journal

__all__ = [
    "GENESIS_PREV_HASH",
    "GROUP_RECORDS_MAX",
    "KIND_CHECKPOINT",
    "KIND_COMMAND",
    "AppendRejected",
    "ChainError",
    "ChainFault",
    "Checkpoint",
    "CheckpointError",
    "ExportFormatError",
    "FileJournalReader",
    "Head",
    "JournalError",
    "JournalFenced",
    "JournalLocked",
    "JournalRecord",
    "JournalStore",
    "NotWriter",
    "PostgresJournalStore",
    "SchemaError",
    "Snapshot",
    "SnapshotError",
    "SqliteJournalStore",
    "TailReport",
    "TornTail",
    "VerifyReport",
    "checkpoint_body",
    "checkpoint_record",
    "confirm_checkpoint",
    "export_journal",
    "load_or_create_key",
    "make_record",
    "next_record",
    "open_store",
    "public_key_bytes",
    "public_key_hex",
    "record_hash",
    "verify_chain",
    "verify_checkpoint",
    "verify_journal",
    "verify_record",
]
