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

import contextlib
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import msgspec
from sqlalchemy import (
    Connection,
    Dialect,
    Engine,
    Select,
    Table,
    and_,
    bindparam,
    delete,
    select,
    update,
)

from augury.domain import events as ev
from augury.domain.scoring.flows import flows_of
from augury.domain.units import ONE
from augury.engine.entry import Entry, decode_entry
from augury.journal.records import KIND_COMMAND, JournalRecord
from augury.projections import tables as t
from augury.projections.db import DEFAULT_NAMESPACE, projection_engine, upgrade
from augury.projections.resolution_log import story_row

BATCH_RECORDS_DEFAULT = 500
"""Records applied per transaction by apply_records/rebuild."""

INTERVALS_US = (("1m", 60_000_000), ("1h", 3_600_000_000), ("1d", 86_400_000_000))
"""Candle intervals: name and length in microseconds (buckets start at multiples, UTC)."""

CACHE_ROWS_MAX = 50_000
"""Rows of one table kept in memory between batches; past this the table's cache is dropped."""

Row = dict[str, Any]
Key = tuple[Any, ...]
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
        self._cache = _Cache()
        self._sql = _Sql(self.engine.dialect)
        upgrade(self.engine)

    def close(self) -> None:
        if self._owns_engine:
            self.engine.dispose()

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
        cache, sql = self._cache, self._sql
        with self.engine.begin() as conn:
            # through SQLAlchemy: a connection found broken here is invalidated, not reused
            # (PostgreSQL: FOR UPDATE, a second projector waits its turn)
            last = int(conn.exec_driver_sql(sql.last_seq_for_update).scalar_one())
            cursor = conn.connection.cursor()
            if last != cache.seq:  # first batch, or someone else wrote: trust nothing cached
                cache.invalidate()
                cache.seq = last
                cache.complete = last == 0  # rows and last_seq commit together: no rows yet
            last_ts = 0
            batch = _Batch(conn, cursor, sql, cache)
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
    """For readers; a batch reads it FOR UPDATE through ``_Sql.last_seq_for_update``."""
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


