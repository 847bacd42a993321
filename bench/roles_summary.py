"""The summary line of ``bench/roles.py``: its measurements side by side, and a model.

``summarize`` gathers, per backend, the engine alone (durable commands/s, the core's,
their ratio, CPU per command, the profile), the HTTP rows (orders/s, p50/p99, CPU per
order per process, replica lag, the ratio to the monolith at the same clients) and
``model``: capacities derived from the measured CPU per order. The model is marked as
such in the output: it assumes that the CPU per order stays as measured on this machine,
that a process uses at most one core (one interpreter), and that the network is free.
``replica_lag`` turns the health polls and the acknowledgements into lag percentiles.
"""

from __future__ import annotations

import argparse
import bisect
import re
from typing import Any


def summarize(lines: list[dict[str, Any]], args: argparse.Namespace) -> dict[str, Any]:
    summary: dict[str, Any] = {
        "bench": "summary",
        "measured": (
            "rates, latencies, CPU per order per process (/proc over the window), "
            "replica lag (health polls against Augury-Seq of acknowledged orders)"
        ),
        "modelled": (
            "model_*: capacities = 1e6 / (measured CPU us per order) of one process "
            "(one core at most: one interpreter), API nodes one engine feeds = the "
            "engine-alone durable rate / one node's capacity, M machines = the smallest "
            "of M x cores x 1e6 / (API node us per order) and the engine's, the "
            "projector's and PostgreSQL's capacities; assumes CPU per order stays as "
            "measured here and the network is free"
        ),
    }
    for backend in args.backends.split(","):
        engine = [x for x in lines if x["bench"] == "engine_alone" and x["backend"] == backend]
        http = [x for x in lines if x["bench"] == "http_orders" and x["backend"] == backend]
        plain = [x for x in engine if not x["profiled"]]
        spied = [x for x in engine if x["profiled"]]
        part: dict[str, Any] = {}
        if plain:
            e = plain[0]
            part["engine_alone"] = {
                k: e[k]
                for k in (
                    "durable_commands_per_s",
                    "core_commands_per_s",
                    "vs_core",
                    "cpu_us_per_command",
                )
            }
            part["engine_alone"]["meets_50k"] = e["durable_commands_per_s"] >= 50_000
        for x in lines:
            if x["bench"] == "http_orders_profiled" and x["backend"] == backend:
                for role in ("engine", "api1", "project"):
                    part[f"http_{role}_profile"] = x.get(role)
        if spied:
            part["engine_profile"] = {k: v for k, v in spied[0].items() if k.startswith("profile_")}
        rows: dict[str, Any] = {}
        for x in http:
            rows[f"{x['config']}@{x['clients']}"] = {
                "orders_per_s": x["orders_per_s"],
                "p50_ms": x["p50_ms"],
                "p99_ms": x["p99_ms"],
                "cpu_us_per_order": x["cpu_us_per_order"],
                "replica_lag_ms": x.get("replica_lag_ms"),
                "errors": x["errors"],
            }
        part["http"] = rows
        for x in http:
            mono = rows.get(f"monolith@{x['clients']}")
            if x["config"] != "monolith" and mono and mono["orders_per_s"]:
                ratio = round(x["orders_per_s"] / mono["orders_per_s"], 2)
                rows[f"{x['config']}@{x['clients']}"]["vs_monolith"] = ratio
        if plain and http:
            part["model"] = model(plain[0], http)
        summary[backend] = part
    return summary


