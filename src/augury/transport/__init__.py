"""The bus between the sequencer (engine process) and the nodes: commands and records.

One interface (``augury.transport.interface``), two implementations, one contract
(``tests/transport/contract.py``); docs/transport.md is the full description.

**Commands.** A node (``Transport.client(node)``) sends a batch of ``NodeCommand``\\ s
(command, account, idempotency key) as ONE message; each command gets a per-node
request id on the wire and its ``Answer`` comes back to that node only: ``ok`` with the
command's journal ``seq`` (and its events), or a refusal code. The sequencer
(``Transport.serve(handler)``) receives batches and answers each command once its record
is durable. A batch whose answers do not all come within ``request_timeout_s`` raises
``RequestTimeout``: resend with the same idempotency keys.

**Record feed.** The sequencer (``Transport.publisher()``) publishes committed
``JournalRecord``\\ s in seq order, in batches. A follower (``Transport.subscribe(
from_seq, store)``) gets them contiguous from ``from_seq``: anything the bus lost is
read from the journal ``store``, so the bus is never the only copy.

**Bounds.** ``Limits``: message bytes (an oversized or undecodable message is refused,
logged and counted, never raised in the receiver), commands per batch, batches in flight
per node, request timeout, batches handled at once, follower queue.

``Batcher`` gathers the single commands of a node's concurrent callers into batches.

Implementations: ``EmbeddedTransport`` (in-process, asyncio; the default of
``augury serve``) and ``NatsTransport`` (nats-py, core NATS).
"""

from augury.transport.batcher import Batcher
from augury.transport.embedded import EmbeddedTransport
from augury.transport.feed import FeedError, FeedStats, Follower
from augury.transport.interface import (
    BatchHandler,
    CommandClient,
    CommandServer,
    RecordPublisher,
    RecordSubscription,
    Transport,
)
from augury.transport.messages import (
    CODE_INVALID,
    CODE_UNAVAILABLE,
    Answer,
    AnswerBatch,
    CommandBatch,
    CommandRequest,
    Limits,
    MessageRefused,
    MessageTooLarge,
    NodeCommand,
    RecordBatch,
    RequestTimeout,
    TransportError,
    TransportOverloaded,
    TransportUnavailable,
)
from augury.transport.nats_bus import NatsTransport

__all__ = [
    "CODE_INVALID",
    "CODE_UNAVAILABLE",
    "Answer",
    "AnswerBatch",
    "BatchHandler",
    "Batcher",
    "CommandBatch",
    "CommandClient",
    "CommandRequest",
    "CommandServer",
    "EmbeddedTransport",
    "FeedError",
    "FeedStats",
    "Follower",
    "Limits",
    "MessageRefused",
    "MessageTooLarge",
    "NatsTransport",
    "NodeCommand",
    "RecordBatch",
    "RecordPublisher",
    "RecordSubscription",
    "RequestTimeout",
    "Transport",
    "TransportError",
    "TransportOverloaded",
    "TransportUnavailable",
]
