"""Authenticated order placement over HTTP on loopback: orders/s and latency, and the ceiling.

Usage: .venv/bin/python bench/service.py [--backends sqlite,postgres] [--clients 1,4,16]
       [--client httpx,raw] [--projector process,thread] [--seconds S] [--warmup S]
       [--repeat R] [--pg DSN]

For each backend a fresh server is started in a subprocess (this script's ``serve``
mode): the app of ``augury serve`` (``create_app``: the same routers, middleware and
error handlers, rate limits off) under the same uvicorn configuration as ``augury
serve`` (one process, one uvloop event loop, httptools, the access log off unless
``AUGURY_ACCESS_LOG`` turns it on; server output to a file), on the system clock, with
a fresh SQLite data directory or fresh PostgreSQL schemas. The benchmark adds one route
to that app, ``POST /api/v1/bench/noop``, answering ``{}`` with no work (no
authentication, no body read, no engine): the HTTP ceiling of the same stack (uvicorn,
the middleware, FastAPI routing and JSON response), and ``POST
/api/v1/bench/noop-plain``, the same no-op as a plain route in front of the FastAPI
routers, the way ``POST /orders`` is served since its hot path (``fast_orders``): the
ceiling of that stack (``ceiling_plain``). The orders/ceiling ratio uses the higher of
the two. The product's routes are untouched; ``augury serve`` has no such routes. With
several ``--projector`` modes (``AUGURY_PROJECTOR``: the read models written by a child
process, the default, or by a thread of the server), one server per mode runs at the
same time and the modes take turns in every repeat, so that both see the same
background load.

Clients are ``httpx.AsyncClient`` in one asyncio loop in this process, each its own
trader with its own API key (``X-API-Key``, scopes ``trade`` and ``read``) and one keep-alive
connection, in a closed loop: send, wait for the answer, send the next. An order is a
GTC limit order of 1 share on one book-only binary market: buy YES at 0.50 or buy NO
at 0.50 (a crossing order mints a YES/NO pair), alternating. ``POST /orders`` answers
201 only after the engine has committed the command to the journal (SQLite WAL with
``synchronous=FULL``, PostgreSQL synchronous commit): every counted order is durable.
The ceiling clients send the same headers and body to the no-op route.

Prints one JSON object per line per measurement (``ops_per_s``, ``p50_ms``,
``p99_ms``, ``server_cpu_us_per_op``: the CPU time of the server and its child processes
per answer, a figure the machine's background load disturbs less than the rates;
``client_cpu_us_per_op``: this load generator's CPU time per answer; for
orders also ``read_models_behind_s``, how long after the last order a
history read saw every acknowledged order: the projector's backlog, which its lower
priority, ``AUGURY_BACKGROUND_NICE``, lets grow under full load); the last line is a
summary with the median of ``--repeat`` runs, the orders/ceiling ratio at 16 clients
and whether the issue's targets (>= 40% of the ceiling and >= 3,000 orders/s at 16
clients) are met. The client shares the 2 cores
with the server; run on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any, Protocol

import httpx
import psycopg

from which_build import build

BUILD = build()
"""The build the server runs: it is started with this interpreter and environment."""
PG_DSN_DEFAULT = os.environ.get("AUGURY_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")
NOOP_PATH = "/api/v1/bench/noop"
NOOP_PLAIN_PATH = "/api/v1/bench/noop-plain"
TARGETS = ("ceiling", "ceiling_plain", "orders")
STARTUP_S_MAX = 60.0
SERVER_ENV = {
    "AUGURY_RATE_LIMIT_IP_PER_S": "0",
    "AUGURY_RATE_LIMIT_KEY_PER_S": "0",
    "AUGURY_RATE_LIMIT_PASSWORD_PER_S": "0",
    "AUGURY_STARTING_GRANT": "1000000",  # never short of credits however long it runs
    "AUGURY_ARGON2_TIME_COST": "1",  # registering the clients is not what is measured
    "AUGURY_ARGON2_MEMORY_KIB": "1024",
}
PASSWORD = "bench-password-123"


# -- the server ---------------------------------------------------------------------------
def serve(port: int) -> None:
    """``augury serve``'s stack plus the no-op route (settings from AUGURY_* variables)."""
    import uvicorn

    from augury.api import create_app
    from augury.roles.services import Services
    from augury.settings import Settings

    settings = Settings(port=port)
    services = Services.start(settings)
    app = create_app(settings, services=services)

    @app.post(NOOP_PATH, include_in_schema=False)
    async def noop() -> dict[str, Any]:
        return {}

    # The same no-op on the stack POST /orders now takes: a plain route in front of the
    # FastAPI routers (fast_orders.HotRoute), under the same middleware.
    from starlette.responses import Response

    from augury.api.fast_orders import HotRoute

    async def noop_plain(scope: Any, receive: Any, send: Any, *_: Any) -> None:
        await Response(b"{}", media_type="application/json")(scope, receive, send)

    app.router.routes.insert(0, HotRoute(app.router, NOOP_PLAIN_PATH, "POST", noop_plain))
    app.router.routes.insert(0, HotRoute(app.router, NOOP_PLAIN_PATH, "GET", noop_plain))

    from augury.cli._common import http_config

    config = http_config(app, settings)  # the configuration of augury serve
    try:
        uvicorn.Server(config).run()
    finally:
        services.stop()


