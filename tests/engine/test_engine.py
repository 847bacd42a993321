"""The engine on a real journal (SQLite and PostgreSQL): acks, groups, idempotency, time,
fencing, failures, checkpoints, snapshots and recovery."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future

import pytest

from augury.domain import codec
from augury.domain import commands as c
from augury.domain.exchange import Exchange, Result
from augury.domain.fingerprint import fingerprint
from augury.domain.invariants import violations
from augury.domain.units import ONE
from augury.engine import (
    Ack,
    AdvanceClock,
    Engine,
    EngineOverloaded,
    EngineStopped,
    SimulatedClock,
    SystemClock,
    decode_entry,
)
from augury.engine import engine as engine_module
from augury.engine.errors import CODE_CLOCK_NOT_SIMULATED, CODE_KEY_REUSED
from augury.journal import (
    KIND_CHECKPOINT,
    KIND_COMMAND,
    JournalLocked,
    JournalRecord,
    TornTail,
    load_or_create_key,
    verify_chain,
    verify_checkpoint,
    verify_journal,
)
from tests.engine.conftest import Journal, count_appends, fail_appends
from tests.engine.workload import SETUP, T0, command_at, drive, time_of

SECOND = 1_000_000


def run_stream(engine: Engine, seed: int, indexes: range) -> list[Result]:
    """Submit commands one after the other (each waits for its ack)."""
    results = []
    for i in indexes:
        results.append(engine.submit(command_at(seed, i), "driver", f"k{i}").result(timeout=30))
    return results


def state_of(engine: Engine) -> dict[str, object]:
    return engine.query(fingerprint).result(timeout=30)


def command_entries(journal: Journal) -> list[tuple[int, object]]:
    store = journal.store()
    return [(r.seq, decode_entry(r.body)) for r in store.read() if r.kind == KIND_COMMAND]


def setup_market(engine: Engine, close_at: int = T0 + 3600 * SECOND) -> None:
    for command in (
        c.OpenAccount("ann"),
        c.OpenAccount("bob"),
        c.GrantCredits("ann", 100 * ONE),
        c.GrantCredits("bob", 100 * ONE),
        c.CreateMarket("m", "ann", "Will it?", ("Yes", "No"), close_at),
    ):
        assert engine.submit(command).result(timeout=10).ok


def buy(price: int, account: str = "ann", **kwargs: object) -> c.PlaceOrder:
    return c.PlaceOrder(account, "m", 0, c.Side.BUY, c.Token.YES, ONE, price, **kwargs)  # type: ignore[arg-type]


# ---------------------------------------------------------------------- basics
def test_submit_ack_then_replay_gives_the_same_state(journal: Journal) -> None:
    engine = journal.engine(checkpoint_every=50)
    results = run_stream(engine, 11, range(900))
    assert sum(r.ok for r in results) > 300
    before = state_of(engine)
    head = engine.head
    engine.close()

    # The engine's results are exactly what the bare core gives for the same stream.
    bare = Exchange()
    _, expected = drive(bare, 11, range(900))
    assert [(r.ok, r.code, codec.encode(r.events)) for r in results] == [
        (r.ok, r.code, codec.encode(r.events)) for r in expected
    ]
    assert before == fingerprint(bare)

    again = journal.engine()
    assert again.head == head
    assert state_of(again) == before
    assert again.recovery is not None and again.recovery.records_replayed > 300
    assert again.query(violations).result() == []
    assert again.clock.now_us() == journal.store().get(head[0]).ts_us  # type: ignore[union-attr]


def test_asubmit_from_asyncio(sqlite_journal: Journal) -> None:
    engine = sqlite_journal.engine()

    async def main() -> list[Result]:
        return await asyncio.gather(*(engine.asubmit(c.OpenAccount(f"a{i}")) for i in range(20)))

    results = asyncio.run(main())
    assert all(r.ok for r in results)
    assert len(state_of(engine)["accounts"]) == 20  # type: ignore[arg-type]


def test_a_rejected_command_appends_nothing(journal: Journal) -> None:
    engine = journal.engine()
    setup_market(engine)
    head = engine.head
    refused = engine.submit(c.GrantCredits("nobody", ONE), "driver", "r1").result(timeout=10)
    assert not refused.ok and refused.code == "unknown_account"
    assert engine.submit(buy(2_000_000)).result(timeout=10).code == "price_out_of_range"
    assert engine.head == head
    assert engine.stats.rejected == 2
    # A refused command is not remembered under its key: sent again, it runs again.
    assert engine.submit(c.OpenAccount("nobody")).result(timeout=10).ok
    assert engine.submit(c.GrantCredits("nobody", ONE), "driver", "r1").result(timeout=10).ok


# ---------------------------------------------------------------------- group commit
def test_group_commit_groups_concurrent_submitters(journal: Journal) -> None:
    store = journal.store()
    sizes = count_appends(store)
    engine = journal.engine(store=store)
    setup_market(engine)
    threads_n, per_thread = 16, 40
    sizes.clear()
    errors: list[BaseException] = []

    def submitter(t: int) -> None:
        try:
            futures = [
                engine.submit(c.OpenAccount(f"t{t}x{j}"), f"t{t}", f"j{j}")
                for j in range(per_thread)
            ]
            assert all(f.result(timeout=30).ok for f in futures)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=submitter, args=(t,)) for t in range(threads_n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    commands = threads_n * per_thread
    assert sum(sizes) == commands
    assert len(sizes) < commands // 2, f"{len(sizes)} appends for {commands} commands"
    assert max(sizes) <= engine.group_max + 1
    assert engine.stats.appends == len(sizes) + 5  # + the setup's five


def test_group_max_one_commits_each_command(sqlite_journal: Journal) -> None:
    store = sqlite_journal.store()
    sizes = count_appends(store)
    engine = sqlite_journal.engine(store=store, group_max=1)
    futures = [engine.submit(c.OpenAccount(f"a{i}")) for i in range(50)]
    assert all(f.result(timeout=10).ok for f in futures)
    assert max(sizes) <= 2  # one command (+ nothing else: no checkpoint yet)
    assert sum(sizes) == 50


def test_subscribers_see_every_durable_record_and_cannot_kill_the_engine(
    sqlite_journal: Journal,
) -> None:
    engine = sqlite_journal.engine()
    seen: list[tuple[int, int, str]] = []
    engine.subscribe(lambda seq, ts, entry: seen.append((seq, ts, type(entry.command).__name__)))

    def broken(seq: int, ts: int, entry: object) -> None:
        raise RuntimeError("subscriber bug")

    engine.subscribe(broken)
    setup_market(engine)
    assert [s for s, _, _ in seen] == [1, 2, 3, 4, 5]
    assert seen[-1][2] == "CreateMarket" and {ts for _, ts, _ in seen} == {T0}
    assert engine.running and engine.submit(c.OpenAccount("cy")).result(timeout=10).ok


def test_a_groups_records_are_handed_over_before_its_answers(sqlite_journal: Journal) -> None:
    """The sequencer's feed gets a durable group's records before the group's commands are
    answered, so a node's record is on its way before its answer (read-your-writes)."""
    engine = sqlite_journal.engine()
    pending: list[Future[Result]] = []
    answered_first: list[bool] = []
    submitting = threading.Lock()  # the callback sees the future submit() returned

    def on_records(records: list[JournalRecord]) -> None:
        with submitting:
            answered_first.extend(future.done() for future in pending)

    engine.subscribe_records(on_records)
    for account in ("ra", "rb", "rc"):
        with submitting:
            future = engine.submit(c.OpenAccount(account))
            pending.append(future)
        assert future.result(timeout=10).ok
        pending.clear()
    assert answered_first == [False, False, False]


