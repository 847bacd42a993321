"""Rows the projector keeps between batches (``Cache``) and the rows of one table a
batch reads and writes (``Rows``): a batch rarely needs a SELECT."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import (
    Connection,
    Table,
)

from augury.projections.statements import Key, Row, Sql, insert_rows, select_one

CACHE_ROWS_MAX = 50_000
"""Rows of one table kept in memory between batches; past this the table's cache is dropped."""


_EVICTED: Row = {}
"""Cached in place of a row that exists in the database but is not kept in memory."""


class Cache:
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


class Rows:
    """The rows of one table touched by a batch: loaded once, written once at flush.

    A row that was in the database is updated only if the batch changed it, and only in
    the columns it changed (``originals`` holds it as loaded): the same row results as
    from writing every column, without rewriting the indexes of columns that stayed.
    """

    def __init__(self, conn: Connection, cursor: Any, sql: Sql, table: Table, cache: Cache) -> None:
        self.conn, self.cursor, self.sql = conn, cursor, sql
        self.table = table
        self.key_columns = [column.name for column in table.primary_key.columns]
        self.rows: dict[Key, Row | None] = {}
        self.originals: dict[Key, Row] = {}  # the rows in the database, as loaded
        self.cache = cache
        self.cached = cache.table(table.name)
        self.forgotten: list[Callable[[Key], bool]] = []

    def get(self, key: Key) -> Row | None:
        row = self.rows.get(key, _EVICTED)  # (rows holds None or a batch's own dicts)
        if row is not _EVICTED:
            return row
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
        found = self.conn.execute(select_one(self.table), params).mappings().first()
        if found is None:
            self.rows[key] = None
            return None
        self.originals[key] = dict(found)
        row = self.rows[key] = dict(found)
        return row

    def need(self, key: Key) -> Row:
        row = self.rows.get(key)  # (the common case, a row the batch has, without a call)
        if row is None:
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
            changed = tuple([name for name, value in row.items() if value != original[name]])
            if changed:
                updates.setdefault(changed, []).append(row)
        if inserts:
            insert_rows(self.cursor, self.sql, self.table, inserts)
        for changed, rows in updates.items():
            self.sql.write(self.cursor, self.table, changed, rows, insert=False)
