"""The engine: applies commands in sequence against the core, journals them, recovers.

It is the imperative shell around ``augury.domain``: it owns the clock, the journal
store and the single thread of execution. See docs/engine.md.
"""

from augury.engine.ack import Ack
from augury.engine.clock import Clock, SimulatedClock, SystemClock
from augury.engine.engine import Engine
from augury.engine.entry import AdvanceClock, Entry, decode_entry, encode_entry, execute_entry
from augury.engine.errors import EngineError, EngineOverloaded, EngineStopped
from augury.engine.recovery import open_engine, replay
from augury.engine.stats import EngineStats, RecoveryReport

__all__ = [
    "Ack",
    "AdvanceClock",
    "Clock",
    "Engine",
    "EngineError",
    "EngineOverloaded",
    "EngineStats",
    "EngineStopped",
    "Entry",
    "RecoveryReport",
    "SimulatedClock",
    "SystemClock",
    "decode_entry",
    "encode_entry",
    "execute_entry",
    "open_engine",
    "replay",
]
