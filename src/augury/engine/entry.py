"""What one journal record of kind "command" holds, and how it is re-executed.

An entry is the command, who sent it under which idempotency key, and the events it
produced, encoded as canonical JSON (msgspec, fields in declaration order). The
record's ``ts_us`` is the instant the command was executed at. Rejected commands are
not journaled: they change nothing.

``AdvanceClock`` is the engine's own command (simulated time): it runs every timer
that falls due up to ``to_us``, in time order, each as a ``Tick`` at the timer's
instant, then sets the clock. ``execute_entry`` is the single definition of how an
entry's command is applied, used live by the engine and again by ``augury verify``.
"""

from __future__ import annotations

import msgspec

from augury.domain import commands as dc
from augury.domain.codec import AnyCommand, AnyEvent
from augury.domain.events import Event
from augury.domain.exchange import Exchange, Result

TIMERS_PER_ADVANCE_MAX = 1_000_000
"""Bound on the timers one clock advance may run."""


class AdvanceClock(dc.Command, frozen=True, tag="advance_clock"):
    """Move simulated time to ``to_us``, running due timers in order on the way."""

    to_us: int


EntryCommand = AnyCommand | AdvanceClock


class Entry(msgspec.Struct, frozen=True, gc=False):
    command: EntryCommand
    events: tuple[AnyEvent, ...]
    account: str = ""
    key: str = ""


_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(Entry)


def encode_entry(entry: Entry) -> bytes:
    return _encoder.encode(entry)


def decode_entry(body: bytes) -> Entry:
    entry: Entry = _decoder.decode(body)
    return entry


def execute_entry(exchange: Exchange, command: dc.Command, now_us: int) -> Result:
    """Apply one command (a domain command or ``AdvanceClock``) at ``now_us``."""
    if isinstance(command, AdvanceClock):
        return _advance(exchange, command.to_us)
    return exchange.execute(command, now_us)


def _advance(exchange: Exchange, to_us: int) -> Result:
    events: list[Event] = []
    for _ in range(TIMERS_PER_ADVANCE_MAX):
        due = exchange.next_timer()
        if due is None or due > to_us:
            break
        result = exchange.execute(dc.Tick(), due)
        assert result.ok
        events.extend(result.events)
        if not result.events:
            break  # nothing fired at ``due``: a stale timer, nothing more to run
    else:
        raise AssertionError("too many timers in one clock advance")
    return Result(ok=True, events=tuple(events))
