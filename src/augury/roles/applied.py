"""How far a read-model follower has applied the journal, and who waits for a seq.

A follower's thread (or its reader of the projector process's reports) advances the
seq as batches land; requests on event loops wait for a seq (read-your-writes
barriers, ``Services.barrier``). One lock, one future per waiter, each woken on its
own loop. ``Follower`` and ``ProcessFollower`` share it.
"""

from __future__ import annotations

import asyncio
import threading


class AppliedSeq:
    """The highest seq applied (it only grows) and the futures waiting for a seq."""

    def __init__(self) -> None:
        self._seq = 0
        self._lock = threading.Lock()
        self._waiters: list[tuple[int, asyncio.Future[None]]] = []

    @property
    def seq(self) -> int:
        return self._seq

    def advance(self, seq: int) -> None:
        """Any thread: every record up to ``seq`` is applied; wake who waited for it."""
        with self._lock:
            self._seq = max(self._seq, seq)
            ready = [future for target, future in self._waiters if target <= seq]
            self._waiters = [(t, f) for t, f in self._waiters if t > seq]
        for future in ready:
            future.get_loop().call_soon_threadsafe(_wake, future)

    async def wait_for(self, seq: int) -> None:
        """Return once every record up to ``seq`` is applied."""
        with self._lock:
            if self._seq >= seq:
                return
            future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._waiters.append((seq, future))
        await future


def _wake(future: asyncio.Future[None]) -> None:
    if not future.done():  # the waiting request may have gone away
        future.set_result(None)
