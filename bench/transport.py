"""Round trips of command batches through each transport implementation.

Usage: .venv/bin/python bench/transport.py [--seconds S] [--senders N] [--batch B]
       [--impls embedded,nats] [--nats-url URL]

Measures, one JSON object per line per implementation (the last line a summary):

- ``commands_per_s``: commands answered per second, by ``--senders`` (16) concurrent
  senders in one event loop, each a node of its own sending a batch of ``--batch`` (32)
  commands (realistic ``PlaceOrder`` structs, built once per sender, msgspec encoded
  and decoded on every send) and waiting for all its
  answers before its next batch (closed loop);
- ``rtt_p50_us`` / ``rtt_p99_us``: round trip of one batch, from ``submit`` until all its
  answers are back;
- ``cpu_us_per_command``: CPU time (user + system) per command of the sending process
  (``resource.getrusage``) and of the receiving process (``/proc/<pid>/stat``).

The receiver is the transport's sequencer side with a trivial handler (every command
answered ok with the next seq; no engine, no journal): this is the cost of the bus
alone. ``embedded``: senders and receiver share one process and loop, so the sending
and receiving CPU is one number. ``nats``: the receiver is a child process
(``--serve``), both connected to the NATS server at ``--nats-url``; that server's own
CPU is not counted (it is shared with other users of the machine).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import time
import uuid
from collections.abc import Sequence
from typing import Any

from augury.domain import commands as dc
from augury.transport import (
    Answer,
    CommandBatch,
    EmbeddedTransport,
    Limits,
    NatsTransport,
    NodeCommand,
    Transport,
)

LIMITS = Limits(max_in_flight=4, request_timeout_s=30.0)
TICK_S = 1 / os.sysconf("SC_CLK_TCK")


class Counter:
    """The trivial sequencer: answers every command ok with the next seq."""

    def __init__(self) -> None:
        self.seq = 0

    async def handle(self, batch: CommandBatch) -> Sequence[Answer]:
        first = self.seq + 1
        self.seq += len(batch.commands)
        return [Answer(r.rid, True, seq=first + i) for i, r in enumerate(batch.commands)]


def commands(node: str, n: int) -> list[NodeCommand]:
    out = []
    for i in range(n):
        order = dc.PlaceOrder(
            account=node, market="m-bench", outcome=0, side=dc.Side.BUY, qty=10, price=500_000
        )
        out.append(NodeCommand(order, node, f"{node}-{uuid.uuid4().hex[:12]}-{i}"))
    return out


def cpu_self_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def cpu_of_s(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * TICK_S  # utime, stime


async def drive(
    transport: Transport, args: argparse.Namespace, child: int | None
) -> dict[str, Any]:
    clients = [await transport.client(f"bench{i}") for i in range(args.senders)]
    latencies: list[float] = []
    done = 0
    measuring = False
    stop = False

    async def sender(i: int) -> None:
        nonlocal done
        client = clients[i]
        batch = commands(client.node, args.batch)  # built once: the bus's cost, not ours
        while not stop:
            started = time.perf_counter()
            answers = await client.submit(batch)
            assert all(a.ok for a in answers)
            if measuring:
                latencies.append(time.perf_counter() - started)
                done += len(answers)

    tasks = [asyncio.create_task(sender(i)) for i in range(args.senders)]
    await asyncio.sleep(1.0)  # warm up
    measuring = True
    cpu0, child0, t0 = cpu_self_s(), cpu_of_s(child) if child else 0.0, time.perf_counter()
    await asyncio.sleep(args.seconds)
    measuring = False
    elapsed = time.perf_counter() - t0
    cpu1, child1 = cpu_self_s(), cpu_of_s(child) if child else 0.0
    stop = True
    await asyncio.gather(*tasks)
    latencies.sort()
    return {
        "commands_per_s": round(done / elapsed),
        "batches": len(latencies),
        "rtt_p50_us": round(latencies[len(latencies) // 2] * 1e6),
        "rtt_p99_us": round(latencies[int(len(latencies) * 0.99)] * 1e6),
        "cpu_us_per_command_sender": round((cpu1 - cpu0) / done * 1e6, 2),
        "cpu_us_per_command_receiver": (
            round((child1 - child0) / done * 1e6, 2) if child else "same process as sender"
        ),
    }


async def run_embedded(args: argparse.Namespace) -> dict[str, Any]:
    bus = EmbeddedTransport(LIMITS)
    await bus.serve(Counter().handle)
    try:
        return await drive(bus, args, None)
    finally:
        await bus.close()


async def run_nats(args: argparse.Namespace) -> dict[str, Any]:
    prefix = f"bench{uuid.uuid4().hex[:8]}"
    child = subprocess.Popen(
        [sys.executable, __file__, "--serve", "--nats-url", args.nats_url, "--prefix", prefix],
        stdout=subprocess.PIPE,
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == b"ready"
        transport = await NatsTransport.connect(args.nats_url, prefix=prefix, limits=LIMITS)
        try:
            return await drive(transport, args, child.pid)
        finally:
            await transport.close()
    finally:
        child.terminate()
        child.wait()


async def serve(url: str, prefix: str) -> None:
    transport = await NatsTransport.connect(url, prefix=prefix, limits=LIMITS)
    await transport.serve(Counter().handle)
    print("ready", flush=True)
    await asyncio.Event().wait()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--senders", type=int, default=16)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--impls", default="embedded,nats")
    parser.add_argument("--nats-url", default="nats://127.0.0.1:4222")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--prefix", default="bench", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        asyncio.run(serve(args.nats_url, args.prefix))
        return 0
    summary: dict[str, Any] = {"what": "bench/transport.py", "senders": args.senders}
    summary["batch"] = args.batch
    summary["loadavg_1m"] = os.getloadavg()[0]
    runners = {"embedded": run_embedded, "nats": run_nats}
    for impl in args.impls.split(","):
        line = {"impl": impl, **asyncio.run(runners[impl](args))}
        print(json.dumps(line), flush=True)
        summary[impl] = line
    print(json.dumps(summary), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
