"""The roles of issue 14 against the monolith, side by side in one run, on one machine.

Usage: .venv/bin/python bench/roles.py [--backends sqlite,postgres] [--clients 16,64]
       [--nodes 1,2,3] [--seconds S] [--warmup S] [--engine-commands N] [--batch B]
       [--window W] [--profile-s S] [--poll-hz H] [--count-bus] [--parts engine,http]
       [--no-monolith] [--keep DIR] [--pg DSN] [--client raw|wrk] [--nats-url URL]
       [--nats-gomaxprocs N]

Every process is the real CLI of ``src/`` (``python -m augury.cli ...``, this
interpreter) with a fresh data directory, a fresh PostgreSQL namespace pair (journal,
read models) and a fresh NATS subject prefix per deployment, rate limits off, cheap
argon2 for registering the clients. For each backend, in this order:

1. ``engine``: the in-memory core (``Exchange.execute``, this process, one thread) on
   the stream of ``bench/engine.py`` (``--engine-commands`` limit orders around 0.50
   from 200 funded accounts, default limits), then ``augury engine`` alone (no API
   node, no follower) fed the same stream over NATS by this process: one transport
   client, ``--window`` batches of ``--batch`` commands in flight (one message each,
   every command with its account and an idempotency key, as an API node sends them).
   ``durable_commands_per_s``: answers received per second (an answer comes only once
   its record is durable: PostgreSQL synchronous commit, SQLite WAL FULL), from the
   first batch sent until the last answer. ``vs_core``: its ratio to the core's rate
   measured just before. CPU per command of the engine, the NATS server, the engine's
   PostgreSQL backends and this load generator. Then (``--profile-s`` > 0) the same
   again with py-spy sampling the engine process (``profile_*``: share of the samples
   per thread and per function; that run's rate is not the measurement).
2. ``http``: ``POST /api/v1/orders`` (a GTC limit order for 1 share, buy YES / buy NO at
   0.50 alternating, one book-only market, each client its own trader with an API key
   and one keep-alive connection, closed loop; the raw client of ``bench/service.py``)
   at each of ``--clients``: first ``augury serve`` (the monolith: its projector and
   watch are child processes), then ``augury engine`` + ``augury follow --role
   project`` + ``augury follow --role watch`` + 1, 2, 3 ``augury api`` nodes (started
   one more at a time; client i talks to node i mod N). orders/s and latency p50/p99
   over ``--seconds`` after ``--warmup``; before the first point of each deployment,
   the CPU of each process idle for 3 s (``idle``). With ``--profile-s`` > 0, one more
   point at the fewest clients with one node, py-spy on the engine, the API node and
   the projector (``http_orders_profiled``; not a measurement).
3. in every measurement: CPU time per order of each process from ``/proc/<pid>/stat``
   (user + system, all threads) over the measured window: each role, the monolith and
   its children, the ``nats-server`` (shared with anything else using it on this
   machine), the PostgreSQL backends serving this deployment's processes (matched by
   the client ports of their sockets; PostgreSQL's shared background processes, the
   WAL writer and checkpointer, are not counted), and this load
   generator (``getrusage``, the health pollers included); ``switches_per_order`` (or
   ``_per_command``): each process group's share of CPU in user space and its voluntary
   (it blocked and was woken again) and involuntary (preempted) context switches per
   order, from ``/proc/<pid>/task/*/status``: every hop of a message between processes
   costs a wake-up, which costs CPU of its own. And replica lag: this
   process polls every node's ``/api/v1/health`` (``journal_head``: its replica's seq)
   ``--poll-hz`` times a second; at each poll the lag is how long the oldest order
   acknowledged (``Augury-Seq`` of its answer, through any node) and not yet in that
   replica had been acknowledged (0 if none), and ``lag_seqs`` the highest
   acknowledged seq minus the replica's. A node answers an order only once its own
   replica holds it, so the lag that matters is a node's lag behind the others' writes.
   With ``--count-bus``, ``bus_cmd_messages_per_order`` / ``bus_rec_messages_per_order``:
   the messages on the command and record subjects per order (a subscriber of this
   process counts them; off by default, since the NATS server then delivers every bus
   message once more and this process wakes for each, CPU charged to the roles' rows).

py-spy is not a dependency of the project: install it anywhere (``pip install py-spy``)
and name it with ``PY_SPY=/path/to/py-spy`` or put it on PATH; without it the profiles
say so and everything else runs. ``--keep DIR`` keeps the raw profiles (collapsed stacks).

The last line is a summary: the measured numbers side by side, and a MODEL (marked as
such) from them: how many API nodes one engine feeds before it saturates and what M
machines would reach. Everything shares the 2 cores of this machine with the load
generator and with whatever else runs on it (the 1-minute load average is on every
line): compare rows of one run, not with other runs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import psycopg

from augury.domain.exchange import Exchange
from augury.domain.limits import Limits as DomainLimits
from augury.engine.gc_tuning import tune_gc
from augury.transport import Answer, Limits, NatsTransport, NodeCommand
from engine import order_stream, setup_commands
from roles_procs import (
    NATS_GOMAXPROCS,
    TICK_S,
    BusCount,
    PgBackends,
    Role,
    cpu_s,
    cpu_ticks,
    cpu_us_per_op,
    descendants,
    free_port,
    nats_server_pids,
    private_nats,
    switches,
    switches_per_op,
    ticks_by_name,
)
from roles_procs import profile as py_spy_profile
from roles_summary import replica_lag, summarize
from roles_wrk import wrk_point
from service import PG_DSN_DEFAULT, SERVER_ENV, RawClient, _setup, percentiles_ms
from which_build import build

BUILD = build()
SEQ_RE = re.compile(rb"(?i)\r\naugury-seq: *(\d+)")
HEAD_RE = re.compile(rb'"journal_head":(\d+)')
T0 = 1_700_000_000_000_000
IDLE_S = 3.0


def load() -> float:
    return round(os.getloadavg()[0], 2)


def emit(line: dict[str, Any]) -> dict[str, Any]:
    line["nats_gomaxprocs"] = NATS_GOMAXPROCS[0]
    line["load_1m"] = load()
    line["build"] = BUILD
    print(json.dumps(line), flush=True)
    return line


class Deployment:
    """One backend's processes: a data dir, namespaces, a bus prefix; cleaned up."""

    def __init__(self, backend: str, args: argparse.Namespace, tmp: Path, label: str) -> None:
        suffix = uuid.uuid4().hex[:10]
        self.backend = backend
        self.pg_dsn = args.pg
        self.prefix = f"bench{suffix}"
        self.workdir = tmp / f"{backend}-{label}-{suffix}"
        self.workdir.mkdir()
        self.env = {
            **os.environ,
            **SERVER_ENV,
            "AUGURY_DATA_DIR": str(self.workdir / "data"),
            "AUGURY_NATS_URL": args.nats_url,
            "AUGURY_BUS_PREFIX": self.prefix,
        }
        if os.environ.get("BENCH_ROLES_PYTHONPATH"):  # the roles' code, not the load's
            self.env["PYTHONPATH"] = os.environ["BENCH_ROLES_PYTHONPATH"]
        self.namespaces: tuple[str, ...] = ()
        if backend == "postgres":
            self.namespaces = (f"bench_roles_j_{suffix}", f"bench_roles_p_{suffix}")
            self.env["AUGURY_DATABASE_URL"] = args.pg
            self.env["AUGURY_JOURNAL_NAMESPACE"] = self.namespaces[0]
            self.env["AUGURY_PROJECTIONS_NAMESPACE"] = self.namespaces[1]
        self.nats_pids: list[int] = [args.nats_pid] if args.nats_pid else []
        self.roles: list[Role] = []
        self.backend_roles = label == "roles"
        self.api_urls: list[str] = []
        self.admin_password = ""

    def start(self, name: str, args: list[str]) -> Role:
        role = Role(name, args, self.env, self.workdir)
        self.roles.append(role)
        return role

    def start_api(self) -> str:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        role = self.start(f"api{len(self.api_urls) + 1}", ["api", "--port", str(port)])
        role.wait_http(url)
        if not self.admin_password:
            self.admin_password = role.wait_line(r"password: (\S+)").group(1)
        self.api_urls.append(url)
        return url

    def processes(self) -> dict[str, list[int]]:
        """Role name -> pids: each role, a monolith's children, NATS, our PG backends."""
        out: dict[str, list[int]] = {}
        for role in self.roles:
            if role.process.poll() is None:
                out[role.name] = [role.pid]
                children = descendants(role.pid)
                if children:
                    out[f"{role.name}_children"] = children
        if any(r.name != "serve" for r in self.roles):
            out["nats_server"] = self.nats_pids or nats_server_pids()
        if self.backend == "postgres":
            ours = [p for name, pids in out.items() if name != "nats_server" for p in pids]
            out["postgres_backends"] = PgBackends(self.pg_dsn).pids(ours)
        return out

    def cpu(self) -> dict[str, dict[int, int]]:
        return {name: {p: cpu_ticks(p) for p in pids} for name, pids in self.processes().items()}

    def switches(self) -> dict[str, dict[int, tuple[int, int, int]]]:
        return {name: {p: switches(p) for p in pids} for name, pids in self.processes().items()}

    def counters(self) -> tuple[dict[str, dict[int, int]], Any]:
        return self.cpu(), self.switches()

    def close(self) -> None:
        for role in reversed(self.roles):
            role.stop()
        if self.namespaces:
            with psycopg.connect(self.pg_dsn, autocommit=True) as conn:
                for namespace in self.namespaces:
                    conn.execute(f"DROP SCHEMA IF EXISTS {namespace} CASCADE")


