"""The parts both implementations share: a node's request table, the sequencer's
batch handling, and publishing records within the message limit.

An implementation supplies only how bytes move (``send`` and ``reply`` coroutines) and
calls ``ClientCore.on_answers`` / ``ServerCore.on_batch`` with what arrives.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from augury.transport.interface import BatchHandler
from augury.transport.messages import (
    CODE_INVALID,
    CODE_UNAVAILABLE,
    Answer,
    AnswerBatch,
    CommandBatch,
    CommandRequest,
    Limits,
    MessageRefused,
    NodeCommand,
    RequestTimeout,
    TransportOverloaded,
    check_node,
    decode_answers,
    decode_batch,
    encode,
    key_problem,
)

log = logging.getLogger(__name__)

Send = Callable[[bytes], Awaitable[None]]


@dataclass
class ClientStats:
    batches: int = 0
    commands: int = 0
    timeouts: int = 0
    overloaded: int = 0
    refused: int = 0
    """Answer messages refused (oversized, undecodable, for another node)."""
    late: int = 0
    """Answers that came for no waiting command (after its timeout)."""


class _Batch:
    """One submitted batch's answers as they come, and the future of all of them."""

    __slots__ = ("answers", "future", "missing")

    def __init__(self, future: asyncio.Future[list[Answer]], size: int) -> None:
        self.future = future
        self.answers: list[Answer | None] = [None] * size
        self.missing = size


def _expire(future: asyncio.Future[list[Answer]]) -> None:
    if not future.done():
        future.set_exception(TimeoutError())


class ClientCore:
    """A node's outstanding requests: numbers commands, matches answers to them by rid.

    A batch waits on one future (its answers gathered as they come) and one timer: a
    future per command gathered (``asyncio.gather``) under ``asyncio.timeout`` cost a
    node a future, a callback and a timeout's bookkeeping more per command."""

    def __init__(self, node: str, limits: Limits, send: Send) -> None:
        self.node = check_node(node)
        self.limits = limits
        self.stats = ClientStats()
        self._send = send
        self.session = secrets.randbits(63)
        self._next_rid = 1
        self._pending: dict[int, tuple[_Batch, int]] = {}
        self._in_flight = 0

    @property
    def in_flight(self) -> int:
        return self._in_flight

    async def submit(self, commands: Sequence[NodeCommand]) -> list[Answer]:
        if not commands:
            return []
        if len(commands) > self.limits.max_batch_commands:
            raise ValueError(f"more than max_batch_commands={self.limits.max_batch_commands}")
        if self._in_flight >= self.limits.max_in_flight:
            self.stats.overloaded += 1
            raise TransportOverloaded(
                f"node {self.node} has {self._in_flight} batches waiting (max_in_flight)"
            )
        first = self._next_rid
        self._next_rid += len(commands)
        requests = tuple(
            CommandRequest(first + i, c.command, c.account, c.key) for i, c in enumerate(commands)
        )
        data = encode(CommandBatch(self.node, self.session, requests), self.limits)
        loop = asyncio.get_running_loop()
        batch = _Batch(loop.create_future(), len(requests))
        pending = self._pending
        for i in range(len(requests)):
            pending[first + i] = (batch, i)
        self._in_flight += 1
        try:
            await self._send(data)
            self.stats.batches += 1
            self.stats.commands += len(requests)
            timer = loop.call_later(self.limits.request_timeout_s, _expire, batch.future)
            try:
                return await batch.future
            finally:
                timer.cancel()
        except TimeoutError:
            self.stats.timeouts += 1
            raise RequestTimeout(
                f"node {self.node}: {batch.missing} of {len(requests)} commands unanswered after "
                f"{self.limits.request_timeout_s} s; resend them with the same idempotency keys"
            ) from None
        finally:
            self._in_flight -= 1
            for i in range(len(requests)):
                pending.pop(first + i, None)

    def on_answers(self, data: bytes) -> None:
        """Take one received answer message (never raises)."""
        try:
            batch = decode_answers(data, self.limits)
            if batch.node != self.node or batch.session != self.session:
                raise MessageRefused(
                    f"answers for node {batch.node!r} session {batch.session}, "
                    f"not {self.node!r} session {self.session}"
                )
        except MessageRefused as exc:
            self.stats.refused += 1
            log.warning("node %s refused a message: %s", self.node, exc)
            return
        for answer in batch.answers:
            found = self._pending.get(answer.rid)
            if found is None:
                self.stats.late += 1
                continue
            waiting, index = found
            if waiting.future.done() or waiting.answers[index] is not None:
                self.stats.late += 1
                continue
            waiting.answers[index] = answer
            waiting.missing -= 1
            if not waiting.missing:
                waiting.future.set_result(waiting.answers)  # type: ignore[arg-type]

    def fail_all(self, error: BaseException) -> None:
        for waiting, _ in self._pending.values():
            if not waiting.future.done():
                waiting.future.set_exception(error)