# ---------------------------------------------------------------------- idempotency
def test_idempotent_resubmission_also_after_restart(journal: Journal) -> None:
    engine = journal.engine()
    setup_market(engine)
    order = buy(400_000, tif=c.TimeInForce.GTC)
    first = engine.submit(order, "ann", "order-1").result(timeout=10)
    assert first.ok
    head, accepted = engine.head, engine.stats.accepted
    again = engine.submit(order, "ann", "order-1").result(timeout=10)
    assert again == first and engine.head == head and engine.stats.accepted == accepted
    assert engine.stats.duplicates == 1
    # Two in one group: the second sees the first even before it is durable.
    twins = [engine.submit(c.OpenAccount("zed"), "ops", "z") for _ in range(2)]
    assert twins[0].result(timeout=10) == twins[1].result(timeout=10)
    # The same key for another command is refused, not silently answered.
    other = engine.submit(buy(300_000), "ann", "order-1").result(timeout=10)
    assert other.code == CODE_KEY_REUSED
    # The same key under another account is another key.
    assert engine.submit(c.OpenAccount("yan"), "bob", "order-1").result(timeout=10).ok
    head = engine.head
    engine.close()

    restarted = journal.engine()
    assert restarted.submit(order, "ann", "order-1").result(timeout=10) == first
    assert restarted.head == head
    orders = [e for _, e in command_entries(journal) if e.key == "order-1"]  # type: ignore[attr-defined]
    assert len(orders) == 2  # ann's and bob's


