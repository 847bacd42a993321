"""``augury serve`` supervised: a small parent holds the port and restarts the server.

The parent (:func:`supervise_server`) validates the settings, refuses at once a SQLite
journal that another server holds, binds the listening socket itself and runs the real
server as its one child (``augury serve --listen-fd N``, ``augury.roles.supervisor``).
It imports none of the application. When the child crashes (SIGKILL, a segfault, the
OOM killer, an engine that stopped by an error) the parent starts a new one, first
after 0.1 s, then backing off while it keeps failing. The socket stays bound and
listening throughout, so a client's connection waits in the backlog for the next
child instead of being refused. SIGTERM or SIGINT stops the child cleanly and the
parent exits 0; a child that stops cleanly by itself ends the parent with 0 too, and a
first child that cannot start at all (a bad setting, a locked journal, an unreachable
database) ends it with the child's status and one line of why. The child dies with the
parent (``PR_SET_PDEATHSIG``, and here a check of the parent's pid as a fallback).

The child (:class:`ServedChild`) is the one-process server of ``--no-supervise``, plus:

- the journal's writer lock is the fence: a restarted child (``--restart``) waits for
  it (up to ``LOCK_WAIT_S``) while its predecessor is still going away (a flock is
  dropped when the process is gone; a PostgreSQL session lock when the database
  notices);
- if the engine stops by an error (memory may be ahead of the journal) the child stops
  serving and exits with status 1 rather than answering 503 for ever: the parent starts
  a new one, which recovers from the journal. An acknowledged command is durable
  before its answer, and a retry with its ``Idempotency-Key`` gets the first answer;
- it writes one byte on ``--ready-fd`` once it serves (the parent reports the restart);
- as a warm spare (``--warm-spare``; ``--spare-fd N``) it loads the application and waits
  until the parent says go (a restart without the imports, about a second) or goes away.

The first child prints the admin's password (first start only: the account is in the
database, a restart makes none) and the banner. docs/failover.md, "SQLite".
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import signal
import socket
import threading
import time
from pathlib import Path
from typing import Any

from augury.cli._common import CliError, _err

log = logging.getLogger(__name__)

RESTART_WAIT_S = 0.1
"""The wait before the first restart (it doubles while the child keeps crashing)."""
STABLE_S = 5.0
"""A child that served this long before it crashed starts the backoff afresh."""
LOCK_WAIT_S = 30.0
"""How long a restarted child waits for the journal's writer lock."""
CHECK_S = 0.1
"""How often the child looks at its engine and its parent."""
EXIT_GRACE_S = 10.0
"""How long a child that must go (engine stopped, parent gone) may take to stop cleanly."""
SPARE_CHECK_S = 0.5
"""How often a waiting spare looks at its parent and for a signal."""
EXIT_ENGINE_STOPPED = 1
BACKLOG = 2048
"""Connections the kernel queues while no child accepts (uvicorn's own default)."""


def supervise_server(settings: Any, flags: list[str], spare: bool = False) -> int:
    """The parent: hold the port, run the server as a child, restart it when it crashes.

    ``flags`` are the child's own ``serve`` options (the ones given on the command line;
    the rest come from the environment it inherits). ``spare``: keep a warm spare (a
    second process that has loaded the application and waits: a restart then skips
    the imports, about a second, for the memory of one more process). Returns the exit
    status.
    """
    from augury.roles.supervisor import Child, supervise

    if not settings.database_url:  # the common mistake, refused before taking the port
        from augury.journal.errors import JournalLocked
        from augury.journal.sqlite_store import writer_lock_holder

        path = settings.data_dir / "journal.db"
        holder = writer_lock_holder(path)
        if holder is not None:
            raise JournalLocked(f"sqlite:{path}", holder)
    listener = listen(settings.host, settings.port)
    try:
        fd = listener.fileno()
        child = Child(
            "server",
            ["serve", *flags, "--listen-fd", str(fd)],
            restart_wait_s=RESTART_WAIT_S,
            stable_s=STABLE_S,
            reports_ready=True,
            decides_exit=True,
            pass_fds=(fd,),
            restart_args=("--restart",),
            spare=spare,
        )
        return supervise([child], dict(os.environ), on_ready=_report_ready)
    finally:
        listener.close()


