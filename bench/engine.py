"""Durable throughput, ack latency, replay speed and restart time of the engine.

Usage: .venv/bin/python bench/engine.py [--events N] [--seconds S] [--pg DSN] [--only WHAT]
       [--backends sqlite,postgres] [--repeat R] [--window W] [--stream-commands N]

The stream is realistic book traffic on one binary book-only market: 200 funded
accounts place limit orders around 0.50 (buy YES on the bid side, buy NO on the ask
side, so crossing orders mint sets), about one in five immediate-or-cancel.

Measures, printing one JSON object per line (the last line is a summary):

- ``throughput``: durable commands/s through the engine on SQLite and PostgreSQL with
  1, 4 and 16 submitter threads, each waiting for its ack before its next submit, with
  group commit (group_max=512) and with a commit per command (group_max=1); p50/p99
  ack latency in microseconds;
- ``stream``: open loop, the way "durable throughput vs the in-memory core on the same
  stream" is measured: one submitter thread keeps up to ``--window`` (1,024) submissions
  in flight over the whole stream (``--stream-commands``, 100,000, or ``--seconds`` x 10
  at most), with group commit and with a commit per command; throughput and ack latency
  p50/p99 (time from submit until the submitter saw the ack). (4,096, more than the
  engine may hold executed and not yet durable, measured slower, 19k against 23-25k/s
  on SQLite: more live objects per group, for the collector and the caches);
- ``throughput_asyncio``: the same with 16 and 64 asyncio tasks in one event loop
  (``asubmit``), as a web server would submit;
- ``core``: the in-memory core (Exchange.execute) on the same stream, no journal;

Each configuration runs ``--repeat`` times (default 1); the summary holds the medians
and ``<backend>_stream_vs_core``, the ratio of durable (group commit) stream throughput
to the in-memory core's (each repeat of ``stream`` runs the core, then the engine on each
backend, so both see the same background load). Everything runs under the GC thresholds
``open_engine`` sets (``augury/engine/gc_tuning.py``), the core included; ``--default-gc``
keeps CPython's defaults for both. Every line carries the 1-minute load average.
- ``replay``: a journal of N events (``--events``, default 200,000) written in groups,
  then the restart time with a full replay (events/s) and from a snapshot at the head.
- ``bound`` (``--only bound``; a diagnostic, not a configuration anyone runs): how close
  to the core this engine's design can come at all, on the same stream. Each repeat
  runs the core, then the engine on SQLite three ways: as it is (``journal``); with
  the store's append replaced by nothing (``no_store``: nothing is written, every
  group is "durable" at once); and also with the record's JSON encoding and SHA-256
  replaced by a msgpack encoding and no hash (``no_store_no_record``). What is left in
  the last is the engine's threads, its queue and acknowledgements, and the core.

Numbers depend on the disk and on fsync; run on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import gc
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg

from augury.domain import commands as c
from augury.domain.exchange import Exchange
from augury.domain.limits import Limits
from augury.domain.units import ONE
from augury.engine import Engine, Entry, SimulatedClock, encode_entry, open_engine
from augury.engine.gc_tuning import tune_gc
from augury.journal import JournalStore, next_record, open_store
from augury.journal.sqlite_store import SqliteJournalStore
from which_build import build

T0 = 1_700_000_000_000_000
ACCOUNTS = 200
LIMITS = Limits(open_orders_per_account=1_000_000)
PG_DEFAULT = "postgresql://postgres@127.0.0.1:5432/test"
GROUP_MAX = 512
BUILD = build()
"""Which build this interpreter imports: every line reports it (bench/which_build.py)."""


def setup_commands() -> list[c.Command]:
    commands: list[c.Command] = []
    for a in range(ACCOUNTS):
        commands += [c.OpenAccount(f"a{a}"), c.GrantCredits(f"a{a}", 1_000_000 * ONE)]
    commands.append(c.CreateMarket("bench", "a0", "Benchmark?", ("Yes", "No"), T0 + 10**15))
    return commands


def order_stream(n: int, seed: int = 1) -> list[c.Command]:
    """Limit orders around 0.50; buys of YES bid, buys of NO offer (at 1 - p)."""
    rng = random.Random(seed)
    out: list[c.Command] = []
    for _ in range(n):
        account = f"a{rng.randrange(ACCOUNTS)}"
        yes_price = min(990, max(10, round(rng.gauss(500, 15)))) * 1_000
        qty = rng.randint(1, 20) * ONE
        tif = c.TimeInForce.IOC if rng.random() < 0.2 else c.TimeInForce.GTC
        if rng.random() < 0.5:
            order = c.PlaceOrder(
                account, "bench", 0, c.Side.BUY, c.Token.YES, qty, yes_price, tif=tif
            )
        else:
            no_price = ONE - yes_price + 10_000  # leans towards crossing the bids
            order = c.PlaceOrder(
                account, "bench", 0, c.Side.BUY, c.Token.NO, qty, no_price, tif=tif
            )
        out.append(order)
    return out


class Location:
    """A fresh journal on one backend; removed by cleanup()."""

    def __init__(self, backend: str, pg_dsn: str, tmp: Path) -> None:
        self.backend = backend
        self.pg_dsn = pg_dsn
        self.namespace = f"bench_{uuid.uuid4().hex[:12]}"
        self.url = pg_dsn if backend == "postgres" else str(tmp / f"{self.namespace}.db")
        self.key = tmp / "operator.pem"

    def cleanup(self) -> None:
        if self.backend == "postgres":
            with psycopg.connect(self.pg_dsn, autocommit=True) as conn:
                conn.execute(f"DROP SCHEMA IF EXISTS {self.namespace} CASCADE")

    def engine(self, **options: Any) -> Engine:
        return open_engine(
            self.url,
            self.key,
            SimulatedClock(T0),
            namespace=self.namespace,
            limits=LIMITS,
            **options,
        )


def emit(line: dict[str, Any]) -> None:
    line["load1"] = round(os.getloadavg()[0], 2)
    line["build"] = BUILD
    print(json.dumps(line), flush=True)


def percentiles(latencies_ns: list[int]) -> dict[str, int | None]:
    done = sorted(latencies_ns)
    if not done:
        return {"ack_p50_us": None, "ack_p99_us": None}
    return {
        "ack_p50_us": round(done[len(done) // 2] / 1000),
        "ack_p99_us": round(done[int(len(done) * 0.99)] / 1000),
    }


def bench_stream(
    loc: Location,
    group_max: int,
    window: int,
    seconds: float,
    stream: list[c.Command],
) -> dict[str, Any]:
    """Open loop: keep up to ``window`` submissions in flight over the whole stream."""
    engine = loc.engine(group_max=group_max, checkpoint_every=10**9, snapshot_every=10**9)
    try:
        for command in setup_commands():
            assert engine.submit(command).result().ok
        latencies: list[int] = []
        in_flight: collections.deque[tuple[int, Any]] = collections.deque()
        submit = engine.submit
        clock = time.perf_counter_ns
        appends_before = engine.stats.appends
        accepted = 0
        started = clock()
        deadline = started + int(seconds * 1e9)
        sent = 0
        for command in stream:
            if len(in_flight) >= window:
                in_flight[0][1].result()
                now = clock()
                while in_flight and in_flight[0][1].done():
                    at, future = in_flight.popleft()
                    accepted += future.result().ok
                    latencies.append(now - at)
                if now >= deadline:
                    break
            in_flight.append((clock(), submit(command)))
            sent += 1
        while in_flight:
            at, future = in_flight.popleft()
            accepted += future.result().ok
            latencies.append(clock() - at)
        elapsed = (clock() - started) / 1e9
        appends = engine.stats.appends - appends_before
        stats = engine.stats
    finally:
        engine.close()
        loc.cleanup()
    return {
        "bench": "stream",
        "backend": loc.backend,
        "window": window,
        "group_max": group_max,
        "commands": sent,
        "accepted": accepted,
        "seconds": round(elapsed, 2),
        "commands_per_s": round(sent / elapsed),
        "appends": appends,
        "mean_group": round(sent / max(1, appends), 1),
        "pipeline_full": getattr(stats, "pipeline_full", None),
        **percentiles(latencies),
    }


def bench_throughput(
    loc: Location, threads: int, group_max: int, seconds: float, stream: list[c.Command]
) -> dict[str, Any]:
    engine = loc.engine(group_max=group_max, checkpoint_every=10**9, snapshot_every=10**9)
    try:
        for command in setup_commands():
            assert engine.submit(command).result().ok
        latencies: list[list[int]] = [[] for _ in range(threads)]
        stop_at = time.perf_counter() + seconds
        barrier = threading.Barrier(threads + 1)

        def submitter(t: int) -> None:
            mine = latencies[t]
            barrier.wait()
            j = t
            while True:
                sent = time.perf_counter_ns()
                if sent / 1e9 >= stop_at:
                    return
                engine.submit(stream[j % len(stream)]).result()
                mine.append(time.perf_counter_ns() - sent)
                j += threads

        workers = [threading.Thread(target=submitter, args=(t,)) for t in range(threads)]
        for worker in workers:
            worker.start()
        appends_before = engine.stats.appends
        started = time.perf_counter()
        stop_at = started + seconds
        barrier.wait()
        for worker in workers:
            worker.join()
        elapsed = time.perf_counter() - started
        done = sorted(x for mine in latencies for x in mine)
        appends = engine.stats.appends - appends_before
    finally:
        engine.close()
        loc.cleanup()
    return {
        "bench": "throughput",
        "backend": loc.backend,
        "threads": threads,
        "group_max": group_max,
        "commands": len(done),
        "commands_per_s": round(len(done) / elapsed),
        "appends": appends,
        "mean_group": round(len(done) / max(1, appends), 1),
        "ack_p50_us": round(done[len(done) // 2] / 1000) if done else None,
        "ack_p99_us": round(done[int(len(done) * 0.99)] / 1000) if done else None,
    }


def bench_asyncio(
    loc: Location, tasks: int, seconds: float, stream: list[c.Command]
) -> dict[str, Any]:
    """``tasks`` closed-loop asyncio submitters in ONE event loop thread (asubmit)."""
    engine = loc.engine(checkpoint_every=10**9, snapshot_every=10**9)
    try:
        for command in setup_commands():
            assert engine.submit(command).result().ok
        latencies: list[int] = []

        async def submitter(t: int, stop_at: float) -> None:
            j = t
            while (sent := time.perf_counter_ns()) / 1e9 < stop_at:
                await engine.asubmit(stream[j % len(stream)])
                latencies.append(time.perf_counter_ns() - sent)
                j += tasks

        async def run() -> None:
            stop_at = time.perf_counter() + seconds
            await asyncio.gather(*(submitter(t, stop_at) for t in range(tasks)))

        appends_before = engine.stats.appends
        started = time.perf_counter()
        asyncio.run(run())
        elapsed = time.perf_counter() - started
        appends = engine.stats.appends - appends_before
    finally:
        engine.close()
        loc.cleanup()
    done = sorted(latencies)
    return {
        "bench": "throughput_asyncio",
        "backend": loc.backend,
        "tasks": tasks,
        "group_max": GROUP_MAX,
        "commands": len(done),
        "commands_per_s": round(len(done) / elapsed),
        "appends": appends,
        "mean_group": round(len(done) / max(1, appends), 1),
        "ack_p50_us": round(done[len(done) // 2] / 1000) if done else None,
        "ack_p99_us": round(done[int(len(done) * 0.99)] / 1000) if done else None,
    }


def bench_core(stream: list[c.Command]) -> dict[str, Any]:
    ex = Exchange(LIMITS)
    for command in setup_commands():
        assert ex.execute(command, T0).ok
    started = time.perf_counter()
    events = 0
    for command in stream:
        events += len(ex.execute(command, T0).events)
    elapsed = time.perf_counter() - started
    return {
        "bench": "core",
        "commands": len(stream),
        "events": events,
        "commands_per_s": round(len(stream) / elapsed),
    }


class _NoHash:
    """Stands in for a SHA-256 object (``bound``): hashes nothing."""

    def update(self, _data: bytes) -> None:
        pass

    def digest(self) -> bytes:
        return bytes(32)


@contextlib.contextmanager
def _stubbed(store: bool, record: bool) -> Iterator[None]:
    """``bound``'s stand-ins, put back on exit: no SQLite append; no JSON, no hash."""
    import msgspec

    from augury.engine import engine as engine_module
    from augury.engine import hashing

    def no_append(_self: SqliteJournalStore, _records: Any) -> None:
        pass

    def no_hash(_data: bytes = b"") -> Any:
        return _NoHash()

    saved = (
        SqliteJournalStore._append_group,
        engine_module._entry_encode,
        engine_module._sha256,
        hashing.sha256,
    )
    try:
        if store:
            SqliteJournalStore._append_group = no_append  # type: ignore[method-assign]
        if record:
            engine_module._entry_encode = msgspec.msgpack.Encoder().encode
            engine_module._sha256 = no_hash  # type: ignore[assignment]
            hashing.sha256 = no_hash  # type: ignore[assignment]  # bodies of 2,000 B or more
        yield
    finally:
        (
            SqliteJournalStore._append_group,  # type: ignore[method-assign]
            engine_module._entry_encode,
            engine_module._sha256,
            hashing.sha256,
        ) = saved


