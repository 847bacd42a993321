"""Gathering the single commands of concurrent callers into batches (a node's side).

An API node answers many HTTP requests at once, each with one command; the bus wants
one message per many commands. ``Batcher.submit(command)`` queues the command and
resolves to its own ``Answer``. Everything queued is taken (up to
``max_batch_commands``) as ONE batch as soon as a send slot is free: the engine's own
group rule, never waiting to fill a batch, so a lone command is not delayed and a busy
node sends large batches. At most ``max_in_flight`` batches are out at once (the
client's bound); at most ``max_queued`` commands wait, beyond that ``submit`` raises
``TransportOverloaded`` at once. A batch's error (``RequestTimeout``,
``TransportUnavailable`` ...) is each of its commands' error. Once closed, ``submit``
raises ``TransportOverloaded``.
"""

from __future__ import annotations

import asyncio

from augury.transport.interface import CommandClient
from augury.transport.messages import Answer, Limits, NodeCommand, TransportOverloaded

MAX_QUEUED_DEFAULT = 10_000

_Waiting = tuple[NodeCommand, "asyncio.Future[Answer]"]


class Batcher:
    """One client's commands, sent in batches of what is queued.

    No task of its own: the first command queued in a turn of the event loop schedules
    one ``_flush`` (a callback, on the next turn, as a waiting task would wake), which
    sends what is queued in batches while a slot is free; a batch that ends sends what
    queued meanwhile. An event and a pump task cost a task wake-up per batch more.
    """

    def __init__(
        self, client: CommandClient, limits: Limits, max_queued: int = MAX_QUEUED_DEFAULT
    ) -> None:
        self.client = client
        self.limits = limits
        self.max_queued = max_queued
        self.batches = 0
        self._queue: list[_Waiting] = []
        self._loop = asyncio.get_running_loop()
        self._in_flight = 0
        self._scheduled = False
        self._closed = False
        self._tasks: set[asyncio.Task[None]] = set()

    async def submit(self, command: NodeCommand) -> Answer:
        if len(self._queue) >= self.max_queued:
            raise TransportOverloaded(f"{len(self._queue)} commands queued (max_queued)")
        if self._closed:
            raise TransportOverloaded("the batcher was closed")
        future: asyncio.Future[Answer] = self._loop.create_future()
        self._queue.append((command, future))
        if not self._scheduled:
            self._scheduled = True
            self._loop.call_soon(self._flush)
        return await future

    def _flush(self) -> None:
        self._scheduled = False
        take = self.limits.max_batch_commands
        while self._queue and self._in_flight < self.limits.max_in_flight and not self._closed:
            batch, self._queue = self._queue[:take], self._queue[take:]
            self._in_flight += 1
            task = self._loop.create_task(self._send(batch))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _send(self, batch: list[_Waiting]) -> None:
        try:
            self.batches += 1
            answers = await self.client.submit([command for command, _ in batch])
            for (_, future), answer in zip(batch, answers, strict=True):
                if not future.done():
                    future.set_result(answer)
        except Exception as exc:
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
        finally:
            self._in_flight -= 1
            if self._queue and not self._scheduled:  # what queued while no slot was free
                self._scheduled = True
                self._loop.call_soon(self._flush)

    async def close(self) -> None:
        """Stop sending; the batches out are still answered, the queued fail."""
        self._closed = True
        for _, future in self._queue:
            if not future.done():
                future.set_exception(TransportOverloaded("the batcher was closed"))
        self._queue.clear()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
