"""What a running server holds: the engine, the projector, the identity store, settings.

``Services.start`` opens everything in order (journal and engine, read models caught up
with the journal then following it, identity tables, the first admin account) and
``Services.stop`` closes it in reverse. The engine runs in-process: commands go through
``submit``; live reads through ``query``; history through the read models once
``barrier`` has made them catch up with every command acknowledged before it.

The read models are written by a projector process of their own by default
(``augury.roles.projector_process``), or by a thread of this process (``Follower``) with
the setting ``projector = "thread"`` (``AUGURY_PROJECTOR=thread``).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import queue
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from augury.domain import commands as dc
from augury.domain.exchange import Exchange, Result
from augury.engine import Engine, EngineOverloaded, EngineStopped, SimulatedClock, open_engine
from augury.engine.answers import Subscriber
from augury.engine.clock import Clock, SystemClock
from augury.engine.entry import Entry
from augury.identity import migrate
from augury.identity.store import IdentityStore
from augury.identity.stored_responses import StoredResponses
from augury.journal import JournalStore
from augury.projections import BATCH_RECORDS_DEFAULT, Projector
from augury.projections.projector import Item
from augury.roles.applied import AppliedSeq
from augury.roles.errors import Overloaded, Refused, Unavailable
from augury.roles.node_engine import NodeEngine
from augury.roles.projector_process import ProcessFollower
from augury.roles.read_models import ReadModelsPoller
from augury.roles.written import note_seq
from augury.settings import Settings

if TYPE_CHECKING:
    from augury.roles.observer import Observer
    from augury.watch import Watch

log = logging.getLogger(__name__)

T = TypeVar("T")
BARRIER_TIMEOUT_S = 10.0
"""Longest a history read waits for the read models to catch up before answering 503."""
AdminCallback = Callable[[str, str], None]
FOLLOW_QUEUE_MAX = 100_000
"""Durable records the thread-mode projector may have queued; when it is that far behind,
the engine's writer waits for it (backpressure, which fills the engine's inbox, which
refuses new commands as overloaded): a record is never dropped."""
PROJECTOR_MODES = ("process", "thread")
"""Where the read models are written: a child process (the default) or a thread."""


def projector_mode(settings: Settings) -> str:
    """``settings.projector`` (``AUGURY_PROJECTOR``): "process" (default) or "thread"."""
    mode = settings.projector
    if mode not in PROJECTOR_MODES:
        raise ValueError(f"projector must be one of {', '.join(PROJECTOR_MODES)}, got {mode!r}")
    return str(mode)


def print_admin(username: str, password: str) -> None:
    """Default: show the first admin's credentials once, on stdout."""
    print(
        f"augury: created the admin account (shown only this once)\n"
        f"  username: {username}\n  password: {password}",
        flush=True,
    )