class _Sql:
    """The projector's writes as SQL text for the database driver, built once per projector.

    Every statement a batch writes (the rows' inserts and updates, ``last_seq``) runs on
    the DBAPI cursor of the batch's connection, inside the transaction SQLAlchemy opened,
    with the row dicts as named parameters: SQLAlchemy's per-execution work (building the
    statement, its cache key, the execution context) cost more than the database's. The
    columns and the values are exactly those SQLAlchemy wrote; the tables' types need no
    conversion (integers, text, booleans and NULL go to both drivers as they are).

    On PostgreSQL several rows go in ONE statement with one array per column
    (``INSERT ... SELECT FROM unnest(...)``, ``UPDATE ... FROM unnest(...)``): psycopg's
    per-statement work in a pipeline (about 20 us a row) was most of the projector's CPU
    there. On SQLite ``executemany`` runs in C already.
    """

    def __init__(self, dialect: Dialect) -> None:
        if dialect.name == "sqlite":
            self._param = ":{}"  # pysqlite takes named parameters from a dict
        elif dialect.paramstyle == "pyformat":
            self._param = "%({})s"  # psycopg
        else:
            raise ValueError(f"unsupported database driver {dialect.name}+{dialect.driver}")
        self._quote = dialect.identifier_preparer.quote
        self._texts: dict[tuple[str, str, tuple[str, ...]], str] = {}
        self._array_texts: dict[tuple[bool, str, tuple[str, ...]], tuple[tuple[str, ...], str]] = {}
        state = self._quote(t.projection_state.name)
        select_last = f"SELECT last_seq FROM {state} WHERE id = 1"
        self.last_seq_for_update = select_last + (" FOR UPDATE" if dialect.name != "sqlite" else "")
        self.set_last_seq = (
            f"UPDATE {state} SET last_seq = {self._param.format('last_seq')}, "
            f"last_ts_us = {self._param.format('last_ts_us')} WHERE id = 1"
        )
        positions, market = self._quote(t.positions.name), self._quote("market")
        self.delete_positions = (
            f"DELETE FROM {positions} WHERE {market} = {self._param.format('market')}"
        )
        self._postgres = dialect.name == "postgresql"  # pipelines, arrays
        self._dialect = dialect

    def pipeline(self, conn: Connection) -> contextlib.AbstractContextManager[Any]:
        """psycopg's pipeline mode on the batch's connection (a no-op for SQLite): the
        writes go out without waiting for each answer; an error is raised by the time the
        block ends, and the transaction then rolls back as for any other."""
        if self._postgres:
            pipeline: contextlib.AbstractContextManager[Any] = (
                conn.connection.driver_connection.pipeline()  # type: ignore[union-attr]
            )
            return pipeline
        return contextlib.nullcontext()

    def insert(self, table: Table, columns: tuple[str, ...]) -> str:
        """INSERT of ``columns`` (the keys of the rows to insert)."""
        key = ("insert", table.name, columns)
        text = self._texts.get(key)
        if text is None:
            names = ", ".join(self._quote(name) for name in columns)
            values = ", ".join(self._param.format(name) for name in columns)
            text = f"INSERT INTO {self._quote(table.name)} ({names}) VALUES ({values})"
            self._texts[key] = text
        return text

    def write(
        self, cursor: Any, table: Table, columns: tuple[str, ...], rows: list[Row], *, insert: bool
    ) -> None:
        """Insert ``rows`` (each with exactly ``columns``), or update ``columns`` of them."""
        if self._postgres and len(rows) > 1:
            names, text = self.array_write(table, columns, insert=insert)
            cursor.execute(text, [[row[name] for row in rows] for name in names])
            return
        text = self.insert(table, columns) if insert else self.update(table, columns)
        if len(rows) == 1:
            cursor.execute(text, rows[0])
        else:
            cursor.executemany(text, rows)

    def array_write(
        self, table: Table, columns: tuple[str, ...], *, insert: bool
    ) -> tuple[tuple[str, ...], str]:
        """PostgreSQL: the columns whose arrays the statement takes, in order, and the
        statement that inserts (or updates, by primary key) one row per array index."""
        key = (insert, table.name, columns)
        found = self._array_texts.get(key)
        if found is None:
            keys = tuple(column.name for column in table.primary_key.columns)
            names = columns if insert else keys + tuple(n for n in columns if n not in keys)
            quote = self._quote
            arrays = ", ".join(
                f"%b::{table.columns[name].type.compile(dialect=self._dialect)}[]" for name in names
            )
            name = quote(table.name)
            if insert:
                listed = ", ".join(quote(n) for n in names)
                text = f"INSERT INTO {name} ({listed}) SELECT * FROM unnest({arrays})"
            else:
                aliases = ", ".join(quote(n) for n in names)
                sets = ", ".join(f"{quote(n)} = v.{quote(n)}" for n in names if n not in keys)
                where = " AND ".join(f"{name}.{quote(n)} = v.{quote(n)}" for n in keys)
                text = (
                    f"UPDATE {name} SET {sets} FROM unnest({arrays}) AS v({aliases}) WHERE {where}"
                )
            found = self._array_texts[key] = (names, text)
        return found

    def update(self, table: Table, columns: tuple[str, ...]) -> str:
        """UPDATE of ``columns`` (not the key's) of the row found by its primary key."""
        key = ("update", table.name, columns)
        text = self._texts.get(key)
        if text is None:
            quote, param = self._quote, self._param
            keys = [column.name for column in table.primary_key.columns]
            sets = ", ".join(f"{quote(n)} = {param.format(n)}" for n in columns if n not in keys)
            where = " AND ".join(f"{quote(n)} = {param.format(n)}" for n in keys)
            text = f"UPDATE {quote(table.name)} SET {sets} WHERE {where}"
            self._texts[key] = text
        return text


_SELECTS: dict[str, Select[Any]] = {}
"""A table's SELECT of one row by its primary key (parameters ``k_<column>``), built once."""


