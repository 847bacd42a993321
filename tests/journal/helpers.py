"""Shared builders for journal tests: chains of records with predictable bodies."""

from __future__ import annotations

from augury.journal import Head, JournalRecord, next_record

TS0_US = 1_767_225_600_000_000  # 2026-01-01T00:00:00Z


def make_chain(n: int, head: Head | None = None, body_len: int = 32) -> list[JournalRecord]:
    """``n`` command records continuing ``head``; bodies differ and are ``body_len`` long."""
    records: list[JournalRecord] = []
    for _ in range(n):
        seq = (head[0] if head else 0) + 1
        body = seq.to_bytes(8, "big") * (body_len // 8 + 1)
        record = next_record(head, TS0_US + seq, "command", body[:body_len])
        records.append(record)
        head = (record.seq, record.hash)
    return records


def head_of(records: list[JournalRecord]) -> Head:
    return (records[-1].seq, records[-1].hash)