@dataclass
class Services:
    settings: Settings
    engine: Engine | NodeEngine
    """The exchange: an in-process engine (``augury serve``), or an API node's
    ``NodeEngine`` (commands over the bus, reads from its replica: ``augury api``)."""
    projector: Projector
    identity: IdentityStore
    follower: Follower | ProcessFollower | ReadModelsPoller
    stored_responses: StoredResponses
    """The answers kept for Idempotency-Key on the routes that are not one engine command."""
    ticks: dict[str, int] = field(default_factory=dict)
    """Each market's tick size (it never changes), to spare an engine query per order."""
    in_flight: set[tuple[str, str]] = field(default_factory=set)
    observer: Observer | None = None
    """Fetches resolution sources (started with the app's event loop)."""
    watch: Watch | None = None
    """Surveillance on the live journal (a thread), unless settings turn it off."""
    stopped: bool = False
    runs_observer: bool = True
    """Whether the app's observer polls sources on its own schedule (``augury serve``);
    an API node observes only on demand (``augury follow --role observe`` polls)."""

    @classmethod
    def start(
        cls,
        settings: Settings,
        on_admin_created: AdminCallback = print_admin,
        *,
        restart: bool = False,
    ) -> Services:
        """Open everything. ``restart``: the server had run on this journal before (the
        supervised ``augury serve`` restarting it): it does not wait for the projector
        process to catch up before serving (commands need no read models; a history read
        waits for them as always, ``barrier``)."""
        data_dir = settings.data_dir
        data_dir.mkdir(parents=True, exist_ok=True)
        clock: Clock
        if settings.clock == "simulated":
            start_us = settings.start_us
            assert start_us is not None
            clock = SimulatedClock(start_us)
        else:
            clock = SystemClock()
        journal: Any = settings.database_url or (data_dir / "journal.db")
        engine = open_engine(
            journal,
            data_dir / "operator.key",
            clock,
            namespace=settings.journal_namespace,
            production=settings.production,
        )
        projector: Projector | None = None
        follower: Follower | ProcessFollower | None = None
        try:
            mode = projector_mode(settings)
            projections_url = settings.database_url or str(data_dir / "projections.db")
            # here: migrations, the reads, the identity tables; the writes: see ``mode``
            projector = Projector(projections_url, namespace=settings.projections_namespace)
            if mode == "process":
                follower = ProcessFollower(
                    settings.database_url or str(data_dir / "journal.db"),
                    settings.journal_namespace,
                    projections_url,
                    settings.projections_namespace,
                    nice=settings.background_nice,
                )
                _follow_process(engine, projector, follower, wait=not restart)
            else:
                follower = _follow(engine, projector)
            identity, stored = _identity_stores(settings, projector)
            services = cls(settings, engine, projector, identity, follower, stored)
            services._bootstrap_admin(on_admin_created)
            if settings.surveillance:
                from augury.watch import Watch

                url = settings.database_url or str(data_dir / "journal.db")
                services.watch = Watch(
                    engine, url, settings.journal_namespace, nice=settings.background_nice
                )
                services.watch.start()
        except BaseException:
            engine.close()
            if follower is not None:
                follower.stop()
            if projector is not None:
                projector.close()
            raise
        return services

    @classmethod
    def start_node(cls, settings: Settings, engine: NodeEngine) -> Services:
        """An API node's services: ``engine`` is its NodeEngine (started on this event
        loop); the read models and identity tables are the shared database's. The first
        admin is made by :meth:`abootstrap_admin` (it needs the event loop)."""
        projections_url = settings.database_url or str(settings.data_dir / "projections.db")
        projector = Projector(projections_url, namespace=settings.projections_namespace)
        try:
            identity, stored = _identity_stores(settings, projector)
        except BaseException:
            projector.close()
            raise
        follower = ReadModelsPoller(projector, engine.replica)
        services = cls(settings, engine, projector, identity, follower, stored)
        services.runs_observer = False
        return services

    async def abootstrap_admin(self, on_admin_created: AdminCallback = print_admin) -> None:
        """On an empty database, make the first admin (several nodes may race: the
        username is unique, the account's commands are keyed: one wins, none doubles)."""
        if self.identity.count_users():
            return
        username = self.settings.admin_username
        password = self._admin_password()
        hashed = self.identity.hash_password(password)
        if self.identity.create_user(username, hashed, ("admin", "market_creator")) is None:
            return  # another node made it
        await self.open_account(username)
        self._announce_admin(on_admin_created, username, password)

    def _announce_admin(self, callback: AdminCallback, username: str, password: str) -> None:
        if self.settings.admin_password is None:
            callback(username, password)  # made here: shown once
        else:  # the operator's own: never echoed
            print(f"augury: created the admin account {username!r} with AUGURY_ADMIN_PASSWORD")

    def _admin_password(self) -> str:
        given = self.settings.admin_password
        return given.get_secret_value() if given is not None else secrets.token_urlsafe(18)

    async def wait_for_seq(self, seq: int, timeout_s: float) -> bool:
        """True once this process's state holds ``seq`` (read-your-writes); False after
        ``timeout_s``. An in-process engine's state always holds what it acknowledged."""
        engine = self.engine
        if isinstance(engine, NodeEngine):
            return await engine.replica.wait_for(seq, timeout_s)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while engine.head[0] < seq:
            if loop.time() >= deadline:
                return False
            await asyncio.sleep(0.01)
        return True

    def stop(self) -> None:
        """Close the observer's reader processes, the engine (finishing what is queued),
        the projector (process or thread, after it has applied the rest of the journal),
        the DB."""
        if self.stopped:
            return
        self.stopped = True
        if self.observer is not None:  # one made on demand (no lifespan) holds reader processes
            self.observer.readers.close()
        if self.watch is not None:
            self.watch.stop()
        self.engine.close()
        self.follower.stop()
        self.projector.close()

    # -- the engine, from asyncio -------------------------------------------------------
    async def submit(self, command: dc.Command, account: str = "", key: str = "") -> Result:
        """Submit a command and wait for its durable answer; a refusal raises Refused."""
        result = await self.submit_raw(command, account, key)
        if not result.ok:
            raise Refused(result.code, result.message)
        return result

    async def submit_raw(self, command: dc.Command, account: str = "", key: str = "") -> Result:
        try:
            result, seq = await self.engine.asubmit_seq(command, account=account, key=key)
        except EngineOverloaded:
            raise Overloaded("the exchange is busy; retry shortly", retry_after_s=1) from None
        except EngineStopped:
            log.exception("the engine has stopped")
            raise Unavailable("the exchange is not running", retry_after_s=1) from None
        note_seq(seq)
        return result

    async def query(self, fn: Callable[[Exchange], T]) -> T:
        """Run ``fn`` on the engine thread (a consistent view between command groups)."""
        try:
            future = self.engine.query(fn)
        except EngineOverloaded:
            raise Overloaded("the exchange is busy; retry shortly", retry_after_s=1) from None
        except EngineStopped:
            raise Unavailable("the exchange is not running") from None
        return await asyncio.wrap_future(future)

    async def barrier(self) -> None:
        """Wait until the read models hold every command acknowledged before this call.

        A query runs on the engine thread after the subscribers of every earlier group,
        so the follower's ``enqueued_seq`` it reads covers every acknowledged command;
        then wait (without blocking the event loop) for the projector, process or
        thread, to report it has applied up to there.
        """
        target = await self.query(self._enqueued)
        try:
            await asyncio.wait_for(self.follower.wait_for(target), BARRIER_TIMEOUT_S)
        except TimeoutError:
            raise Unavailable("the read models are behind; retry shortly") from None

    def _enqueued(self, _exchange: Exchange) -> int:
        return self.follower.enqueued_seq

    async def tick_of(self, market: str) -> int:
        tick = self.ticks.get(market)
        if tick is None:
            tick = self.ticks[market] = await self.query(lambda ex: ex.markets[market].tick)
        return tick

    def now_us(self) -> int:
        return self.engine.clock.now_us()

    # -- accounts ----------------------------------------------------------------------
    async def open_account(self, username: str) -> None:
        """Journal the account and its starting grant (idempotent per username)."""
        result = await self.submit_raw(
            dc.OpenAccount(username), account=username, key="open-account"
        )
        if not result.ok and result.code != "account_exists":
            raise Refused(result.code, result.message)
        grant = self.settings.starting_grant_micros
        if grant > 0:
            await self.submit(
                dc.GrantCredits(username, grant, "starting grant"),
                account=username,
                key="starting-grant",
            )

    def _bootstrap_admin(self, on_admin_created: AdminCallback) -> None:
        if self.identity.count_users():
            return
        username = self.settings.admin_username
        password = self._admin_password()
        user = self.identity.create_user(
            username, self.identity.hash_password(password), ("admin", "market_creator")
        )
        assert user is not None
        submit = self.engine.submit
        result = submit(dc.OpenAccount(username), username, "open-account").result()
        if not result.ok and result.code != "account_exists":
            raise RuntimeError(f"cannot open the admin account: {result.code}")
        grant = self.settings.starting_grant_micros
        if grant > 0:
            command = dc.GrantCredits(username, grant, "starting grant")
            result = submit(command, username, "starting-grant").result()
            if not result.ok:
                raise RuntimeError(f"cannot grant the admin its credits: {result.code}")
        self._announce_admin(on_admin_created, username, password)


