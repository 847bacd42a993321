"""The engine role on PostgreSQL: a leader under a fenced lease, hot standbys (docs/failover.md).

Every ``augury engine`` on PostgreSQL runs under the journal's writer lease
(``journal.pg_lease``): it leads only while it holds the lease at some epoch, and every
journal write it makes is fenced by that epoch in the write's own transaction.

- **standby** (``--standby``): loads the state from the journal with the recovery's code
  (``engine.recovery.replay``: exchange, idempotency keys), then keeps it warm from the
  committed-record feed (a :class:`~augury.roles.replica.Replica`, the keys tracked record
  by record). It polls the lease every ``POLL_S``; once it has lapsed it tries to take it
  (epoch + 1; of racing standbys exactly one wins, the others go on following).
- **takeover**: the feed stops; the journal is opened fenced at the new epoch; the
  replica's head must be the journal's record at that seq (else: refuse to lead, release
  the lease, exit non-zero saying why); the records after it are read from the journal,
  each re-hashed and re-linked, and applied; the engine starts on that state (no replay)
  and only then subscribes to ``<prefix>.cmd`` (queue group ``sequencer``) and
  announces itself on ``<prefix>.leader``.
- **leading**: a :class:`LeaseKeeper` renews every ``RENEW_S``; the lease counts as
  ours until ``LEASE_S`` (less a margin) after the last renewal SENT that succeeded, by
  this process's monotonic clock. Past that (database unreachable, process paused) the
  leader answers every batch "unavailable" and stops: within one lease period. A renewal
  answered "not yours" stops it at once. If the engine stops by itself (a fenced or
  failed append), the process exits too: a supervisor restarts it as a standby.

Without ``--standby`` the engine takes the lease (waiting up to two lease periods for a
dead holder's to lapse) or exits naming the holder; it recovers the same way (load,
then take over). SQLite keeps its file lock and no lease (one machine).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from pathlib import Path

from augury.engine import Engine, replay
from augury.engine.clock import Clock
from augury.engine.engine import IDEMPOTENCY_WINDOW_DEFAULT
from augury.engine.entry import Entry
from augury.engine.gc_tuning import tune_gc
from augury.journal import (
    ChainError,
    JournalRecord,
    JournalStore,
    PostgresJournalStore,
    load_or_create_key,
)
from augury.journal.pg_lease import WriterLease
from augury.journal.records import verify_link, verify_record
from augury.roles.cluster import (
    Digests,
    LeaderNotice,
    Membership,
    Report,
    announce,
    dsn_of,
    leader_subject,
    state_digest,
)
from augury.roles.node import RoleError, connect_bus, default_node_name, node_clock, open_journal
from augury.roles.replica import Replica, clock_floor
from augury.roles.sequencer import Sequencer
from augury.settings import Settings
from augury.transport import Answer, CommandBatch, CommandServer, NatsTransport, Transport
from augury.transport.messages import CODE_UNAVAILABLE

log = logging.getLogger(__name__)

LEASE_S = 1.0
RENEW_S = 0.2
POLL_S = 0.1
VALID_FRACTION = 0.9
"""A leader counts its lease as valid for this fraction of LEASE_S after a renewal."""
CATCH_UP_BATCH = 5_000
STATUS_LOST = 3
"""Exit status of a leader that lost its lease."""
STATUS_REFUSED = 4
"""Exit status of a standby whose replica disagrees with the journal."""


class ReplicaMismatch(Exception):
    """The standby's replica is not the journal's history: it must not lead."""


class LeaseKeeper:
    """Renews a held lease; ``valid()`` says whether this process may still act on it."""

    def __init__(self, lease: WriterLease, holder: str, epoch: int, since: float) -> None:
        self.lease = lease
        self.holder = holder
        self.epoch = epoch
        self.valid_until = since + lease.ttl_s * VALID_FRACTION
        self.lost = asyncio.Event()
        self.why = ""
        self.renewals = 0
        self._tasks: list[asyncio.Task[None]] = []

    def valid(self) -> bool:
        return not self.lost.is_set() and time.monotonic() < self.valid_until

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self._renew()), loop.create_task(self._watch())]

    def _lose(self, why: str) -> None:
        if not self.lost.is_set():
            self.why = why
            log.error("leader %s (epoch %d): %s", self.holder, self.epoch, why)
            self.lost.set()

    async def _renew(self) -> None:
        while not self.lost.is_set():
            sent = time.monotonic()
            try:
                ours = await asyncio.to_thread(self.lease.renew, self.holder, self.epoch)
            except Exception as exc:
                log.warning("lease renewal failed (%s: %s)", type(exc).__name__, exc)
            else:
                if not ours:
                    self._lose(f"the lease of epoch {self.epoch} was taken or lapsed")
                    return
                until = sent + self.lease.ttl_s * VALID_FRACTION
                self.valid_until = max(self.valid_until, until)
                self.renewals += 1
            await asyncio.sleep(max(0.0, sent + RENEW_S - time.monotonic()))

    async def _watch(self) -> None:
        while not self.lost.is_set():
            left = self.valid_until - time.monotonic()
            if left <= 0:
                self._lose(f"the lease was not renewed for {self.lease.ttl_s:g} s")
                return
            await asyncio.sleep(min(left, 0.05))

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task


class FencedSequencer(Sequencer):
    """A sequencer that takes no batch once its lease is no longer valid. On NATS it also
    serves its epoch's own subject (``leader_subject``), where the nodes that heard of it
    send their batches: a paused old leader, still in the queue group of
    ``<prefix>.cmd``, never receives those."""

    def __init__(self, engine: Engine, bus: Transport, keeper: LeaseKeeper) -> None:
        super().__init__(engine, bus)
        self.keeper = keeper
        self._direct: CommandServer | None = None

    async def start(self) -> None:
        await super().start()
        if isinstance(self.bus, NatsTransport):
            subject = leader_subject(self.bus, self.keeper.epoch)
            self._direct = await self.bus.serve(self.handle, subject)

    async def close(self) -> None:
        if self._direct is not None:
            await self._direct.close()
        await super().close()

    async def handle(self, batch: CommandBatch) -> list[Answer]:
        if not self.keeper.valid():
            message = f"not the leader any more (epoch {self.keeper.epoch}): resend"
            return [
                Answer(r.rid, False, code=CODE_UNAVAILABLE, message=message) for r in batch.commands
            ]
        return await super().handle(batch)


class WarmState:
    """A standby's state: the replica and the idempotency keys of its recent records."""

    def __init__(
        self,
        replica: Replica,
        idempotency: OrderedDict[tuple[str, str], int],
        last_checkpoint_seq: int,
        window: int = IDEMPOTENCY_WINDOW_DEFAULT,
    ) -> None:
        self.replica = replica
        self.idempotency = idempotency
        self.last_checkpoint_seq = last_checkpoint_seq
        self.window = window
        replica.subscribe(self._on_record)

    @classmethod
    def load(cls, store: JournalStore, clock: Clock) -> WarmState:
        """The state at the journal's head now, by the recovery's replay (blocking)."""
        replayed = replay(store)
        clock_floor(clock, replayed.last_ts_us)
        replica = Replica(replayed.exchange, replayed.head, replayed.last_ts_us, clock)
        return cls(replica, replayed.idempotency, replayed.last_checkpoint_seq)

    def _on_record(self, seq: int, ts_us: int, entry: Entry) -> None:
        if not entry.key:
            return
        memo = self.idempotency
        pair = (entry.account, entry.key)
        memo.pop(pair, None)
        memo[pair] = seq
        oldest = seq - self.window
        while memo:
            first = next(iter(memo.values()))
            if first > oldest:
                break
            memo.popitem(last=False)

    async def catch_up(self, store: JournalStore) -> int:
        """Check the replica's head against ``store`` and apply the records after it
        (re-hashed, re-linked); ReplicaMismatch if they disagree. Records applied."""
        replica = self.replica
        seq, digest = replica.head
        if seq:
            record = await asyncio.to_thread(store.get, seq)
            if record is None or record.hash != digest:
                found = "no such record" if record is None else f"hash {record.hash.hex()[:16]}"
                raise ReplicaMismatch(
                    f"the replica's head is seq {seq} with hash {digest.hex()[:16]}, the "
                    f"journal has {found}: this standby's state is not the journal's history"
                )
        applied = 0
        while True:
            start = replica.head[0] + 1
            records = await asyncio.to_thread(_read, store, start, start + CATCH_UP_BATCH - 1)
            if not records:
                return applied
            cursor = replica.head
            try:
                for record in records:
                    verify_link(cursor, record)
                    verify_record(record)
                    cursor = (record.seq, record.hash)
            except ChainError as exc:
                raise ReplicaMismatch(f"the journal does not continue the replica: {exc}") from None
            replica.apply(records)
            applied += len(records)