def _select_one(table: Table) -> Select[Any]:
    query = _SELECTS.get(table.name)
    if query is None:
        names = [column.name for column in table.primary_key.columns]
        where = and_(*(table.c[name] == bindparam("k_" + name) for name in names))
        query = _SELECTS[table.name] = select(table).where(where)
    return query


_EVICTED: Row = {}
"""Cached in place of a row that exists in the database but is not kept in memory."""


class _Cache:
    """Committed rows kept between batches, so that a batch rarely needs a SELECT.

    Valid only while the database's last_seq is ``seq`` (the projector checks it at the
    start of every batch, under the state row's lock). ``complete`` says that every row
    in the database is in the cache (true from an empty database until a table overflows
    or a row is evicted), so that a miss means "no such row" without asking.
    """

    def __init__(self) -> None:
        self.seq = -1
        self.complete = False
        self.tables: dict[str, dict[Key, Row | None]] = {}

    def invalidate(self) -> None:
        self.seq = -1
        self.complete = False
        self.tables.clear()

    def table(self, name: str) -> dict[Key, Row | None]:
        return self.tables.setdefault(name, {})


class _Rows:
    """The rows of one table touched by a batch: loaded once, written once at flush.

    A row that was in the database is updated only if the batch changed it, and only in
    the columns it changed (``originals`` holds it as loaded): the same row results as
    from writing every column, without rewriting the indexes of columns that stayed.
    """

    def __init__(
        self, conn: Connection, cursor: Any, sql: _Sql, table: Table, cache: _Cache
    ) -> None:
        self.conn, self.cursor, self.sql = conn, cursor, sql
        self.table = table
        self.key_columns = [column.name for column in table.primary_key.columns]
        self.rows: dict[Key, Row | None] = {}
        self.originals: dict[Key, Row] = {}  # the rows in the database, as loaded
        self.cache = cache
        self.cached = cache.table(table.name)
        self.forgotten: list[Callable[[Key], bool]] = []

    def get(self, key: Key) -> Row | None:
        if key in self.rows:
            return self.rows[key]
        cached = self.cached.get(key, _EVICTED)
        if cached is not _EVICTED or (self.cache.complete and key not in self.cached):
            if cached is None or cached is _EVICTED:
                self.rows[key] = None
                return None
            # the cached dict is never changed: a batch changes its copy, then caches that
            self.originals[key] = cached
            row = self.rows[key] = dict(cached)
            return row
        params = {"k_" + name: value for name, value in zip(self.key_columns, key, strict=True)}
        found = self.conn.execute(_select_one(self.table), params).mappings().first()
        if found is None:
            self.rows[key] = None
            return None
        self.originals[key] = dict(found)
        row = self.rows[key] = dict(found)
        return row

    def need(self, key: Key) -> Row:
        row = self.get(key)
        assert row is not None, f"{self.table.name} has no row {key}"
        return row

    def add(self, key: Key, row: Row) -> Row:
        assert self.get(key) is None, f"{self.table.name} already has row {key}"
        self.rows[key] = row
        return row

    def forget(self, match: Callable[[Key], bool]) -> None:
        """Drop cached rows (deleted in the database by the caller's own statement)."""
        for key in [key for key in self.rows if match(key)]:
            del self.rows[key]
            self.originals.pop(key, None)
        self.forgotten.append(match)

    def commit_to(self, keep: Callable[[Row], bool] = lambda row: True) -> None:
        """After the commit: remember the rows written (or ``_EVICTED`` unless ``keep``)."""
        cached = self.cached
        for match in self.forgotten:
            for key in [key for key in cached if match(key)]:
                cached[key] = None
        for key, row in self.rows.items():
            cached[key] = row if row is None or keep(row) else _EVICTED
        if len(cached) > CACHE_ROWS_MAX:
            cached.clear()
            self.cache.complete = False

    def flush(self) -> None:
        originals = self.originals
        inserts: list[Row] = []
        updates: dict[tuple[str, ...], list[Row]] = {}  # by the columns changed
        for key, row in self.rows.items():
            if not row:
                continue
            original = originals.get(key)
            if original is None:
                inserts.append(row)
                continue
            changed = tuple(name for name, value in row.items() if value != original[name])
            if changed:
                updates.setdefault(changed, []).append(row)
        if inserts:
            _insert(self.cursor, self.sql, self.table, inserts)
        for changed, rows in updates.items():
            self.sql.write(self.cursor, self.table, changed, rows, insert=False)