class Follower:
    """Keeps the read models in step with the journal, on a thread of its own.

    The engine thread only enqueues each durable record (so projecting never delays a
    command's answer); the projector thread applies what has queued up in batches, one
    transaction each. A batch that fails wrote nothing (the projector's guarantee), so
    it is retried as it is until it succeeds: no record is ever skipped. Readers wait
    with :meth:`wait_for` for a seq to be applied. At most ``queue_max`` records wait:
    beyond that the subscriber blocks until the projector takes some (``stalls`` counts
    it), so a projector that falls behind slows the engine down instead of growing
    memory without end or losing records.
    """

    def __init__(self, projector: Projector, queue_max: int = FOLLOW_QUEUE_MAX) -> None:
        self.projector = projector
        self.enqueued_seq = 0  # written on the engine thread only
        self._applied = AppliedSeq()
        self.failures = 0
        self.stalls = 0
        self._queue: queue.Queue[Item | None] = queue.Queue(queue_max)
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="augury-projector", daemon=True)

    def catch_up(self, store: JournalStore) -> int:
        """Project every journal record after the read models' last_seq (before start)."""
        assert not self._thread.is_alive()
        applied = self.projector.apply_records(store.read(from_seq=self.projector.last_seq() + 1))
        self.enqueued_seq = self.projector.last_seq()
        self._applied.advance(self.enqueued_seq)
        return applied

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout_s: float = 30.0) -> None:
        """Apply what is queued, then stop the thread."""
        try:
            self._queue.put(None, timeout=timeout_s)
        except queue.Full:
            pass  # the thread is stuck retrying a batch: it gives up below
        else:
            self._thread.join(timeout_s)
        self._stopping = True  # a batch still retrying gives up
        self._thread.join(5.0)

    def __call__(self, seq: int, ts_us: int, entry: Entry) -> None:
        """The engine's subscriber: enqueue a durable record (engine thread); waits while
        ``queue_max`` records are queued."""
        item = (seq, ts_us, entry)
        try:
            self._queue.put_nowait(item)
        except queue.Full:
            if self.stalls % 10_000 == 0:
                log.warning("read models %d records behind: the engine waits", self._queue.maxsize)
            self.stalls += 1
            self._queue.put(item)  # backpressure; the thread frees room as it applies
        self.enqueued_seq = seq

    @property
    def applied_seq(self) -> int:
        return self._applied.seq

    async def wait_for(self, seq: int) -> None:
        """Return once every record up to ``seq`` is in the read models."""
        await self._applied.wait_for(seq)

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            items, stop = [first], False
            while len(items) < BATCH_RECORDS_DEFAULT:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stop = True
                    break
                items.append(item)
            if not self._apply(items) or stop:
                return

    def _apply(self, items: list[Item]) -> bool:
        for attempt in range(1_000_000):
            try:
                self.projector.apply_many(items)
                break
            except Exception:
                self.failures += 1
                log.exception("projecting seq %d.. failed (try %d); retrying", items[0][0], attempt)
                if self._stopping:
                    return False
                time.sleep(min(5.0, 0.1 * 2 ** min(attempt, 6)))
        self._advance(items[-1][0])
        return True

    def _advance(self, seq: int) -> None:
        self._applied.advance(seq)