def percentiles_ms(latencies: list[float]) -> dict[str, float | None]:
    """``p50_ms`` and ``p99_ms`` of ``latencies`` (seconds; sorted here)."""
    latencies.sort()
    count = len(latencies)
    if not count:
        return {"p50_ms": None, "p99_ms": None}
    return {
        "p50_ms": round(latencies[count // 2] * 1e3, 2),
        "p99_ms": round(latencies[min(count - 1, count * 99 // 100)] * 1e3, 2),
    }


def per_op_us(before: float, after: float, count: int) -> int | None:
    """CPU seconds spent between two readings, in us per operation (None without any)."""
    return round((after - before) * 1e6 / count) if count else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Server:
    def __init__(self, backend: str, workdir: Path, pg_dsn: str, projector: str = "") -> None:
        self.port = _free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.data_dir = workdir / f"{backend}-{self.port}"
        self.log = workdir / f"{backend}-{self.port}.log"
        self.pg: tuple[str, str, str] | None = None
        env = {**os.environ, **SERVER_ENV, "AUGURY_DATA_DIR": str(self.data_dir)}
        if projector:
            env["AUGURY_PROJECTOR"] = projector
        if backend == "postgres":
            suffix = uuid.uuid4().hex[:10]
            self.pg = (pg_dsn, f"bench_http_j_{suffix}", f"bench_http_p_{suffix}")
            env["AUGURY_DATABASE_URL"] = pg_dsn
            env["AUGURY_JOURNAL_NAMESPACE"] = self.pg[1]
            env["AUGURY_PROJECTIONS_NAMESPACE"] = self.pg[2]
        command = [sys.executable, __file__, "serve", "--port", str(self.port)]
        with open(self.log, "wb") as out:
            self.process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + STARTUP_S_MAX
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited:\n{self.log.read_text()}")
            try:
                if httpx.get(self.base_url + "/api/v1/health", timeout=1.0).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        else:
            self.stop()
            raise RuntimeError(f"the server did not start:\n{self.log.read_text()}")
        found = re.search(r"password: (\S+)", self.log.read_text())
        assert found, "no admin password in the server's output"
        self.admin_password = found.group(1)

    def cpu_s(self) -> float:
        """CPU seconds (user + system) used so far by the server process and its
        children (the projector and surveillance processes), read from /proc; the
        PostgreSQL server's own processes are not counted."""
        ticks = 0
        pending = [self.process.pid]
        while pending:
            pid = pending.pop()
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
                ticks += int(fields[11]) + int(fields[12])  # utime, stime
                for task in Path(f"/proc/{pid}/task").iterdir():
                    pending += [int(c) for c in (task / "children").read_text().split()]
            except (FileNotFoundError, ProcessLookupError):
                continue  # gone meanwhile
        return ticks / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        if self.pg is not None:
            with psycopg.connect(self.pg[0], autocommit=True) as conn:
                for namespace in self.pg[1:]:
                    conn.execute(f"DROP SCHEMA IF EXISTS {namespace} CASCADE")


# -- the clients --------------------------------------------------------------------------
class Where(Protocol):
    """Where ``_setup`` registers: a server's URL and its admin's password."""

    base_url: str
    admin_password: str


def _setup(server: Where, clients: int) -> tuple[str, list[str]]:
    """A book-only market and ``clients`` traders with an API key each."""
    api = server.base_url + "/api/v1"
    with httpx.Client(base_url=api, timeout=30) as admin:
        login = {"username": "admin", "password": server.admin_password}
        response = admin.post("/auth/login", json=login)
        response.raise_for_status()
        admin.headers["X-CSRF-Token"] = response.json()["csrf_token"]
        market = f"bench-{uuid.uuid4().hex[:8]}"
        body = {"id": market, "question": "Bench?", "close_time": "2099-01-01T00:00:00Z"}
        admin.post("/markets", json=body).raise_for_status()
    keys = []
    for _ in range(clients):
        username = f"b{uuid.uuid4().hex[:12]}"
        with httpx.Client(base_url=api, timeout=30) as client:
            credentials = {"username": username, "password": PASSWORD}
            client.post("/auth/register", json=credentials).raise_for_status()
            response = client.post("/auth/login", json=credentials)
            response.raise_for_status()
            client.headers["X-CSRF-Token"] = response.json()["csrf_token"]
            scopes = ["trade", "read"]  # read: the history read after the orders
            created = client.post("/auth/api-keys", json={"name": "bench", "scopes": scopes})
            created.raise_for_status()
            keys.append(created.json()["key"])
    return market, keys


async def _client_loop(
    client: RawClient | HttpxClient,
    path: str,
    bodies: list[dict[str, Any]],
    expect: int,
    start: float,
    stop: float,
    latencies: list[float],
    errors: list[str],
) -> None:
    i = 0
    while True:
        sent = time.perf_counter()
        if sent >= stop:
            return
        status, content = await client.post(path, json=bodies[i % len(bodies)])
        done = time.perf_counter()
        i += 1
        if status != expect:
            errors.append(f"{status} {content[:200]!r}")
            continue
        if sent >= start:  # the warm-up is not counted
            latencies.append(done - sent)


class RawClient:
    """A minimal HTTP/1.1 keep-alive client on asyncio streams (``--client raw``).

    It only sends a POST with a JSON body (or a GET) and reads a Content-Length answer,
    keeping its header block in ``header`` (``bench/roles.py`` reads Augury-Seq): about a
    tenth of httpx's CPU per request, so that on 2 cores the load generator takes less
    of the CPU the server needs.
    """

    def __init__(self, base_url: str, key: str) -> None:
        self.host, port = base_url.removeprefix("http://").split(":")
        self.port = int(port)
        self.key = key
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.header = b""

    async def post(self, path: str, json: dict[str, Any]) -> tuple[int, bytes]:
        return await self.request("POST", path, _json_dumps(json))

    async def get(self, path: str) -> tuple[int, bytes]:
        return await self.request("GET", path, b"")

    async def request(self, method: str, path: str, body: bytes) -> tuple[int, bytes]:
        """(status, body); the answer's header block stays in ``self.header``."""
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
            f"X-API-Key: {self.key}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        self.writer.write(head.encode() + body)
        header = self.header = await self.reader.readuntil(b"\r\n\r\n")
        status = int(header[9:12])
        found = re.search(rb"(?i)\r\ncontent-length: *(\d+)", header)
        assert found, header
        return status, await self.reader.readexactly(int(found.group(1)))

    async def aclose(self) -> None:
        if self.writer is not None:
            self.writer.close()


def _json_dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


class HttpxClient:
    """One ``httpx.AsyncClient`` with a single keep-alive connection."""

    def __init__(self, base_url: str, key: str) -> None:
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        self.client = httpx.AsyncClient(
            base_url=base_url, headers={"X-API-Key": key}, limits=limits, timeout=30
        )

    async def post(self, path: str, json: dict[str, Any]) -> tuple[int, bytes]:
        response = await self.client.post(path, json=json)
        return response.status_code, response.content

    async def aclose(self) -> None:
        await self.client.aclose()


async def _measure(
    server: Server,
    target: str,
    market: str,
    keys: list[str],
    warmup_s: float,
    seconds: float,
    kind: str,
) -> dict[str, Any]:
    if target == "orders":
        path, expect = "/api/v1/orders", 201
    elif target == "ceiling_plain":
        path, expect = NOOP_PLAIN_PATH, 200
    else:
        path, expect = NOOP_PATH, 200
    bodies = [
        {"market": market, "side": "buy", "token": token, "price": "0.5", "qty": "1"}
        for token in ("yes", "no")
    ]
    make = RawClient if kind == "raw" else HttpxClient
    clients = [make(server.base_url, key) for key in keys]
    latencies: list[float] = []
    errors: list[str] = []
    cpu_at: list[tuple[float, float]] = []  # (the server's, this load generator's)

    async def sample_cpu(at: float) -> None:
        await asyncio.sleep(max(0.0, at - time.perf_counter()))
        cpu_at.append((server.cpu_s(), time.process_time()))

    try:
        now = time.perf_counter()
        start, stop = now + warmup_s, now + warmup_s + seconds
        await asyncio.gather(
            sample_cpu(start),
            sample_cpu(stop),
            *(
                _client_loop(c, path, bodies, expect, start, stop, latencies, errors)
                for c in clients
            ),
        )
    finally:
        for c in clients:
            await c.aclose()
    behind_s = await _read_models_behind_s(server, keys[0]) if target == "orders" else None
    count = len(latencies)
    return {
        "target": target,
        "client": kind,
        "clients": len(keys),
        "ops": count,
        "seconds": seconds,
        "ops_per_s": round(count / seconds),
        **percentiles_ms(latencies),
        "errors": len(errors),
        "first_error": errors[0] if errors else None,
        "server_cpu_us_per_op": per_op_us(cpu_at[0][0], cpu_at[1][0], count),
        "client_cpu_us_per_op": per_op_us(cpu_at[0][1], cpu_at[1][1], count),
        "read_models_behind_s": behind_s,
    }


async def _read_models_behind_s(server: Server, key: str) -> float:
    """How long after the last order the read models hold every order acknowledged.

    A history read (``GET /portfolio/fills``) waits until the projector has applied
    everything acknowledged before it (at most 10 s, then 503: asked again).
    """
    start = time.perf_counter()
    async with httpx.AsyncClient(base_url=server.base_url, timeout=30.0) as client:
        while True:
            answer = await client.get(
                "/api/v1/portfolio/fills", params={"limit": 1}, headers={"X-API-Key": key}
            )
            if answer.status_code == 200:
                return round(time.perf_counter() - start, 3)
            if answer.status_code != 503:
                raise RuntimeError(f"GET /portfolio/fills: {answer.status_code} {answer.text}")


def run(args: argparse.Namespace) -> None:
    client_counts = [int(n) for n in args.clients.split(",")]
    kinds = args.client.split(",")
    backends = args.backends.split(",")
    modes = args.projector.split(",")
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="augury-bench-http-") as tmp:
        for backend in backends:
            servers: dict[str, Server] = {}
            try:
                for mode in modes:
                    servers[mode] = Server(backend, Path(tmp), args.pg, mode)
                setups = {mode: _setup(servers[mode], max(client_counts)) for mode in modes}
                for repeat in range(args.repeat):
                    for kind in kinds:
                        for clients in client_counts:
                            for mode in modes:
                                market, keys = setups[mode]
                                for target in TARGETS:
                                    measure = _measure(
                                        servers[mode],
                                        target,
                                        market,
                                        keys[:clients],
                                        args.warmup,
                                        args.seconds,
                                        kind,
                                    )
                                    row = {
                                        "backend": backend,
                                        "projector": mode,
                                        "repeat": repeat,
                                        **asyncio.run(measure),
                                    }
                                    row["load_1m"] = round(os.getloadavg()[0], 2)
                                    row["build"] = BUILD
                                    results.append(row)
                                    print(json.dumps(row), flush=True)
            finally:
                for server in servers.values():
                    server.stop()
    summary = _summary(results, backends, modes, kinds, client_counts)
    print(json.dumps({**summary, "build": BUILD}), flush=True)


def _summary(
    results: list[dict[str, Any]],
    backends: list[str],
    modes: list[str],
    kinds: list[str],
    client_counts: list[int],
) -> dict[str, Any]:
    """Medians over the repeats; the targets are checked at the most clients."""
    summary: dict[str, Any] = {"summary": True}
    top = max(client_counts)
    for backend in backends:
        for mode in modes:
            for kind in kinds:
                prefix = f"{backend}_{mode}_{kind}" if mode else f"{backend}_{kind}"
                for clients in client_counts:
                    for target in TARGETS:
                        key = (backend, mode, kind, clients, target)
                        rows = [r for r in results if _key(r) == key]
                        summary[f"{prefix}_{clients}_{target}"] = {
                            "ops_per_s": statistics.median(r["ops_per_s"] for r in rows),
                            "p50_ms": statistics.median(r["p50_ms"] or 0 for r in rows),
                            "p99_ms": statistics.median(r["p99_ms"] or 0 for r in rows),
                            "server_cpu_us_per_op": statistics.median(
                                r["server_cpu_us_per_op"] or 0 for r in rows
                            ),
                            "client_cpu_us_per_op": statistics.median(
                                r["client_cpu_us_per_op"] or 0 for r in rows
                            ),
                            "load_1m": statistics.median(r["load_1m"] for r in rows),
                        }
                orders = summary[f"{prefix}_{top}_orders"]["ops_per_s"]
                # The higher of the two no-op stacks, so the ratio is never flattered.
                ceiling = max(
                    summary[f"{prefix}_{top}_ceiling"]["ops_per_s"],
                    summary[f"{prefix}_{top}_ceiling_plain"]["ops_per_s"],
                )
                ratio = orders / ceiling if ceiling else 0.0
                summary[f"{prefix}_{top}_orders_vs_ceiling"] = round(ratio, 3)
                summary[f"{prefix}_{top}_meets_targets"] = ratio >= 0.4 and orders >= 3_000
    return summary


def _key(row: dict[str, Any]) -> tuple[Any, ...]:
    return (row["backend"], row["projector"], row["client"], row["clients"], row["target"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="mode")
    serve_parser = sub.add_parser("serve", help="(internal) run the server under test")
    serve_parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--clients", default="1,4,16")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--client", default="httpx,raw", help="httpx, raw or both")
    parser.add_argument(
        "--projector",
        default="",
        help="process, thread or both (AUGURY_PROJECTOR); default: the server's default",
    )
    parser.add_argument("--pg", default=PG_DSN_DEFAULT)
    args = parser.parse_args()
    if args.mode == "serve":
        serve(args.port)
    else:
        run(args)


if __name__ == "__main__":
    main()
