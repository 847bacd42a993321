"""Supervising processes on one machine: start them, restart what exits, stop them together.

Two users:

- ``augury serve --workers N``: every role a process of its own. One ``augury engine``,
  N ``augury api`` nodes sharing the port (``SO_REUSEPORT``: the kernel spreads the
  connections), and the followers (``project``, ``watch`` unless surveillance is off,
  ``observe``), all connected by the bus (``--nats-url``). They start in order (the
  engine first) and any that exits is restarted.
- ``augury serve`` (one process): the server runs as the one child of a small parent
  that holds the listening socket and restarts the server when it crashes
  (``augury.cli.serve_supervised``). Its exits also decide for the parent: one that
  fails before it ever served, or stops cleanly (status 0), ends the supervision with
  its status.

A child that exits is restarted after ``restart_wait_s`` (doubling up to 30 s while it
keeps failing; back to the first wait once it had run ``stable_s``). On SIGTERM or
SIGINT the supervisor stops the children in reverse order (SIGTERM, then SIGKILL after
``STOP_WAIT_S``) and returns 0. A child dies with the supervisor: on Linux the kernel
sends it SIGKILL when the supervisor dies (``PR_SET_PDEATHSIG``, set between fork and
exec), so a supervisor killed by SIGKILL leaves no orphan holding the port or the
journal. The children's output is the supervisor's.
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

RESTART_WAIT_S = 1.0
RESTART_WAIT_MAX_S = 30.0
STABLE_S = 60.0
STOP_WAIT_S = 20.0
POLL_S = 0.05
"""How often the supervisor looks at its children (a poll, cheap: nothing else runs here)."""
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
READY = b"R"
"""What a child that reports readiness writes on its ``--ready-fd`` once it serves."""
GO = b"G"
"""What the supervisor writes on a spare's ``--spare-fd`` to make it the child."""


