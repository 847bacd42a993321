"""What travels on the bus: command batches, their answers, batches of journal records.

Every message is one msgspec MessagePack value. A command inside a batch is the very
struct the engine journals (``augury.engine.entry.EntryCommand``: a domain command from
``augury.domain.codec.AnyCommand`` or ``AdvanceClock``), tagged by ``type`` as in the
journal's JSON; nothing re-describes a command. A journal record travels as the
``JournalRecord`` struct the journal stores (seq, ts_us, kind, body, prev_hash, hash),
its ``body`` the journal's bytes verbatim.

Decoding is strict (types, tags, unknown fields) and bounded: a message longer than
``Limits.max_message_bytes`` is refused before it is decoded. ``decode_*`` raise
``MessageRefused`` with a one-line reason; receivers log it, count it and carry on.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

import msgspec

from augury.domain.codec import AnyEvent
from augury.engine.entry import EntryCommand
from augury.journal import JournalRecord

NODE_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")
"""A node's name: it becomes part of a NATS subject, so letters, digits, '_' and '-'."""
KEY_LEN_MAX = 128
"""Longest idempotency key (the engine's own bound)."""

CODE_UNAVAILABLE = "sequencer_unavailable"
"""An answer's code when the sequencer could not run the command (engine stopped or
overloaded, handler error): it is NOT known to be journaled; resend with the same key."""
CODE_INVALID = "invalid_command"
"""An answer's code for a command the transport refused before the engine (bad key)."""


class TransportError(Exception):
    """Base of the transport's errors."""


class TransportUnavailable(TransportError):
    """The bus (or the sequencer behind it) cannot be reached."""


class TransportOverloaded(TransportError):
    """This node already has ``max_in_flight`` requests waiting; retry later."""


class RequestTimeout(TransportError):
    """No answer came in time. The commands may or may not have been journaled: resend
    them with the same idempotency keys (the engine answers a duplicate with the
    original result), never with new ones."""


class MessageTooLarge(TransportError, ValueError):
    """A message to send is longer than ``max_message_bytes``: send smaller batches."""


class MessageRefused(TransportError):
    """A received message was oversized or undecodable (logged and dropped)."""


