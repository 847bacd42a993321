"""Processes for ``bench/roles.py``: starting Augury's roles, their CPU time, py-spy.

- :class:`Role`: one ``augury <command>`` process (the CLI of ``src/``, this
  interpreter), its output in a log file, waited for by a line it prints or by its
  ``/api/v1/health``; stopped with SIGTERM (then SIGKILL) by its own pid.
- :func:`cpu_ticks`: user + system clock ticks of a process, all threads, from
  ``/proc/<pid>/stat``; :func:`descendants` its child processes.
- :class:`PgBackends`: the PostgreSQL backends serving the connections of given
  processes (their sockets to the server's port, matched by client port).
- :func:`nats_server_pids`: the local ``nats-server`` (shared with other users of the
  machine: its CPU is everybody's traffic, ours included).
- :func:`profile`: ``py-spy record --format raw`` on a pid for some seconds (non-blocking
  sampling: the process is not paused), summed per thread and per function.
- :class:`BusCount`: the messages on a deployment's command and record subjects.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import nats
import psycopg

TICK_S = 1 / os.sysconf("SC_CLK_TCK")
START_S_MAX = 90.0


def cpu_s(who: int = resource.RUSAGE_SELF) -> float:
    """User + system CPU seconds of this process (or of its reaped children)."""
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def cpu_ticks(pid: int) -> int:
    """utime + stime of the process (every thread); 0 if it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except (FileNotFoundError, ProcessLookupError):
        return 0
    return int(fields[11]) + int(fields[12])


def switches(pid: int) -> tuple[int, int, int]:
    """(user ticks, voluntary, involuntary context switches) of the process, every
    thread; zeros if it is gone. A voluntary switch is the process blocking (to be
    woken again: a message, a lock, a timer); an involuntary one, being preempted."""
    try:
        user = int(Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[11])
        voluntary = involuntary = 0
        for task in Path(f"/proc/{pid}/task").iterdir():
            for line in (task / "status").read_text().splitlines():
                if line.startswith("voluntary_ctxt_switches"):
                    voluntary += int(line.split()[1])
                elif line.startswith("nonvoluntary_ctxt_switches"):
                    involuntary += int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        return (0, 0, 0)
    return (user, voluntary, involuntary)


def switches_per_op(
    before: dict[str, dict[int, tuple[int, int, int]]],
    after: dict[str, dict[int, tuple[int, int, int]]],
    cpu_ticks_by_name: dict[str, int],
    ops: int,
) -> dict[str, dict[str, float]]:
    """Per process group over the window: the share of its CPU in user space (the rest
    is the kernel: syscalls, wake-ups), and its voluntary / involuntary context switches
    per operation."""
    out: dict[str, dict[str, float]] = {}
    for name, pids in after.items():
        d = [0, 0, 0]
        for p, counts in pids.items():
            old = before.get(name, {}).get(p, (0, 0, 0))
            for i in range(3):
                d[i] += counts[i] - old[i]
        ticks = cpu_ticks_by_name.get(name, 0)
        out[name] = {
            "user_pct": round(100 * d[0] / ticks, 1) if ticks else 0.0,
            "voluntary_per_op": round(d[1] / max(1, ops), 2),
            "involuntary_per_op": round(d[2] / max(1, ops), 2),
        }
    return out


def descendants(pid: int) -> list[int]:
    """The process's children, grandchildren ... (from /proc/<pid>/task/*/children)."""
    out: list[int] = []
    pending = [pid]
    while pending:
        parent = pending.pop()
        try:
            for task in Path(f"/proc/{parent}/task").iterdir():
                children = [int(c) for c in (task / "children").read_text().split()]
                out += children
                pending += children
        except (FileNotFoundError, ProcessLookupError):
            continue
    return out


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except (FileNotFoundError, ProcessLookupError):
        return ""


def nats_server_pids() -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == "nats-server":
                    pids.append(int(entry.name))
            except (FileNotFoundError, ProcessLookupError):
                continue
    return pids