# -- 1. the engine alone -------------------------------------------------------------------
def bench_core(stream: list[Any]) -> dict[str, Any]:
    ex = Exchange(DomainLimits())
    for command in setup_commands():
        assert ex.execute(command, T0).ok
    started, cpu = time.perf_counter(), time.thread_time()
    accepted = sum(ex.execute(command, T0).ok for command in stream)
    elapsed, cpu = time.perf_counter() - started, time.thread_time() - cpu
    return {
        "commands": len(stream),
        "accepted": accepted,
        "commands_per_s": round(len(stream) / elapsed),
        "cpu_us_per_command": round(cpu * 1e6 / len(stream), 1),
    }


async def feed_engine(
    dep: Deployment, args: argparse.Namespace, stream: list[Any], profiled: bool
) -> dict[str, Any]:
    engine = dep.start("engine", ["engine"])
    engine.wait_line(r"sequencing at seq")
    limits = Limits(max_in_flight=args.window, request_timeout_s=120.0)
    bus = await NatsTransport.connect(args.nats_url, prefix=dep.prefix, limits=limits)
    try:
        client = await bus.client("loadgen")
        setup = [
            NodeCommand(c, "", f"setup-{i}")  # type: ignore[arg-type]  # domain commands
            for i, c in enumerate(setup_commands())
        ]
        assert all(a.ok for a in await client.submit(setup)), "setup refused"
        counts = {"ok": 0, "refused": 0, "unavailable": 0}
        rtts: list[float] = []
        # the batches are built before the window: the load generator shares the engine's
        # two cores, so what it does per command in the window is only sending and reading
        batches = [
            [
                NodeCommand(c, c.account, f"k{i}")
                for i, c in enumerate(stream[first : first + args.batch], first)
            ]
            for first in range(0, len(stream), args.batch)
        ]
        batches.reverse()

        async def sender() -> None:
            while batches:
                batch = batches.pop()
                sent = time.perf_counter()
                answers: list[Answer] = await client.submit(batch)
                rtts.append(time.perf_counter() - sent)
                for answer in answers:
                    kind = (
                        "ok"
                        if answer.ok
                        else "unavailable"
                        if answer.seq == 0 and answer.code == "sequencer_unavailable"
                        else "refused"
                    )
                    counts[kind] += 1

        profile: dict[str, Any] = {}

        async def profiler() -> None:
            await asyncio.sleep(1.0)
            keep = Path(args.keep) if args.keep else dep.workdir
            out = keep / f"engine-{dep.backend}-{dep.prefix}.pyspy.txt"
            profile.update(await py_spy_profile(engine.pid, args.profile_s, out))

        cpu0, gen0, started = dep.cpu(), cpu_s(), time.perf_counter()
        sw0 = dep.switches()
        tasks = [sender() for _ in range(args.window)]
        spy = asyncio.create_task(profiler()) if profiled else None
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - started
        cpu1, gen1 = dep.cpu(), cpu_s()
        sw1 = dep.switches()
        if spy is not None:
            await spy
    finally:
        await bus.close()
    answered = sum(counts.values())
    rtts.sort()
    return {
        "commands": answered,
        **counts,
        "seconds": round(elapsed, 2),
        "durable_commands_per_s": round(counts["ok"] / elapsed),
        "answered_per_s": round(answered / elapsed),
        "batch_rtt_p50_ms": round(rtts[len(rtts) // 2] * 1e3, 1),
        "batch_rtt_p99_ms": round(rtts[int(len(rtts) * 0.99)] * 1e3, 1),
        "cpu_us_per_command": cpu_us_per_op(cpu0, cpu1, gen1 - gen0, answered),
        "switches_per_command": switches_per_op(sw0, sw1, ticks_by_name(cpu0, cpu1), answered),
        **profile,
    }


async def bench_engine(backend: str, args: argparse.Namespace, tmp: Path) -> list[dict[str, Any]]:
    stream = order_stream(args.engine_commands)
    lines = []
    runs = [False, True] if args.profile_s > 0 else [False]
    for profiled in runs:
        core = bench_core(stream)
        dep = Deployment(backend, args, tmp, "engine")
        try:
            fed = await feed_engine(dep, args, stream, profiled)
        finally:
            dep.close()
        line = {
            "bench": "engine_alone",
            "backend": backend,
            "profiled": profiled,
            "batch": args.batch,
            "window": args.window,
            "core_commands_per_s": core["commands_per_s"],
            "core_cpu_us_per_command": core["cpu_us_per_command"],
            **fed,
            "vs_core": round(fed["durable_commands_per_s"] / core["commands_per_s"], 3),
        }
        lines.append(emit(line))
    return lines


# -- 2. HTTP orders -----------------------------------------------------------------------
class Setup:
    """What ``service._setup`` needs: where, and the admin's password."""

    def __init__(self, base_url: str, admin_password: str) -> None:
        self.base_url = base_url
        self.admin_password = admin_password


async def http_point(
    dep: Deployment,
    args: argparse.Namespace,
    market: str,
    keys: list[str],
    urls: list[str],
    poll: list[str],
) -> dict[str, Any]:
    bodies = [
        json.dumps({"market": market, "side": "buy", "token": t, "price": "0.5", "qty": "1"})
        for t in ("yes", "no")
    ]
    clients = [RawClient(urls[i % len(urls)], key) for i, key in enumerate(keys)]
    pollers = [RawClient(url, "") for url in poll]
    latencies: list[float] = []
    acks: list[tuple[int, float]] = []
    polls: list[list[tuple[float, int]]] = [[] for _ in poll]
    errors: list[str] = []
    now = time.perf_counter()
    start, stop = now + args.warmup, now + args.warmup + args.seconds
    marks: dict[str, Any] = {}

    async def orders(client: RawClient) -> None:
        i = 0
        while (sent := time.perf_counter()) < stop:
            status, content = await client.request("POST", "/api/v1/orders", bodies[i % 2].encode())
            done = time.perf_counter()
            i += 1
            if status != 201:
                errors.append(f"{status} {content[:200]!r}")
                continue
            found = SEQ_RE.search(client.header)
            if found:
                acks.append((int(found.group(1)), done))
            if sent >= start:
                latencies.append(done - sent)

    async def poller(k: int) -> None:
        while (sent := time.perf_counter()) < stop:
            status, content = await pollers[k].get("/api/v1/health")
            found = HEAD_RE.search(content)
            if status == 200 and found and sent >= start:
                polls[k].append((sent, int(found.group(1))))
            await asyncio.sleep(max(0.0, 1 / args.poll_hz - (time.perf_counter() - sent)))

    counting = dep.backend_roles and args.count_bus
    bus = await BusCount.start(args.nats_url, dep.prefix) if counting else None

    async def mark(at: float, name: str) -> None:
        await asyncio.sleep(max(0.0, at - time.perf_counter()))
        marks[name] = (dep.cpu(), cpu_s(), dep.switches())
        if bus is not None:
            bus.counting = name == "start"

    try:
        await asyncio.gather(
            mark(start, "start"),
            mark(stop, "stop"),
            *(orders(c) for c in clients),
            *(poller(k) for k in range(len(poll))),
        )
    finally:
        for c in clients + pollers:
            await c.aclose()
        if bus is not None:
            await bus.close()
    count = len(latencies)
    (cpu0, gen0, sw0), (cpu1, gen1, sw1) = marks["start"], marks["stop"]
    return {
        "orders": count,
        "orders_per_s": round(count / args.seconds),
        **percentiles_ms(latencies),
        "errors": len(errors),
        "first_error": errors[0] if errors else None,
        "cpu_us_per_order": cpu_us_per_op(cpu0, cpu1, gen1 - gen0, count),
        "switches_per_order": switches_per_op(sw0, sw1, ticks_by_name(cpu0, cpu1), count),
        **replica_lag(acks, polls),
        **(bus.per_order(count) if bus is not None else {}),
    }


async def profiled_point(
    dep: Deployment, args: argparse.Namespace, market: str, keys: list[str]
) -> dict[str, Any]:
    """One more point (not a measurement) with py-spy on the engine, the API node and the
    projector."""
    keep = Path(args.keep) if args.keep else dep.workdir
    roles = {r.name: r for r in dep.roles if r.name in ("engine", "api1", "project")}

    async def spy(name: str) -> tuple[str, dict[str, Any]]:
        await asyncio.sleep(args.warmup)
        out = keep / f"{name}-{dep.backend}-{dep.prefix}.pyspy.txt"
        return name, await py_spy_profile(roles[name].pid, args.profile_s, out)

    point = http_point(dep, args, market, keys, dep.api_urls, dep.api_urls)
    result, *spied = await asyncio.gather(point, *(spy(name) for name in roles))
    line: dict[str, Any] = {"bench": "http_orders_profiled", "backend": dep.backend}
    line["config"] = "engine+1api"
    line["clients"] = len(keys)
    line["orders_per_s"] = result["orders_per_s"]
    return emit({**line, **{name: profile for name, profile in spied}})


def idle(dep: Deployment, seconds: float = IDLE_S) -> dict[str, Any]:
    """CPU of each process while no order arrives (timers, feeds' idle checks), as a
    share of one core: what a process costs at any rate, to read the rows at low rates."""
    before = dep.cpu()
    time.sleep(seconds)
    after = dep.cpu()
    return {
        "idle_cpu_pct": {
            name: round(
                sum(t - before.get(name, {}).get(p, 0) for p, t in pids.items())
                * TICK_S
                * 100
                / seconds,
                1,
            )
            for name, pids in after.items()
        },
        "seconds": seconds,
    }


Points = Callable[[Deployment, str, str, list[str]], Awaitable[None]]


async def bench_http(backend: str, args: argparse.Namespace, tmp: Path) -> list[dict[str, Any]]:
    clients = [int(n) for n in args.clients.split(",")]
    lines: list[dict[str, Any]] = []

    async def points(dep: Deployment, config: str, market: str, keys: list[str]) -> None:
        lines.append(emit({"bench": "idle", "backend": backend, "config": config, **idle(dep)}))
        for n in clients:
            if args.client == "wrk":
                result = await wrk_point(
                    dep.counters,
                    dep.api_urls,
                    keys[:n],
                    market,
                    args.warmup,
                    args.seconds,
                )
            else:
                result = await http_point(dep, args, market, keys[:n], dep.api_urls, dep.api_urls)
            line = {"bench": "http_orders", "backend": backend, "config": config, "clients": n}
            lines.append(emit({**line, **result}))

    if args.monolith:
        await monolith(Deployment(backend, args, tmp, "serve"), max(clients), points)
    dep = Deployment(backend, args, tmp, "roles")
    try:
        dep.start("engine", ["engine"]).wait_line(r"sequencing at seq")
        dep.start("project", ["follow", "--role", "project"]).wait_line(r"projecting")
        first = dep.start_api()
        dep.start("watch", ["follow", "--role", "watch"]).wait_line(r"watching")
        setup = Setup(first, dep.admin_password)
        market, keys = await asyncio.to_thread(_setup, setup, max(clients))
        nodes = [int(n) for n in args.nodes.split(",")]
        for n in range(1, max(nodes) + 1):
            if n > 1:
                dep.start_api()
            if n in nodes:
                await points(dep, f"engine+{n}api", market, keys)
            if n == 1 and args.profile_s > 0:
                lines.append(await profiled_point(dep, args, market, keys[: min(clients)]))
    finally:
        dep.close()
    return lines


async def monolith(dep: Deployment, clients: int, points: Points) -> None:
    """``augury serve --no-supervise`` (the server itself, not the supervisor that runs
    it as a child since issue 15; its projector and watch are its child processes)."""
    try:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        serve = dep.start("serve", ["serve", "--no-supervise", "--port", str(port)])
        serve.wait_http(url)
        password = serve.wait_line(r"password: (\S+)").group(1)
        market, keys = await asyncio.to_thread(_setup, Setup(url, password), clients)
        dep.api_urls = [url]
        await points(dep, "monolith", market, keys)
    finally:
        dep.close()


async def run(args: argparse.Namespace) -> None:
    tune_gc()  # the core runs under the GC thresholds open_engine sets, as bench/engine.py
    lines: list[dict[str, Any]] = []
    args.nats_pid = 0
    with tempfile.TemporaryDirectory(prefix="augury-bench-roles-") as tmp, private_nats(args):
        for backend in args.backends.split(","):
            if "engine" in args.parts:
                lines += await bench_engine(backend, args, Path(tmp))
            if "http" in args.parts:
                lines += await bench_http(backend, args, Path(tmp))
    emit(summarize(lines, args))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--parts", default="engine,http")
    parser.add_argument("--clients", default="16,64")
    parser.add_argument("--nodes", default="1,2,3")
    parser.add_argument(
        "--no-monolith", dest="monolith", action="store_false", help="only the roles' rows"
    )
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--engine-commands", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=512)
    parser.add_argument("--window", type=int, default=8)
    parser.add_argument("--profile-s", type=float, default=8.0)
    parser.add_argument("--poll-hz", type=float, default=20.0)
    parser.add_argument(
        "--count-bus",
        action="store_true",
        help="count the bus's messages per order (an observer: NATS delivers every"
        " command and record message once more, and this process wakes for each)",
    )
    parser.add_argument("--keep", default="", help="a directory for the raw py-spy profiles")
    parser.add_argument("--pg", default=PG_DSN_DEFAULT)
    parser.add_argument(
        "--client",
        choices=("raw", "wrk"),
        default="raw",
        help="who sends the HTTP orders: this process's asyncio client, or wrk (roles_wrk.py)",
    )
    parser.add_argument("--nats-url", default="nats://127.0.0.1:4222")
    parser.add_argument(
        "--nats-gomaxprocs",
        type=int,
        default=0,
        help="run a nats-server of this run's own with GOMAXPROCS=N instead of --nats-url",
    )
    asyncio.run(run(parser.parse_args(argv)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
