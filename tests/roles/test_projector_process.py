"""The read models written by a projector process: catch-up, follow, retry, restart, stop."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import psycopg
import pytest

from augury.domain import commands as dc
from augury.engine import Engine, SimulatedClock, open_engine
from augury.journal import open_store
from augury.projections import Projector
from augury.projections.projector import Item
from augury.roles.pacing import Pace
from augury.roles.projector_process import ProcessFollower, _Child
from augury.roles.services import Follower, Services, _follow_process
from augury.settings import Settings
from tests.journal.conftest import pg_dsn  # noqa: F401  (a fixture)


def _wait(follower: ProcessFollower | Follower, seq: int) -> None:
    async def wait() -> None:
        await asyncio.wait_for(follower.wait_for(seq), 20)

    asyncio.run(wait())


def _enqueued(engine: Engine, follower: ProcessFollower) -> int:
    """What ``Services.barrier`` waits for: every record acknowledged so far."""
    return int(engine.query(lambda _ex: follower.enqueued_seq).result())


def _until(condition: Callable[[], bool], timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


class Stack:
    """An engine, the read side's projector and a projector process following it."""

    def __init__(
        self, key: Path, journal: str, projections: str, journal_ns: str, projections_ns: str
    ) -> None:
        target = journal if "://" in journal else Path(journal)
        self.engine = open_engine(target, key, SimulatedClock(0), namespace=journal_ns)
        self.projector = Projector(projections, namespace=projections_ns)
        self.follower = ProcessFollower(journal, journal_ns, projections, projections_ns)

    def follow(self) -> None:
        _follow_process(self.engine, self.projector, self.follower)

    def submit(self, command: dc.Command) -> None:
        assert self.engine.submit(command).result().ok

    def barrier(self) -> int:
        target = _enqueued(self.engine, self.follower)
        _wait(self.follower, target)
        return target

    def close(self) -> None:
        self.engine.close()
        self.follower.stop()
        self.projector.close()


@pytest.fixture
def sqlite_stack(tmp_path: Path) -> Iterator[Stack]:
    journal, projections = str(tmp_path / "journal.db"), str(tmp_path / "projections.db")
    stack = Stack(tmp_path / "operator.key", journal, projections, "augury", "augury_p")
    try:
        yield stack
    finally:
        stack.close()
    assert not projector_children()


def projector_children() -> list[multiprocessing.process.BaseProcess]:
    """This process's projector children still alive (other suites' session-wide worker
    pools, such as the evidence readers, may be alive too: not ours to count)."""
    return [p for p in multiprocessing.active_children() if p.name == "augury-projector"]


def test_catch_up_follow_and_stop(sqlite_stack: Stack) -> None:
    stack = sqlite_stack
    stack.submit(dc.OpenAccount("early"))  # before following: caught up on start
    stack.submit(dc.GrantCredits("early", 7))
    stack.follow()
    assert stack.follower.applied_seq == 2 and stack.projector.last_seq() == 2
    assert stack.follower.pid is not None

    for i in range(20):
        stack.submit(dc.OpenAccount(f"ann{i}"))
    assert stack.barrier() == 22
    assert stack.projector.last_seq() == 22  # a read after the barrier sees every command

    stack.engine.close()
    stack.follower.stop()
    assert stack.follower.exitcode == 0  # it stopped by itself, not terminated


def test_stop_applies_what_is_left(sqlite_stack: Stack) -> None:
    stack = sqlite_stack
    stack.follow()
    futures = [stack.engine.submit(dc.OpenAccount(f"a{i}")) for i in range(300)]
    assert all(future.result().ok for future in futures)
    stack.engine.close()  # no barrier: the child may still be behind
    stack.follower.stop()
    assert stack.projector.last_seq() == 300


def test_a_failed_batch_is_retried(sqlite_stack: Stack, tmp_path: Path) -> None:
    stack = sqlite_stack
    stack.follow()
    with sqlite3.connect(tmp_path / "projections.db", timeout=10) as db:
        db.execute("ALTER TABLE balances RENAME TO balances_away")
    stack.submit(dc.OpenAccount("ann"))  # its row cannot be written now
    _until(lambda: stack.follower.failures >= 1)
    assert stack.projector.last_seq() == 0  # the failed batch wrote nothing
    with sqlite3.connect(tmp_path / "projections.db", timeout=10) as db:
        db.execute("ALTER TABLE balances_away RENAME TO balances")
    stack.barrier()  # retried as it was, until it succeeded
    assert stack.projector.last_seq() == 1
    with sqlite3.connect(tmp_path / "projections.db") as db:
        assert db.execute("SELECT account FROM balances").fetchall() == [("ann",)]