class PgBackends:
    """The PostgreSQL backends serving connections of given processes: their sockets
    (``/proc/<pid>/fd``) whose peer is the server's port (``/proc/net/tcp*``), matched
    by client port in ``pg_stat_activity``."""

    def __init__(self, dsn: str, port: int = 5432) -> None:
        self.dsn = dsn
        self.port = port

    def pids(self, clients: list[int]) -> list[int]:
        ports = self._client_ports(clients)
        if not ports:
            return []
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            rows = conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE client_port = ANY(%s)", (sorted(ports),)
            ).fetchall()
        return [int(row[0]) for row in rows]

    def _client_ports(self, clients: list[int]) -> set[int]:
        inodes: set[str] = set()
        for pid in clients:
            try:
                for fd in Path(f"/proc/{pid}/fd").iterdir():
                    with contextlib.suppress(OSError):
                        target = os.readlink(fd)
                        if target.startswith("socket:["):
                            inodes.add(target[8:-1])
            except (FileNotFoundError, ProcessLookupError):
                continue
        ports: set[int] = set()
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            with contextlib.suppress(FileNotFoundError):
                for line in Path(table).read_text().splitlines()[1:]:
                    fields = line.split()
                    local, remote, inode = fields[1], fields[2], fields[9]
                    if inode in inodes and int(remote.rsplit(":", 1)[1], 16) == self.port:
                        ports.add(int(local.rsplit(":", 1)[1], 16))
        return ports


