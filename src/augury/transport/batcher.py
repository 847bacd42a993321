"""Gathering the single commands of concurrent callers into batches (a node's side).

An API node answers many HTTP requests at once, each with one command; the bus wants
one message per many commands. ``Batcher.submit(command)`` queues the command and
resolves to its own ``Answer``. A sending task takes everything queued (up to
``max_batch_commands``) as ONE batch as soon as a send slot is free: the engine's own
group rule, never waiting to fill a batch, so a lone command is not delayed and a busy
node sends large batches. At most ``max_in_flight`` batches are out at once (the
client's bound); at most ``max_queued`` commands wait, beyond that ``submit`` raises
``TransportOverloaded`` at once. A batch's error (``RequestTimeout``,
``TransportUnavailable`` ...) is each of its commands' error.
"""

from __future__ import annotations

import asyncio
import contextlib

from augury.transport.interface import CommandClient
from augury.transport.messages import Answer, Limits, NodeCommand, TransportOverloaded

MAX_QUEUED_DEFAULT = 10_000

_Waiting = tuple[NodeCommand, "asyncio.Future[Answer]"]


class Batcher:
    """One client's commands, sent in batches of what is queued."""

    def __init__(
        self, client: CommandClient, limits: Limits, max_queued: int = MAX_QUEUED_DEFAULT
    ) -> None:
        self.client = client
        self.limits = limits
        self.max_queued = max_queued
        self.batches = 0
        self._queue: list[_Waiting] = []
        self._wake = asyncio.Event()
        self._slots = asyncio.Semaphore(limits.max_in_flight)
        self._tasks: set[asyncio.Task[None]] = set()
        self._pump = asyncio.create_task(self._run())

    async def submit(self, command: NodeCommand) -> Answer:
        if len(self._queue) >= self.max_queued:
            raise TransportOverloaded(f"{len(self._queue)} commands queued (max_queued)")
        future: asyncio.Future[Answer] = asyncio.get_running_loop().create_future()
        self._queue.append((command, future))
        self._wake.set()
        return await future

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._queue:
                await self._slots.acquire()
                take = self.limits.max_batch_commands
                batch, self._queue = self._queue[:take], self._queue[take:]
                task = asyncio.create_task(self._send(batch))
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
            self._slots.release()

    async def close(self) -> None:
        """Stop sending; the batches out are still answered, the queued fail."""
        self._pump.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._pump
        for _, future in self._queue:
            if not future.done():
                future.set_exception(TransportOverloaded("the batcher was closed"))
        self._queue.clear()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
