"""The CPU priority of the server's background processes (the journal's followers).

The projector and the surveillance processes follow the journal; neither is on the
path of an order's answer. An operator may let them give way to the server and its
engine when every core is busy, and catch up when the load eases: they then run with a
lower priority (a nice increment, ``Settings.background_nice``; 0 by default, since the
read models then fall behind under a sustained saturating load).
"""

from __future__ import annotations

import os

NICE_MAX = 19


def lower_priority(increment: int) -> None:
    """Lower the calling process's CPU priority by ``increment`` (0: leave it as it is)."""
    if not 0 <= increment <= NICE_MAX:
        raise ValueError(f"a nice increment is 0..{NICE_MAX}, got {increment}")
    if increment and hasattr(os, "nice"):  # POSIX
        os.nice(increment)