def test_a_dead_child_is_replaced(sqlite_stack: Stack) -> None:
    stack = sqlite_stack
    stack.follow()
    pid = stack.follower.pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    _until(lambda: stack.follower.restarts == 1 and stack.follower.pid not in (None, pid))
    stack.submit(dc.OpenAccount("ann"))
    assert stack.barrier() == 1
    assert stack.projector.last_seq() == 1


def test_a_child_that_cannot_catch_up_stops_the_start(tmp_path: Path) -> None:
    follower = ProcessFollower(
        str(tmp_path / "journal.db"), "augury", str(tmp_path / "no" / "such" / "dir.db"), "p"
    )
    follower.start()
    try:
        with pytest.raises(RuntimeError, match="projector process exited"):
            follower.wait_caught_up(1, timeout_s=60)
    finally:
        follower.stop()
    assert not projector_children()


def test_follows_on_postgresql(pg_dsn: str, tmp_path: Path) -> None:  # noqa: F811
    suffix = uuid.uuid4().hex[:12]
    journal_ns, projections_ns = f"t_pp_j_{suffix}", f"t_pp_p_{suffix}"
    stack = Stack(tmp_path / "operator.key", pg_dsn, pg_dsn, journal_ns, projections_ns)
    try:
        stack.submit(dc.OpenAccount("early"))
        stack.follow()
        assert stack.projector.last_seq() == 1
        for i in range(10):
            stack.submit(dc.OpenAccount(f"ann{i}"))
        assert stack.barrier() == 11
        assert stack.projector.last_seq() == 11
    finally:
        stack.close()
        with psycopg.connect(pg_dsn, autocommit=True) as conn:
            for namespace in (journal_ns, projections_ns):
                conn.execute(f"DROP SCHEMA IF EXISTS {namespace} CASCADE")
    assert not projector_children()


@pytest.mark.parametrize("mode", ["process", "thread"])
def test_services_barrier_in_either_mode(
    mode: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AUGURY_PROJECTOR", mode)
    settings = Settings(
        data_dir=tmp_path, surveillance=False, argon2_time_cost=1, argon2_memory_kib=1024
    )
    services = Services.start(settings, lambda _user, _password: None)
    try:
        expected = ProcessFollower if mode == "process" else Follower
        assert isinstance(services.follower, expected)

        async def trade() -> int:
            await services.submit(dc.OpenAccount("ann"))
            await services.submit(dc.GrantCredits("ann", 5))
            await services.barrier()
            return services.projector.last_seq()

        # the admin's account and grant, then ann's: every one in the read models
        assert asyncio.run(trade()) == 4
    finally:
        services.stop()
    assert not projector_children()


def test_following_gathers_what_comes_within_the_gap(tmp_path: Path) -> None:
    """A record after a pause is applied at once; what is committed less than the
    pace's gap after a batch started waits for the rest and goes in one batch."""
    engine = open_engine(tmp_path / "journal.db", tmp_path / "operator.key", SimulatedClock(0))
    store = open_store(tmp_path / "journal.db")
    projector = Projector(str(tmp_path / "projections.db"))
    batches: list[tuple[float, int]] = []  # (time.monotonic(), records) of each batch
    apply_many = projector.apply_many

    def recording(items: Iterable[Item]) -> int:
        batch = list(items)
        batches.append((time.monotonic(), len(batch)))
        return apply_many(batch)

    projector.apply_many = recording  # type: ignore[method-assign]
    wake_read, wake_write = os.pipe()
    report_read, report_write = os.pipe()
    os.set_blocking(wake_read, False)
    os.set_blocking(report_read, False)
    child = _Child(store, projector, wake_read, report_write, _Flag(), batch_records=500)
    # Long enough that a loaded machine's scheduling delays (a CI run beside other
    # work) stay well inside it: "at once" is anything under half of it.
    coalesce_s = 2.0
    child.pace = Pace(coalesce_s, coalesce_s)
    thread = threading.Thread(target=child.run, args=(False,))
    thread.start()
    try:
        submitted = time.monotonic()
        assert engine.submit(dc.OpenAccount("first")).result().ok
        os.write(wake_write, b"\0")  # what the engine's subscriber does
        _until(lambda: len(batches) == 1)
        assert batches[0][1] == 1 and batches[0][0] - submitted < coalesce_s / 2  # at once
        for i in range(10):  # within coalesce_s of that batch's start: gathered
            assert engine.submit(dc.OpenAccount(f"then{i}")).result().ok
            os.write(wake_write, b"\0")
        _until(lambda: projector.last_seq() == 11)
        assert [size for _, size in batches] == [1, 10]
        assert batches[1][0] - batches[0][0] >= coalesce_s
    finally:
        os.write(wake_write, b"\1")  # stop
        thread.join(10)
        engine.close()
        store.close()
        projector.close()
        for fd in (wake_read, wake_write, report_read, report_write):
            os.close(fd)
    assert not thread.is_alive()


class _Flag:
    """The shared ``idle`` byte, in one process."""

    value = 0