def test_idempotency_window_forgets_old_keys(sqlite_journal: Journal) -> None:
    engine = sqlite_journal.engine(idempotency_window=5)
    assert engine.submit(c.OpenAccount("a0"), "x", "first").result(timeout=10).ok
    for i in range(1, 8):
        assert engine.submit(c.OpenAccount(f"a{i}")).result(timeout=10).ok
    resent = engine.submit(c.OpenAccount("a0"), "x", "first").result(timeout=10)
    assert resent.code == "account_exists"  # executed again: the key was forgotten


# ---------------------------------------------------------------------- time
def test_simulated_clock_runs_timers_exactly_when_advanced_past_them(journal: Journal) -> None:
    engine = journal.engine()
    close_at = T0 + 60 * SECOND
    setup_market(engine, close_at=close_at)
    for expires_at, price in ((T0 + 20 * SECOND, 410_000), (T0 + 10 * SECOND, 400_000)):
        gtd = buy(price, tif=c.TimeInForce.GTD, expires_at=expires_at)
        assert engine.submit(gtd).result(timeout=10).ok  # orders 1 (at +20 s) and 2 (+10 s)
    assert engine.submit(buy(300_000, account="bob")).result(timeout=10).ok  # order 3, GTC

    def advance(to_us: int) -> list[tuple[str, int | str]]:
        result = engine.submit(AdvanceClock(to_us)).result(timeout=10)
        assert result.ok and engine.clock.now_us() == to_us
        return [
            (type(e).__name__, getattr(e, "order_id", getattr(e, "status", "")))
            for e in result.events
        ]

    assert advance(T0 + 10 * SECOND - 1) == []
    assert engine.submit(c.Tick()).result(timeout=10).events == ()  # a Tick at now: too early
    assert advance(T0 + 10 * SECOND) == [("OrderClosed", 2)]  # exactly at its instant
    assert advance(close_at - 1) == [("OrderClosed", 1)]
    assert advance(close_at + 40 * SECOND) == [
        ("OrderClosed", 3),
        ("MarketStatusChanged", "closed"),
    ]
    back = engine.submit(AdvanceClock(T0)).result(timeout=10)
    assert back.code == "time_went_backwards"
    assert engine.submit(buy(500_000)).result(timeout=10).code == "market_closed"

    store = journal.store()
    advances = [
        (seq, store.get(seq).ts_us, e.command.to_us)  # type: ignore[union-attr, attr-defined]
        for seq, e in command_entries(journal)
        if isinstance(e.command, AdvanceClock)  # type: ignore[attr-defined]
    ]
    assert len(advances) == 4 and all(ts == to for _, ts, to in advances)
    engine.close()
    restarted = journal.engine(clock=SimulatedClock(T0))
    assert restarted.clock.now_us() == close_at + 40 * SECOND  # resumes where it was


def test_production_refuses_simulated_time(sqlite_journal: Journal) -> None:
    with pytest.raises(ValueError, match="production mode refuses a SimulatedClock"):
        sqlite_journal.engine(clock=SimulatedClock(T0), production=True)
    with pytest.raises(ValueError, match="production"):
        Engine(
            Exchange(),
            sqlite_journal.store(),
            load_or_create_key(sqlite_journal.key_path),
            SimulatedClock(T0),
            production=True,
        )
    engine = sqlite_journal.engine(clock=SystemClock(), production=True)
    refused = engine.submit(AdvanceClock(T0)).result(timeout=10)
    assert refused.code == CODE_CLOCK_NOT_SIMULATED


class SteppedClock:
    """A wall clock the test moves (``Clock``, not a ``SimulatedClock``): the engine treats
    it as the system clock (it fires timers by itself, when idle), but time passes only
    when the test says, so a slow machine cannot reorder what the test expects."""

    def __init__(self, now_us: int) -> None:
        self._now_us = now_us

    def now_us(self) -> int:
        return self._now_us

    def raise_floor(self, floor_us: int) -> None:
        self._now_us = max(self._now_us, floor_us)

    def set(self, now_us: int) -> None:
        assert now_us >= self._now_us
        self._now_us = now_us