@dataclass
class Child:
    name: str
    args: list[str]
    restart_wait_s: float = RESTART_WAIT_S
    """The wait before the first restart after a crash; it doubles while the child keeps
    failing, up to ``RESTART_WAIT_MAX_S``."""
    stable_s: float = STABLE_S
    """A child that ran this long (since it was ready) starts the backoff afresh."""
    reports_ready: bool = False
    """It gets ``--ready-fd N`` and writes ``READY`` there once it serves."""
    decides_exit: bool = False
    """Its exit ends the supervision when it never got ready (its status) or is clean (0)."""
    pass_fds: tuple[int, ...] = ()
    restart_args: tuple[str, ...] = ()
    """Appended to ``args`` when it is restarted (not on its first start)."""
    spare: bool = False
    """Keep a warm spare: once the child serves, a second process (``--spare-fd N``)
    imports everything and waits; a restart hands over to it (no imports to wait for)."""
    process: subprocess.Popen[bytes] | None = None
    wait_s: float = 0.0
    restart_at: float = 0.0
    restarts: int = 0
    started_at: float = field(default=0.0)
    ready_at: float = 0.0
    """When it reported ready (0.0: not yet); without ``reports_ready``, when it started."""
    ever_ready: bool = False
    exited_at: float = 0.0
    _ready_fd: int | None = None
    _spare: tuple[subprocess.Popen[bytes], int | None, int] | None = None
    """The spare: its process, its ready pipe, the pipe that tells it to go."""
    _spare_after: float = 0.0

    def start(self, env: dict[str, str]) -> None:
        if not self._promote_spare():
            args = [*self.args, *(self.restart_args if self.restarts else ())]
            process, ready_fd = self._spawn(args, env)
            self._close_ready()
            self.process, self._ready_fd = process, ready_fd
        self.started_at = time.monotonic()
        self.ready_at = 0.0 if self.reports_ready else self.started_at

    def _spawn(
        self, args: list[str], env: dict[str, str], *fds: int
    ) -> tuple[subprocess.Popen[bytes], int | None]:
        """The process, and the read end of its ready pipe (``reports_ready``)."""
        fds = (*self.pass_fds, *fds)
        read_fd = write_fd = None
        if self.reports_ready:
            read_fd, write_fd = os.pipe()
            os.set_blocking(read_fd, False)
            args = [*args, "--ready-fd", str(write_fd)]
            fds = (*fds, write_fd)
        try:
            process = subprocess.Popen(
                [sys.executable, "-m", "augury.cli", *args],
                env=env,
                pass_fds=fds,
                preexec_fn=_die_with(os.getpid()),
            )
        except BaseException:
            if read_fd is not None:
                os.close(read_fd)
            raise
        finally:
            if write_fd is not None:
                os.close(write_fd)  # the child's copy is the only one: EOF when it dies
        return process, read_fd

    def keep_spare(self, env: dict[str, str], now: float) -> None:
        """Start the warm spare when one is wanted: the child serves and none is alive
        (at most one start per ``stable_s``: a spare that keeps dying is not hurried)."""
        if not self.spare or not self.ready_at or not self.alive or now < self._spare_after:
            return
        if self._spare is not None and self._spare[0].poll() is None:
            return
        self.stop_spare()
        go_read, go_write = os.pipe()
        try:
            args = [*self.args, *self.restart_args, "--spare-fd", str(go_read)]
            process, ready_fd = self._spawn(args, env, go_read)
        except BaseException:
            os.close(go_write)
            raise
        finally:
            os.close(go_read)
        self._spare = (process, ready_fd, go_write)
        self._spare_after = now + self.stable_s

    def _promote_spare(self) -> bool:
        """Tell the spare to go and make it the child; False if there is none alive."""
        if self._spare is None:
            return False
        process, ready_fd, go_fd = self._spare
        try:
            os.write(go_fd, GO)
        except OSError:  # it died: start afresh instead
            self.stop_spare()
            return False
        self._spare = None
        os.close(go_fd)
        self._close_ready()
        self.process, self._ready_fd = process, ready_fd
        return True

    def stop_spare(self) -> None:
        spare, self._spare = self._spare, None
        if spare is None:
            return
        process, ready_fd, go_fd = spare
        os.close(go_fd)  # end of file: a spare stops by itself
        if ready_fd is not None:
            os.close(ready_fd)
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(STOP_WAIT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def check_ready(self, now: float) -> bool:
        """True the first time the child's ready byte is read (after each start)."""
        if self._ready_fd is None or self.ready_at:
            return False
        try:
            got = os.read(self._ready_fd, 16)
        except BlockingIOError:
            return False
        self._close_ready()
        if READY not in got:
            return False  # end of file: it died first
        self.ready_at = now
        self.ever_ready = True
        return True

    def _close_ready(self) -> None:
        fd, self._ready_fd = self._ready_fd, None
        if fd is not None:
            os.close(fd)

    def schedule_restart(self, now: float) -> float:
        """The exited child's restart time, with the backoff; returns the wait."""
        if self.ready_at and now - self.ready_at >= self.stable_s:
            self.wait_s = 0.0  # it had been running fine: start the backoff afresh
        self.wait_s = (
            self.restart_wait_s if self.wait_s <= 0 else min(self.wait_s * 2, RESTART_WAIT_MAX_S)
        )
        self.restart_at = now + self.wait_s
        self.exited_at = now
        return self.wait_s


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


def describe_exit(code: int | None) -> str:
    """``status 1``, ``killed by SIGKILL``."""
    if code is None:
        return "still running"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"status {code}"


def supervise(
    children: list[Child],
    env: dict[str, str],
    on_ready: Callable[[Child], None] | None = None,
) -> int:
    """Run ``children`` until a signal (0), or until a ``decides_exit`` child ends it."""
    stopping = False
    status = 0

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
            time.sleep(POLL_S)
            now = time.monotonic()
            for child in children:
                if child.check_ready(now) and on_ready is not None:
                    on_ready(child)
                child.keep_spare(env, now)
                if stopping or child.alive:
                    continue
                ended = _ends_supervision(child)
                if ended is not None:
                    status, stopping = ended, True
                    break
                _restart(child, env, now)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        _stop_all(children)
    return status


def _ends_supervision(child: Child) -> int | None:
    """The supervisor's status if this exited child ends it, else None (restart it)."""
    if not child.decides_exit or child.restart_at:
        return None
    assert child.process is not None
    code = child.process.returncode
    if code == 0:
        return 0  # it stopped cleanly: so does the supervisor
    if child.ever_ready:
        return None  # it had served: a crash, restart it
    return code if code > 0 else 128 - code  # it never could start: say so, as a shell would


def _restart(child: Child, env: dict[str, str], now: float) -> None:
    """Schedule the restart of a child that exited, or run it once it is due."""
    if child.restart_at == 0.0:
        code = child.process.returncode if child.process is not None else None
        wait_s = child.schedule_restart(now)
        log.info("%s exited (%s); restarting in %.1f s", child.name, code, wait_s)
        print(
            f"augury serve: {child.name} exited ({describe_exit(code)}); "
            f"restarting in {wait_s:.1f} s",
            flush=True,
        )
    elif now >= child.restart_at:
        child.restart_at = 0.0
        child.restarts += 1
        child.start(env)


def _stop_all(children: list[Child]) -> None:
    for child in reversed(children):  # API nodes first, the engine last
        child.stop_spare()
        if child.alive:
            assert child.process is not None
            child.process.send_signal(signal.SIGTERM)
            try:
                child.process.wait(STOP_WAIT_S)
            except subprocess.TimeoutExpired:
                child.process.kill()
                child.process.wait(5)
        child._close_ready()


def _die_with(parent: int) -> Callable[[], None]:
    """What the child runs between fork and exec: ask the kernel for SIGKILL when the
    supervisor dies (Linux; it survives exec), and exit at once if it died already."""
    prctl = _prctl()

    def preexec() -> None:
        if prctl is not None:
            prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:  # it died before the request took effect
            os._exit(1)

    return preexec


def _prctl() -> Callable[..., int] | None:
    """libc's ``prctl`` (looked up before the fork), or None off Linux."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        function: Callable[..., int] = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    return function
