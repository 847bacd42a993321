"""What live surveillance costs the engine: durable throughput with the detectors on and off.

Usage: .venv/bin/python bench/surveillance.py [--commands N] [--repeat R] [--backend sqlite]

The stream is bench/engine.py's (realistic book traffic on one binary market, 200
accounts), submitted open loop with up to 1,024 in flight, group commit, on SQLite.
"off" is the engine alone; "on" also runs ``augury.watch.Watch`` (every detector over
the committed journal, in a process of its own, raising alerts as commands). Runs
alternate off/on ``--repeat`` times; the summary holds the medians, the relative cost
(target: under 10%), and how long the watch took after the last ack to read everything
(its lag). ``detectors_only`` is the detectors' own speed on the same events, no engine.
Prints one JSON object per line; the last line is the summary.
"""

from __future__ import annotations

import argparse
import collections
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from augury.domain import commands as c
from augury.domain.exchange import Exchange
from augury.domain.surveillance import StreamItem, Surveillance
from augury.watch import Watch
from engine import GROUP_MAX, Location, emit, order_stream, setup_commands

WINDOW = 1_024


def run_once(loc: Location, stream: list[c.Command], surveillance: bool) -> dict[str, Any]:
    engine = loc.engine(group_max=GROUP_MAX, checkpoint_every=10**9, snapshot_every=10**9)
    watch = Watch(engine, loc.url, loc.namespace) if surveillance else None
    try:
        if watch is not None:
            watch.start()
        for command in setup_commands():
            assert engine.submit(command).result().ok
        in_flight: collections.deque[Any] = collections.deque()
        started = time.perf_counter()
        for command in stream:
            if len(in_flight) >= WINDOW:
                in_flight.popleft().result()
            in_flight.append(engine.submit(command))
        while in_flight:
            in_flight.popleft().result()
        elapsed = time.perf_counter() - started
        lag = 0.0
        if watch is not None:
            head = engine.head[0]
            waited = time.perf_counter()
            while watch.fed_seq < head and time.perf_counter() - waited < 120:
                time.sleep(0.01)
            lag = time.perf_counter() - waited
    finally:
        if watch is not None:
            watch.stop()
        engine.close()
        loc.cleanup()
    return {
        "bench": "surveillance",
        "surveillance": "on" if surveillance else "off",
        "backend": loc.backend,
        "commands": len(stream),
        "seconds": round(elapsed, 3),
        "commands_per_s": round(len(stream) / elapsed),
        "watch_lag_s": round(lag, 3),
    }


def detectors_only(stream: list[c.Command]) -> dict[str, Any]:
    """The detectors alone over the events of the same stream (no engine, no journal)."""
    ex = Exchange()
    items: list[StreamItem] = []
    now = 1_800_000_000_000_000
    for seq, command in enumerate([*setup_commands(), *stream], start=1):
        result = ex.execute(command, now)
        items.extend(StreamItem(seq, now, e) for e in result.events)
    suite = Surveillance()
    started = time.perf_counter()
    for item in items:
        suite.feed(item)
    alerts = suite.alerts()
    elapsed = time.perf_counter() - started
    return {
        "bench": "detectors_only",
        "events": len(items),
        "events_per_s": round(len(items) / elapsed),
        "us_per_event": round(elapsed / len(items) * 1e6, 2),
        "alerts": len(alerts),
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commands", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--backend", default="sqlite")
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/test")
    args = parser.parse_args(argv)
    stream = order_stream(args.commands)
    tmp = Path(tempfile.mkdtemp(prefix="augury-bench-surv-"))
    rates: dict[str, list[int]] = {"off": [], "on": []}
    lags: list[float] = []
    try:
        emit(detectors_only(stream))
        for _ in range(args.repeat):
            for mode in ("off", "on"):
                line = run_once(Location(args.backend, args.pg, tmp), stream, mode == "on")
                emit(line)
                rates[mode].append(line["commands_per_s"])
                if mode == "on":
                    lags.append(line["watch_lag_s"])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    off, on = statistics.median(rates["off"]), statistics.median(rates["on"])
    emit(
        {
            "bench": "surveillance_summary",
            "backend": args.backend,
            "commands_per_s_off": round(off),
            "commands_per_s_on": round(on),
            "cost_pct": round(100 * (off - on) / off, 1),
            "target_cost_pct": 10,
            "watch_lag_s_median": round(statistics.median(lags), 3),
        }
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