def wait_until(condition: Callable[[], bool], what: str, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.02)


def test_system_clock_fires_timers_without_traffic(sqlite_journal: Journal) -> None:
    clock = SteppedClock(T0)
    engine = sqlite_journal.engine(clock=clock, production=True)
    setup_market(engine, close_at=T0 + 800_000)
    gtd = buy(400_000, tif=c.TimeInForce.GTD, expires_at=T0 + 300_000)
    assert engine.submit(gtd).result(timeout=10).ok
    clock.set(T0 + 300_000)

    def orders() -> int:
        return engine.query(lambda ex: len(ex.orders)).result(timeout=10)

    def status() -> str:
        return engine.query(lambda ex: ex.markets["m"].status.value).result(timeout=10)

    wait_until(lambda: orders() == 0, "the order did not expire by itself")
    assert status() == "open"
    clock.set(T0 + 800_000)
    wait_until(lambda: status() == "closed", "the market did not close by itself")
    ticks = [e for _, e in command_entries(sqlite_journal) if isinstance(e.command, c.Tick)]  # type: ignore[attr-defined]
    reasons = [getattr(ev, "reason", "") for entry in ticks for ev in entry.events]  # type: ignore[attr-defined]
    assert reasons == ["expired", "close time reached"]
    assert engine.query(lambda ex: len(ex.orders)).result() == 0


