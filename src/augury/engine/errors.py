"""The engine's own errors, and the refusals it gives itself (before the exchange sees a
command): a bad or reused idempotency key, AdvanceClock on system time."""

from __future__ import annotations

import msgspec

from augury.domain import commands as dc
from augury.domain.exchange import Result

CODE_CLOCK_NOT_SIMULATED = "clock_not_simulated"
CODE_KEY_REUSED = "idempotency_key_reused"
CODE_INVALID_KEY = "invalid_idempotency_key"

_command_encode = msgspec.json.Encoder().encode


class EngineError(Exception):
    """Base of the engine's own errors."""


class EngineStopped(EngineError):
    """The engine has stopped (closed, or failed) and answers no more commands."""


class EngineOverloaded(EngineError):
    """The submission queue is full; retry later."""


def same_command(original: dc.Command, command: dc.Command) -> bool:
    """Whether a keyed command is the one first accepted under its key (same encoding)."""
    return _command_encode(original) == _command_encode(command)


def key_reused(seq: int) -> Result:
    """The answer to a key already used (at ``seq``) for a different command."""
    message = f"this key was used for a different command (seq {seq})"
    return Result(False, (), CODE_KEY_REUSED, message)