def _insert(cursor: Any, sql: _Sql, table: Table, rows: list[Row]) -> None:
    """Insert ``rows``: one write per run of rows with the same columns (in order)."""
    start = 0
    columns = tuple(rows[0])
    for end in range(1, len(rows) + 1):
        if end == len(rows) or tuple(rows[end]) != columns:
            sql.write(cursor, table, columns, rows[start:end], insert=True)
            if end < len(rows):
                start, columns = end, tuple(rows[end])


class _Batch:
    """Folds the events of a run of records into rows (see the module docstring)."""

    def __init__(self, conn: Connection, cursor: Any, sql: _Sql, cache: _Cache) -> None:
        self.conn, self.cursor, self.sql = conn, cursor, sql
        self.markets = _Rows(conn, cursor, sql, t.markets, cache)
        self.orders = _Rows(conn, cursor, sql, t.orders, cache)
        self.positions = _Rows(conn, cursor, sql, t.positions, cache)
        self.balances = _Rows(conn, cursor, sql, t.balances, cache)
        self.candles = _Rows(conn, cursor, sql, t.candles, cache)
        self.fills: list[Row] = []
        self.flows: list[Row] = []
        self.story: list[Row] = []
        self.settled: set[str] = set()
        self.seq = 0
        self.ts_us = 0

    def entry(self, seq: int, ts_us: int, entry: Entry) -> None:
        self.seq, self.ts_us = seq, ts_us
        for index, event in enumerate(entry.events):
            _HANDLERS[type(event)](self, event, index)
            postings = getattr(event, "postings", ())
            if postings:
                self._post(postings)
                self._flows(event, index)

    def flush(self) -> None:
        for market in sorted(self.settled):
            self.cursor.execute(self.sql.delete_positions, {"market": market})
        for rows in (self.markets, self.orders, self.positions, self.balances, self.candles):
            rows.flush()
        for table, appended in (
            (t.fills, self.fills),
            (t.account_flows, self.flows),
            (t.resolution_log, self.story),
        ):
            if appended:
                _insert(self.cursor, self.sql, table, appended)

    def commit_to(self, cache: _Cache) -> None:
        """Keep the committed rows for the next batch; closed orders are not kept."""
        self.orders.commit_to(lambda row: row["status"] in ("open", "resting"))
        for rows in (self.markets, self.positions, self.balances, self.candles):
            rows.commit_to()

    # -- shared pieces ------------------------------------------------------------------
    def _post(self, postings: Iterable[ev.Posting]) -> None:
        for ledger_account, amount in postings:
            kind, _, account = ledger_account.partition(":")
            if kind == "cash":
                self._balance(account)["available"] += amount
            elif kind == "escrow":
                self._balance(account)["escrow"] += amount

    def _flows(self, event: ev.Event, index: int) -> None:
        fee_account = ""
        if isinstance(event, ev.BookFill):  # the event names the taker's order only
            fee_account = self.orders.need((event.taker_order,))["account"]
        for sub, flow in enumerate(flows_of(event, fee_account)):
            self.flows.append(
                {
                    "seq": self.seq,
                    "idx": index,
                    "sub": sub,
                    "ts_us": self.ts_us,
                    "account": flow.account,
                    "market": flow.market,
                    "kind": flow.kind,
                    "amount": flow.amount,
                }
            )

    def _balance(self, account: str) -> Row:
        row = self.balances.need((account,))
        row["updated_seq"] = self.seq
        return row

    def _position(self, account: str, market: str, token: int) -> Row:
        assert market not in self.settled, "shares moved in a settled market"
        key = (account, market, token)
        row = self.positions.get(key)
        if row is None:
            row = self.positions.add(
                key,
                {
                    "account": account,
                    "market": market,
                    "token": token,
                    "qty": 0,
                    "escrowed": 0,
                    "cost_basis": 0,
                    "updated_seq": self.seq,
                },
            )
        row["updated_seq"] = self.seq
        return row

    @staticmethod
    def _basis_cut(position: Row, qty: int) -> int:
        """The basis that ``qty`` of the position's shares carry away (average cost)."""
        total = position["qty"] + position["escrowed"]
        assert 0 <= qty <= total, "more shares left than were held"
        cut = position["cost_basis"] * qty // total if total else 0
        position["cost_basis"] -= cut
        return int(cut)

    def _order(self, order_id: int) -> Row:
        row = self.orders.need((order_id,))
        row["updated_seq"], row["updated_us"] = self.seq, self.ts_us
        return row

    def _fill_order(self, order: Row, qty: int, escrow_used: int) -> None:
        order["filled"] += qty
        if order["qty"]:
            order["remaining"] -= qty
            assert order["remaining"] >= 0
        order["escrow"] -= escrow_used
        assert order["escrow"] >= 0

    def _trade(self, order: Row, qty: int, paid: int) -> None:
        """Move a filled order's shares: a buy receives ``qty`` for ``paid``; a sell delivers."""
        position = self._position(order["account"], order["market"], order["held_token"])
        if order["side"] == "buy":
            position["qty"] += qty
            position["cost_basis"] += paid
        else:
            self._basis_cut(position, qty)
            position["escrowed"] -= qty
            assert position["escrowed"] >= 0

    def _candle(self, market: str, outcome: int, price: int, qty: int) -> None:
        for name, length_us in INTERVALS_US:
            bucket = self.ts_us - self.ts_us % length_us
            key = (market, outcome, name, bucket)
            row = self.candles.get(key)
            if row is None:
                self.candles.add(
                    key,
                    {
                        "market": market,
                        "outcome": outcome,
                        "interval": name,
                        "bucket_us": bucket,
                        "open": price,
                        "high": price,
                        "low": price,
                        "close": price,
                        "volume": qty,
                        "trades": 1,
                    },
                )
                continue
            row["high"] = max(row["high"], price)
            row["low"] = min(row["low"], price)
            row["close"] = price
            row["volume"] += qty
            row["trades"] += 1

    def _fill_row(self, index: int, kind: str, market: str, outcome: int, price: int) -> Row:
        return {
            "seq": self.seq,
            "idx": index,
            "ts_us": self.ts_us,
            "kind": kind,
            "market": market,
            "outcome": outcome,
            "price": price,
            "rules_version": self._market(market)["rules_version"],
        }

    # -- handlers, one per event type ---------------------------------------------------
    def _story(self, e: ev.Event, index: int) -> None:
        """Add the event to its market's resolution story (resolution_log)."""
        market_id = getattr(e, "market", None)
        if market_id is None:
            return
        outcomes = tuple(msgspec.json.decode(self._market(market_id)["outcomes"]))
        found = story_row(e, outcomes)
        if found is None:
            return
        market, kind, actor, summary, details = found
        self.story.append(
            {
                "seq": self.seq,
                "idx": index,
                "ts_us": self.ts_us,
                "market": market,
                "kind": kind,
                "actor": actor,
                "summary": summary,
                "details": msgspec.json.encode(details).decode(),
            }
        )

    def _clarified(self, e: ev.ClarificationPosted, index: int) -> None:
        self._market(e.market)["rules_version"] = e.version
        self._story(e, index)

    def _nothing(self, e: ev.Event, index: int) -> None:
        """Postings only (handled for every event)."""

    def _account_opened(self, e: ev.AccountOpened, index: int) -> None:
        self.balances.add(
            (e.account,),
            {"account": e.account, "available": 0, "escrow": 0, "updated_seq": self.seq},
        )

    def _market_created(self, e: ev.MarketCreated, index: int) -> None:
        self.markets.add(
            (e.market,),
            {
                "market": e.market,
                "creator": e.creator,
                "question": e.question,
                "outcomes": msgspec.json.encode(e.outcomes).decode(),
                "outcome_count": len(e.outcomes),
                "categorical": e.categorical,
                "close_at": e.close_at,
                "liquidity": e.liquidity,
                "tick": e.tick,
                "lot": e.lot,
                "fee_bps": e.fee_bps,
                "subsidy": e.subsidy,
                "status": "open",
                "status_reason": "",
                "weights": None,
                "rules_version": 1,
                "block_affiliated_trading": e.block_affiliated_trading,
                "affiliated_trading_reason": e.affiliated_trading_reason,
                "created_seq": self.seq,
                "created_us": self.ts_us,
                "updated_seq": self.seq,
                "updated_us": self.ts_us,
            },
        )

    def _market(self, market: str, status: str | None = None, reason: str = "") -> Row:
        row = self.markets.need((market,))
        if status is not None:
            row["status"], row["status_reason"] = status, reason
            row["updated_seq"], row["updated_us"] = self.seq, self.ts_us
        return row

    def _market_status_changed(self, e: ev.MarketStatusChanged, index: int) -> None:
        self._market(e.market, e.status, e.reason)
        self._story(e, index)

    def _order_accepted(self, e: ev.OrderAccepted, index: int) -> None:
        market = self._market(e.market)
        if e.token == "yes":
            held = e.outcome
        elif market["categorical"]:
            held = market["outcome_count"] + e.outcome
        else:
            held = 1 - e.outcome
        self.orders.add(
            (e.order_id,),
            {
                "order_id": e.order_id,
                "account": e.account,
                "market": e.market,
                "outcome": e.outcome,
                "side": e.side,
                "token": e.token,
                "held_token": held,
                "price": e.price,
                "qty": e.qty,
                "budget": e.budget,
                "tif": e.tif,
                "expires_at": e.expires_at,
                "post_only": e.post_only,
                "client_order_id": e.client_order_id,
                "self_trade": e.self_trade,
                "status": "open",
                "remaining": e.qty,
                "filled": 0,
                "escrow": e.escrow,
                "created_seq": self.seq,
                "created_us": self.ts_us,
                "updated_seq": self.seq,
                "updated_us": self.ts_us,
            },
        )
        if e.side == "sell":  # the shares move from available into the order's escrow
            assert e.shares == ((e.account, held, -e.escrow),)
            position = self._position(e.account, e.market, held)
            position["qty"] -= e.escrow
            position["escrowed"] += e.escrow

    def _order_rested(self, e: ev.OrderRested, index: int) -> None:
        self._order(e.order_id)["status"] = "resting"

    def _book_fill(self, e: ev.BookFill, index: int) -> None:
        market = self._market(e.market)
        taker, resting = self._order(e.taker_order), self._order(e.resting_order)
        yes_value = e.qty * e.price * market["tick"] // ONE
        for order, escrow_used, fee in (
            (taker, e.taker_escrow_used, e.fee),
            (resting, e.resting_escrow_used, 0),
        ):
            own_value = yes_value if order["token"] == "yes" else e.qty - yes_value
            self._fill_order(order, e.qty, escrow_used)
            self._trade(order, e.qty, own_value + fee)
        price = e.price * market["tick"]
        row = self._fill_row(index, "book", e.market, e.outcome, price)
        row.update(
            qty=e.qty,
            fee=e.fee,
            taker_order=e.taker_order,
            taker_account=taker["account"],
            resting_order=e.resting_order,
            resting_account=resting["account"],
        )
        self.fills.append(row)
        self._candle(e.market, e.outcome, price, e.qty)

    def _maker_fill(self, e: ev.MakerFill, index: int) -> None:
        order = self._order(e.order_id)
        self._fill_order(order, e.qty, e.escrow_used)
        self._trade(order, e.qty, e.value + e.fee)
        own = (2 * abs(e.value) * ONE + e.qty) // (2 * e.qty)  # nearest micro per share
        price = own if order["token"] == "yes" else ONE - own
        row = self._fill_row(index, "maker", e.market, e.outcome, price)
        row.update(
            qty=e.qty,
            fee=e.fee,
            taker_order=e.order_id,
            taker_account=e.account,
            resting_order=None,
            resting_account=None,
        )
        self.fills.append(row)
        self._candle(e.market, e.outcome, price, e.qty)

    def _order_closed(self, e: ev.OrderClosed, index: int) -> None:
        order = self._order(e.order_id)
        order["status"] = e.reason
        order["escrow"] -= e.released
        assert order["escrow"] == 0, "an order closed with escrow left"
        if order["side"] == "sell" and e.released:
            position = self._position(order["account"], order["market"], order["held_token"])
            position["qty"] += e.released
            position["escrowed"] -= e.released
            assert position["escrowed"] >= 0

    def _sets_minted(self, e: ev.SetsMinted, index: int) -> None:
        count = len(e.shares)
        share, remainder = divmod(e.qty, count)  # the sets cost qty micro-credits
        for position_index, (account, token, qty) in enumerate(e.shares):
            position = self._position(account, e.market, token)
            position["qty"] += qty
            position["cost_basis"] += share + (remainder if position_index == 0 else 0)

    def _sets_redeemed(self, e: ev.SetsRedeemed, index: int) -> None:
        for account, token, delta in e.shares:
            assert delta < 0
            position = self._position(account, e.market, token)
            self._basis_cut(position, -delta)
            position["qty"] += delta

    def _no_converted(self, e: ev.NoConverted, index: int) -> None:
        carried = 0
        gained = [(account, token, delta) for account, token, delta in e.shares if delta > 0]
        for account, token, delta in e.shares:
            if delta < 0:
                position = self._position(account, e.market, token)
                carried += self._basis_cut(position, -delta)
                position["qty"] += delta
        share, remainder = divmod(carried, len(gained))
        for position_index, (account, token, delta) in enumerate(gained):
            position = self._position(account, e.market, token)
            position["qty"] += delta
            position["cost_basis"] += share + (remainder if position_index == 0 else 0)

    def _settle(self, market: str, status: str, reason: str) -> None:
        self._market(market, status, reason)
        self.positions.forget(lambda key: bool(key[1] == market))
        self.settled.add(market)

    def _market_settled(self, e: ev.MarketSettled, index: int) -> None:
        self._story(e, index)
        self._settle(e.market, "resolved", e.reason)
        self._market(e.market)["weights"] = msgspec.json.encode(e.weights).decode()

    def _market_voided(self, e: ev.MarketVoided, index: int) -> None:
        self._story(e, index)
        self._settle(e.market, "voided", e.reason)