@dataclass(frozen=True, slots=True)
class Limits:
    """The bounds of one transport; every queue and message is bounded by one of them."""

    max_message_bytes: int = 1_000_000
    """Longest message sent or accepted (NATS' default max_payload is 1 MiB)."""
    max_batch_commands: int = 4_096
    """Most commands in one batch."""
    max_in_flight: int = 64
    """Requests (batches) one node may have waiting for answers; more are refused."""
    request_timeout_s: float = 5.0
    """How long a node waits for all the answers of a batch."""
    server_concurrency: int = 64
    """Batches the sequencer side hands to its handler at once; later ones wait."""
    feed_queue_batches: int = 1_024
    """Record batches a follower holds undelivered; beyond that they are dropped (and
    read back from the journal as a gap)."""
    fill_max_records: int = 2_000
    """Most records one read of the journal returns to a follower."""
    idle_check_s: float = 0.5
    """A follower whose feed is quiet this long compares itself with the journal's head."""

    def __post_init__(self) -> None:
        for name in ("max_message_bytes", "max_batch_commands", "max_in_flight"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1")
        if self.request_timeout_s <= 0 or self.idle_check_s <= 0:
            raise ValueError("timeouts must be > 0")


class NodeCommand(msgspec.Struct, frozen=True, gc=False):
    """What a node asks the sequencer to run: a command, its account and idempotency key."""

    command: EntryCommand
    account: str = ""
    key: str = ""


class CommandRequest(msgspec.Struct, frozen=True, gc=False, array_like=True):
    """One command on the wire, numbered by its node (``rid``, unique per node)."""

    rid: int
    command: EntryCommand
    account: str = ""
    key: str = ""


class CommandBatch(msgspec.Struct, frozen=True, gc=False):
    """One message from a node to the sequencer: many commands. ``session`` is drawn at
    random when the node's client starts: answers carry it back, so a restarted node
    (whose rids start again at 1) never takes an answer meant for its predecessor."""

    node: str
    session: int
    commands: tuple[CommandRequest, ...]


class Answer(msgspec.Struct, frozen=True, gc=False, array_like=True):
    """The outcome of one command: ``ok`` with its journal ``seq`` (and events), or a
    refusal (``code``, ``message``; ``seq`` 0). A duplicate (same account and key)
    is answered with the original's seq and events."""

    rid: int
    ok: bool
    seq: int = 0
    code: str = ""
    message: str = ""
    events: tuple[AnyEvent, ...] = ()


class AnswerBatch(msgspec.Struct, frozen=True, gc=False):
    """One message from the sequencer to a node: answers to commands of that node."""

    node: str
    session: int
    answers: tuple[Answer, ...]


class RecordBatch(msgspec.Struct, frozen=True, gc=False):
    """Committed journal records, in seq order, as the journal stores them."""

    records: tuple[JournalRecord, ...]


_encode = msgspec.msgpack.Encoder().encode
_batch_decoder = msgspec.msgpack.Decoder(CommandBatch)
_answers_decoder = msgspec.msgpack.Decoder(AnswerBatch)
_records_decoder = msgspec.msgpack.Decoder(RecordBatch)


def check_node(node: str) -> str:
    """``node`` if it is a valid node name, else ValueError."""
    if not isinstance(node, str) or not NODE_RE.fullmatch(node):
        raise ValueError(f"a node name is 1..64 of [A-Za-z0-9_-], got {node!r}")
    return node


def encode(message: CommandBatch | AnswerBatch | RecordBatch, limits: Limits) -> bytes:
    """The message's bytes; MessageTooLarge if they exceed the limit."""
    data = _encode(message)
    if len(data) > limits.max_message_bytes:
        raise MessageTooLarge(
            f"{type(message).__name__} of {len(data)} bytes exceeds "
            f"max_message_bytes={limits.max_message_bytes}"
        )
    return data


def encode_unchecked(message: CommandBatch | AnswerBatch | RecordBatch) -> bytes:
    return _encode(message)


def _check_size(data: bytes, limits: Limits, what: str) -> None:
    if len(data) > limits.max_message_bytes:
        raise MessageRefused(
            f"{what} of {len(data)} bytes exceeds max_message_bytes={limits.max_message_bytes}"
        )


def decode_batch(data: bytes, limits: Limits) -> CommandBatch:
    """A received command batch, checked; MessageRefused otherwise."""
    _check_size(data, limits, "command batch")
    try:
        batch = _batch_decoder.decode(data)
    except (msgspec.DecodeError, ValueError) as exc:
        raise MessageRefused(f"undecodable command batch: {exc}") from None
    if not NODE_RE.fullmatch(batch.node):
        raise MessageRefused(f"command batch from an invalid node name {batch.node[:80]!r}")
    if not 0 < len(batch.commands) <= limits.max_batch_commands:
        raise MessageRefused(
            f"command batch of {len(batch.commands)} commands (1..{limits.max_batch_commands})"
        )
    return batch


def decode_answers(data: bytes, limits: Limits) -> AnswerBatch:
    """A received answer batch; MessageRefused if oversized or undecodable."""
    _check_size(data, limits, "answer batch")
    try:
        answers: AnswerBatch = _answers_decoder.decode(data)
    except (msgspec.DecodeError, ValueError) as exc:
        raise MessageRefused(f"undecodable answer batch: {exc}") from None
    return answers


def decode_records(data: bytes, limits: Limits) -> RecordBatch:
    """A received record batch; MessageRefused if oversized, undecodable or out of order."""
    _check_size(data, limits, "record batch")
    try:
        batch: RecordBatch = _records_decoder.decode(data)
    except (msgspec.DecodeError, ValueError) as exc:
        raise MessageRefused(f"undecodable record batch: {exc}") from None
    seqs = [record.seq for record in batch.records]
    if any(b <= a for a, b in itertools.pairwise(seqs)) or (seqs and seqs[0] < 1):
        raise MessageRefused("record batch not in increasing seq order")
    return batch


def split_records(records: tuple[JournalRecord, ...], limits: Limits) -> list[bytes]:
    """``records`` as messages within the limit, in order. A record too large for any
    message is left out (a follower reads it from the journal as a gap)."""
    data = _encode(RecordBatch(records))
    if len(data) <= limits.max_message_bytes:
        return [data]
    if len(records) == 1:
        return []
    half = len(records) // 2
    return split_records(records[:half], limits) + split_records(records[half:], limits)


def key_problem(request: CommandRequest) -> str:
    """Why a request's idempotency key is unusable, or ""."""
    if len(request.key) > KEY_LEN_MAX:
        return f"idempotency key longer than {KEY_LEN_MAX} characters"
    return ""
