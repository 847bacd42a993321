"""The writer's lease and the epoch fence of PostgresJournalStore (docs/failover.md).

Each test in a fresh schema; without a reachable server these skip (see conftest.py).
"""

from __future__ import annotations

import threading
import time

import psycopg
import pytest

from augury.journal import JournalFenced, JournalLocked, PostgresJournalStore
from augury.journal.pg_lease import WriterLease

from .helpers import head_of, make_chain


def _expire(dsn: str, namespace: str) -> None:
    """As if the holder had stopped renewing long ago (no sleeping in tests)."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"UPDATE {namespace}.lease SET expires_at = clock_timestamp()")


def test_a_fresh_journal_has_a_free_lease_at_epoch_zero(pg_dsn: str, pg_namespace: str) -> None:
    lease = WriterLease(pg_dsn, pg_namespace)
    state = lease.read()
    assert (state.holder, state.epoch, state.live) == ("", 0, False)
    assert lease.try_acquire("a") == 1
    assert lease.try_acquire("b") is None  # live: nobody else takes it
    state = lease.read()
    assert (state.holder, state.epoch, state.live) == ("a", 1, True)
    assert 0 < state.expires_in_s <= 1.0
    lease.close()


def test_renewal_is_the_holders_only_and_only_while_live(pg_dsn: str, pg_namespace: str) -> None:
    lease = WriterLease(pg_dsn, pg_namespace)
    epoch = lease.try_acquire("a")
    assert epoch == 1
    assert lease.renew("a", 1)
    assert not lease.renew("b", 1)
    _expire(pg_dsn, pg_namespace)
    assert not lease.renew("a", 1)  # lapsed is lost, even if nobody took it
    assert lease.try_acquire("b") == 2
    assert not lease.renew("a", 1)
    lease.release("b", 2)
    assert not lease.read().live
    assert lease.try_acquire("a") == 3
    lease.close()


def test_of_many_racing_takers_exactly_one_wins(pg_dsn: str, pg_namespace: str) -> None:
    leases = [WriterLease(pg_dsn, pg_namespace) for _ in range(6)]
    for round_ in range(5):
        _expire(pg_dsn, pg_namespace)
        start = threading.Barrier(len(leases))
        won: list[int | None] = [None] * len(leases)

        def take(i: int, start: threading.Barrier, won: list[int | None]) -> None:
            start.wait()
            won[i] = leases[i].try_acquire(f"taker-{i}")

        threads = [threading.Thread(target=take, args=(i, start, won)) for i in range(len(leases))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        winners = [epoch for epoch in won if epoch is not None]
        assert winners == [round_ + 1]
    for lease in leases:
        lease.close()


def test_a_leased_writer_appends_only_at_the_current_epoch(pg_dsn: str, pg_namespace: str) -> None:
    lease = WriterLease(pg_dsn, pg_namespace)
    assert lease.try_acquire("old") == 1
    old = PostgresJournalStore(pg_dsn, pg_namespace, epoch=1)
    old.acquire_writer("old")
    old.append(make_chain(3))
    # The old leader pauses; its lease lapses; a standby takes epoch 2.
    _expire(pg_dsn, pg_namespace)
    with pytest.raises(JournalFenced, match="epoch 1 is fenced off; led by nobody"):
        old.append(make_chain(1, old.head()))
    assert lease.try_acquire("new") == 2
    new = PostgresJournalStore(pg_dsn, pg_namespace, epoch=2)
    new.acquire_writer("new")
    head = new.head()
    assert head is not None and head[0] == 3
    new.append(make_chain(2, head))
    # The zombie wakes up: whatever it tries to write is refused, nothing is forked.
    with pytest.raises(JournalFenced, match="'new' at epoch 2") as caught:
        old.append(make_chain(1, head_of(make_chain(3))))
    assert caught.value.current_epoch == 2
    with pytest.raises(JournalFenced):
        old.save_snapshot(3, head_of(make_chain(3))[1], b"state")
    assert new.count() == 5
    # A store opened at a stale epoch cannot even become the writer.
    with (
        PostgresJournalStore(pg_dsn, pg_namespace, epoch=1) as stale,
        pytest.raises(JournalFenced),
    ):
        stale.acquire_writer("stale")
    old.close()
    new.close()
    lease.close()


def test_the_advisory_writer_and_the_lease_exclude_each_other(
    pg_dsn: str, pg_namespace: str
) -> None:
    lease = WriterLease(pg_dsn, pg_namespace)
    with PostgresJournalStore(pg_dsn, pg_namespace) as serve:
        serve.acquire_writer("serve")
        serve.append(make_chain(2))
        assert lease.try_acquire("engine") is None  # the journal is held by serve
        serve.release_writer()
        assert lease.try_acquire("engine") == 1
        with pytest.raises(JournalLocked, match="engine"):
            serve.acquire_writer("serve")
    lease.close()


def test_a_lease_is_renewed_well_within_its_period(pg_dsn: str, pg_namespace: str) -> None:
    lease = WriterLease(pg_dsn, pg_namespace)
    epoch = lease.try_acquire("a")
    assert epoch is not None
    started = time.perf_counter()
    for _ in range(20):
        assert lease.renew("a", epoch)
    assert (time.perf_counter() - started) / 20 < 0.05
    lease.close()
