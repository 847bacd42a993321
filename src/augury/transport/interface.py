"""The transport interface: what the engine process and the nodes may ask of a bus.

Two sides (see the package docstring and docs/transport.md):

- commands: ``CommandClient`` (a node) sends batches and awaits each command's answer;
  ``Transport.serve(handler)`` (the sequencer) receives batches and answers them;
- the record feed: ``RecordPublisher`` (the sequencer) publishes committed records;
  ``Transport.subscribe(from_seq, store)`` (a follower) reads them in seq order with
  every gap filled from the journal.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

from augury.journal import JournalRecord, JournalStore
from augury.transport.feed import FeedStats
from augury.transport.messages import Answer, CommandBatch, Limits, NodeCommand

BatchHandler = Callable[[CommandBatch], Awaitable[Sequence[Answer]]]
"""The sequencer's work: run a batch's commands, return one answer per command, in the
batch's order, each only once its record is durable."""


class CommandClient(Protocol):
    """A node's side of the command channel."""

    @property
    def node(self) -> str: ...

    async def submit(self, commands: Sequence[NodeCommand]) -> list[Answer]:
        """Send ``commands`` as one batch; their answers, in the same order.

        Raises MessageTooLarge (nothing sent), TransportOverloaded (nothing sent: this
        node has ``max_in_flight`` batches waiting), TransportUnavailable (nothing sent)
        or RequestTimeout (sent; outcome unknown: resend with the same idempotency keys).
        """
        ...

    async def close(self) -> None: ...


class CommandServer(Protocol):
    """The sequencer's side of the command channel, once serving."""

    async def close(self) -> None:
        """Stop taking batches; those being handled are still answered."""
        ...


class RecordPublisher(Protocol):
    """The sequencer's side of the record feed."""

    async def publish(self, records: Sequence[JournalRecord]) -> None:
        """Publish durable records, in seq order. Never raises for the bus's sake: a
        batch the bus loses is a gap that followers read from the journal."""
        ...


class RecordSubscription(Protocol):
    """A follower's side of the record feed: contiguous records from ``next_seq``."""

    @property
    def next_seq(self) -> int: ...

    @property
    def stats(self) -> FeedStats:
        """Records from the bus and from the journal, gaps, refused and dropped messages."""
        ...

    async def next(self, timeout_s: float | None = None) -> list[JournalRecord]:
        """The next records, contiguous from ``next_seq`` (never empty); TimeoutError if
        none came within ``timeout_s``."""
        ...

    async def close(self) -> None: ...


class Transport(Protocol):
    """One bus: the factory of both sides of both channels."""

    @property
    def limits(self) -> Limits: ...

    async def client(self, node: str) -> CommandClient:
        """The command client of node ``node`` (one per node name)."""
        ...

    async def serve(self, handler: BatchHandler) -> CommandServer:
        """Start answering command batches with ``handler`` (one sequencer per bus)."""
        ...

    async def publisher(self) -> RecordPublisher: ...

    async def subscribe(self, from_seq: int, store: JournalStore) -> RecordSubscription:
        """Follow the feed from ``from_seq``; ``store`` is the journal gaps are read from."""
        ...

    async def close(self) -> None: ...
