"""Answering callers and subscribers once a group is durable: acks, concurrent futures
and asyncio futures (one ``call_soon_threadsafe`` per event loop per group), in order,
and the subscribers' callbacks. Called by the writer thread (or by the engine thread for
a batch whose answers wait for the state-reading subscribers); never before the records
of what is answered are durable."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from concurrent.futures import Future, InvalidStateError
from typing import Any

from augury.engine.ack import Ack, settle
from augury.engine.batch import Batch, Gathered
from augury.engine.entry import Entry

log = logging.getLogger(__name__)

Subscriber = Callable[[int, int, Entry], None]
"""Called with (seq, ts_us, entry) for every command record, after its group is durable."""


def publish(subscribers: tuple[Subscriber, ...], batch: Batch) -> None:
    published = [
        (record.seq, record.ts_us, entry)
        for record, entry in zip(batch.records, batch.entries, strict=True)
        if entry is not None
    ]
    for callback in subscribers:
        for seq, ts_us, entry in published:
            try:
                callback(seq, ts_us, entry)
            except Exception:
                log.exception("subscriber %r failed on seq %d; ignored", callback, seq)


def answer(targets: list[Any], values: list[Any]) -> None:
    """Complete the answers of one group, in order: acks in one go, asyncio futures in
    one call per event loop, concurrent futures (controls) one by one; a ``Gathered``
    takes each answer and, with its last, resolves in its loop's call."""
    acks: list[Ack[Any]] = []
    results: list[Any] = []
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[Any, Any, bool]]] | None = None
    for target, value in zip(targets, values, strict=True):
        kind = type(target)
        if kind is Gathered:
            if target.answer(value):
                if by_loop is None:
                    by_loop = {}
                by_loop.setdefault(target.loop, []).append((target.future, target.values, False))
        elif kind is Ack:
            acks.append(target)
            results.append(value)
        elif kind is Future:
            resolve(target, value)
        else:
            if by_loop is None:
                by_loop = {}
            by_loop.setdefault(target.get_loop(), []).append((target, value, False))
    if acks:
        settle(acks, results)
    if by_loop:
        _settle_loops(by_loop)


def resolve(future: Future[Any], answer: Any) -> None:
    with contextlib.suppress(InvalidStateError):  # cancelled by the caller; it still ran
        future.set_result(answer)


def fail(future: Future[Any], error: BaseException) -> None:
    with contextlib.suppress(InvalidStateError):  # answered or cancelled already
        future.set_exception(error)


def fail_all(targets: list[Any], error: BaseException) -> None:
    """Fail acks, concurrent and asyncio futures alike (those not answered yet)."""
    acks: list[Ack[Any]] = []
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[Any, Any, bool]]] = {}
    for target in targets:
        if type(target) is Ack:
            acks.append(target)
        elif type(target) is Gathered:
            target.fail(error)
        elif isinstance(target, Future):
            fail(target, error)
        else:
            by_loop.setdefault(target.get_loop(), []).append((target, error, True))
    settle(acks, [error] * len(acks), error=True)
    _settle_loops(by_loop)


def _settle_loops(by_loop: dict[asyncio.AbstractEventLoop, list[tuple[Any, Any, bool]]]) -> None:
    for loop, answers in by_loop.items():
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits
            loop.call_soon_threadsafe(_settle, answers)


def _settle(answers: list[tuple[Any, Any, bool]]) -> None:
    """On the event loop: complete the asyncio futures of one group."""
    for future, answer, error in answers:
        if future.done():  # cancelled by its task (it still ran), or already failed
            continue
        if error:
            future.set_exception(answer)
        else:
            future.set_result(answer)
