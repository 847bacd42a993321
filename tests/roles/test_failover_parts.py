"""The parts of failover in one process, on PostgreSQL (a fresh schema per test): a
standby's takeover from its warm state (keys included), the refusal of a replica that
disagrees with the journal, the old leader fenced off, and a leader cut off from its
database stopping within one lease period (roles/failover.py, docs/failover.md)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import psycopg
import pytest

from augury.domain import commands as dc
from augury.engine import EngineStopped, SystemClock, open_engine, replay
from augury.journal import PostgresJournalStore, load_or_create_key
from augury.journal.pg_lease import WriterLease
from augury.roles.cluster import state_digest
from augury.roles.failover import (
    FencedSequencer,
    LeasedEngine,
    LeaseKeeper,
    ReplicaMismatch,
    WarmState,
)
from augury.settings import Settings
from augury.transport import CommandBatch, EmbeddedTransport
from augury.transport.messages import CODE_UNAVAILABLE, CommandRequest
from tests.api.conftest import _pg_dsn
from tests.projections.conftest import fresh_namespace, pg_dsn, pg_namespaces

__all__ = ["pg_dsn", "pg_namespaces"]  # fixtures, re-exported for this module

CREDIT = 1_000_000


@pytest.fixture
def namespace(pg_namespaces: list[str]) -> str:
    """A fresh schema, dropped after the test."""
    pg_namespaces.append(fresh_namespace())
    return pg_namespaces[-1]


def _expire(namespace: str) -> None:
    with psycopg.connect(_pg_dsn(), autocommit=True) as conn:
        conn.execute(f"UPDATE {namespace}.lease SET expires_at = clock_timestamp()")


def _grants(account: str, first: int, count: int) -> list[tuple[dc.Command, str, str]]:
    return [
        (dc.GrantCredits(account, CREDIT, f"grant {i}"), account, f"grant-{i}")
        for i in range(first, first + count)
    ]


async def _submit(engine: object, requests: list[tuple[dc.Command, str, str]]) -> list[int]:
    futures = engine.submit_many(requests)  # type: ignore[attr-defined]
    return [seq for result, seq in await asyncio.gather(*futures) if result.ok]


def test_a_standby_takes_over_warm_and_the_old_leader_is_fenced_off(
    namespace: str, tmp_path: Path
) -> None:
    dsn = _pg_dsn()

    async def scenario() -> None:
        lease = WriterLease(dsn, namespace, name="old")
        assert lease.try_acquire("old") == 1
        old_store = PostgresJournalStore(dsn, namespace, epoch=1)
        old = open_engine(old_store, tmp_path / "operator.key", owner="old")
        opened = await _submit(old, [(dc.OpenAccount("ann"), "ann", "open")])
        assert opened and await _submit(old, _grants("ann", 0, 20))
        # The standby loads now; the leader goes on (the bus feed is not running here:
        # the takeover must read what the standby missed from the journal).
        reader = PostgresJournalStore(dsn, namespace)
        warm = await asyncio.to_thread(WarmState.load, reader, SystemClock())
        await _submit(old, _grants("ann", 20, 10))
        # The old leader pauses past its lease; the standby takes epoch 2 and leads.
        _expire(namespace)
        assert lease.try_acquire("new") == 2
        settings = Settings(database_url=dsn, journal_namespace=namespace, data_dir=tmp_path)
        bus = EmbeddedTransport()
        role = LeasedEngine(settings, bus, lease, "new")
        role.warm = warm
        new = await role.take_over(2)
        head = reader.head()
        assert head is not None and new.head == head
        # The zombie wakes up: its next command is refused by the fence, it stops.
        with pytest.raises(EngineStopped, match="fenced off"):
            await _submit(old, _grants("ann", 100, 1))
        assert not old.running
        # A command the old leader accepted, resent with its key: answered, not re-run.
        before = reader.count()
        futures = new.submit_many(_grants("ann", 25, 1))
        (result, seq), *_ = await asyncio.gather(*futures)
        assert result.ok and seq <= head[0] and reader.count() == before
        assert await _submit(new, _grants("ann", 30, 5))
        # The new leader's state is a fresh replay's.
        digest = await asyncio.wrap_future(new.query(state_digest))
        assert digest == state_digest(replay(reader).exchange)
        new.close()
        old.close()
        old_store.close()
        reader.close()
        lease.close()
        await bus.close()

    asyncio.run(scenario())


def test_a_replica_that_disagrees_with_the_journal_refuses_to_lead(
    namespace: str, tmp_path: Path
) -> None:
    dsn = _pg_dsn()

    async def scenario() -> None:
        lease = WriterLease(dsn, namespace)
        assert lease.try_acquire("old") == 1
        old_store = PostgresJournalStore(dsn, namespace, epoch=1)
        old = open_engine(old_store, tmp_path / "operator.key", owner="old")
        await _submit(old, [(dc.OpenAccount("ann"), "ann", "open"), *_grants("ann", 0, 5)])
        old.close()
        old_store.close()
        reader = PostgresJournalStore(dsn, namespace)
        warm = await asyncio.to_thread(WarmState.load, reader, SystemClock())
        seq = warm.replica.head[0]
        warm.replica.head = (seq, bytes(32))  # as a replica that applied another history
        lease.release("old", 1)
        assert lease.try_acquire("standby") == 2
        settings = Settings(database_url=dsn, journal_namespace=namespace, data_dir=tmp_path)
        role = LeasedEngine(settings, EmbeddedTransport(), lease, "standby")
        role.warm = warm
        with pytest.raises(ReplicaMismatch, match=f"head is seq {seq} with hash 0000"):
            await role.take_over(2)
        assert reader.count() == seq  # nothing was written
        reader.close()
        lease.close()

    asyncio.run(scenario())


def test_a_leader_cut_off_from_its_database_stops_within_one_lease_period(
    namespace: str, tmp_path: Path
) -> None:
    dsn = _pg_dsn()

    async def scenario() -> None:
        lease = WriterLease(dsn, namespace, ttl_s=1.0)
        sent = time.monotonic()
        epoch = lease.try_acquire("leader")
        assert epoch == 1
        keeper = LeaseKeeper(lease, "leader", epoch, sent)
        keeper.start()
        await asyncio.sleep(0.5)
        assert keeper.valid() and keeper.renewals >= 1
        engine = open_engine(tmp_path / "journal.db", tmp_path / "operator.key")
        bus = EmbeddedTransport()
        sequencer = FencedSequencer(engine, bus, keeper)
        batch = CommandBatch("n", 1, (CommandRequest(1, dc.OpenAccount("ann"), "ann", "k"),))
        assert (await sequencer.handle(batch))[0].ok
        # The database becomes unreachable (as if the network were cut).
        lease.dsn = "postgresql://postgres@127.0.0.1:1/none"
        lease.close()
        cut = time.monotonic()
        await asyncio.wait_for(keeper.lost.wait(), 2.0)
        assert time.monotonic() - cut <= lease.ttl_s
        assert "not renewed" in keeper.why and not keeper.valid()
        answer = (await sequencer.handle(batch))[0]
        assert not answer.ok and answer.code == CODE_UNAVAILABLE
        await keeper.close()
        engine.close()
        await bus.close()
        load_or_create_key(tmp_path / "operator.key")

    asyncio.run(scenario())
