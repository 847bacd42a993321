#!/usr/bin/env python3
"""What ``augury.engine.gc_tuning`` does on the interpreter that runs this script.

Prints the interpreter's default GC thresholds, whether ``tune_gc`` changes them, and the
time and collections per generation of an engine-like churn (each command allocates a
few containers that stay alive until its group of 4,000 is durable, then die together)
under the defaults and under the engine's thresholds. It loads ``gc_tuning.py`` by path,
so any CPython works without Augury's dependencies:

    ~/.pyenv/versions/3.13.0/bin/python scripts/gc_probe.py
"""

from __future__ import annotations

import gc
import importlib.util
import sys
import time
from pathlib import Path
from typing import Any

MODULE = Path(__file__).resolve().parent.parent / "src" / "augury" / "engine" / "gc_tuning.py"
COMMANDS = 400_000
GROUP = 4_000


def load() -> Any:
    spec = importlib.util.spec_from_file_location("gc_tuning", MODULE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def churn() -> tuple[float, list[int]]:
    """Seconds for the churn and the collections each generation ran during it."""
    pending: list[dict[str, Any]] = []
    before = [s["collections"] for s in gc.get_stats()]
    start = time.perf_counter()
    for i in range(COMMANDS):
        pending.append({"ack": [i], "events": ({"seq": i, "fills": [(i, i)]},), "sub": (i, "x")})
        if len(pending) == GROUP:
            pending = []
    elapsed = time.perf_counter() - start
    after = [s["collections"] for s in gc.get_stats()]
    return elapsed, [a - b for a, b in zip(after, before, strict=True)]


def report(label: str) -> None:
    best = min(churn()[0] for _ in range(3))
    print(f"  {label}: {best * 1e3:.0f} ms, collections per generation {churn()[1]}")


def main() -> None:
    gc_tuning = load()
    default = gc.get_threshold()
    report(f"defaults {default}")
    changed = gc_tuning.tune_gc()
    print(f"python {sys.version.split()[0]}: tune_gc() -> {changed}, now {gc.get_threshold()}")
    gc.set_threshold(*gc_tuning.ENGINE_THRESHOLDS)
    report(f"engine thresholds {gc_tuning.ENGINE_THRESHOLDS}")


if __name__ == "__main__":
    main()
