"""Ed25519 signatures checked beside the event loop: on a thread, in batches, GIL released.

Checking an Ed25519 signature cost the event loop more than the rest of placing a Kalshi
order (docs/benchmarks.md, "The Kalshi facade beside POST /orders"), and the loop is what
every request of the process waits on. Here the checks run on one thread of the
process's own: ``auth.verify_signature`` checks Ed25519 with libsodium (PyNaCl), which is
called through cffi without holding the GIL, so they run on another core while the loop
goes on. The checks asked for in one turn of the loop go as one batch and come back as
one (one hand-over each way, not one per request).

RSA-PSS signatures are checked on the loop (``cryptography`` holds the GIL while it
verifies: a thread would add the hand-over and take nothing off the loop).
"""

from __future__ import annotations

import asyncio
import logging
import os
import queue
import threading
from collections.abc import Callable

from augury.api.public_keys import PublicKey

log = logging.getLogger(__name__)

Check = tuple[PublicKey, bytes, bytes, "asyncio.Future[bool]"]
"""(key, message, signature, the asking loop's future)."""


class SignatureThread:
    """``await verify(key, message, signature)``: ``auth.verify_signature``'s answer,
    computed on this object's thread (started on first use, a daemon)."""

    def __init__(self, verify: Callable[[PublicKey, bytes, bytes], bool]) -> None:
        self._verify = verify
        self._lock = threading.Lock()
        self._pending: dict[asyncio.AbstractEventLoop, list[Check]] = {}
        self._batches: queue.SimpleQueue[tuple[asyncio.AbstractEventLoop, list[Check]]] = (
            queue.SimpleQueue()
        )
        self._thread: threading.Thread | None = None
        self.batches = 0
        """Batches checked so far (the checks of one turn of a loop are one)."""
        os.register_at_fork(after_in_child=self._forked)

    def _forked(self) -> None:
        """In a child made by fork, the thread is not there: start another when asked."""
        self._lock = threading.Lock()
        self._pending = {}
        self._batches = queue.SimpleQueue()
        self._thread = None

    async def verify(self, key: PublicKey, message: bytes, signature: bytes) -> bool:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[bool] = loop.create_future()
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="kalshi-signatures", daemon=True
                )
                self._thread.start()
            pending = self._pending.setdefault(loop, [])
            pending.append((key, message, signature, future))
            first = len(pending) == 1
        if first:  # the batch leaves once this turn of the loop has added its checks
            loop.call_soon(self._flush, loop)
        return await future

    def _flush(self, loop: asyncio.AbstractEventLoop) -> None:
        with self._lock:
            batch = self._pending.pop(loop, [])
        if batch:
            self._batches.put((loop, batch))

    def _run(self) -> None:
        while True:
            loop, batch = self._batches.get()
            self.batches += 1
            answers: list[bool | BaseException] = []
            for key, message, signature, _ in batch:
                try:
                    answers.append(bool(self._verify(key, message, signature)))
                except Exception as error:  # answered to the request, as on the loop
                    answers.append(error)
            try:
                loop.call_soon_threadsafe(_deliver, batch, answers)
            except RuntimeError:  # the loop is closed: no one is waiting any more
                log.debug("signature checks for a closed event loop dropped")


def _deliver(batch: list[Check], answers: list[bool | BaseException]) -> None:
    for (_, _, _, future), answer in zip(batch, answers, strict=True):
        if future.done():  # the request went away meanwhile
            continue
        if isinstance(answer, BaseException):
            future.set_exception(answer)
        else:
            future.set_result(answer)