def listen(host: str, port: int) -> socket.socket:
    """The listening socket, bound as uvicorn binds its own (CliError if it cannot)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(BACKLOG)
    except OSError as exc:
        sock.close()
        raise CliError(f"could not serve on {host}:{port}: {exc.strerror or exc}") from None
    return sock


def _report_ready(child: Any) -> None:
    if child.restarts:
        down_s = time.monotonic() - child.exited_at
        print(
            f"augury serve: serving again {down_s:.1f} s after the server exited "
            f"(restart {child.restarts}, pid {child.process.pid})",
            flush=True,
        )


def start_services(settings: Any, restart: bool, stop: threading.Event) -> Any:
    """``Services.start``; a ``restart`` waits up to ``LOCK_WAIT_S`` for the journal's
    writer lock (its predecessor may still hold it for a moment) and serves without
    waiting for the read models. None if asked to stop meanwhile."""
    from augury.journal import JournalLocked
    from augury.roles.services import Services

    deadline = time.monotonic() + (LOCK_WAIT_S if restart else 0.0)
    said = False
    while True:
        try:
            return Services.start(settings, restart=restart)
        except JournalLocked as exc:
            if time.monotonic() >= deadline or type(exc) is not JournalLocked:
                raise  # a fenced PostgreSQL journal (a live lease) is no predecessor
            if not said:
                print(f"augury serve: waiting for the journal: {exc}", flush=True)
                said = True
        if stop.wait(0.1):
            return None


class ServedChild:
    """The supervised server's own side: signals, its lifeline to the parent, the
    engine watch, the ready byte. Use as a context manager around the whole child."""

    def __init__(self, ready_fd: int | None) -> None:
        self.parent = os.getppid()
        self.ready_fd = ready_fd
        self.stop = threading.Event()
        """SIGTERM or SIGINT came (while uvicorn does not run)."""
        self.engine_failed = False
        self.server: Any = None
        self._must_go = threading.Event()
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> ServedChild:
        # Until uvicorn runs (and again after it: it re-raises what it caught), a signal
        # only asks to stop, so a child stops cleanly (status 0) at any point.
        self._previous = {
            s: signal.signal(s, self._on_signal) for s in (signal.SIGTERM, signal.SIGINT)
        }
        return self

    def __exit__(self, *exc: object) -> None:
        self._close_ready()
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)

    def _on_signal(self, _signum: int, _frame: object) -> None:
        self.stop.set()
        if self.server is not None:
            self.server.should_exit = True

    def wait_for_go(self, go_fd: int) -> bool:
        """A warm spare: load what serving needs, then wait for the supervisor's word
        (True), or its end or a signal (False)."""
        import augury.cli.http_onewrite  # run_http's uvicorn and protocol, loaded now
        import augury.roles.services  # noqa: F401
        from augury.roles.supervisor import GO

        try:
            while not self.stop.is_set() and os.getppid() == self.parent:
                if select.select([go_fd], [], [], SPARE_CHECK_S)[0]:
                    return os.read(go_fd, 1) == GO  # b"": the supervisor dropped it
            return False
        finally:
            os.close(go_fd)

    def serve(self, app: Any, settings: Any, services: Any, listen_fd: int) -> int:
        """Serve ``app`` on the inherited socket until a signal (0) or until the engine
        stops by an error (``EXIT_ENGINE_STOPPED``)."""
        from augury.cli._common import run_http

        watch = threading.Thread(
            target=self._watch, args=(services,), name="augury-serve-watch", daemon=True
        )
        watch.start()
        listener = socket.socket(fileno=listen_fd)
        try:
            run_http(app, settings, sockets=[listener], on_server=self._on_server)
        finally:
            services.stop()
        return EXIT_ENGINE_STOPPED if self.engine_failed else 0

    def _on_server(self, server: Any) -> None:
        self.server = server
        if self.stop.is_set() or self._must_go.is_set():
            server.should_exit = True

    def _watch(self, services: Any) -> None:
        """Every CHECK_S: report ready once uvicorn serves; go when the engine stopped
        by an error or the parent is gone."""
        engine = services.engine
        while not self._must_go.wait(CHECK_S):
            server = self.server
            if self.ready_fd is not None and server is not None and server.started:
                _write_ready(self.ready_fd)
                self._close_ready()
            if services.stopped:
                return  # shutting down: the engine is being closed, not failing
            if not engine.running and not services.stopped:
                self.engine_failed = True
                message = (
                    "the engine stopped by an error (see above); exiting with status "
                    f"{EXIT_ENGINE_STOPPED} for the supervisor to restart the server, which "
                    "recovers from the journal"
                )
                log.error(message)
                _err(f"augury serve: {message}")
                self._go()
            elif os.getppid() != self.parent:
                _err("augury serve: the supervising augury serve is gone; stopping")
                self._go()

    def _go(self) -> None:
        """Stop serving (uvicorn finishes the requests in flight), or exit anyway after
        ``EXIT_GRACE_S``."""
        self._must_go.set()
        if self.server is not None:
            self.server.should_exit = True
        status = EXIT_ENGINE_STOPPED if self.engine_failed else 1
        timer = threading.Timer(EXIT_GRACE_S, os._exit, (status,))
        timer.daemon = True
        timer.start()

    def _close_ready(self) -> None:
        fd, self.ready_fd = self.ready_fd, None
        if fd is not None:
            os.close(fd)


def _write_ready(fd: int) -> None:
    from augury.roles.supervisor import READY

    with contextlib.suppress(OSError):  # the parent is gone: the watch notices
        os.write(fd, READY)


def child_flags(given: dict[str, Any]) -> list[str]:
    """The ``serve`` options given on the command line, for the child (the data
    directory made absolute)."""
    flags: list[str] = []
    for name, value in given.items():
        if value is None:
            continue
        if isinstance(value, Path):
            value = value.resolve()
        flags += [f"--{name.replace('_', '-')}", str(value)]
    return flags
