"""What this machine charges for the things a split deployment does per message.

Usage: .venv/bin/python bench/machine.py [--rounds N]

Prints one JSON line: the interpreter's speed on a fixed pure-Python loop
(``python_loop_ns``), and the CPU (user + system, ``getrusage``) of a wake-up:

- ``pingpong``: two processes bouncing one byte over a loopback TCP connection
  (``TCP_NODELAY``), each side blocking in ``recv`` until the other's ``send`` wakes it:
  CPU per round trip of each side and the round trip's wall time. Every message between
  the roles (HTTP client -> API node -> NATS -> engine -> NATS -> node -> client) is at
  least one such wake-up of the process that receives it.
- ``threads``: two threads of one process handing a token back and forth through
  ``threading.Event`` (the engine's hand-offs between its loop, engine and writer
  threads): CPU per hand-off.
- ``timer``: a 200 us ``time.sleep`` (a timer wake-up): CPU per sleep.

On a machine where a wake-up costs tens of microseconds of CPU, a design that adds
hops per order adds that much per hop; compare runs on different machines with these
numbers beside them.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import socket
import sys
import threading
import time


def cpu_s(who: int = resource.RUSAGE_SELF) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def python_loop_ns(n: int = 2_000_000) -> float:
    table: dict[int, int] = {}
    started = time.perf_counter()
    for i in range(n):
        table[i & 1023] = table.get(i & 1023, 0) + i
    return (time.perf_counter() - started) * 1e9 / n


def pingpong(rounds: int) -> dict[str, float]:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]
    child = os.fork()
    if child == 0:  # the echoing side
        conn, _ = server.accept()
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        while data := conn.recv(1):
            conn.send(data)
        os._exit(0)
    server.close()
    client = socket.create_connection(("127.0.0.1", port))
    client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    for _ in range(100):  # warm up
        client.send(b"x")
        client.recv(1)
    cpu0, started = cpu_s(), time.perf_counter()
    for _ in range(rounds):
        client.send(b"x")
        client.recv(1)
    elapsed, cpu = time.perf_counter() - started, cpu_s() - cpu0
    client.close()
    os.waitpid(child, 0)
    echo = cpu_s(resource.RUSAGE_CHILDREN)  # includes the 100 warm-up rounds
    return {
        "round_trip_us": round(elapsed * 1e6 / rounds, 1),
        "sender_cpu_us": round(cpu * 1e6 / rounds, 1),
        "echo_cpu_us": round(echo * 1e6 / (rounds + 100), 1),
    }


def threads(rounds: int) -> dict[str, float]:
    ping, pong = threading.Event(), threading.Event()

    def other() -> None:
        for _ in range(rounds):
            ping.wait()
            ping.clear()
            pong.set()

    thread = threading.Thread(target=other)
    cpu0, started = cpu_s(), time.perf_counter()
    thread.start()
    for _ in range(rounds):
        ping.set()
        pong.wait()
        pong.clear()
    thread.join()
    elapsed, cpu = time.perf_counter() - started, cpu_s() - cpu0
    return {
        "hand_off_us": round(elapsed * 1e6 / (2 * rounds), 1),
        "cpu_per_hand_off_us": round(cpu * 1e6 / (2 * rounds), 1),
    }


def timer(rounds: int) -> dict[str, float]:
    cpu0 = cpu_s()
    for _ in range(rounds):
        time.sleep(0.0002)
    return {"cpu_per_sleep_us": round((cpu_s() - cpu0) * 1e6 / rounds, 1)}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20_000)
    args = parser.parse_args(argv)
    line = {
        "bench": "machine",
        "cpus": os.cpu_count(),
        "python_loop_ns": round(python_loop_ns(), 1),
        "pingpong": pingpong(args.rounds),
        "threads": threads(args.rounds),
        "timer": timer(args.rounds // 4),
        "load_1m": round(os.getloadavg()[0], 2),
    }
    print(json.dumps(line), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
