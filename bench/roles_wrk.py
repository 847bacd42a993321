"""``bench/roles.py --client wrk``: the same HTTP orders sent by wrk (C, epoll) instead
of this process's asyncio client, so the load generator's CPU per order is a C
client's, not an interpreter's (the issue counts it in the whole machine's CPU).

wrk is not a dependency of the project: ``apt-get install wrk`` (Debian). One wrk
process per API node (client i talks to node i mod N, as the raw client), one thread
and one keep-alive connection per client, each client its own trader's API key (the
Lua script below picks the key by thread), buy YES / buy NO at 0.50 alternating. wrk
first runs ``--warmup`` seconds, then ``--seconds`` are measured: the CPU of every
process over that run, wrk's own (its process, reaped) as the load generator's with
this process's health polls. wrk's latency percentiles are of that run; it cannot read
``Augury-Seq``, so these rows have no replica lag (the raw client's rows do).
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from roles_procs import cpu_s, per_order

WRK = shutil.which("wrk") or "wrk"

SCRIPT = r"""
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("id", threads)
end

function init(args)
  local keys = {}
  for key in string.gmatch(os.getenv("BENCH_KEYS"), "[^,]+") do keys[#keys + 1] = key end
  local headers = {["X-API-Key"] = keys[id], ["Content-Type"] = "application/json"}
  requests = {
    wrk.format("POST", "/api/v1/orders", headers, os.getenv("BENCH_BODY_YES")),
    wrk.format("POST", "/api/v1/orders", headers, os.getenv("BENCH_BODY_NO")),
  }
  sent = 0
end

function request()
  sent = sent + 1
  return requests[sent % 2 + 1]
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "non_2xx": %d, "socket_errors": %d, "p50_us": %d, "p99_us": %d}\n',
    summary.requests, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""


async def run_wrk(
    script: Path, urls: list[str], keys: list[str], market: str, seconds: float
) -> list[dict[str, Any]]:
    """One wrk per node for ``seconds``; their summaries."""
    processes = []
    for k, url in enumerate(urls):
        mine = keys[k :: len(urls)]
        if not mine:
            continue
        env = {**os.environ, "BENCH_KEYS": ",".join(mine)}
        for token in ("yes", "no"):
            env[f"BENCH_BODY_{token.upper()}"] = json.dumps(
                {"market": market, "side": "buy", "token": token, "price": "0.5", "qty": "1"}
            )
        args = [WRK, "-t", str(len(mine)), "-c", str(len(mine)), "-d", f"{max(1, round(seconds))}s"]
        args += ["--timeout", "10s", "-s", str(script), url]
        processes.append(
            await asyncio.create_subprocess_exec(
                *args, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
            )
        )
    out = []
    for process in processes:
        stdout, stderr = await process.communicate()
        lines = [line for line in stdout.decode().splitlines() if line.startswith("{")]
        if process.returncode != 0 or not lines:
            raise RuntimeError(f"wrk failed: {stderr.decode()[-300:]} {stdout.decode()[-300:]}")
        out.append(json.loads(lines[-1]))
    return out


async def wrk_point(
    snapshot: Callable[[], Any],
    urls: list[str],
    keys: list[str],
    market: str,
    warmup_s: float,
    seconds: float,
) -> dict[str, Any]:
    """Warm up, then measure: ``snapshot()`` the processes' counters before and after
    the measured run (``Deployment.counters``), per order."""
    if shutil.which(WRK) is None:
        raise RuntimeError("wrk not found: apt-get install wrk")
    with tempfile.TemporaryDirectory(prefix="augury-wrk-") as tmp:
        script = Path(tmp) / "orders.lua"
        script.write_text(SCRIPT)
        if warmup_s > 0:
            await run_wrk(script, urls, keys, market, warmup_s)
        before, gen0, wrk0 = snapshot(), cpu_s(), cpu_s(resource.RUSAGE_CHILDREN)
        summaries = await run_wrk(script, urls, keys, market, seconds)
        after, gen1, wrk1 = snapshot(), cpu_s(), cpu_s(resource.RUSAGE_CHILDREN)
    requests = sum(s["requests"] for s in summaries)
    errors = sum(s["non_2xx"] + s["socket_errors"] for s in summaries)
    orders = requests - errors
    loadgen_s = (gen1 - gen0) + (wrk1 - wrk0)
    return {
        "client": "wrk",
        "orders": orders,
        "orders_per_s": round(orders / max(1, round(seconds))),
        "p50_ms": round(max(s["p50_us"] for s in summaries) / 1e3, 2),
        "p99_ms": round(max(s["p99_us"] for s in summaries) / 1e3, 2),
        "errors": errors,
        "first_error": None,
        **per_order(before, after, loadgen_s, orders),
    }
