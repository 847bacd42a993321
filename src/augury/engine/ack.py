"""The acknowledgement of one submitted command: a small, cheap future.

``concurrent.futures.Future`` builds a ``threading.Condition`` (and its lock) for every
instance and takes it on every call: about 9 us per command, more than hashing and
encoding its journal record together. An engine answering tens of thousands of
commands per second cannot afford that, so ``Engine.submit`` returns an ``Ack``: plain
slots, one module-wide lock taken only to register a waiter or a callback and once per
answered group, and an ``Event`` made only for a caller that actually has to wait.

It offers the part of the ``Future`` interface callers use: ``result``, ``exception``,
``done``, ``add_done_callback``; ``cancel`` always returns False (a submitted command is
executed whatever its caller does). Answers are set by the engine only.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")

_PENDING = 0
_RESULT = 1
_ERROR = 2

_lock = threading.Lock()
"""Guards waiter and callback registration against completion (all acks share it)."""


class Ack(Generic[T]):
    """Resolves once the engine answers the command (after its record is durable)."""

    __slots__ = ("_callbacks", "_state", "_value", "_waiter")

    def __init__(self) -> None:
        self._state = _PENDING
        self._value: Any = None
        self._waiter: threading.Event | None = None
        self._callbacks: list[Callable[[Ack[T]], object]] | None = None

    def done(self) -> bool:
        return self._state != _PENDING

    def cancelled(self) -> bool:
        return False

    def cancel(self) -> bool:
        """Always False: a submitted command runs whether its caller waits or not."""
        return False

    def result(self, timeout: float | None = None) -> T:
        """The answer; waits up to ``timeout`` seconds (None: for ever), then raises
        TimeoutError. Raises the engine's exception if the command was not answered."""
        if self._state == _PENDING:
            self._wait(timeout)
        if self._state == _RESULT:
            value: T = self._value
            return value
        raise self._value

    def exception(self, timeout: float | None = None) -> BaseException | None:
        if self._state == _PENDING:
            self._wait(timeout)
        return self._value if self._state == _ERROR else None

    def add_done_callback(self, fn: Callable[[Ack[T]], object]) -> None:
        """Call ``fn(ack)`` once answered (at once if it is); on the answering thread."""
        if self._state == _PENDING:
            with _lock:
                if self._state == _PENDING:
                    if self._callbacks is None:
                        self._callbacks = []
                    self._callbacks.append(fn)
                    return
        _call(fn, self)

    def _wait(self, timeout: float | None) -> None:
        with _lock:
            if self._state != _PENDING:
                return
            waiter = self._waiter
            if waiter is None:
                waiter = self._waiter = threading.Event()
        if not waiter.wait(timeout):
            raise TimeoutError(f"no answer within {timeout} s")

    def __repr__(self) -> str:
        state = ("pending", "done", "failed")[self._state]
        return f"<Ack {state}>"


def settle(acks: Sequence[Ack[Any]], values: Sequence[Any], error: bool = False) -> None:
    """Complete ``acks[i]`` with ``values[i]`` (exceptions if ``error``), in order; acks
    already done are left alone. One lock acquisition for the lot; waiters are woken and
    callbacks run after it."""
    state = _ERROR if error else _RESULT
    woken: list[Ack[Any]] = []
    with _lock:
        for ack, value in zip(acks, values, strict=True):
            if ack._state != _PENDING:
                continue
            ack._value = value
            ack._state = state
            if ack._waiter is not None or ack._callbacks is not None:
                woken.append(ack)
    for ack in woken:
        if ack._waiter is not None:
            ack._waiter.set()
        if ack._callbacks is not None:
            for fn in ack._callbacks:
                _call(fn, ack)


def _call(fn: Callable[[Ack[Any]], object], ack: Ack[Any]) -> None:
    try:
        fn(ack)
    except Exception:
        log.exception("a done callback of %r failed; ignored", ack)
