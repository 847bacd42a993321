"""What passes between the engine's threads: the inbox's items (a submission, a control),
and the batch the engine thread builds from a group and hands to the writer thread."""

from __future__ import annotations

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