def subscribe(engine: Engine | NodeEngine, callback: Subscriber, *, reads_state: bool) -> None:
    """``engine.subscribe``; ``reads_state=False`` (it touches only its arguments) lets an
    engine that pipelines keep running ahead while the callback runs on its writer."""
    if "reads_state" in inspect.signature(engine.subscribe).parameters:
        engine.subscribe(callback, reads_state=reads_state)  # type: ignore[call-arg,unused-ignore]
    else:
        engine.subscribe(callback)


def _follow(engine: Engine, projector: Projector) -> Follower:
    """Project what the read models miss from the journal, then follow the engine.

    Both happen on the engine thread in one query, so no record falls between the
    catch-up and the subscription.
    """
    follower = Follower(projector)

    def start(_exchange: Exchange) -> int:
        applied = follower.catch_up(engine.store)
        subscribe(engine, follower, reads_state=False)
        return applied

    applied = engine.query(start).result()
    follower.start()
    if applied:
        log.info("read models caught up with %d journal records", applied)
    return follower


def _identity_stores(
    settings: Settings, projector: Projector
) -> tuple[IdentityStore, StoredResponses]:
    """The identity tables (migrated: ``augury.identity.migrate``) and the stored
    responses, in the read models' database, for a one-process server or an API node."""
    migrate.upgrade(projector.engine)
    identity = IdentityStore(
        projector.engine,
        settings.secret_key,
        time_cost=settings.argon2_time_cost,
        memory_kib=settings.argon2_memory_kib,
    )
    return identity, StoredResponses(projector.engine, settings.secret_key)


def _follow_process(
    engine: Engine, projector: Projector, follower: ProcessFollower, *, wait: bool = True
) -> None:
    """Start the projector process and (``wait``) wait until it has caught up with the
    journal.

    The child reads every record from the journal itself, so none can fall between its
    catch-up and the subscription (which only wakes it up). The subscription and the
    journal's head are taken in one engine query: every record after that head reaches
    the subscriber, so ``enqueued_seq`` never runs behind an acknowledged command.
    """
    before = projector.last_seq()
    follower.start()
    try:

        def subscribe_now(_exchange: Exchange) -> int:
            head = engine.store.head()
            follower.enqueued_seq = head[0] if head is not None else 0
            subscribe(engine, follower, reads_state=False)
            return follower.enqueued_seq

        target = engine.query(subscribe_now).result()
        if not wait:
            return
        follower.wait_caught_up(target)
    except BaseException:
        follower.stop(timeout_s=5.0)
        raise
    if target > before:
        log.info("read models caught up with %d journal records", target - before)