def _read(store: JournalStore, first: int, last: int) -> list[JournalRecord]:
    return list(store.read(first, last))


class LeasedEngine:
    """One ``augury engine`` process on PostgreSQL: standby, then leader (module docstring)."""

    def __init__(self, settings: Settings, bus: Transport, lease: WriterLease, holder: str) -> None:
        assert settings.database_url is not None
        self.settings = settings
        self.dsn = dsn_of(settings)
        self.bus = bus
        self.lease = lease
        self.holder = holder
        self.clock = node_clock(settings)
        self.membership = Membership(self.dsn, settings.journal_namespace, holder)
        self.stop = asyncio.Event()
        self.warm: WarmState | None = None
        self.engine: Engine | None = None
        self.keeper: LeaseKeeper | None = None
        self.digests = Digests()
        self.failover_s = 0.0
        """Seconds from taking the lease to serving."""

    # -- heartbeats ------------------------------------------------------------------
    async def report(self) -> Report:
        if self.engine is not None and self.keeper is not None:
            engine = self.engine
            seq = engine.head[0]
            detail = f"failover {self.failover_s:.3f} s"
            report = Report("leader", seq, self.keeper.epoch, detail=detail)
            if self.digests.due(seq) and engine.running:
                with contextlib.suppress(Exception):
                    at, sha = await asyncio.wrap_future(
                        engine.query(lambda exchange: (engine.head[0], state_digest(exchange)))
                    )
                    self.digests.set(at, sha)
        else:
            assert self.warm is not None
            replica = self.warm.replica
            seq = replica.seq
            report = Report("standby", seq, detail=f"feed errors {replica.feed_errors}")
            if self.digests.due(seq):
                self.digests.set(seq, state_digest(replica.exchange))
        report.state_seq, report.state_sha256 = self.digests.seq, self.digests.sha256
        return report

    async def _beat(self) -> None:
        while True:
            try:
                report = await self.report()
                await asyncio.to_thread(self.membership.beat, report)
            except Exception as exc:
                log.warning("heartbeat failed: %s", exc)
            await asyncio.sleep(1.0)

    # -- the phases --------------------------------------------------------------------
    async def wait_for_lease(self, standby: bool) -> tuple[int, float] | None:
        """Poll the lease until we take it: (epoch, monotonic time the taking was sent);
        None if stopped first. Without ``standby``, give up after two lease periods."""
        give_up = time.monotonic() + 2 * self.lease.ttl_s + POLL_S
        while not self.stop.is_set():
            try:
                state = await asyncio.to_thread(self.lease.read)
                if not state.live:
                    sent = time.monotonic()
                    epoch = await asyncio.to_thread(self.lease.try_acquire, self.holder)
                    if epoch is not None:
                        return epoch, sent
            except Exception as exc:
                log.warning("cannot read the lease: %s", exc)
                state = None
            if not standby and time.monotonic() > give_up:
                who = f"{state.holder!r} (epoch {state.epoch})" if state else "another engine"
                raise RoleError(
                    f"the journal is led by {who}; run `augury engine --standby` to follow "
                    "it and take over when it stops"
                )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stop.wait(), POLL_S)
        return None

    def _open_writer(self, epoch: int) -> PostgresJournalStore:
        store = PostgresJournalStore(self.dsn, self.settings.journal_namespace, epoch=epoch)
        try:
            store.acquire_writer(self.holder)
        except BaseException:
            store.close()
            raise
        return store

    async def take_over(self, epoch: int) -> Engine:
        """Stop following, check and catch up from the journal, start the engine."""
        warm = self.warm
        assert warm is not None
        await warm.replica.close()
        store = await asyncio.to_thread(self._open_writer, epoch)
        try:
            caught = await warm.catch_up(store)
            seqs = await asyncio.to_thread(store.snapshot_seqs)
            key = await asyncio.to_thread(load_or_create_key, self.key_path)
            tune_gc()
            replica = warm.replica
            engine = Engine(
                replica.exchange,
                store,
                key,
                replica.clock,
                head=replica.head,
                last_ts_us=replica.last_ts_us,
                idempotency=warm.idempotency,
                last_checkpoint_seq=warm.last_checkpoint_seq,
                last_snapshot_seq=seqs[0] if seqs else 0,
                production=self.settings.production,
            )
        except BaseException:
            store.close()
            raise
        engine.start()
        log.info("took over at epoch %d: caught up %d records", epoch, caught)
        return engine

    @property
    def key_path(self) -> Path:
        return self.settings.data_dir / "operator.key"

    async def run(self, standby: bool, ready: asyncio.Event | None) -> int:
        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        beat: asyncio.Task[None] | None = None
        store: JournalStore | None = None
        try:
            if standby:
                store = await asyncio.to_thread(open_journal, self.settings)
                self.warm = await asyncio.to_thread(WarmState.load, store, self.clock)
                self.warm.replica.follow(self.bus, store)
                beat = asyncio.get_running_loop().create_task(self._beat())
                line = f"standby at seq {self.warm.replica.seq}, following"
                print(f"augury engine: {line}", flush=True)
                if ready is not None:
                    ready.set()
            taken = await self.wait_for_lease(standby)
            if taken is None:
                return 0
            epoch, sent = taken
            started = time.monotonic()
            self.keeper = LeaseKeeper(self.lease, self.holder, epoch, sent)
            self.keeper.start()
            if self.warm is None:  # a cold leader: the state at the head, now
                store = await asyncio.to_thread(open_journal, self.settings)
                self.warm = await asyncio.to_thread(WarmState.load, store, self.clock)
            try:
                self.engine = await self.take_over(epoch)
            except ReplicaMismatch as exc:
                print(f"augury engine: refusing to lead: {exc}", flush=True)
                log.error("refusing to lead: %s", exc)
                return STATUS_REFUSED
            if beat is None:
                beat = asyncio.get_running_loop().create_task(self._beat())
            status = await self.lead(epoch, started, ready)
            return status
        finally:
            if beat is not None:
                beat.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await beat
            if self.keeper is not None:
                await self.keeper.close()
                with contextlib.suppress(Exception):
                    await asyncio.to_thread(self.lease.release, self.holder, self.keeper.epoch)
            if self.warm is not None:
                await self.warm.replica.close()
            await self.membership.close()
            if store is not None:
                store.close()

    async def lead(self, epoch: int, started: float, ready: asyncio.Event | None) -> int:
        engine, keeper = self.engine, self.keeper
        assert engine is not None and keeper is not None
        sequencer = FencedSequencer(engine, self.bus, keeper)
        await sequencer.start()
        self.failover_s = time.monotonic() - started
        await announce(self.bus, LeaderNotice(self.holder, epoch, engine.head[0]))
        line = (
            f"sequencing at seq {engine.head[0]}: leader at epoch {epoch} "
            f"(serving {self.failover_s:.3f} s after taking the lease)"
        )
        log.info(line)
        print(f"augury engine: {line}", flush=True)
        if ready is not None:
            ready.set()
        status = 0
        while not self.stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(_first(self.stop.wait, keeper.lost.wait), 0.2)
            if keeper.lost.is_set():
                print(f"augury engine: stopping: {keeper.why}", flush=True)
                status = STATUS_LOST
                break
            if not engine.running:
                log.error("the engine stopped by itself; exiting (a restart follows as standby)")
                status = 1
                break
        await sequencer.close()
        await asyncio.to_thread(engine.close, 5.0)
        return status


async def _first(*waits: Callable[[], Awaitable[object]]) -> None:
    tasks = [asyncio.ensure_future(wait()) for wait in waits]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()


async def run_leased(settings: Settings, *, standby: bool, ready: asyncio.Event | None) -> int:
    """``augury engine [--standby]`` on PostgreSQL: the process's exit status."""
    bus = await connect_bus(settings)
    try:
        dsn = dsn_of(settings)
        holder = settings.node_name or default_node_name("engine")
        namespace = settings.journal_namespace
        try:
            lease = await asyncio.to_thread(WriterLease, dsn, namespace, LEASE_S, holder)
        except Exception as exc:
            raise RoleError(f"the journal's lease is unreachable: {exc}") from None
        role = LeasedEngine(settings, bus, lease, holder)
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, role.stop.set)
        try:
            return await role.run(standby, ready)
        finally:
            lease.close()
    finally:
        await bus.close()
