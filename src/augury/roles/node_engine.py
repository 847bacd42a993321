"""What an API node uses in place of an in-process engine.

:class:`NodeEngine` offers the part of :class:`~augury.engine.Engine`'s interface the
API layer uses (``asubmit``, ``query``, ``subscribe``, ``head``, ``clock``,
``running``), so the HTTP code is the same in ``augury serve`` and in ``augury api``:

- commands go to the sequencer over the bus, gathered into batches (``Batcher``). Every
  command carries an idempotency key: the client's, or one this node makes up; a batch
  that timed out or met an unavailable sequencer is sent again with the SAME keys (the
  engine answers a duplicate with the first result), until ``submit_deadline_s``. An
  accepted command is answered once this node's replica has applied its seq (so the next
  read through this node sees it), or after ``read_your_write_s`` at most;
- reads run on the replica, on the event loop, between two applied record batches: a
  consistent state at ``head``.

When the sequencer cannot be reached, a write raises ``EngineStopped`` (the API answers
503 with Retry-After); reads keep working from the replica. When a new leader announces
itself (``roles.cluster``, on PostgreSQL), ``leader_changed`` resends every command in
flight at once, with its key, instead of waiting out its request timeout.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import secrets
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

from augury.domain import commands as dc
from augury.domain.exchange import Exchange, Result
from augury.engine import EngineOverloaded, EngineStopped
from augury.engine.clock import Clock
from augury.journal import Head, JournalStore
from augury.roles.replica import Replica, Subscriber
from augury.transport import (
    CODE_UNAVAILABLE,
    Answer,
    Batcher,
    NodeCommand,
    RequestTimeout,
    Transport,
    TransportError,
    TransportOverloaded,
)

log = logging.getLogger(__name__)

T = TypeVar("T")
SUBMIT_DEADLINE_S = 10.0
"""How long a node keeps resending a command (same key) before it answers 503."""
READ_YOUR_WRITE_S = 2.0
"""How long an accepted command's answer waits for this node's replica to apply it."""
RETRY_PAUSE_S = 0.2


class NodeEngine:
    """Commands over the bus, reads from the replica (see the module docstring)."""

    def __init__(
        self,
        node: str,
        bus: Transport,
        batcher: Batcher,
        replica: Replica,
        store: JournalStore,
        *,
        submit_deadline_s: float = SUBMIT_DEADLINE_S,
    ) -> None:
        self.node = node
        self.bus = bus
        self.batcher = batcher
        self.replica = replica
        self.store = store
        self.submit_deadline_s = submit_deadline_s
        self.resent = 0
        self._keys = itertools.count(1)
        self._key_prefix = f"n:{node[:40]}:{secrets.token_hex(6)}:"
        self._closed = False
        self._loop = asyncio.get_running_loop()
        self.cluster: Any = None
        """The node's ``roles.cluster.Membership`` (PostgreSQL): the leader as last seen."""
        self.leader_epoch = 0
        self._resends = 0  # bumped by resend_pending: a resend then needs no pause

    # -- the Engine interface the API uses ---------------------------------------------
    @property
    def clock(self) -> Clock:
        return self.replica.clock

    @property
    def head(self) -> Head:
        return self.replica.head

    @property
    def exchange(self) -> Exchange:
        return self.replica.exchange

    @property
    def running(self) -> bool:
        return not self._closed and self.replica.following

    async def asubmit(self, command: dc.Command, account: str = "", key: str = "") -> Result:
        return (await self.asubmit_seq(command, account, key))[0]

    async def asubmit_seq(
        self, command: dc.Command, account: str = "", key: str = ""
    ) -> tuple[Result, int]:
        """Run ``command`` on the sequencer: (its Result, its seq; 0 if refused)."""
        if self._closed:
            raise EngineStopped("this node is stopping")
        if not key:
            key = f"{self._key_prefix}{next(self._keys)}"
        answer = await self._send(NodeCommand(command, account, key))  # type: ignore[arg-type]
        if answer.ok:
            await self.replica.wait_for(answer.seq, READ_YOUR_WRITE_S)
        return Result(answer.ok, answer.events, answer.code, answer.message), answer.seq

    async def _send(self, command: NodeCommand) -> Answer:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.submit_deadline_s
        while True:
            resends = self._resends
            try:
                answer = await self.batcher.submit(command)
                if answer.code != CODE_UNAVAILABLE:
                    return answer
                why = answer.message
            except TransportOverloaded as exc:
                raise EngineOverloaded(str(exc)) from None
            except (RequestTimeout, TransportError) as exc:
                why = f"{type(exc).__name__}: {exc}"
            if loop.time() + RETRY_PAUSE_S >= deadline:
                raise EngineStopped(f"the sequencer is unavailable ({why})")
            self.resent += 1
            if resends == self._resends:  # else a new leader serves: resend at once
                await asyncio.sleep(RETRY_PAUSE_S)

    def leader_changed(self, epoch: int) -> None:
        """A new leader (``epoch``) serves: resend every command in flight now."""
        if epoch > self.leader_epoch:
            self.leader_epoch = epoch
            self.resend_pending(f"a new leader (epoch {epoch}) serves")

    def resend_pending(self, why: str) -> None:
        """Fail every request in flight, so that each is resent at once (same keys)."""
        core: Any = getattr(self.batcher.client, "core", None)  # the NATS client's requests
        if core is None or not core.in_flight:
            return
        self._resends += 1
        core.fail_all(TransportError(f"{why}; resending"))

    def submit(self, command: dc.Command, account: str = "", key: str = "") -> Future[Result]:
        """From another thread than the node's event loop: a future of the Result."""
        coroutine = self.asubmit(command, account, key)
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop)

    def query(self, fn: Callable[[Exchange], T]) -> Future[T]:
        """Run ``fn`` on the replica now (event loop): a consistent state at ``head``."""
        future: Future[T] = Future()
        try:
            future.set_result(fn(self.replica.exchange))
        except BaseException as exc:
            future.set_exception(exc)
        return future

    def subscribe(self, callback: Subscriber, *, reads_state: bool = True) -> None:
        """``callback(seq, ts_us, entry)`` for each command record the replica applies
        (on the event loop, where the state is at that record: both kinds are served)."""
        del reads_state
        self.replica.subscribe(callback)

    def close(self, timeout_s: float | None = None) -> None:
        """Refuse new commands; ``aclose`` releases the bus and the replica's feed."""
        del timeout_s
        self._closed = True

    async def aclose(self) -> None:
        self._closed = True
        if self.cluster is not None:
            await self.cluster.close()
        await self.batcher.close()
        await self.replica.close()
        await self.bus.close()
        self.store.close()

    def status(self) -> dict[str, Any]:
        return {
            "node": self.node,
            "replica_seq": self.replica.seq,
            "replica_age_s": round(self.replica.lag_s(), 3),
            "feed_errors": self.replica.feed_errors,
            "resent": self.resent,
        }
