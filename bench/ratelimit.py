"""CPU per request of the rate-limit middleware: in-process buckets against shared ones.

Usage: .venv/bin/python bench/ratelimit.py [--requests N] [--redis URL]

Drives ``augury.api.ratelimit.RateLimit`` alone (an inner app that only yields once) with
``--requests`` requests carrying an API key (two buckets each: the IP's and the key's),
from 1, 16 and 64 concurrent clients, with the buckets in memory and in the Redis at
``--redis`` (default the local one). Prints one JSON object per line: wall and CPU
microseconds per request of this process (from ``getrusage``), Redis's own CPU per
request (from ``INFO cpu``), and the requests per call to Redis (the batching).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import time
from typing import Any

import redis

from augury.api.ratelimit import RateLimit

SCOPE: dict[str, Any] = {
    "type": "http",
    "path": "/api/v1/orders",
    "client": ("10.9.9.9", 1),
    "headers": [(b"x-api-key", b"aug_benchkey")],
}


async def _inner(scope: Any, receive: Any, send: Any) -> None:
    await asyncio.sleep(0)


async def _receive() -> dict[str, Any]:
    return {"type": "http.request", "body": b""}


async def _send(message: Any) -> None:
    pass


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _redis_cpu_s(url: str) -> float:
    info = redis.Redis.from_url(url).info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


async def _run(url: str | None, clients: int, requests: int) -> dict[str, Any]:
    limit = RateLimit(
        _inner,
        ip_rate_per_s=1e6,
        ip_burst=10**6,
        key_rate_per_s=1e6,
        key_burst=10**6,
        shared_url=url,
    )

    async def client(count: int) -> None:
        for _ in range(count):
            await limit(SCOPE, _receive, _send)

    await asyncio.gather(*(client(50) for _ in range(clients)))  # warm up, connect
    calls_before = limit.shared.calls if limit.shared else 0
    redis_before = _redis_cpu_s(url) if url else 0.0
    wall, cpu = time.perf_counter(), _cpu_s()
    await asyncio.gather(*(client(requests // clients) for _ in range(clients)))
    wall, cpu = time.perf_counter() - wall, _cpu_s() - cpu
    done = requests // clients * clients
    result: dict[str, Any] = {
        "buckets": "redis" if url else "memory",
        "clients": clients,
        "requests": done,
        "wall_us_per_request": round(wall / done * 1e6, 1),
        "cpu_us_per_request": round(cpu / done * 1e6, 1),
    }
    if limit.shared is not None and url is not None:
        result["redis_cpu_us_per_request"] = round(
            (_redis_cpu_s(url) - redis_before) / done * 1e6, 1
        )
        result["requests_per_call"] = round(done / (limit.shared.calls - calls_before), 1)
        await limit.shared.close()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    args = parser.parse_args()
    for url in (None, args.redis):
        for clients in (1, 16, 64):
            print(json.dumps(asyncio.run(_run(url, clients, args.requests))), flush=True)


if __name__ == "__main__":
    main()