def model(engine: dict[str, Any], http: list[dict[str, Any]], cores: int = 2) -> dict[str, Any]:
    """MODELLED capacities from the measured CPU per order (see ``summarize``): a process
    does at most 1e6 / (its CPU µs per order) orders/s on one core. The engine's is taken
    from the engine alone (large batches, as many busy nodes send them) and, as a lower
    bound, from the HTTP row (small batches); the measured engine-alone rate is given
    too, but it is bounded by the machine's load, not by the engine."""
    one = [x for x in http if x["config"] == "engine+1api"]
    if not one:
        return {}
    row = max(one, key=lambda x: x["clients"])  # the busiest: the largest batches
    cpu = row["cpu_us_per_order"]
    api_us = sum(v for k, v in cpu.items() if re.fullmatch(r"api\d+", k))
    engine_us = cpu.get("engine", 0.0)
    alone_us = engine["cpu_us_per_command"]["engine"]
    capacity = {
        "engine_alone_one_core": round(1e6 / alone_us) if alone_us else None,
        "engine_at_http_batches": round(1e6 / engine_us) if engine_us else None,
        "engine_alone_measured_rate": engine["durable_commands_per_s"],
        "api_node": round(1e6 / api_us) if api_us else None,
        "projector": round(1e6 / cpu["project"]) if cpu.get("project") else None,
        "watch": round(1e6 / cpu["watch"]) if cpu.get("watch") else None,
    }
    if cpu.get("postgres_backends"):
        capacity["postgres_per_core"] = round(1e6 / cpu["postgres_backends"])
    engine_cap = capacity["engine_alone_one_core"] or 0
    followers = [v for k, v in capacity.items() if k in ("projector", "watch") and v]
    table = []
    for machines in (1, 2, 4, 8, 16):
        api = machines * cores * (capacity["api_node"] or 0)
        reach = min([api, engine_cap, *followers])
        limit = "api nodes" if reach == api else "engine" if reach == engine_cap else "a follower"
        table.append({"api_machines": machines, "orders_per_s": reach, "bound_by": limit})
    node = capacity["api_node"]
    return {
        "from": f"engine+1api at {row['clients']} clients (us per order) and engine_alone",
        "cpu_us_per_order": {"api_node": round(api_us, 1), "engine": engine_us},
        "capacity_orders_per_s": capacity,
        "api_nodes_one_engine_feeds": [
            round((capacity["engine_at_http_batches"] or 0) / node, 1),
            round(engine_cap / node, 1),
        ]
        if node
        else None,
        "machines": table,
        "machine_cores": cores,
    }


def replica_lag(
    acks: list[tuple[int, float]], polls: list[list[tuple[float, int]]]
) -> dict[str, Any]:
    """Per node, from its polls: p50/p99 of the time since the oldest acknowledged order
    it lacked was acknowledged (0 if it lacked none), and of the seqs it lacked."""
    if not acks or not any(polls):
        return {}
    acks.sort()
    seqs = [seq for seq, _ in acks]
    # the earliest acknowledgement of any seq > s: a suffix minimum over the sorted acks
    earliest = [t for _, t in acks]
    for i in range(len(earliest) - 2, -1, -1):
        earliest[i] = min(earliest[i], earliest[i + 1])
    by_time = sorted((t, seq) for seq, t in acks)
    times = [t for t, _ in by_time]
    top_seq = [seq for _, seq in by_time]
    for i in range(1, len(top_seq)):
        top_seq[i] = max(top_seq[i], top_seq[i - 1])
    out: dict[str, Any] = {"replica_lag_ms": [], "replica_lag_seqs": []}
    for node in polls:
        lag_ms, lag_seqs = [], []
        for sent, head in node:
            i = bisect.bisect_right(seqs, head)
            lag_ms.append(max(0.0, sent - earliest[i]) * 1e3 if i < len(seqs) else 0.0)
            j = bisect.bisect_right(times, sent) - 1
            lag_seqs.append(max(0, top_seq[j] - head) if j >= 0 else 0)
        out["replica_lag_ms"].append(
            {"p50": pct(lag_ms, 50), "p99": pct(lag_ms, 99), "polls": len(lag_ms)}
        )
        out["replica_lag_seqs"].append({"p50": pct(lag_seqs, 50), "p99": pct(lag_seqs, 99)})
    return out


def pct(values: list[float] | list[int], p: int) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, len(ordered) * p // 100)], 2) if ordered else 0.0
