"""What passes between the engine's threads: the inbox's items (a submission, a control),
and the batch the engine thread builds from a group and hands to the writer thread."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from augury.domain import commands as dc
from augury.domain.exchange import Exchange
from augury.engine.entry import Entry
from augury.journal import Head, JournalRecord

STOP = "stop"
"""The kind of the control that stops the engine (``Engine.close``)."""


@dataclass(slots=True)
class Control:
    """A request run on the engine thread: a checkpoint, a snapshot, a state query, stop."""

    kind: str
    future: Future[Any]
    query: Callable[[Exchange], Any] | None = None


# A submission is a plain tuple (cheaper than an object): (command, account, key, target).
Submission = tuple[dc.Command, str, str, Any]
Item = Submission | Control


class Lookup:
    """An answer the writer reads from the journal: the original of a duplicate."""

    __slots__ = ("command", "seq")

    def __init__(self, seq: int, command: dc.Command) -> None:
        self.seq = seq
        self.command = command


class Sequenced:
    """An asyncio future answered with ``(Result, seq)``: the seq of the command's record
    (accepted), of the original record (a duplicate of a keyed command) or 0 (refused).
    The engine sets ``seq``; the answering code treats it as the future it wraps."""

    __slots__ = ("future", "seq")

    def __init__(self, future: Any) -> None:
        self.future = future
        self.seq = 0

    def get_loop(self) -> Any:
        return self.future.get_loop()

    def done(self) -> bool:
        return bool(self.future.done())

    def set_result(self, value: Any) -> None:
        self.future.set_result((value, self.seq))

    def set_exception(self, error: BaseException) -> None:
        self.future.set_exception(error)


class Gathered:
    """One asyncio future for the commands of one ``Engine.asubmit_many`` call (a batch
    from the bus), in place of a future per command: it resolves once, when every one is
    answered, to their answers in submission order (a Result, or the EngineStopped of a
    command the engine could not answer), with ``seqs`` (as ``Sequenced.seq``).

    The engine thread appends each command's seq as it runs it; the answering thread
    appends each answer (groups are answered in order). On the first failure every
    command not answered yet gets that error: the engine has stopped, nothing after it
    is answered."""

    __slots__ = ("finished", "future", "loop", "seqs", "size", "values")

    def __init__(self, future: Any, size: int) -> None:
        self.future = future
        self.loop = future.get_loop()
        self.size = size
        self.seqs: list[int] = []
        self.values: list[Any] = []
        self.finished = False

    def answer(self, value: Any) -> bool:
        """One more answer (answering thread); True for the last one: the caller then
        resolves ``future`` with ``values`` on ``loop`` (``answers.answer``: in one call
        per loop with the group's other answers)."""
        if self.finished:
            return False
        values = self.values
        values.append(value)
        if len(values) == self.size:
            self.finished = True
            return True
        return False

    def fail(self, error: BaseException) -> None:
        if self.finished:
            return
        values = self.values
        values.extend([error] * (self.size - len(values)))
        self._finish()

    def _finish(self) -> None:
        self.finished = True
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits
            self.loop.call_soon_threadsafe(self._settle)

    def _settle(self) -> None:
        if not self.future.done():  # cancelled by its task (the commands still ran)
            self.future.set_result(self.values)


class Batch:
    """One group built by the engine thread, handed to the writer thread as a unit."""

    __slots__ = (
        "defer_answers",
        "done",
        "entries",
        "head",
        "items",
        "records",
        "snapshots",
        "stop",
        "targets",
        "values",
    )

    def __init__(self, head: Head) -> None:
        self.records: list[JournalRecord] = []
        self.items = 0  # inbox items (commands, controls) it answers: the group size
        # Who to answer (Ack, asyncio or concurrent future) and with what (Result, Lookup
        # or a control's answer): two parallel lists, no tuple per command.
        self.targets: list[Any] = []
        self.values: list[Any] = []
        self.entries: list[Entry | None] = []  # per record: its entry (None: a checkpoint)
        self.snapshots: list[tuple[int, bytes, bytes, Future[int] | None]] = []
        self.head = head  # the chain head after its records
        self.stop = False  # the writer stops after it
        self.done = False  # set by the writer once durable and answered
        self.defer_answers = False  # the engine thread answers it, after publishing it

    def answer(self, target: Any, value: Any) -> None:
        self.targets.append(target)
        self.values.append(value)

    def empty(self) -> bool:
        return not (self.records or self.targets or self.snapshots or self.stop)
