"""CPU per record of the read-model projector (``augury.projections.Projector``).

Usage: .venv/bin/python bench/projector.py [--orders N] [--batches 1,4,16,500]
       [--backends sqlite,postgres] [--pg DSN] [--repeat R] [--profile BATCH]

A journal is written once (SQLite, in a temporary directory) by a real engine: the
setup of bench/engine.py (200 funded accounts, one binary book-only market) and then
``--orders`` limit orders of its ``order_stream`` (about one in five IOC; crossing
orders mint). Then, for every backend and batch size, a fresh read-model database
follows that journal the way the projector process does
(``augury.roles.projector_process``): read ``batch`` records from the store, decode them,
``Projector.apply_many`` them in one transaction, until the head. Under 16 HTTP
clients the process sees batches of a few records (what was committed while it applied
the previous one, gathered for up to ``COALESCE_S``); 500 is a catch-up or ``rebuild``.

Prints one JSON line per run (the last: medians of ``--repeat`` runs): records/s (wall
clock) and CPU microseconds per record of this process (``time.process_time``: what the
projector process itself spends, reading the journal included; the database server's
work on PostgreSQL is not counted), with the 1-minute load average. ``--profile BATCH``
prints a cProfile of that batch size instead (on the first backend). To compare trees,
run it with ``PYTHONPATH=<other tree>/src``: the journal is the same (fixed seeds, a
simulated clock).
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))

from augury.engine import SimulatedClock, open_engine
from augury.journal import open_store
from augury.projections import Projector
from augury.roles.projector_process import _next_items
from engine import LIMITS, T0, order_stream, setup_commands
from which_build import build

BUILD = build()

PG_DEFAULT = "postgresql://postgres@127.0.0.1:5432/test"


def write_journal(path: Path, key: Path, orders: int) -> int:
    engine = open_engine(
        path,
        key,
        SimulatedClock(T0),
        limits=LIMITS,
        checkpoint_every=10**9,
        snapshot_every=10**9,
    )
    try:
        for command in setup_commands():
            assert engine.submit(command).result().ok
        futures = []
        for command in order_stream(orders, seed=3):
            futures.append(engine.submit(command))
            if len(futures) >= 512:
                for future in futures:
                    future.result()
                futures.clear()
        for future in futures:
            future.result()
    finally:
        engine.close()
    store = open_store(path)
    try:
        head = store.head()
        assert head is not None
        return head[0]
    finally:
        store.close()


def follow(store: Any, projector: Projector, batch: int, head: int) -> None:
    seq = projector.last_seq()
    while seq < head:
        items = _next_items(store, seq, batch)
        projector.apply_many(items)
        seq = items[-1][0]


def run(journal: Path, backend: str, pg: str, tmp: Path, batch: int, head: int) -> dict[str, Any]:
    namespace = f"bench_{uuid.uuid4().hex[:12]}"
    target = pg if backend == "postgres" else str(tmp / f"{namespace}.db")
    store = open_store(journal)
    try:
        with Projector(target, namespace=namespace) as projector:
            started_wall, started_cpu = time.perf_counter(), time.process_time()
            follow(store, projector, batch, head)
            wall = time.perf_counter() - started_wall
            cpu = time.process_time() - started_cpu
    finally:
        store.close()
        if backend == "postgres":
            with psycopg.connect(pg, autocommit=True) as conn:
                conn.execute(f"DROP SCHEMA IF EXISTS {namespace} CASCADE")
    return {
        "bench": "projector",
        "backend": backend,
        "batch": batch,
        "records": head,
        "records_per_s": round(head / wall),
        "cpu_us_per_record": round(cpu / head * 1e6, 1),
        "load1": round(os.getloadavg()[0], 2),
        "build": BUILD,
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=20_000)
    parser.add_argument("--batches", default="1,4,16,500")
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--pg", default=PG_DEFAULT)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--profile", type=int, default=0)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        journal = tmp / "journal.db"
        head = write_journal(journal, tmp / "operator.pem", args.orders)
        if args.profile:
            profile = cProfile.Profile()
            profile.enable()
            backend = args.backends.split(",")[0]
            print(json.dumps(run(journal, backend, args.pg, tmp, args.profile, head)))
            profile.disable()
            pstats.Stats(profile).sort_stats("tottime").print_stats(40)
            return 0
        results: list[dict[str, Any]] = []
        for _ in range(args.repeat):
            for backend in args.backends.split(","):
                for batch in (int(b) for b in args.batches.split(",")):
                    results.append(run(journal, backend, args.pg, tmp, batch, head))
                    print(json.dumps(results[-1]), flush=True)
    summary: dict[str, Any] = {"summary": True, "build": BUILD}
    for line in results:
        name = f"{line['backend']}_{line['batch']}"
        if name in summary:
            continue
        key = (line["backend"], line["batch"])
        same = [r for r in results if (r["backend"], r["batch"]) == key]
        summary[name] = {
            "records_per_s": statistics.median(r["records_per_s"] for r in same),
            "cpu_us_per_record": statistics.median(r["cpu_us_per_record"] for r in same),
            "load1": round(statistics.median(r["load1"] for r in same), 2),
        }
    print(json.dumps(summary), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