def test_system_clock_never_goes_backwards() -> None:
    clock = SystemClock(floor_us=time.time_ns() // 1000 + 10 * SECOND)
    first = clock.now_us()
    assert clock.now_us() == first  # held at the floor until the wall catches up
    clock.raise_floor(first - 5)
    assert clock.now_us() >= first


def test_the_engine_reads_the_wall_itself_within_the_system_clocks_floor(
    sqlite_journal: Journal, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The hot loop reads time.time_ns, not SystemClock.now_us: it never stamps less
    than the clock's floor, and the clock never answers less than an answered record."""
    floor = time.time_ns() // 1000 + 10 * SECOND
    clock = SystemClock(floor_us=floor)
    engine = sqlite_journal.engine(clock=clock)
    assert engine.submit(c.OpenAccount("held")).result(timeout=10).ok
    ahead = floor + 3_600 * SECOND  # a wall clock that jumped forward
    monkeypatch.setattr(engine_module, "_time_ns", lambda: ahead * 1000)
    assert engine.submit(c.OpenAccount("ahead")).result(timeout=10).ok
    stamps = [r.ts_us for r in sqlite_journal.store().read()]
    assert stamps[0] >= floor and stamps[-1] == ahead
    assert clock.now_us() >= ahead  # raised before the record was answered


# ---------------------------------------------------------------------- fencing, failure
def test_a_second_engine_on_the_same_journal_is_fenced(journal: Journal) -> None:
    engine = journal.engine()
    setup_market(engine)
    with pytest.raises(JournalLocked):
        journal.engine()
    assert engine.submit(c.OpenAccount("still-me")).result(timeout=10).ok


def test_an_append_failure_stops_the_engine_and_fails_every_future(journal: Journal) -> None:
    store = journal.store()
    engine = journal.engine(store=store)
    setup_market(engine)
    calls = fail_appends(store, after=1)
    entered, release = threading.Event(), threading.Event()

    def hold(seq: int, ts: int, entry: object) -> None:  # keeps the engine thread busy
        entered.set()
        release.wait(5)

    engine.subscribe(hold)
    published: list[int] = []
    engine.subscribe(lambda seq, ts, entry: published.append(seq))
    assert engine.submit(c.OpenAccount("blocker")).result(timeout=10).ok
    assert entered.wait(5)
    doomed: list[Ack[Result]] = [engine.submit(c.OpenAccount(f"d{i}")) for i in range(30)]
    release.set()
    for future in doomed:
        with pytest.raises(EngineStopped, match="disk on fire"):
            future.result(timeout=10)
    assert calls() == 2
    assert published == [6]  # subscribers never see what was not durable
    with pytest.raises(EngineStopped):
        engine.submit(c.OpenAccount("late"))
    assert not engine.running
    # Nothing unjournaled was answered; a restart resumes from the journal.
    restarted = journal.engine()
    assert restarted.head[0] == 6
    assert "d0" not in state_of(restarted)["accounts"]  # type: ignore[operator]


def test_a_domain_bug_stops_the_engine_too(sqlite_journal: Journal) -> None:
    engine = sqlite_journal.engine()

    class Exploding(set[str]):  # the accounts, as a domain bug would leave them
        def __contains__(self, account: object) -> bool:
            raise AssertionError("invariant broken")

    engine.query(lambda ex: setattr(ex, "accounts", Exploding())).result()
    with pytest.raises(EngineStopped, match="invariant broken"):
        engine.submit(c.OpenAccount("x")).result(timeout=10)
    assert sqlite_journal.engine().head[0] == 0


# ---------------------------------------------------------------------- checkpoints, snapshots
def test_checkpoints_every_n_records_and_on_demand(journal: Journal) -> None:
    engine = journal.engine(checkpoint_every=10)
    for i in range(35):
        assert engine.submit(c.OpenAccount(f"a{i}")).result(timeout=10).ok
    store = journal.store()
    kinds = {r.seq: r.kind for r in store.read()}
    checkpoints = [s for s, k in kinds.items() if k == KIND_CHECKPOINT]
    assert checkpoints == [11, 22, 33]
    on_demand = engine.checkpoint().result(timeout=10)
    assert on_demand == 39 and store.get(39).kind == KIND_CHECKPOINT  # type: ignore[union-attr]
    public = load_or_create_key(journal.key_path).public_key()
    report = verify_journal(store.read(), public)
    assert report.checkpoints == 4
    body = store.get(22).body  # type: ignore[union-attr]
    assert verify_checkpoint(body, public).head_seq == 21
    engine.close()
    # After a restart the count goes on from the last checkpoint, not from zero.
    restarted = journal.engine(checkpoint_every=10)
    for i in range(10):
        assert restarted.submit(c.OpenAccount(f"b{i}")).result(timeout=10).ok
    kinds = {r.seq: r.kind for r in journal.store().read()}
    assert [s for s, k in kinds.items() if k == KIND_CHECKPOINT] == [11, 22, 33, 39, 50]


def test_snapshot_plus_tail_equals_full_replay(journal: Journal) -> None:
    engine = journal.engine(snapshot_every=300, checkpoint_every=97)
    run_stream(engine, 5, range(1000))
    live = state_of(engine)
    assert engine.stats.snapshots >= 1
    assert engine.snapshot().result(timeout=10) == engine.head[0]
    run_stream(engine, 5, range(1000, 1100))
    live = state_of(engine)
    head = engine.head
    engine.close()
    assert journal.store().snapshot_seqs()

    from_snapshot = journal.engine()
    recovery = from_snapshot.recovery
    assert recovery is not None and recovery.snapshot_seq > 0
    assert 0 < recovery.records_replayed <= head[0] - recovery.snapshot_seq
    assert state_of(from_snapshot) == live
    # The idempotency memory came back too, keys older than the snapshot included.
    first = from_snapshot.submit(command_at(5, SETUP), "driver", f"k{SETUP}").result(timeout=10)
    assert first.ok and first.events and from_snapshot.head == head
    from_snapshot.close()

    full = journal.engine(use_snapshot=False)
    assert full.recovery is not None and full.recovery.snapshot_seq == 0
    assert state_of(full) == live
    assert full.head == head


# ---------------------------------------------------------------------- torn tail
def corrupt(journal: Journal, seq: int) -> None:
    """Overwrite the body of record ``seq`` behind the store's back (as tests/journal does)."""
    if journal.backend == "sqlite":
        import sqlite3

        conn = sqlite3.connect(journal.url.removeprefix("sqlite:///"), isolation_level=None)
        conn.execute("UPDATE journal SET body = ? WHERE seq = ?", (b"torn", seq))
        conn.close()
    else:
        import psycopg

        with psycopg.connect(journal.url, autocommit=True) as conn:
            conn.execute(
                f"UPDATE {journal.namespace}.journal SET body = %s WHERE seq = %s", (b"torn", seq)
            )


def test_a_torn_tail_is_refused_then_repaired(journal: Journal) -> None:
    engine = journal.engine()
    setup_market(engine)
    futures = [engine.submit(c.OpenAccount(f"x{i}")) for i in range(3)]
    assert all(f.result(timeout=10).ok for f in futures)
    last = engine.head[0]
    before = state_of(engine)
    engine.close()
    corrupt(journal, last)

    with pytest.raises(TornTail, match=f"seq={last}") as caught:
        journal.engine()
    assert caught.value.seq == last
    repaired = journal.engine(repair=True)
    assert repaired.recovery is not None and repaired.recovery.dropped_seqs == (last,)
    assert repaired.head[0] == last - 1
    state = state_of(repaired)
    assert state["accounts"] != before["accounts"]
    assert sorted(set(before["accounts"]) - set(state["accounts"])) == [f"x{2}"]  # type: ignore[call-overload]
    assert verify_chain(journal.store().read())[0] == last - 1


def test_time_of_is_monotonic() -> None:
    assert time_of(1) > time_of(0) == T0


def test_a_full_queue_refuses_and_close_drains_what_is_queued(sqlite_journal: Journal) -> None:
    engine = sqlite_journal.engine(queue_max=5)
    entered, release = threading.Event(), threading.Event()

    def hold(seq: int, ts: int, entry: object) -> None:
        entered.set()
        release.wait(5)

    engine.subscribe(hold)
    assert engine.submit(c.OpenAccount("first")).result(timeout=10).ok
    assert entered.wait(5)
    queued = [engine.submit(c.OpenAccount(f"q{i}")) for i in range(5)]
    with pytest.raises(EngineOverloaded):
        engine.submit(c.OpenAccount("one-too-many"))
    release.set()
    engine.close()
    assert all(f.result(timeout=10).ok for f in queued)
    with pytest.raises(EngineStopped, match="closed"):
        engine.submit(c.OpenAccount("after-close"))
    assert sqlite_journal.engine().head[0] == 6


class BackwardsClock:
    """A clock that jumps back (as a stepped wall clock might)."""

    def __init__(self) -> None:
        self.readings = iter([T0 + 50, T0 + 10, T0 + 5, T0 + 60, T0, T0])

    def now_us(self) -> int:
        return next(self.readings, T0)


def test_record_times_never_decrease_even_if_the_clock_does(sqlite_journal: Journal) -> None:
    engine = sqlite_journal.engine(clock=BackwardsClock())
    for i in range(5):
        assert engine.submit(c.OpenAccount(f"a{i}")).result(timeout=10).ok
    stamps = [r.ts_us for r in sqlite_journal.store().read()]
    assert stamps == sorted(stamps) and stamps[0] >= T0 + 10


def test_a_failed_periodic_snapshot_is_not_fatal(sqlite_journal: Journal) -> None:
    store = sqlite_journal.store()

    def broken(*args: object) -> None:
        raise OSError("snapshot disk full")

    store.save_snapshot = broken  # type: ignore[method-assign]
    engine = sqlite_journal.engine(store=store, snapshot_every=3)
    for i in range(7):
        assert engine.submit(c.OpenAccount(f"a{i}")).result(timeout=10).ok
    assert engine.running and engine.stats.snapshots == 0
    with pytest.raises(OSError, match="disk full"):
        engine.snapshot().result(timeout=10)
    assert engine.submit(c.OpenAccount("still")).result(timeout=10).ok


def test_an_overlong_idempotency_key_is_refused(sqlite_journal: Journal) -> None:
    engine = sqlite_journal.engine()
    result = engine.submit(c.OpenAccount("a"), "ann", "k" * 129).result(timeout=10)
    assert result.code == "invalid_idempotency_key" and engine.head[0] == 0


def test_timers_fire_among_many_markets_without_scanning_each_command(
    sqlite_journal: Journal,
) -> None:
    clock = SteppedClock(T0)
    engine = sqlite_journal.engine(clock=clock)
    setup_market(engine, close_at=T0 + 3600 * SECOND)
    far = [
        engine.submit(c.CreateMarket(f"far{i}", "ann", "Later?", ("Y", "N"), T0 + 7200 * SECOND))
        for i in range(200)
    ]
    assert all(f.result(timeout=10).ok for f in far)
    soon = c.CreateMarket("soon", "ann", "Soon?", ("Y", "N"), T0 + 400_000)
    assert engine.submit(soon).result(timeout=10).ok
    gtd = buy(400_000, tif=c.TimeInForce.GTD, expires_at=T0 + 250_000)
    assert engine.submit(gtd).result(timeout=10).ok
    clock.set(T0 + 600_000)
    # The next command first journals the Tick that expires the order and closes "soon".
    assert engine.submit(c.OpenAccount("late")).result(timeout=10).ok
    statuses = engine.query(lambda ex: {m.id: m.status.value for m in ex.markets.values()})
    closed = {m for m, status in statuses.result().items() if status == "closed"}
    assert closed == {"soon"}
    assert engine.query(lambda ex: len(ex.orders)).result() == 0