class Role:
    """One ``augury`` role process of a run (see the module docstring)."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], workdir: Path) -> None:
        self.name = name
        self.log = workdir / f"{name}.log"
        command = [sys.executable, "-m", "augury.cli", *args]
        with open(self.log, "wb") as out:
            self.process = subprocess.Popen(
                command, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=workdir
            )

    @property
    def pid(self) -> int:
        return self.process.pid

    def wait_line(self, pattern: str, timeout_s: float = START_S_MAX) -> re.Match[str]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            found = re.search(pattern, self.log.read_text(errors="replace"))
            if found:
                return found
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"{self.name} did not print {pattern!r}:\n{self.log.read_text()}")

    def wait_http(self, base_url: str, timeout_s: float = START_S_MAX) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                if httpx.get(base_url + "/api/v1/health", timeout=1.0).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{self.name} did not serve:\n{self.log.read_text()}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


def py_spy() -> str | None:
    """The py-spy executable: $PY_SPY, on PATH, or next to this interpreter."""
    found = os.environ.get("PY_SPY") or shutil.which("py-spy")
    beside = Path(sys.executable).with_name("py-spy")
    return found or (str(beside) if beside.exists() else None)


async def profile(pid: int, seconds: float, out: Path, rate: int = 0) -> dict[str, Any]:
    """py-spy (non-blocking; ``--gil``: only the thread holding the interpreter's lock,
    so the shares are of the process's Python time) on ``pid``: samples per thread, the
    functions with the most samples on top of the stack (self) and anywhere in it
    (inclusive), as a percentage of the process's samples."""
    exe = py_spy()
    if exe is None:
        return {"profile": "py-spy not found (set PY_SPY)"}
    rate = rate or int(os.environ.get("PY_SPY_RATE", "100"))  # samples per second
    args = [exe, "record", "--pid", str(pid), "--duration", str(round(seconds))]
    args += ["--rate", str(rate), "--format", "raw", "--threads", "--nonblocking", "--gil"]
    args += ["--output", str(out)]
    process = await asyncio.create_subprocess_exec(
        *args, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
    )
    _, err = await process.communicate()
    if process.returncode != 0 or not out.exists():
        return {"profile": f"py-spy failed: {err.decode(errors='replace')[-300:]}"}
    return summarize_profile(out.read_text())


def summarize_profile(raw: str, top: int = 15) -> dict[str, Any]:
    threads: collections.Counter[str] = collections.Counter()
    own: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = stack.split(";")
        total += count
        threads[_thread_name(frames[0])] += count
        own[_frame(frames[-1])] += count
        for frame in {_frame(f) for f in frames[1:]}:
            inclusive[frame] += count

    def share(counter: collections.Counter[str]) -> list[list[Any]]:
        return [[name, round(100 * n / total, 1)] for name, n in counter.most_common(top)]

    if not total:
        return {"profile_samples": 0}
    return {
        "profile_samples": total,
        "profile_threads_pct": share(threads),
        "profile_self_pct": share(own),
        "profile_inclusive_pct": share(inclusive),
    }


def _thread_name(frame: str) -> str:
    found = re.search(r'"([^"]*)"', frame)
    return found.group(1) if found else frame[:40]


def _frame(frame: str) -> str:
    """``fn (module/path.py:12)`` -> ``fn (path.py)``: lines of one function together."""
    found = re.match(r"(.*) \((.*?):\d+\)$", frame.strip())
    if not found:
        return frame.strip()
    name, path = found.groups()
    parts = Path(path).parts
    short = "/".join(parts[parts.index("augury") :]) if "augury" in parts else Path(path).name
    return f"{name} ({short})"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class BusCount:
    """Counts the messages on the bus's command and record subjects (a plain NATS
    subscriber outside the sequencer's queue group: it sees every message too), the
    leader's epoch subjects (``<prefix>.cmd.eN``, roles.cluster) included."""

    def __init__(self, nc: Any) -> None:
        self.nc = nc
        self.counting = False
        self.messages = {"cmd": 0, "rec": 0}

    @classmethod
    async def start(cls, url: str, prefix: str) -> BusCount:
        counter = cls(await nats.connect(url))
        for kind in counter.messages:

            async def count(_msg: Any, kind: str = kind) -> None:
                if counter.counting:
                    counter.messages[kind] += 1

            await counter.nc.subscribe(f"{prefix}.{kind}", cb=count)
            if kind == "cmd":  # on PostgreSQL nodes send to the leader's epoch subject
                await counter.nc.subscribe(f"{prefix}.cmd.*", cb=count)
        return counter

    def per_order(self, orders: int) -> dict[str, float]:
        return {
            f"bus_{kind}_messages_per_order": round(n / max(1, orders), 3)
            for kind, n in self.messages.items()
        }

    async def close(self) -> None:
        await self.nc.close()


def cpu_us_per_op(
    before: dict[str, dict[int, int]],
    after: dict[str, dict[int, int]],
    loadgen_s: float,
    ops: int,
) -> dict[str, float]:
    """CPU µs per operation of each process group over the window (a pid that appeared
    meanwhile counts from 0; one that ended meanwhile is lost)."""
    out: dict[str, float] = {}
    for name, pids in after.items():
        ticks = sum(t - before.get(name, {}).get(p, 0) for p, t in pids.items())
        out[name] = round(ticks * TICK_S * 1e6 / max(1, ops), 1)
    out["loadgen"] = round(loadgen_s * 1e6 / max(1, ops), 1)
    out["total"] = round(sum(out.values()), 1)
    return out


def ticks_by_name(
    before: dict[str, dict[int, int]], after: dict[str, dict[int, int]]
) -> dict[str, int]:
    return {
        name: sum(t - before.get(name, {}).get(p, 0) for p, t in pids.items())
        for name, pids in after.items()
    }


def per_order(before: Any, after: Any, loadgen_s: float, orders: int) -> dict[str, Any]:
    """``Deployment.counters`` before and after a run, per order."""
    ticks = ticks_by_name(before[0], after[0])
    return {
        "cpu_us_per_order": cpu_us_per_op(before[0], after[0], loadgen_s, orders),
        "switches_per_order": switches_per_op(before[1], after[1], ticks, orders),
    }


NATS_GOMAXPROCS = [0]  # the private nats-server's GOMAXPROCS (0: the shared server)
NATS_SERVER = shutil.which("nats-server") or "/usr/sbin/nats-server"


@contextlib.contextmanager
def private_nats(args: argparse.Namespace) -> Iterator[None]:
    """With ``--nats-gomaxprocs N``: a nats-server of this run's own on a free port,
    its Go runtime limited to N threads running Go code (``GOMAXPROCS``), instead of
    ``--nats-url``; only its CPU is counted."""
    if not args.nats_gomaxprocs:
        yield
        return
    port = free_port()
    server = subprocess.Popen(
        [NATS_SERVER, "-a", "127.0.0.1", "-p", str(port)],
        env={**os.environ, "GOMAXPROCS": str(args.nats_gomaxprocs)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port)):
                break
            time.sleep(0.05)
        args.nats_url, args.nats_pid = f"nats://127.0.0.1:{port}", server.pid
        NATS_GOMAXPROCS[0] = args.nats_gomaxprocs
        yield
    finally:
        server.terminate()
        server.wait(10)