def bench_bound(tmp: Path, window: int, seconds: float, stream: list[c.Command]) -> dict[str, Any]:
    """The core, then the engine on SQLite as it is, without the store, and without the
    store and the record's encoding and hash (see ``bound`` in the module docstring)."""
    gc.collect()
    line: dict[str, Any] = {"bench": "bound", "core": bench_core(stream)["commands_per_s"]}
    for name, store, record in (
        ("journal", False, False),
        ("no_store", True, False),
        ("no_store_no_record", True, True),
    ):
        gc.collect()
        with _stubbed(store, record):
            run = bench_stream(Location("sqlite", "", tmp), GROUP_MAX, window, seconds, stream)
        line[name] = run["commands_per_s"]
        line[f"{name}_vs_core"] = round(run["commands_per_s"] / line["core"], 3)
    return line


def build_journal(store: JournalStore, events_min: int) -> tuple[int, int]:
    """Write a journal of at least ``events_min`` events (groups of 2,000); (records, events)."""
    ex = Exchange(LIMITS)
    head = store.head()
    group: list[Any] = []
    events = 0
    commands = setup_commands()
    stream = iter(order_stream(10 * events_min, seed=2))
    while events < events_min:
        command = commands.pop(0) if commands else next(stream)
        result = ex.execute(command, T0)
        if not result.ok:
            continue
        body = encode_entry(Entry(command, list(result.events)))  # type: ignore[arg-type]
        record = next_record(head, T0, "command", body)
        head = (record.seq, record.hash)
        group.append(record)
        events += len(result.events)
        if len(group) == 2_000:
            store.append(group)
            group = []
    if group:
        store.append(group)
    assert head is not None
    return head[0], events