@dataclass
class ServerStats:
    batches: int = 0
    commands: int = 0
    refused: int = 0
    """Command messages refused (oversized, undecodable, invalid)."""
    handler_errors: int = 0


Reply = Callable[[str, bytes], Awaitable[None]]
"""Send an answer message to a node: (node, bytes)."""


class ServerCore:
    """The sequencer side: decodes batches, runs the handler (bounded), answers the sender."""

    def __init__(self, handler: BatchHandler, limits: Limits, reply: Reply) -> None:
        self.limits = limits
        self.stats = ServerStats()
        self._handler = handler
        self._reply = reply
        self._slots = asyncio.Semaphore(limits.server_concurrency)
        self._tasks: set[asyncio.Task[None]] = set()
        self.closed = False

    async def on_batch(self, data: bytes) -> None:
        """Take one received command message (never raises). Waits while
        ``server_concurrency`` batches are being handled, then handles it in a task."""
        try:
            batch = decode_batch(data, self.limits)
        except MessageRefused as exc:
            self.stats.refused += 1
            log.warning("sequencer refused a message: %s", exc)
            return
        if self.closed:
            return
        await self._slots.acquire()
        task = asyncio.create_task(self._handle(batch))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _handle(self, batch: CommandBatch) -> None:
        try:
            self.stats.batches += 1
            self.stats.commands += len(batch.commands)
            answers = await self._answers(batch)
            for data in _answer_messages(batch, answers, self.limits):
                await self._reply(batch.node, data)
        except Exception:
            log.exception("sequencer failed to answer node %s", batch.node)
        finally:
            self._slots.release()

    async def _answers(self, batch: CommandBatch) -> tuple[Answer, ...]:
        bad = {r.rid: key_problem(r) for r in batch.commands if key_problem(r)}
        runnable = batch if not bad else _without(batch, bad)
        answers: Sequence[Answer] = ()
        if runnable.commands:
            try:
                answers = await self._handler(runnable)
                if len(answers) != len(runnable.commands):
                    raise RuntimeError(
                        f"handler gave {len(answers)} answers to {len(runnable.commands)} commands"
                    )
            except Exception as exc:
                self.stats.handler_errors += 1
                log.exception("sequencer handler failed on a batch of node %s", batch.node)
                answers = [_unavailable(r.rid, exc) for r in runnable.commands]
        refused = [Answer(rid, False, code=CODE_INVALID, message=why) for rid, why in bad.items()]
        return (*refused, *answers)

    async def close(self) -> None:
        self.closed = True
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)


def _without(batch: CommandBatch, bad: dict[int, str]) -> CommandBatch:
    kept = tuple(r for r in batch.commands if r.rid not in bad)
    return CommandBatch(batch.node, batch.session, kept)


def _unavailable(rid: int, exc: BaseException) -> Answer:
    return Answer(rid, False, code=CODE_UNAVAILABLE, message=f"{type(exc).__name__}: {exc}")


def _answer_messages(
    batch: CommandBatch, answers: tuple[Answer, ...], limits: Limits
) -> list[bytes]:
    """The answers as messages within the limit (split in halves while too long). One
    answer too long for any message is replaced by an unavailable one."""
    try:
        return [encode(AnswerBatch(batch.node, batch.session, answers), limits)]
    except ValueError:
        if len(answers) == 1:
            rid = answers[0].rid
            if answers[0].code == CODE_UNAVAILABLE:
                return []  # not even a refusal fits: the node times out
            log.error("answer to node %s rid %d is too long to send", batch.node, rid)
            error = RuntimeError("answer exceeds max_message_bytes")
            return _answer_messages(batch, (_unavailable(rid, error),), limits)
        half = len(answers) // 2
        first = _answer_messages(batch, answers[:half], limits)
        return first + _answer_messages(batch, answers[half:], limits)
