"""The engine's idempotency keys: answering a duplicate, forgetting old keys.

A keyed command whose (account, key) pair is remembered is not executed again: it is
answered with the original's Result (or ``key_reused`` if the command differs), in the
batch being built, so never before the original is durable. The original is found among
the batches in memory while it is not yet reaped; once durable, the writer reads it back
from the journal (``Lookup``). Pairs are remembered for the last ``idempotency_window``
records.

``KeysSide`` is a base class of :class:`~augury.engine.engine.Engine`, as ``WriterSide``
is: it declares the engine's attributes it uses; the engine's ``__init__`` sets them.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from typing import Any

from augury.domain import commands as dc
from augury.domain.exchange import Result
from augury.engine.batch import Batch, Gathered, Lookup, Sequenced
from augury.engine.entry import Entry
from augury.engine.errors import CODE_INVALID_KEY, key_reused, same_command
from augury.engine.stats import EngineStats
from augury.journal import Head

IDEMPOTENCY_KEY_LEN_MAX = 128
ACCOUNT_LEN_MAX = 256
"""Longest account a keyed command may name (its key pair is remembered)."""


class KeysSide:
    """The idempotency keys of an :class:`Engine` (engine thread only)."""

    # Set by Engine.__init__ (see there).
    stats: EngineStats
    idempotency_window: int
    _idempotency: OrderedDict[tuple[str, str], int]
    _exec_head: Head
    _handed: deque[Batch]

    def _forget_old_keys(self) -> None:
        """Keep only the keys of the last ``idempotency_window`` records (per group)."""
        memo = self._idempotency
        oldest = self._exec_head[0] - self.idempotency_window
        while memo:
            first = next(iter(memo.items()))
            if first[1] > oldest:
                break
            del memo[first[0]]

    def _duplicate(
        self, command: dc.Command, account: str, key: str, target: Any, batch: Batch
    ) -> bool:
        """Answer a keyed command that must not run (bad key, or already accepted)."""
        if not 0 < len(key) <= IDEMPOTENCY_KEY_LEN_MAX or len(account) > ACCOUNT_LEN_MAX:
            if type(target) is Gathered:
                target.seqs.append(0)
            message = f"key must be 1..{IDEMPOTENCY_KEY_LEN_MAX} characters"
            batch.answer(target, Result(False, (), CODE_INVALID_KEY, message))
            return True
        seq = self._idempotency.get((account, key))
        if seq is None:
            return False
        self.stats.duplicates += 1
        if type(target) is Sequenced:
            target.seq = seq
        elif type(target) is Gathered:
            target.seqs.append(seq)
        # Answered with this batch, so never before the original (an earlier or the
        # same batch) is durable.
        pending = self._pending_entry(seq, batch)
        if pending is None:  # durable already: the writer reads it back from the journal
            batch.answer(target, Lookup(seq, command))
            return True
        original = pending.command
        result = Result(ok=True, events=pending.events)  # as the original was answered
        if original is not command and not same_command(original, command):
            result = key_reused(seq)
        batch.answer(target, result)
        return True

    def _pending_entry(self, seq: int, batch: Batch) -> Entry | None:
        """The entry of record ``seq`` if it is still held in memory (the batch being
        built, or one handed over and not yet reaped); None: it is durable (reaped)."""
        for held in (batch, *reversed(self._handed)):
            records = held.records
            if records and records[0].seq <= seq <= records[-1].seq:
                return held.entries[seq - records[0].seq]
        return None
