"""The projection contract: every backend's test class subclasses ProjectionContract.

A backend supplies ``new_projector``: a factory of Projectors on fresh, empty databases
(a new SQLite file, or a new PostgreSQL schema). The journals are always SQLite files
built by executing domain commands (see journal_builder.py).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import insert, select, update

from augury.domain import commands as c
from augury.domain import events as ev
from augury.domain import ledger
from augury.domain.book import pays_cash
from augury.domain.market import TERMINAL
from augury.domain.scoring import FLOW_KINDS
from augury.engine.entry import Entry, decode_entry
from augury.journal import JournalRecord, SqliteJournalStore
from augury.projections import Projector
from augury.projections import tables as t
from augury.projections.db import alembic_config

from .journal_builder import DAY, HOUR, MINUTE, ONE, JournalWriter

NewProjector = Callable[..., Projector]
ALL_TABLES = (*t.READ_MODELS, t.projection_state)


def dump(projector: Projector) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, in primary-key order."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    with projector.engine.connect() as conn:
        for table in ALL_TABLES:
            keys = list(table.primary_key.columns)
            out[table.name] = [tuple(row) for row in conn.execute(select(table).order_by(*keys))]
    return out


def rows(projector: Projector, table: Any) -> list[dict[str, Any]]:
    with projector.engine.connect() as conn:
        return [dict(row) for row in conn.execute(select(table)).mappings()]


def read_all(path: Path) -> list[JournalRecord]:
    with SqliteJournalStore(path) as store:
        return list(store.read())


def _events(writer: JournalWriter) -> Iterator[ev.Event]:
    for record in writer.records:
        if record.kind == "command":
            yield from decode_entry(record.body).events


def commands_of(records: list[JournalRecord]) -> Iterator[tuple[int, int, Entry]]:
    for record in records:
        if record.kind == "command":
            yield record.seq, record.ts_us, decode_entry(record.body)


class ProjectionContract:
    @pytest.fixture
    def new_projector(self) -> Iterator[NewProjector]:
        raise NotImplementedError

    @pytest.fixture
    def projected(
        self, journal: tuple[Path, JournalWriter], new_projector: NewProjector
    ) -> tuple[Projector, JournalWriter]:
        path, writer = journal
        projector = new_projector()
        projector.apply_records(read_all(path))
        return projector, writer

    # -- schema ------------------------------------------------------------------------
    def test_migrations_create_exactly_the_tables_module(self, new_projector: NewProjector) -> None:
        projector = new_projector()
        with projector.engine.connect() as conn:
            context = MigrationContext.configure(conn)
            assert context.get_current_revision() == "0005"
            assert compare_metadata(context, t.metadata) == []
        assert projector.last_seq() == 0

    def test_migrating_twice_is_harmless(self, new_projector: NewProjector) -> None:
        projector = new_projector()
        again = Projector(projector.engine)
        assert again.last_seq() == 0

    def test_upgrading_from_0001_replays_the_journal(
        self, journal: tuple[Path, JournalWriter], new_projector: NewProjector
    ) -> None:
        """0002 adds a read model the old rows lack: it empties them and rewinds last_seq."""
        records = read_all(journal[0])
        old = new_projector()
        config = alembic_config()
        with old.engine.begin() as conn:
            config.attributes["connection"] = conn
            command.downgrade(config, "0001")
        with old.engine.begin() as conn:  # what a 0001 projector had written
            conn.execute(update(t.projection_state).values(last_seq=40, last_ts_us=1))
            conn.execute(
                insert(t.balances).values(account="x", available=1, escrow=0, updated_seq=3)
            )
        upgraded = Projector(old.engine)
        assert upgraded.last_seq() == 0
        assert rows(upgraded, t.balances) == []
        upgraded.apply_records(records)
        rebuilt = new_projector()
        rebuilt.rebuild(records)
        assert dump(upgraded) == dump(rebuilt)

    # -- the contract: incremental == rebuild ----------------------------------------------
    def test_incremental_and_rebuild_give_identical_rows(
        self, journal: tuple[Path, JournalWriter], new_projector: NewProjector
    ) -> None:
        records = read_all(journal[0])
        third = len(records) // 3
        incremental = new_projector(batch_records=7)
        for seq, ts_us, entry in commands_of(records[:third]):  # one record per transaction
            assert incremental.apply(seq, ts_us, entry)
        incremental.apply_records(records[third : 2 * third])  # batches of 7
        incremental.apply_records(records)  # overlaps: the first two thirds are skipped
        assert incremental.last_seq() == records[-1].seq

        rebuilt = new_projector()
        assert rebuilt.rebuild(iter(records)) == len(records)
        first = dump(incremental)
        assert first == dump(rebuilt)
        assert all(first[table.name] for table in ALL_TABLES), "every table has rows"

        rebuilt.rebuild(records)  # rebuilding over existing rows starts from empty
        assert dump(rebuilt) == first

    def test_apply_is_idempotent(
        self, journal: tuple[Path, JournalWriter], new_projector: NewProjector
    ) -> None:
        records = read_all(journal[0])[:80]
        projector = new_projector()
        assert projector.apply_records(records) == 80
        before = dump(projector)
        assert projector.apply_records(records) == 0
        seq, ts_us, entry = next(commands_of(records[40:]))
        assert projector.apply(seq, ts_us, entry) is False
        assert dump(projector) == before

    def test_a_failing_batch_writes_nothing(
        self, journal: tuple[Path, JournalWriter], new_projector: NewProjector
    ) -> None:
        records = read_all(journal[0])[:30]
        projector = new_projector(batch_records=100)
        projector.apply_records(records[:20])
        before = dump(projector)
        last = records[29]
        bogus = Entry(c.CancelOrder("ana", 999_999), [ev.OrderRested(999_999)])
        items = [*commands_of(records[20:29]), (last.seq + 1, last.ts_us, bogus)]
        with pytest.raises(AssertionError, match="no row"):
            projector.apply_many(items)
        assert dump(projector) == before
        assert projector.last_seq() == records[19].seq

    def test_a_batch_the_database_refuses_writes_nothing(
        self, journal: tuple[Path, JournalWriter], new_projector: NewProjector
    ) -> None:
        """The writes go to the driver's cursor (on PostgreSQL in one pipeline): an error
        the database raises at the end of a batch rolls all of it back, and the next batch
        (same projector, its cache, its pooled connection) carries on as if it never ran."""
        records = read_all(journal[0])
        items = list(commands_of(records))
        accepted = [
            (index, event.order_id)
            for index, (_, _, entry) in enumerate(items)
            if index >= 20
            for event in entry.events
            if isinstance(event, ev.OrderAccepted)
        ]
        first, order_id = accepted[0]
        projector = new_projector(batch_records=100)
        assert projector.apply_many(items[:first]) == first
        before = dump(projector)
        taken = dict(rows(projector, t.orders)[0], order_id=order_id)  # the id the batch needs
        with projector.engine.begin() as conn:
            conn.execute(insert(t.orders).values(**taken))
        with pytest.raises(Exception, match=r"(?i)unique|duplicate"):
            projector.apply_many(items[first : first + 10])
        with projector.engine.begin() as conn:
            conn.execute(t.orders.delete().where(t.orders.c.order_id == order_id))
        assert dump(projector) == before
        assert projector.last_seq() == items[first - 1][0]

        assert projector.apply_many(items[first:]) == len(items) - first
        rebuilt = new_projector()
        rebuilt.apply_many(items)
        assert dump(projector) == dump(rebuilt)

    # -- the rows agree with the exchange ----------------------------------------------------
    def test_balances_match_the_ledger(self, projected: tuple[Projector, JournalWriter]) -> None:
        projector, writer = projected
        book = writer.exchange.ledger
        found = {row["account"]: row for row in rows(projector, t.balances)}
        assert set(found) == writer.exchange.accounts
        for account, row in found.items():
            assert row["available"] == book.balance(ledger.cash(account)), account
            assert row["escrow"] == book.balance(ledger.escrow(account)), account

    def test_positions_match_holdings_and_sell_escrow(
        self, projected: tuple[Projector, JournalWriter]
    ) -> None:
        projector, writer = projected
        ex = writer.exchange
        escrowed: dict[tuple[str, str, int], int] = {}
        for order in ex.orders.values():
            if not pays_cash(order.intent):
                market = ex.markets[order.market]
                yes = order.intent == 1  # SELL_YES
                token = order.outcome if yes else market.no_token(order.outcome)
                key = (order.account, order.market, token)
                escrowed[key] = escrowed.get(key, 0) + order.escrow
        expected: dict[tuple[str, str, int], tuple[int, int]] = {}
        for market in ex.markets.values():
            for account, held in market.positions.items():
                for token, qty in enumerate(held):
                    expected[(account, market.id, token)] = (qty, 0)
        for key, amount in escrowed.items():
            expected[key] = (expected.get(key, (0, 0))[0], amount)
        found = {
            (row["account"], row["market"], row["token"]): (row["qty"], row["escrowed"])
            for row in rows(projector, t.positions)
        }
        assert {k: v for k, v in found.items() if v != (0, 0)} == {
            k: v for k, v in expected.items() if v != (0, 0)
        }
        settled = {m.id for m in ex.markets.values() if m.status in TERMINAL}
        assert settled and not {key[1] for key in found} & settled
        for row in rows(projector, t.positions):
            assert row["cost_basis"] >= 0
            if row["qty"] + row["escrowed"] == 0:
                assert row["cost_basis"] == 0

    def test_orders_and_markets_match_the_exchange(
        self, projected: tuple[Projector, JournalWriter]
    ) -> None:
        projector, writer = projected
        ex = writer.exchange
        found = {row["order_id"]: row for row in rows(projector, t.orders)}
        assert len(found) == ex.next_order_id - 1
        live = {i for i, row in found.items() if row["status"] in ("open", "resting")}
        assert live == set(ex.orders)
        for order_id, order in ex.orders.items():
            row = found[order_id]
            assert (row["remaining"], row["filled"], row["escrow"]) == (
                order.remaining,
                order.filled,
                order.escrow,
            )
            assert (row["status"] == "resting") == order.resting
        for row in found.values():
            if row["order_id"] not in ex.orders:
                assert row["escrow"] == 0
        markets = {row["market"]: row for row in rows(projector, t.markets)}
        assert {m: row["status"] for m, row in markets.items()} == {
            m.id: m.status.value for m in ex.markets.values()
        }
        assert markets["bin"]["weights"] == "[0,1000000]"

    def test_fills_and_volumes_add_up(self, projected: tuple[Projector, JournalWriter]) -> None:
        projector, writer = projected
        kinds = {"book": 0, "maker": 0}
        volume = 0
        for record in writer.records:
            if record.kind != "command":
                continue
            for event in decode_entry(record.body).events:
                if isinstance(event, ev.BookFill | ev.MakerFill):
                    kinds["book" if isinstance(event, ev.BookFill) else "maker"] += 1
                    volume += event.qty
        fills = rows(projector, t.fills)
        assert kinds["book"] > 0 and kinds["maker"] > 0
        assert {k: sum(f["kind"] == k for f in fills) for k in kinds} == kinds
        assert sum(f["qty"] for f in fills) == volume
        assert all(0 < f["price"] < ONE for f in fills)
        for interval in ("1m", "1h", "1d"):
            candles = [r for r in rows(projector, t.candles) if r["interval"] == interval]
            assert sum(r["volume"] for r in candles) == volume
            assert sum(r["trades"] for r in candles) == len(fills)
            for r in candles:
                assert r["low"] <= min(r["open"], r["close"]) <= max(r["open"], r["close"])
                assert max(r["open"], r["close"]) <= r["high"]

    def test_account_flows_add_up_to_the_ledger(
        self, projected: tuple[Projector, JournalWriter]
    ) -> None:
        """Grants plus every flow of an account is its ledger balance (cash + escrow)."""
        projector, writer = projected
        book = writer.exchange.ledger
        grants: dict[str, int] = {}
        for event in _events(writer):
            if isinstance(event, ev.CreditsGranted):
                grants[event.account] = grants.get(event.account, 0) + event.amount
        flows = rows(projector, t.account_flows)
        assert {f["kind"] for f in flows} >= {"trade", "fee", "payout", "refund", "subsidy"}
        assert all(f["amount"] != 0 and f["kind"] in FLOW_KINDS for f in flows)
        totals = dict(grants)
        for f in flows:
            totals[f["account"]] = totals.get(f["account"], 0) + f["amount"]
        for account in writer.exchange.accounts:
            held = book.balance(ledger.cash(account)) + book.balance(ledger.escrow(account))
            assert totals.get(account, 0) == held, account

    def test_account_flows_of_a_settled_market_close_to_fees_and_rounding(
        self, projected: tuple[Projector, JournalWriter]
    ) -> None:
        """Once a market is settled, all that went in came out, but fees and rounding."""
        projector, writer = projected
        fees: dict[str, int] = {}
        residue: dict[str, int] = {}
        for event in _events(writer):
            if isinstance(event, ev.BookFill | ev.MakerFill):
                fees[event.market] = fees.get(event.market, 0) + event.fee
            elif isinstance(event, ev.MarketSettled | ev.MarketVoided):
                residue[event.market] = event.residue
        flows = rows(projector, t.account_flows)
        assert set(residue) == {"bin", "gone", "res"}
        for market in {f["market"] for f in flows}:
            mine = [f for f in flows if f["market"] == market]
            assert -sum(f["amount"] for f in mine if f["kind"] == "fee") == fees.get(market, 0)
            if market in residue:
                assert sum(f["amount"] for f in mine if f["kind"] != "fee") == -residue[market]
        assert fees["book"] > 0

    def test_resolution_log_tells_a_markets_story_in_order(
        self, projected: tuple[Projector, JournalWriter]
    ) -> None:
        projector, _writer = projected
        story = [r for r in rows(projector, t.resolution_log) if r["market"] == "res"]
        story.sort(key=lambda r: (r["seq"], r["idx"]))
        kinds = [r["kind"] for r in story]
        assert kinds == [
            "spec", "clarification", "observation", "observation", "alert", "alert_review",
            "status", "proposal", "dispute", "vote", "vote", "final", "settlement",
        ]  # fmt: skip
        assert "wire read 'yes'" in story[2]["summary"]
        assert "failed" in story[3]["summary"] and "http_status" in story[3]["summary"]
        final = json.loads(story[-2]["details"])
        assert final["by"] == "arbiters" and final["voters"] == ["chen", "dara"]
        assert dict(final["bond_payouts"]) == {
            "cash:ana": 150 * ONE, "cash:chen": 25 * ONE, "cash:dara": 25 * ONE,
        }  # fmt: skip
        markets = {r["market"]: r for r in rows(projector, t.markets)}
        assert markets["res"]["rules_version"] == 2
        fills = [f for f in rows(projector, t.fills) if f["market"] == "res"]
        assert fills and all(f["rules_version"] == 1 for f in fills)  # before the clarification

    # -- candles at the boundaries -----------------------------------------------------------
    def test_candles_bucket_at_minute_hour_and_day_boundaries(
        self, tmp_path: Path, new_projector: NewProjector
    ) -> None:
        midnight = 1_767_225_600_000_000  # 2026-01-01T00:00:00Z
        trades = [  # (instant, price in micros, qty in shares)
            (midnight - 1, 400_000, 1),
            (midnight, 450_000, 2),
            (midnight + MINUTE - 1, 420_000, 3),
            (midnight + MINUTE, 500_000, 4),
            (midnight + HOUR, 300_000, 5),
            (midnight + DAY, 600_000, 6),
        ]
        path = tmp_path / "candles.db"
        with SqliteJournalStore(path) as store:
            store.acquire_writer("test")
            w = JournalWriter(store)
            start = midnight - HOUR
            for name in ("ana", "ben"):
                w.run(c.OpenAccount(name), start)
                w.run(c.GrantCredits(name, 1_000 * ONE), start)
            w.run(c.CreateMarket("m", "ana", "?", ("Y", "N"), midnight + 9 * DAY), start)
            w.run(c.MintSets("ana", "m", 100 * ONE), start)
            for instant, price, qty in trades:
                w.run(
                    c.PlaceOrder("ana", "m", 0, c.Side.SELL, c.Token.YES, qty * ONE, price), instant
                )
                w.run(
                    c.PlaceOrder("ben", "m", 0, c.Side.BUY, c.Token.YES, qty * ONE, price), instant
                )
            w.flush()
        projector = new_projector()
        projector.rebuild(read_all(path))
        got = {
            (r["interval"], r["bucket_us"]): (
                r["open"],
                r["high"],
                r["low"],
                r["close"],
                r["volume"] // ONE,
                r["trades"],
            )
            for r in rows(projector, t.candles)
        }
        m = midnight
        assert got == {
            ("1m", m - MINUTE): (400_000, 400_000, 400_000, 400_000, 1, 1),
            ("1m", m): (450_000, 450_000, 420_000, 420_000, 5, 2),
            ("1m", m + MINUTE): (500_000, 500_000, 500_000, 500_000, 4, 1),
            ("1m", m + HOUR): (300_000, 300_000, 300_000, 300_000, 5, 1),
            ("1m", m + DAY): (600_000, 600_000, 600_000, 600_000, 6, 1),
            ("1h", m - HOUR): (400_000, 400_000, 400_000, 400_000, 1, 1),
            ("1h", m): (450_000, 500_000, 420_000, 500_000, 9, 3),
            ("1h", m + HOUR): (300_000, 300_000, 300_000, 300_000, 5, 1),
            ("1h", m + DAY): (600_000, 600_000, 600_000, 600_000, 6, 1),
            ("1d", m - DAY): (400_000, 400_000, 400_000, 400_000, 1, 1),
            ("1d", m): (450_000, 500_000, 300_000, 300_000, 14, 4),
            ("1d", m + DAY): (600_000, 600_000, 600_000, 600_000, 6, 1),
        }
        fills = sorted(rows(projector, t.fills), key=lambda f: f["seq"])
        assert [(f["taker_account"], f["resting_account"]) for f in fills] == [("ben", "ana")] * 6
        assert [f["ts_us"] for f in fills] == [instant for instant, _, _ in trades]
