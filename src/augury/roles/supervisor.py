"""``augury serve --workers N``: every role as a process of its own, on one machine.

One ``augury engine``, N ``augury api`` nodes sharing the port (``SO_REUSEPORT``: the
kernel spreads the connections), and the followers (``project``, ``watch`` unless
surveillance is off, ``observe``), all connected by the bus (``--nats-url``). The
supervisor starts them in order (the engine first, the API nodes once it sequences),
restarts one that exits (waiting 1 s, doubling up to 30 s while it keeps failing) and,
on SIGTERM or SIGINT, stops them in reverse order. The roles' output is this process's.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

RESTART_WAIT_S = 1.0
RESTART_WAIT_MAX_S = 30.0
STOP_WAIT_S = 20.0
ENGINE_START_S = 120.0


@dataclass
class Child:
    name: str
    args: list[str]
    process: subprocess.Popen[bytes] | None = None
    wait_s: float = RESTART_WAIT_S
    restart_at: float = 0.0
    restarts: int = 0
    started_at: float = field(default=0.0)

    def start(self, env: dict[str, str]) -> None:
        self.process = subprocess.Popen([sys.executable, "-m", "augury.cli", *self.args], env=env)
        self.started_at = time.monotonic()

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None


def role_args(workers: int, port: int, host: str, surveillance: bool) -> list[Child]:
    """The children of a one-machine cluster, in start order."""
    children = [Child("engine", ["engine"]), Child("project", ["follow", "--role", "project"])]
    if surveillance:
        children.append(Child("watch", ["follow", "--role", "watch"]))
    children.append(Child("observe", ["follow", "--role", "observe"]))
    for i in range(workers):
        args = ["api", "--host", host, "--port", str(port), "--reuse-port"]
        children.append(Child(f"api-{i + 1}", [*args, "--node-name", f"api-{i + 1}"]))
    return children


def supervise(children: list[Child], env: dict[str, str], ready: str = "") -> int:
    """Run ``children`` until a signal; 0 after a clean stop."""
    stopping = False

    def stop(_signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    previous = {s: signal.signal(s, stop) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        for child in children:
            child.start(env)
            if child.name == "engine":
                time.sleep(0.5)  # the engine takes the journal first (recovery)
        while not stopping:
            time.sleep(0.2)
            now = time.monotonic()
            for child in children:
                if child.alive or stopping:
                    continue
                if child.restart_at == 0.0:
                    code = child.process.returncode if child.process is not None else None
                    log.warning(
                        "%s exited (%s); restarting in %.0f s", child.name, code, child.wait_s
                    )
                    print(f"augury serve: {child.name} exited ({code}); restarting", flush=True)
                    child.restart_at = now + child.wait_s
                    lived = now - child.started_at
                    child.wait_s = (
                        RESTART_WAIT_S if lived > 60 else min(child.wait_s * 2, RESTART_WAIT_MAX_S)
                    )
                elif now >= child.restart_at:
                    child.restart_at = 0.0
                    child.restarts += 1
                    child.start(env)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        _stop_all(children)
    return 0


def _restart(child: Child, env: dict[str, str], now: float) -> None:
    """Schedule the restart of a child that exited, or run it once it is due."""
    if child.restart_at == 0.0:
        code = child.process.returncode if child.process is not None else None
        print(f"augury serve: {child.name} exited ({code}); restarting", flush=True)
        child.restart_at = now + child.wait_s
        lived = now - child.started_at
        doubled = min(child.wait_s * 2, RESTART_WAIT_MAX_S)
        child.wait_s = RESTART_WAIT_S if lived > 60 else doubled
    elif now >= child.restart_at:
        child.restart_at = 0.0
        child.restarts += 1
        child.start(env)


def _stop_all(children: list[Child]) -> None:
    for child in reversed(children):  # API nodes first, the engine last
        if child.alive:
            assert child.process is not None
            child.process.send_signal(signal.SIGTERM)
            try:
                child.process.wait(STOP_WAIT_S)
            except subprocess.TimeoutExpired:
                child.process.kill()
                child.process.wait(5)


def child_env(settings_env: dict[str, str]) -> dict[str, str]:
    return {**os.environ, **settings_env}
