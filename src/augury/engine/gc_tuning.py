"""Garbage-collector thresholds for a process that runs the engine.

CPython's cyclic collector runs a young collection whenever the number of live
container objects grows by ``threshold0`` (700 or 2000 by default). The engine keeps every
command's acknowledgement, submission and events alive until its group is durable, a few
thousand commands at a time, so with the default nearly every young collection finds its
objects still alive and promotes them; they are then scanned again by the older
generations. Measured on ``bench/engine.py``'s stream, that churn cost about a third of the
engine thread's time per command (see docs/benchmarks.md). Raising ``threshold0`` lets
those objects die young, by reference counting, before any collection sees them.

Nothing in the exchange depends on cycles being collected promptly: the domain's values
are acyclic, and the collector still runs, only less often. ``tune_gc`` changes the
thresholds only if they are still the running CPython's defaults, so an operator's own
choice (``gc.set_threshold`` before start) wins.

The defaults differ by release: 3.11 and 3.12 start at (700, 10, 10), 3.13 at
(2000, 10, 10). Measured with ``scripts/gc_probe.py`` (an engine-like churn, 400,000
commands in groups of 4,000): 3.11 1,498 -> 904 ms, 3.12 2,348 -> 1,622 ms, 3.13
1,923 -> 1,489 ms with ENGINE_THRESHOLDS (one run each on a busy machine), young
collections 3,104 / 3,025 / 1,008 -> 0. Before this table only 3.11's defaults were
recognised and 3.13 ran untuned.
On a release not in CPYTHON_DEFAULTS (not measured: 3.14 collects incrementally)
nothing is changed, and a warning says so.
"""

from __future__ import annotations

import gc
import logging
import sys

log = logging.getLogger(__name__)

Thresholds = tuple[int, int, int]

CPYTHON_DEFAULTS: dict[tuple[int, int], Thresholds] = {
    (3, 11): (700, 10, 10),
    (3, 12): (700, 10, 10),
    (3, 13): (2000, 10, 10),
}
"""``gc.get_threshold()`` in a fresh interpreter of each supported CPython release."""
ENGINE_THRESHOLDS: Thresholds = (50_000, 20, 20)
"""Young collections every 50,000 net container allocations (a few MB at most)."""


def tune_gc(version: tuple[int, int] | None = None) -> bool:
    """Apply ENGINE_THRESHOLDS if the thresholds are still the defaults of this CPython
    release (``version``, the running one by default); True if set."""
    release = version or (sys.version_info.major, sys.version_info.minor)
    default = CPYTHON_DEFAULTS.get(release)
    if default is None:
        log.warning("gc thresholds left as they are: Python %d.%d is not measured", *release)
        return False
    if gc.get_threshold() != default:
        return False
    gc.set_threshold(*ENGINE_THRESHOLDS)
    log.debug("gc thresholds set to %s for the engine", ENGINE_THRESHOLDS)
    return True
