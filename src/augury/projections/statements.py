"""The projector's SQL for writes, built once per dialect: inserts, updates, the
PostgreSQL JSON-rows statements and pipelines, and the state row's lock."""

from __future__ import annotations

import contextlib
from typing import Any

import msgspec
from sqlalchemy import (
    Connection,
    Dialect,
    Select,
    Table,
    and_,
    bindparam,
    select,
)

from augury.projections import tables as t

Row = dict[str, Any]
Key = tuple[Any, ...]

_JSON = msgspec.json.Encoder().encode


class Sql:
    """The projector's writes as SQL text for the database driver, built once per projector.

    Every statement a batch writes (the rows' inserts and updates, ``last_seq``) runs on
    the DBAPI cursor of the batch's connection, inside the transaction SQLAlchemy opened:
    SQLAlchemy's per-execution work (building the statement, its cache key, the execution
    context) cost more than the database's. The columns and the values are exactly those
    SQLAlchemy wrote; the tables' types need no conversion (integers, text, booleans and
    NULL go to both drivers as they are). On SQLite the rows' values go as positional
    parameters, one ``executemany`` per table and set of columns (in C).

    On PostgreSQL the rows of one write go in ONE statement with ONE parameter, the rows
    as a JSON array of objects (``INSERT ... SELECT FROM json_to_recordset(...)``,
    ``UPDATE ... FROM json_to_recordset(...)``), encoded by msgspec in C: psycopg's
    per-statement work in a pipeline (about 20 us a row) and then its Python dumpers of
    one array per column (per element) had been most of the projector's CPU there. The
    server casts each value to the column's type (integers exactly; a JSON object's
    keys not listed are ignored).
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
        self._updates: dict[tuple[str, tuple[str, ...]], tuple[tuple[str, ...], str]] = {}
        self._json_texts: dict[tuple[bool, str, tuple[str, ...]], str] = {}
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
        self._postgres = dialect.name == "postgresql"  # pipelines, JSON rows
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
        """SQLite: INSERT of ``columns`` (the keys of the rows to insert), their values
        as positional parameters in that order."""
        key = ("insert", table.name, columns)
        text = self._texts.get(key)
        if text is None:
            names = ", ".join(self._quote(name) for name in columns)
            values = ", ".join("?" for _ in columns)
            text = f"INSERT INTO {self._quote(table.name)} ({names}) VALUES ({values})"
            self._texts[key] = text
        return text

    def write(
        self, cursor: Any, table: Table, columns: tuple[str, ...], rows: list[Row], *, insert: bool
    ) -> None:
        """Insert ``rows`` (each with exactly ``columns``), or update ``columns`` of them."""
        if self._postgres:
            cursor.execute(self.json_write(table, columns, insert=insert), (_JSON(rows).decode(),))
            return
        # SQLite: positional parameters (binding 24 named ones from a dict cost twice as
        # much); an inserted row's keys are ``columns``, in that order (insert_rows)
        if insert:
            text = self.insert(table, columns)
            params = [tuple(row.values()) for row in rows]
        else:
            names, text = self.update(table, columns)
            params = [tuple([row[name] for name in names]) for row in rows]
        if len(params) == 1:
            cursor.execute(text, params[0])
        else:
            cursor.executemany(text, params)

    def json_write(self, table: Table, columns: tuple[str, ...], *, insert: bool) -> str:
        """PostgreSQL: the statement that inserts (or updates, by primary key) one row per
        object of its one parameter, a JSON array of the rows (``columns``, and the
        primary key's for an update, are read from each object; other keys ignored)."""
        key = (insert, table.name, columns)
        text = self._json_texts.get(key)
        if text is None:
            keys = tuple(column.name for column in table.primary_key.columns)
            names = columns if insert else keys + tuple(n for n in columns if n not in keys)
            quote = self._quote
            typed = ", ".join(
                f"{quote(n)} {table.columns[n].type.compile(dialect=self._dialect)}" for n in names
            )
            rows = f"json_to_recordset(%s::json) AS v({typed})"
            name = quote(table.name)
            if insert:
                listed = ", ".join(quote(n) for n in names)
                text = f"INSERT INTO {name} ({listed}) SELECT {listed} FROM {rows}"
            else:
                sets = ", ".join(f"{quote(n)} = v.{quote(n)}" for n in names if n not in keys)
                where = " AND ".join(f"{name}.{quote(n)} = v.{quote(n)}" for n in keys)
                text = f"UPDATE {name} SET {sets} FROM {rows} WHERE {where}"
            self._json_texts[key] = text
        return text

    def update(self, table: Table, columns: tuple[str, ...]) -> tuple[tuple[str, ...], str]:
        """SQLite: UPDATE of ``columns`` (not the key's) of the row found by its primary
        key; the names of its positional parameters, in order, and the statement."""
        key = (table.name, columns)
        found = self._updates.get(key)
        if found is None:
            quote = self._quote
            keys = tuple(column.name for column in table.primary_key.columns)
            names = tuple(n for n in columns if n not in keys) + keys
            sets = ", ".join(f"{quote(n)} = ?" for n in columns if n not in keys)
            where = " AND ".join(f"{quote(n)} = ?" for n in keys)
            text = f"UPDATE {quote(table.name)} SET {sets} WHERE {where}"
            found = self._updates[key] = (names, text)
        return found


_SELECTS: dict[str, Select[Any]] = {}
"""A table's SELECT of one row by its primary key (parameters ``k_<column>``), built once."""


def select_one(table: Table) -> Select[Any]:
    query = _SELECTS.get(table.name)
    if query is None:
        names = [column.name for column in table.primary_key.columns]
        where = and_(*(table.c[name] == bindparam("k_" + name) for name in names))
        query = _SELECTS[table.name] = select(table).where(where)
    return query


def insert_rows(cursor: Any, sql: Sql, table: Table, rows: list[Row]) -> None:
    """Insert ``rows``: one write per run of rows with the same columns (in order)."""
    start = 0
    columns = tuple(rows[0])
    for end in range(1, len(rows) + 1):
        if end == len(rows) or tuple(rows[end]) != columns:
            sql.write(cursor, table, columns, rows[start:end], insert=True)
            if end < len(rows):
                start, columns = end, tuple(rows[end])
