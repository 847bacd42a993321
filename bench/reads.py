"""The live reads an API node serves, beside the plain no-op route, in one run.

Usage: .venv/bin/python bench/reads.py [--backends sqlite,postgres] [--clients 16]
       [--seconds S] [--warmup S] [--repeat R] [--targets a,b,...]

Issue 14 asks that an API node's hot paths (place, cancel and the live reads) cost close
to the plain route. One server per backend (``bench/service.py``'s: the app of
``augury serve``, rate limits off), one book-only binary market with a few resting
orders on each side, ``--clients`` traders with an API key each (raw HTTP/1.1
keep-alive clients, closed loop). The targets take turns, ``--repeat`` times:

* ``plain``: ``GET /api/v1/bench/noop-plain``, the no-op as a plain route in front of
  the routers, under the same middleware (the floor of the stack);
* ``book``: ``GET /markets/{m}/book``; ``quote``: ``GET /markets/{m}/quote``;
* ``balances``: ``GET /portfolio/balances`` (authenticated);
* ``order``: ``GET /orders/{id}`` (authenticated, one of the client's resting orders);
* ``preview``: ``POST /orders/preview`` (authenticated, a buy that would cross).

Prints one JSON line per measurement (``ops_per_s``, ``p50_ms``, ``p99_ms``,
``server_cpu_us_per_op``: CPU of the server process tree per answer, from /proc) and a
summary with the medians and each read's CPU per request above the plain route's.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from service import (
    BUILD,
    NOOP_PLAIN_PATH,
    PG_DSN_DEFAULT,
    RawClient,
    Server,
    _setup,
    per_op_us,
    percentiles_ms,
)

TARGETS = ("plain", "book", "quote", "balances", "order", "preview")


def _prepare(server: Server, market: str, keys: list[str]) -> dict[str, int]:
    """A few resting orders on both sides; one resting order per client (its id)."""
    orders: dict[str, int] = {}
    with httpx.Client(base_url=server.base_url + "/api/v1", timeout=30) as client:
        for i, key in enumerate(keys):
            # bids at 0.40 (buy YES) and asks at 0.60 (buy NO at 0.40): nothing crosses
            token = "yes" if i % 2 == 0 else "no"
            body = {"market": market, "side": "buy", "token": token, "price": "0.4", "qty": "1"}
            answer = client.post("/orders", json=body, headers={"X-API-Key": key})
            answer.raise_for_status()
            orders[key] = int(answer.json()["id"])
    return orders


def _request(target: str, market: str, order_id: int) -> tuple[str, str, bytes, int]:
    """(method, path, body, expected status) of one request of ``target``."""
    if target == "plain":
        return "GET", NOOP_PLAIN_PATH, b"", 200
    if target == "book":
        return "GET", f"/api/v1/markets/{market}/book", b"", 200
    if target == "quote":
        return "GET", f"/api/v1/markets/{market}/quote", b"", 200
    if target == "balances":
        return "GET", "/api/v1/portfolio/balances", b"", 200
    if target == "order":
        return "GET", f"/api/v1/orders/{order_id}", b"", 200
    body = {"market": market, "side": "buy", "token": "yes", "price": "0.7", "qty": "2"}
    return "POST", "/api/v1/orders/preview", json.dumps(body).encode(), 200


async def _measure(
    server: Server,
    target: str,
    market: str,
    keys: list[str],
    orders: dict[str, int],
    warmup_s: float,
    seconds: float,
) -> dict[str, Any]:
    clients = [RawClient(server.base_url, key) for key in keys]
    latencies: list[float] = []
    errors: list[str] = []
    cpu_at: list[float] = []

    async def sample_cpu(at: float) -> None:
        await asyncio.sleep(max(0.0, at - time.perf_counter()))
        cpu_at.append(server.cpu_s())

    async def loop(client: RawClient, start: float, stop: float) -> None:
        method, path, body, expect = _request(target, market, orders[client.key])
        while True:
            sent = time.perf_counter()
            if sent >= stop:
                return
            status, content = await client.request(method, path, body)
            if status != expect:
                errors.append(f"{status} {content[:200]!r}")
                continue
            if sent >= start:
                latencies.append(time.perf_counter() - sent)

    try:
        now = time.perf_counter()
        start, stop = now + warmup_s, now + warmup_s + seconds
        await asyncio.gather(
            sample_cpu(start), sample_cpu(stop), *(loop(c, start, stop) for c in clients)
        )
    finally:
        for c in clients:
            await c.aclose()
    count = len(latencies)
    return {
        "target": target,
        "clients": len(keys),
        "ops": count,
        "ops_per_s": round(count / seconds),
        **percentiles_ms(latencies),
        "errors": len(errors),
        "first_error": errors[0] if errors else None,
        "server_cpu_us_per_op": per_op_us(cpu_at[0], cpu_at[1], count),
    }


def run(args: argparse.Namespace) -> None:
    targets = args.targets.split(",")
    unknown = set(targets) - set(TARGETS)
    if unknown:
        raise SystemExit(f"unknown targets: {sorted(unknown)} (known: {', '.join(TARGETS)})")
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="augury-bench-reads-") as tmp:
        for backend in args.backends.split(","):
            server = Server(backend, Path(tmp), args.pg)
            try:
                market, keys = _setup(server, args.clients)
                orders = _prepare(server, market, keys)
                for repeat in range(args.repeat):
                    for target in targets:
                        measure = _measure(
                            server, target, market, keys, orders, args.warmup, args.seconds
                        )
                        row = {"backend": backend, "repeat": repeat, **asyncio.run(measure)}
                        row["load_1m"] = round(os.getloadavg()[0], 2)
                        row["build"] = BUILD
                        results.append(row)
                        print(json.dumps(row), flush=True)
            finally:
                server.stop()
    print(json.dumps(_summary(results, targets)), flush=True)


def _summary(results: list[dict[str, Any]], targets: list[str]) -> dict[str, Any]:
    summary: dict[str, Any] = {"summary": True, "build": BUILD}
    for backend in sorted({r["backend"] for r in results}):
        ours = [r for r in results if r["backend"] == backend]
        rows = {t: [r for r in ours if r["target"] == t] for t in targets}
        medians = {
            t: {
                "ops_per_s": statistics.median(r["ops_per_s"] for r in rs),
                "p50_ms": statistics.median(r["p50_ms"] or 0 for r in rs),
                "p99_ms": statistics.median(r["p99_ms"] or 0 for r in rs),
                "server_cpu_us_per_op": statistics.median(
                    r["server_cpu_us_per_op"] or 0 for r in rs
                ),
            }
            for t, rs in rows.items()
            if rs
        }
        if "plain" in medians:
            floor = medians["plain"]["server_cpu_us_per_op"]
            for m in medians.values():
                m["cpu_us_above_plain"] = m["server_cpu_us_per_op"] - floor
        summary[backend] = medians
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backends", default="sqlite")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--targets", default=",".join(TARGETS))
    parser.add_argument("--pg", default=PG_DSN_DEFAULT)
    run(parser.parse_args())


if __name__ == "__main__":
    main()
