"""Where the engine's time comes from: the system's UTC clock, or simulated time.

Every instant is UTC microseconds since the Unix epoch (an int). The engine reads its
clock once per command and journals that instant as the record's ``ts_us``; replay
never reads a clock. ``SystemClock`` never goes backwards, even if the wall clock
does (NTP step, VM migration): it holds at its last value until the wall catches up.
``SimulatedClock`` stands still until the engine applies a journaled ``AdvanceClock``;
nothing else may move it, so simulated runs replay exactly.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol, runtime_checkable


@runtime_checkable
class Clock(Protocol):
    def now_us(self) -> int:
        """The current instant in UTC microseconds; never less than a previous answer."""
        ...


class SystemClock:
    """The wall clock (UTC µs), made monotonic: it never returns less than before.

    The engine thread does not call ``now_us`` per command: it reads ``time.time_ns``
    itself, never below this clock's answer at the start of the group nor below its last
    record, and raises this clock's floor to the group's last instant before handing the
    group over (so before anything of it is answered). So this clock never answers less
    than an instant anyone could have learnt from the journal.
    """

    def __init__(self, floor_us: int = 0) -> None:
        self._last_us = floor_us
        self._lock = threading.Lock()

    def now_us(self) -> int:
        wall_us = time.time_ns() // 1_000
        with self._lock:
            if wall_us > self._last_us:
                self._last_us = wall_us
            return self._last_us

    def raise_floor(self, floor_us: int) -> None:
        """Never answer less than ``floor_us`` (the last journaled instant, on recovery)."""
        with self._lock:
            self._last_us = max(self._last_us, floor_us)


class SimulatedClock:
    """Time that moves only when the engine applies a journaled ``AdvanceClock``."""

    def __init__(self, start_us: int) -> None:
        self._now_us = start_us

    def now_us(self) -> int:
        return self._now_us

    def raise_floor(self, floor_us: int) -> None:
        """Resume at the last journaled instant (recovery); never moves backwards."""
        self._now_us = max(self._now_us, floor_us)

    def _set_by_engine(self, to_us: int) -> None:
        """Called by the engine thread only, after it executed ``AdvanceClock(to_us)``."""
        assert to_us >= self._now_us, "simulated time may not go backwards"
        self._now_us = to_us


def refuse_simulated_in_production(clock: Clock, production: bool) -> None:
    if production and isinstance(clock, SimulatedClock):
        raise ValueError(
            "production mode refuses a SimulatedClock: a production engine must run on "
            "SystemClock (simulated time is for tests, replays and backtests)"
        )