_HANDLERS: dict[type[ev.Event], Callable[[_Batch, Any, int], None]] = {
    ev.AccountOpened: _Batch._account_opened,
    ev.CreditsGranted: _Batch._nothing,
    ev.MarketCreated: _Batch._market_created,
    ev.MarketStatusChanged: _Batch._market_status_changed,
    ev.OrderAccepted: _Batch._order_accepted,
    ev.OrderRested: _Batch._order_rested,
    ev.BookFill: _Batch._book_fill,
    ev.MakerFill: _Batch._maker_fill,
    ev.OrderClosed: _Batch._order_closed,
    ev.SetsMinted: _Batch._sets_minted,
    ev.SetsRedeemed: _Batch._sets_redeemed,
    ev.NoConverted: _Batch._no_converted,
    ev.MarketSettled: _Batch._market_settled,
    ev.MarketVoided: _Batch._market_voided,
    ev.ResolutionSpecSet: _Batch._story,
    ev.AffiliationDeclared: _Batch._nothing,
    ev.ObservationRecorded: _Batch._story,
    ev.OutcomeProposed: _Batch._story,
    ev.ProposalDisputed: _Batch._story,
    ev.ResolutionHeld: _Batch._story,
    ev.VoteCast: _Batch._story,
    ev.ResolutionFinalized: _Batch._story,
    ev.ClarificationPosted: _Batch._clarified,
    ev.AlertRaised: _Batch._story,
    ev.AlertReviewed: _Batch._story,
}
"""The handler of each event type (every one the domain emits)."""
