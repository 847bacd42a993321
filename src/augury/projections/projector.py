"""The projector: turns journal entries into read-model rows, idempotently.

``Projector.apply(seq, ts_us, entry)`` folds one journaled command's events into the
tables of ``tables.py``. Every record's rows are written in one transaction together
with ``projection_state.last_seq``, so a crash leaves the read models exactly as of
some record, and re-applying any seq <= last_seq is skipped. ``apply_records`` batches
up to ``batch_records`` records per transaction (one load of each touched row, one
write of it) and ``rebuild`` empties every table and replays a journal into it.

How each table follows the events (amounts in micros, prices in micro-credits per
YES share):

* balances: ``cash:<a>`` postings move ``available``, ``escrow:<a>`` ones ``escrow``.
* positions: ``qty`` is the account's available shares of a token (the domain's
  holdings), ``escrowed`` the shares reserved by its open sell orders; both are cleared
  (the rows deleted) when the market settles or is voided. ``cost_basis`` is the
  average cost: a buy adds what it paid (fees included), a mint adds 1 credit per set
  split evenly over the set's tokens (remainder on the first), and shares leaving by
  a sale, redemption or conversion take their proportional share of the basis with
  them (rounded down); a conversion hands that basis on, split evenly, to the shares
  it yields.
* fills: one row per ``BookFill`` (at the resting order's price) or ``MakerFill``
  (the LMSR maker on the other side; its price is the order's average price,
  ``value / qty``, rounded to the nearest micro and expressed for YES).
* candles: every fill updates the 1m, 1h and 1d bucket (start = ts_us floored to the
  interval, UTC) of its market and outcome.
* account_flows: one row per cash flow between an account and a market, as
  ``augury.domain.scoring.flows.flows_of`` reads them from each event's postings
  (escrow moves are no flow; a fill's use of escrow is). ``sub`` numbers the flows of
  one event.
* resolution_log: each market's resolution story, one row per spec version,
  observation (with its hash and any change), proposal, dispute, vote, hold,
  clarification, alert and review, status change, final outcome and settlement
  (``resolution_log.story_row``). ``markets.rules_version`` counts clarifications and
  each fill records the rules version it was traded under.

This module must never decide anything the exchange decides: it only reads events.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from types import TracebackType
from typing import Self

from sqlalchemy import (
    Connection,
    Engine,
    delete,
    select,
    update,
)

from augury.engine.entry import Entry, decode_entry
from augury.journal.records import KIND_COMMAND, JournalRecord
from augury.projections import tables as t
from augury.projections.batch import INTERVALS_US, Batch
from augury.projections.db import DEFAULT_NAMESPACE, projection_engine, upgrade
from augury.projections.row_cache import CACHE_ROWS_MAX, Cache
from augury.projections.statements import Sql

BATCH_RECORDS_DEFAULT = 500
"""Records applied per transaction by apply_records/rebuild."""


Item = tuple[int, int, Entry | None]
"""(seq, ts_us, entry); entry None for a record that changes no read model (a checkpoint)."""


class Projector:
    """Read models in the database at ``target`` (a URL, a SQLite path or an Engine).

    The tables are created or migrated on construction (Alembic). With a PostgreSQL URL
    they live in schema ``namespace``. One projector per database at a time; a projector
    is not thread-safe (the engine calls ``apply`` from its one thread).
    """

    def __init__(
        self,
        target: str | Path | Engine,
        *,
        namespace: str = DEFAULT_NAMESPACE,
        batch_records: int = BATCH_RECORDS_DEFAULT,
    ) -> None:
        assert 0 < batch_records <= 100_000
        self._owns_engine = not isinstance(target, Engine)
        self.engine = target if isinstance(target, Engine) else projection_engine(target, namespace)
        self.batch_records = batch_records
        self._cache = Cache()
        self._sql = Sql(self.engine.dialect)
        self._conn: Connection | None = None  # the batches' connection, kept between them
        upgrade(self.engine)

    def close(self) -> None:
        self._release()
        if self._owns_engine:
            self.engine.dispose()

    def _release(self, broken: bool = False) -> None:
        """Give back the batches' connection (``broken``: discard it, never reuse it)."""
        conn, self._conn = self._conn, None
        if conn is not None:
            if broken:
                conn.invalidate()
            conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- reading the bookkeeping ---------------------------------------------------------
    def last_seq(self) -> int:
        """The seq of the last journal record applied (0 before any)."""
        with self.engine.connect() as conn:
            return _last_seq(conn)

    # -- applying ---------------------------------------------------------------------
    def apply(self, seq: int, ts_us: int, entry: Entry) -> bool:
        """Apply one command record in its own transaction; False if seq was applied already."""
        return self._apply_batch([(seq, ts_us, entry)]) == 1

    def apply_many(self, items: Iterable[Item]) -> int:
        """Apply (seq, ts_us, entry) items in order, ``batch_records`` per transaction.

        Seqs must increase; each one not above ``last_seq`` is skipped. Returns how many
        were applied.
        """
        applied = 0
        for batch in _chunks(items, self.batch_records):
            applied += self._apply_batch(batch)
        return applied

    def apply_records(
        self, records: Iterable[JournalRecord], progress: Callable[[int], None] | None = None
    ) -> int:
        """Apply journal records (commands decoded; other kinds only advance last_seq).

        The records should come verified (``verify_chain``, or ``augury verify``): the
        projector trusts them. ``progress`` gets the number applied after each batch.
        """
        done = 0

        def items() -> Iterator[Item]:
            for record in records:
                is_command = record.kind == KIND_COMMAND
                entry = decode_entry(record.body) if is_command else None
                yield (record.seq, record.ts_us, entry)

        for batch in _chunks(items(), self.batch_records):
            done += self._apply_batch(batch)
            if progress is not None:
                progress(done)
        return done

    def rebuild(
        self, records: Iterable[JournalRecord], progress: Callable[[int], None] | None = None
    ) -> int:
        """Empty every read model, then apply ``records`` from the start; returns the count."""
        self.reset()
        return self.apply_records(records, progress)

    def reset(self) -> None:
        """Delete every row of every read model and set last_seq back to 0."""
        self._cache.invalidate()
        with self.engine.begin() as conn:
            for table in t.READ_MODELS:
                conn.execute(delete(table))
            conn.execute(update(t.projection_state).values(last_seq=0, last_ts_us=0))

    def _apply_batch(self, items: list[Item]) -> int:
        # One connection for every batch (a checkout from the pool and its return cost
        # about as much as a small batch's statements); after any failure the next batch
        # starts on a new one: a broken connection is never reused.
        conn = self._conn
        if conn is None:
            conn = self._conn = self.engine.connect()
        try:
            return self._apply_on(conn, items)
        except BaseException:
            self._release(broken=True)
            raise

    def _apply_on(self, conn: Connection, items: list[Item]) -> int:
        cache, sql = self._cache, self._sql
        with conn.begin():
            cursor = conn.connection.cursor()
            # PostgreSQL: FOR UPDATE, a second projector waits its turn
            cursor.execute(sql.last_seq_for_update)
            found = cursor.fetchone()
            assert found is not None, "projection_state has no row"
            last = int(found[0])
            if last != cache.seq:  # first batch, or someone else wrote: trust nothing cached
                cache.invalidate()
                cache.seq = last
                cache.complete = last == 0  # rows and last_seq commit together: no rows yet
            last_ts = 0
            batch = Batch(conn, cursor, sql, cache)
            applied = 0
            for seq, ts_us, entry in items:
                if seq <= last:
                    continue  # already applied: idempotent
                if entry is not None:
                    batch.entry(seq, ts_us, entry)
                last, last_ts = seq, ts_us
                applied += 1
            if applied:
                with sql.pipeline(conn):  # PostgreSQL: every write sent, then one round trip
                    batch.flush()
                    cursor.execute(sql.set_last_seq, {"last_seq": last, "last_ts_us": last_ts})
            cursor.close()
        if applied:  # committed: what the batch wrote is now what the database holds
            batch.commit_to(cache)
            cache.seq = last
        return applied


def _last_seq(conn: Connection) -> int:
    """For readers; a batch reads it FOR UPDATE through ``Sql.last_seq_for_update``."""
    query = select(t.projection_state.c.last_seq).where(t.projection_state.c.id == 1)
    return int(conn.execute(query).scalar_one())


def _chunks(items: Iterable[Item], size: int) -> Iterator[list[Item]]:
    chunk: list[Item] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


__all__ = ["BATCH_RECORDS_DEFAULT", "CACHE_ROWS_MAX", "INTERVALS_US", "Item", "Projector"]