def bench_replay(loc: Location, events_min: int) -> dict[str, Any]:
    try:
        store = open_store(loc.url, namespace=loc.namespace)
        store.acquire_writer("bench")
        started = time.perf_counter()
        records, events = build_journal(store, events_min)
        write_s = time.perf_counter() - started
        store.close()

        engine = loc.engine(use_snapshot=False, snapshot_every=10**12)
        full = engine.recovery
        assert full is not None and full.events_replayed == events
        snap_started = time.perf_counter()
        engine.snapshot().result()
        snapshot_s = time.perf_counter() - snap_started
        engine.close()

        engine = loc.engine(snapshot_every=10**12)
        from_snapshot = engine.recovery
        assert from_snapshot is not None and from_snapshot.snapshot_seq == records
        engine.close()
    finally:
        loc.cleanup()
    return {
        "bench": "replay",
        "backend": loc.backend,
        "records": records,
        "events": events,
        "write_s": round(write_s, 2),
        "restart_full_replay_s": round(full.seconds, 2),
        "replay_events_per_s": round(events / full.seconds),
        "snapshot_save_s": round(snapshot_s, 2),
        "restart_from_snapshot_s": round(from_snapshot.seconds, 2),
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--pg", default=PG_DEFAULT)
    parser.add_argument(
        "--only",
        choices=("throughput", "stream", "asyncio", "core", "replay", "bound"),
        default=None,
    )
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--window", type=int, default=1024)
    parser.add_argument("--stream-commands", type=int, default=100_000)
    parser.add_argument(
        "--default-gc",
        action="store_true",
        help="keep CPython's GC thresholds (open_engine raises them; see gc_tuning.py)",
    )
    args = parser.parse_args(argv)
    backends = args.backends.split(",")
    tmp = Path(tempfile.mkdtemp(prefix="augury-bench-"))
    results: list[dict[str, Any]] = []
    stream = order_stream(max(200_000, args.stream_commands))
    same_stream = stream[: args.stream_commands]

    def run(make: Any) -> None:
        for _ in range(args.repeat):
            gc.collect()  # every measurement starts from a heap without the last one's garbage
            line = make()
            emit(line)
            results.append(line)

    if not args.default_gc:
        tune_gc()  # as open_engine does: the core and the engine run under the same GC

    def stream_run(backend: str, group_max: int) -> dict[str, Any]:
        loc = Location(backend, args.pg, tmp)
        return bench_stream(loc, group_max, args.window, 10 * args.seconds, same_stream)

    try:
        if args.only == "core":
            run(lambda: bench_core(same_stream))
        if args.only in (None, "stream"):
            # Each repeat measures the core and then the engine on every backend, so that
            # the ratio compares runs made under the same background load.
            for _ in range(args.repeat):
                for make in [
                    lambda: bench_core(same_stream),
                    *(lambda b=b, g=g: stream_run(b, g) for b in backends for g in (GROUP_MAX, 1)),
                ]:
                    gc.collect()
                    line = make()
                    emit(line)
                    results.append(line)
        if args.only == "bound":
            run(lambda: bench_bound(tmp, args.window, 10 * args.seconds, same_stream))
        if args.only in (None, "throughput"):
            for backend in backends:
                for group_max in (GROUP_MAX, 1):
                    for threads in (1, 4, 16):
                        run(
                            lambda b=backend, g=group_max, t=threads: bench_throughput(
                                Location(b, args.pg, tmp), t, g, args.seconds, stream
                            )
                        )
        if args.only in (None, "asyncio"):
            for backend in backends:
                for tasks in (16, 64):
                    run(
                        lambda b=backend, t=tasks: bench_asyncio(
                            Location(b, args.pg, tmp), t, args.seconds, stream
                        )
                    )
        if args.only in (None, "replay"):
            for backend in backends:
                run(lambda b=backend: bench_replay(Location(b, args.pg, tmp), args.events))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    emit(summarize(results, args))
    return 0


def summarize(results: list[dict[str, Any]], args: argparse.Namespace) -> dict[str, Any]:
    """Medians over the repeats of each configuration, and the durable/in-memory ratio."""
    runs: dict[str, list[float]] = collections.defaultdict(list)
    for line in results:
        bench = line["bench"]
        if bench == "throughput":
            name = f"{line['backend']}_t{line['threads']}_g{line['group_max']}_cmd_per_s"
            runs[name].append(line["commands_per_s"])
        elif bench == "stream":
            prefix = f"{line['backend']}_stream_g{line['group_max']}"
            runs[f"{prefix}_cmd_per_s"].append(line["commands_per_s"])
            runs[f"{prefix}_p50_us"].append(line["ack_p50_us"])
            runs[f"{prefix}_p99_us"].append(line["ack_p99_us"])
        elif bench == "throughput_asyncio":
            runs[f"{line['backend']}_asyncio{line['tasks']}_cmd_per_s"].append(
                line["commands_per_s"]
            )
        elif bench == "core":
            runs["core_cmd_per_s"].append(line["commands_per_s"])
        elif bench == "bound":
            for name, value in line.items():
                if name not in ("bench", "load1"):
                    runs[f"bound_{name}"].append(value)
        else:
            runs[f"{line['backend']}_replay_events_per_s"].append(line["replay_events_per_s"])
            runs[f"{line['backend']}_restart_full_s"].append(line["restart_full_replay_s"])
            runs[f"{line['backend']}_restart_snapshot_s"].append(line["restart_from_snapshot_s"])
    summary: dict[str, Any] = {
        "bench": "summary",
        "repeat": args.repeat,
        "gc_thresholds": list(gc.get_threshold()),
        "window": args.window,
        "stream_commands": args.stream_commands,
    }
    for name, values in runs.items():
        median = statistics.median(values)
        summary[name] = round(median, 3) if name.endswith("_vs_core") else median
    core = summary.get("core_cmd_per_s")
    for backend in ("sqlite", "postgres"):
        durable = summary.get(f"{backend}_stream_g{GROUP_MAX}_cmd_per_s")
        if core and durable:
            summary[f"{backend}_stream_vs_core"] = round(durable / core, 3)
    return summary


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
