"""The read models kept up to date by a process of their own (the server's default).

The projector costs about as much interpreter time per order as the rest of the server
(SQLAlchemy building and writing rows); on a thread of the server process it holds the
GIL that the event loop, the engine and its journal writer need. Here a child process
(multiprocessing "spawn": never fork a threaded server) owns the :class:`Projector`:

* It follows the journal the way any reader can: its own read-only store object
  (``open_store(url, namespace=...)``), ``store.read(from_seq=last + 1)``, up to
  ``batch_records`` records per transaction. It starts with a catch-up to the journal's
  head (at the server's start a failure there is fatal: the server does not start on
  read models it cannot write), then applies whatever has been committed since, batch after batch.
* It gathers records: while following, a batch starts at least ``Pace.gap_s`` after
  the previous one started (``augury.roles.pacing``: 2 ms, doubling up to 10 ms while
  every batch finds records waiting), so that under load each transaction carries
  tens of records (a transaction costs about what projecting several does) instead of
  a few; a record that comes after a pause is applied at once.
* It does not poll. When it runs out of records it raises a shared ``idle`` flag and
  sleeps on a pipe; the engine's subscriber (on the journal writer thread, right after
  a group is durable) writes one byte to that pipe only if the flag is up, so a busy
  projector costs the server one shared-memory read per record and no system call.
  (It also wakes every ``IDLE_POLL_S``, which only matters if a wake-up were lost.)
* After each committed batch it writes ``(applied seq, failures)`` to a second pipe; a
  thread of the server reads it and resolves the requests waiting in
  :meth:`ProcessFollower.wait_for` (``Services.barrier``) on their event loops.
* A batch that fails wrote nothing (the projector's guarantee); it is retried as it is
  (backing off up to 5 s), so no record is skipped; the failures are reported with the
  seq. If the process dies anyway (killed, out of memory, the journal unreadable), the
  server starts a new one after ``RESTART_DELAY_S`` (doubling, up to a minute, while
  none gets to report), which carries on from the read models' ``last_seq``.
* Stopping: the server closes the engine first (everything acknowledged is in the
  journal), then sends a stop byte; the child applies the rest of the journal, reports
  and exits. It ignores SIGINT and SIGTERM (they reach the whole process group; the server
  decides when it stops) and exits by itself if the server goes away (end of file on
  the wake-up pipe). A child still retrying after ``STOP_RETRY_S`` gives up (the next
  start catches up); one that does not exit is terminated.

SQLite: the read models' file is also opened by the server (reads, and the identity
tables it writes). Both sides use WAL with a 10 s busy timeout (``projection_engine``),
and pysqlite opens a transaction only at its first write, so the two processes' writes
queue for the lock instead of failing. PostgreSQL needs nothing special.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import select
import signal
import struct
import threading
import time
from multiprocessing.connection import Connection
from multiprocessing.context import SpawnProcess
from typing import Any

from augury.engine.entry import Entry, decode_entry
from augury.journal import open_store
from augury.journal.records import KIND_COMMAND
from augury.priority import lower_priority
from augury.projections import BATCH_RECORDS_DEFAULT, Projector
from augury.projections.projector import Item
from augury.roles.applied import AppliedSeq
from augury.roles.pacing import Pace

log = logging.getLogger(__name__)

IDLE_POLL_S = 0.5
"""Longest an idle child sleeps without a wake-up before looking at the journal again."""
STOP_RETRY_S = 20.0
"""How long a child asked to stop keeps retrying a failing batch before giving up."""
RESTART_DELAY_S = 1.0
"""Pause before starting a new child after one died unexpectedly."""
_WAKE, _STOP = b"\0", b"\1"
_REPORT = struct.Struct("<qq")  # (applied seq, failures): 16 bytes, written atomically


# -- the child process ----------------------------------------------------------------------
def _child(
    journal_url: str,
    journal_namespace: str,
    projections_url: str,
    projections_namespace: str,
    wake: Connection,
    report: Connection,
    idle: Any,
    batch_records: int,
    fatal_catch_up: bool,
    nice: int,
) -> None:
    lower_priority(nice)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # e.g. systemd signals the whole group
    os.set_blocking(wake.fileno(), False)
    store = open_store(journal_url, namespace=journal_namespace)
    try:
        with Projector(projections_url, namespace=projections_namespace) as projector:
            child = _Child(store, projector, wake.fileno(), report.fileno(), idle, batch_records)
            child.run(fatal_catch_up)
    except BrokenPipeError:
        pass  # the server is gone: nobody to report to
    finally:
        store.close()


class _Child:
    def __init__(
        self,
        store: Any,
        projector: Projector,
        wake_fd: int,
        report_fd: int,
        idle: Any,
        batch_records: int,
    ) -> None:
        self.store, self.projector = store, projector
        self.wake_fd, self.report_fd, self.idle = wake_fd, report_fd, idle
        self.batch_records = batch_records
        self.seq = 0
        self.failures = 0
        self.stopping_since: float | None = None
        self.pace = Pace()
        self.next_batch_at = 0.0  # time.monotonic(): not before (see coalesce)

    def run(self, fatal_catch_up: bool) -> None:
        """Catch up with the journal's head, report, then follow it until asked to stop.

        With ``fatal_catch_up`` (the server is starting) a batch that fails during the
        catch-up ends the process, so that the server does not start; otherwise (and
        after the catch-up) it is retried.
        """
        store = self.store
        self.seq = self.projector.last_seq()
        head = store.head()
        head_seq = head[0] if head is not None else 0
        while self.seq < head_seq:
            items = _next_items(store, self.seq, self.batch_records)
            if not items:
                break
            if fatal_catch_up:
                self.projector.apply_many(items)
            elif not self.apply(items):
                return
            self.seq = items[-1][0]
        self.send()
        gathered = False  # the last read came right after a batch (not after a pause)
        while True:
            self.coalesce()
            self.idle.value = 1
            self.check_stop()
            items = _next_items(store, self.seq, self.batch_records)
            if items:
                self.idle.value = 0
                gap = self.pace.busy() if gathered else self.pace.quiet()
                self.next_batch_at = time.monotonic() + gap
                if not self.apply(items):
                    return
                self.seq = items[-1][0]
                self.send()
                gathered = True
            elif self.stopping_since is not None:
                return  # asked to stop, and the journal is fully projected
            else:
                gathered = False
                self.pace.quiet()
                select.select([self.wake_fd], [], [], IDLE_POLL_S)

    def coalesce(self) -> None:
        """Let records gather for a moment if the last batch started less than
        ``pace.gap_s`` ago (not when stopping).

        Each batch costs one transaction whatever its size (about as much as projecting
        a few records), and a projector that keeps up with the engine would otherwise
        apply almost every record alone: under load it would spend most of its time on
        transactions. Waiting at most the gap from the previous batch's start bounds
        the cost per record (a read waiting for the read models waits at most that much
        longer); a lone record, after a pause, is applied at once.
        """
        wait = self.next_batch_at - time.monotonic()
        if wait > 0 and self.stopping_since is None:
            time.sleep(wait)

    def apply(self, items: list[Item]) -> bool:
        """Apply one batch, retrying it until it succeeds; False: gave up, stopping."""
        while True:
            try:
                self.projector.apply_many(items)
                return True
            except Exception:
                self.failures += 1
                log.exception("projecting seq %d.. failed; retrying", items[0][0])
                self.send()
                self.check_stop()
                since = self.stopping_since
                if since is not None and time.monotonic() - since > STOP_RETRY_S:
                    log.error("stopping with seq %d.. not projected", items[0][0])
                    return False
                time.sleep(min(5.0, 0.1 * 2 ** min(self.failures, 6)))

    def send(self) -> None:
        os.write(self.report_fd, _REPORT.pack(self.seq, self.failures))

    def check_stop(self) -> None:
        if _drain(self.wake_fd) and self.stopping_since is None:
            self.stopping_since = time.monotonic()


def _drain(fd: int) -> bool:
    """Empty the wake-up pipe; True if the server asked to stop (or went away)."""
    stop = False
    while True:
        try:
            data = os.read(fd, 4096)
        except BlockingIOError:
            return stop
        if not data or _STOP in data:  # end of file: the server is gone
            stop = True
            if not data:
                return True


def _next_items(store: Any, seq: int, batch_records: int) -> list[Item]:
    items: list[Item] = []
    for record in store.read(from_seq=seq + 1, to_seq=seq + batch_records):
        entry = decode_entry(record.body) if record.kind == KIND_COMMAND else None
        items.append((record.seq, record.ts_us, entry))
    return items


# -- the server's side --------------------------------------------------------------------
class ProcessFollower:
    """The server's handle on the projector process; the same interface as ``Follower``.

    ``enqueued_seq`` is the last record handed to the engine subscriber (:meth:`__call__`)
    or, before the first, the journal's head when following started; ``applied_seq``
    the last one the child reported applied; :meth:`wait_for` waits for a seq without
    blocking the event loop.
    """

    def __init__(
        self,
        journal_url: str,
        journal_namespace: str,
        projections_url: str,
        projections_namespace: str,
        *,
        batch_records: int = BATCH_RECORDS_DEFAULT,
        nice: int = 0,
    ) -> None:
        self._args = (journal_url, journal_namespace, projections_url, projections_namespace)
        self._batch_records = batch_records
        self._nice = nice
        self._context = multiprocessing.get_context("spawn")
        self.enqueued_seq = 0  # written by the engine (its thread or its writer) only
        self._applied = AppliedSeq()
        self.failures = 0
        self.restarts = 0
        self.exitcode: int | None = None
        """The child's exit code once stopped (0: it finished the journal and exited)."""
        self._failures_before = 0  # of the children that died
        self._retired: list[Connection] = []  # wake-up pipes of dead children (see restart)
        self._idle: Any = self._context.RawValue("b", 0)
        self._stopping = False
        self._reported = threading.Event()  # the first child has caught up
        self._reports = 0
        self._stopped = threading.Event()
        self._wake_fd = -1
        self._process: SpawnProcess | None = None
        self._report: Connection | None = None
        self._wake: Connection | None = None
        self._thread: threading.Thread | None = None

    # -- life cycle ---------------------------------------------------------------------
    def start(self) -> None:
        """Start the child (it catches up with the journal on its own)."""
        self._spawn()
        self._thread = threading.Thread(
            target=self._read_reports, name="augury-projected", daemon=True
        )
        self._thread.start()

    def wait_caught_up(self, seq: int, timeout_s: float | None = None) -> None:
        """Block until ``seq`` is applied (startup); raise if the child exits first."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while not (self._reported.is_set() and self.applied_seq >= seq):
            process = self._process
            if process is None or not process.is_alive():
                code = None if process is None else process.exitcode
                raise RuntimeError(
                    f"the projector process exited (code {code}) before catching up "
                    f"with the journal (seq {seq}); see its error above"
                )
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"the read models did not reach seq {seq} in time")
            time.sleep(0.01)

    def stop(self, timeout_s: float = 30.0) -> None:
        """Let the child apply the rest of the journal and exit; then clean up."""
        self._stopping = True
        self._stopped.set()
        process, wake = self._process, self._wake
        if wake is not None:
            # OSError: the child is gone (or its pipe is full: then it is terminated)
            with contextlib.suppress(OSError):
                os.write(wake.fileno(), _STOP)
        if process is not None:
            process.join(timeout_s)
            if process.is_alive():
                log.error("the projector process did not stop in %.0f s; terminating", timeout_s)
                process.terminate()
                process.join(5.0)
            if process.is_alive():
                process.kill()
                process.join(5.0)
        if self._thread is not None:
            self._thread.join(5.0)
        self._wake_fd = -1
        for connection in (wake, self._report, *self._retired):
            if connection is not None:
                connection.close()
        self._retired.clear()
        if process is not None:
            self.exitcode = process.exitcode
            process.close()
        self._wake = self._report = self._process = None

    @property
    def pid(self) -> int | None:
        process = self._process
        return None if process is None else process.pid

    def _spawn(self) -> None:
        context = self._context
        wake_read, wake_write = context.Pipe(duplex=False)
        report_read, report_write = context.Pipe(duplex=False)
        process = context.Process(
            target=_child,
            args=(
                *self._args,
                wake_read,
                report_write,
                self._idle,
                self._batch_records,
                self.restarts == 0,  # a first catch-up that fails: the server does not start
                self._nice,
            ),
            name="augury-projector",
            daemon=True,
        )
        self._idle.value = 0
        process.start()
        wake_read.close()  # the child holds its own copies
        report_write.close()
        os.set_blocking(wake_write.fileno(), False)
        self._process, self._wake, self._report = process, wake_write, report_read
        self._wake_fd = wake_write.fileno()

    # -- the engine's side --------------------------------------------------------------
    def __call__(self, seq: int, ts_us: int, entry: Entry) -> None:
        """The engine's subscriber: a record is durable; wake the child if it sleeps."""
        self.enqueued_seq = seq
        idle = self._idle
        if idle.value:
            idle.value = 0
            # OSError: full (it is awake then), or the child is being replaced
            with contextlib.suppress(OSError):
                os.write(self._wake_fd, _WAKE)

    # -- the readers' side --------------------------------------------------------------
    @property
    def applied_seq(self) -> int:
        return self._applied.seq

    async def wait_for(self, seq: int) -> None:
        """Return once every record up to ``seq`` is in the read models."""
        await self._applied.wait_for(seq)

    def _read_reports(self) -> None:
        """Thread: the child's reports resolve waiting requests; a dead child is replaced
        (after ``RESTART_DELAY_S``, doubling up to a minute while none gets to report)."""
        delay = RESTART_DELAY_S
        while True:
            report = self._report
            assert report is not None
            reported_before = self._reports
            if self._read_until_eof(report.fileno()) or self._stopping:
                return
            if self._reports > reported_before:
                delay = RESTART_DELAY_S
            process = self._process
            if process is not None:
                process.join(5.0)
            code = None if process is None else process.exitcode
            log.error(
                "the projector process died (exit code %s); starting a new one in %.0f s",
                code,
                delay,
            )
            if self._stopped.wait(delay):
                return
            delay = min(60.0, delay * 2)
            old_wake = self._wake
            self.restarts += 1
            self._failures_before = self.failures
            self._spawn()
            report.close()
            if old_wake is not None:
                # closed only at stop: the engine's subscriber may be about to write to
                # its fd, which must not be reused by another file meanwhile
                self._retired.append(old_wake)
            if process is not None and process.exitcode is not None:
                process.close()

    def _read_until_eof(self, fd: int) -> bool:
        """Apply reports until the child closes the pipe; True if stopping meanwhile."""
        pending = b""
        while True:
            try:
                data = os.read(fd, 4096)
            except OSError:
                data = b""
            if not data:
                return self._stopping
            pending += data
            usable = len(pending) - len(pending) % _REPORT.size
            if not usable:
                continue
            seq, failures = _REPORT.unpack_from(pending, usable - _REPORT.size)
            pending = pending[usable:]
            self.failures = self._failures_before + failures
            self._advance(seq)
            self._reports += 1
            self._reported.set()

    def _advance(self, seq: int) -> None:
        self._applied.advance(seq)
