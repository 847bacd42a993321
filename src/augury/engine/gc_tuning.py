"""Garbage-collector thresholds for a process that runs the engine.

CPython's cyclic collector runs a young collection whenever the number of live
container objects grows by ``threshold0`` (700 by default). The engine keeps every
command's acknowledgement, submission and events alive until its group is durable, a few
thousand commands at a time, so with the default nearly every young collection finds its
objects still alive and promotes them; they are then scanned again by the older
generations. Measured on ``bench/engine.py``'s stream, that churn cost about a third of the
engine thread's time per command (see docs/benchmarks.md). Raising ``threshold0`` lets
those objects die young, by reference counting, before any collection sees them.

Nothing in the exchange depends on cycles being collected promptly: the domain's values
are acyclic, and the collector still runs, only less often. ``tune_gc`` changes the
thresholds only if they are still CPython's defaults, so an operator's own choice
(``gc.set_threshold`` before start) wins.
"""

from __future__ import annotations

import gc
import logging

log = logging.getLogger(__name__)

PYTHON_DEFAULT = (700, 10, 10)
ENGINE_THRESHOLDS = (50_000, 20, 20)
"""Young collections every 50,000 net container allocations (a few MB at most)."""


def tune_gc() -> bool:
    """Apply ENGINE_THRESHOLDS unless someone already changed the defaults; True if set."""
    if gc.get_threshold() != PYTHON_DEFAULT:
        return False
    gc.set_threshold(*ENGINE_THRESHOLDS)
    log.debug("gc thresholds set to %s for the engine", ENGINE_THRESHOLDS)
    return True
