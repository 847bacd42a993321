"""Source readers in worker processes, each run with a time and an input-size limit.

Reading a capture (a JSON path, a CSS selector or RE2 pattern over a page, a point in a
map layer, an attestation's signature) and describing how it changed (a diff of two
pages, two map layers) is CPU work on bytes a market creator chose the origin of. Run
on the event loop, one slow read (a huge page, a map of a million vertices) would hold
every request behind it; run on a thread it would still hold the GIL (shapely, the HTML
parser and ``difflib`` keep it for long stretches). So every read and every change
description runs in one of a few worker processes (``spawn``: a threaded server is
never forked):

- content over ``max_bytes`` is not read at all (``read_too_large``);
- a read that takes longer than ``timeout_s`` is abandoned and its worker killed
  (``read_timeout``); a new worker is started for the next read;
- a reader that raises or a worker that dies gives ``read_failed``.

Each of these is a failed read with a clear reason, never an answer and never a crash
of the observer. The event loop only awaits: each job is handed to a worker by a thread
of a small pool that sleeps in ``poll`` (without the GIL) until the answer or the
deadline.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import signal
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.context import SpawnProcess

import msgspec

from augury.domain.resolution.spec import AnySource
from augury.evidence.diff import describe_change
from augury.evidence.readers import ReadError, read_value

# Stable error codes of failed reads (API: never renamed), next to the readers' own.
READ_TIMEOUT = "read_timeout"
READ_TOO_LARGE = "read_too_large"
READ_FAILED = "read_failed"

_READY = b"ready"
ERROR_CHARS_MAX = 500


@dataclass(frozen=True)
class ReaderLimits:
    """How the readers run: ``workers`` processes (started when first needed), each job
    given ``timeout_s`` once its worker has it, content of at most ``max_bytes``."""

    timeout_s: float = 5.0
    max_bytes: int = 5_000_000
    workers: int = 2
    startup_s: float = 60.0
    """How long a new worker may take to import the readers (not part of a read's time)."""


class Outcome(msgspec.Struct, frozen=True, array_like=True):
    """A job's result: ``value`` is the value read (or the change text), or the failure's
    ``error_code`` and ``error``."""

    ok: bool
    value: str | None = None
    error_code: str = ""
    error: str = ""


class _Job(msgspec.Struct, frozen=True, array_like=True):
    task: str
    """``read`` (``source`` is the source's JSON) or ``change`` (``source`` is its kind)."""
    source: bytes
    body: bytes
    previous: bytes = b""


def _failed(code: str, message: str) -> Outcome:
    return Outcome(False, None, code, message[:ERROR_CHARS_MAX])


# --- the worker process ---------------------------------------------------------------


def _perform(job: _Job) -> Outcome:
    """Run one job (in the worker process)."""
    try:
        if job.task == "change":
            return Outcome(True, describe_change(job.source.decode(), job.previous, job.body))
        source = msgspec.json.decode(job.source, type=AnySource)
        return Outcome(True, read_value(source, job.body))
    except ReadError as exc:
        return _failed(exc.code, exc.message)
    except Exception as exc:  # a reader's bug or a library's limit: a failed read
        return _failed(READ_FAILED, f"the reader failed: {type(exc).__name__}: {exc}")


def serve(conn: Connection) -> None:
    """A worker's loop: one job in, one outcome out, until the pipe closes. The readers
    are imported by then (this module imports them), so a read's time is its own."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the server handles Ctrl-C and kills us

    encoder = msgspec.msgpack.Encoder()
    decoder = msgspec.msgpack.Decoder(_Job)
    conn.send_bytes(_READY)
    while True:
        try:
            payload = conn.recv_bytes()
        except (EOFError, OSError):
            return
        conn.send_bytes(encoder.encode(_perform(decoder.decode(payload))))


# --- the server side --------------------------------------------------------------------


class _Worker:
    def __init__(self, process: SpawnProcess, conn: Connection) -> None:
        self.process = process
        self.conn = conn

    def kill(self) -> None:
        with contextlib.suppress(Exception):
            self.process.kill()
            self.process.join(5)
        with contextlib.suppress(Exception):
            self.conn.close()


class ReaderPool:
    """Worker processes for the readers; ``await read(...)`` / ``await change(...)``."""

    def __init__(self, limits: ReaderLimits | None = None) -> None:
        self.limits = limits if limits is not None else ReaderLimits()
        assert self.limits.workers >= 1 and self.limits.timeout_s > 0
        # One thread per worker: never more processes than threads, and a job waiting
        # for a free worker does not count against its time limit.
        self._threads = ThreadPoolExecutor(self.limits.workers, thread_name_prefix="reader")
        self._context = multiprocessing.get_context("spawn")
        self._lock = threading.Lock()
        self._idle: list[_Worker] = []
        self._live: set[_Worker] = set()
        self._closed = False

    async def read(self, source: AnySource, body: bytes) -> Outcome:
        """The value ``source`` reads from ``body``, or a failed :class:`Outcome`."""
        limit = self.limits.max_bytes
        if len(body) > limit:
            return _failed(
                READ_TOO_LARGE, f"the content is {len(body)} bytes; a reader takes at most {limit}"
            )
        return await self._submit(_Job("read", msgspec.json.encode(source), body))

    async def change(self, kind: str, previous: bytes, body: bytes) -> str | None:
        """How ``body`` differs from ``previous`` (see :func:`.diff.describe_change`);
        a description over the limits says so instead."""
        if previous == body:
            return None
        sizes = f"content changed: {len(previous)} → {len(body)} bytes"
        if max(len(previous), len(body)) > self.limits.max_bytes:
            return f"{sizes} (not compared: over the readers' {self.limits.max_bytes}-byte limit)"
        out = await self._submit(_Job("change", kind.encode(), body, previous))
        return out.value if out.ok else f"{sizes} (not compared: {out.error})"

    async def _submit(self, job: _Job) -> Outcome:
        try:
            done = asyncio.get_running_loop().run_in_executor(self._threads, self._run, job)
        except RuntimeError:  # closed
            return _failed(READ_FAILED, "the readers are shut down")
        return await done

    def _run(self, job: _Job) -> Outcome:
        """Hand ``job`` to a worker and wait for its answer (on a pool thread)."""
        payload = msgspec.msgpack.encode(job)
        worker = self._checkout()
        if worker is None:
            return _failed(READ_FAILED, "the reader process could not be started")
        try:
            worker.conn.send_bytes(payload)
            if not worker.conn.poll(self.limits.timeout_s):
                self._discard(worker)
                return _failed(
                    READ_TIMEOUT, f"the reader took longer than {self.limits.timeout_s:g} s"
                )
            answer = worker.conn.recv_bytes()
        except (EOFError, OSError):
            code = worker.process.exitcode
            self._discard(worker)
            return _failed(READ_FAILED, f"the reader process stopped (exit code {code})")
        self._checkin(worker)
        return msgspec.msgpack.decode(answer, type=Outcome)

    def _checkout(self) -> _Worker | None:
        with self._lock:
            if self._closed:
                return None
            if self._idle:
                return self._idle.pop()
        return self._spawn()

    def _spawn(self) -> _Worker | None:
        ours, theirs = self._context.Pipe()
        process = self._context.Process(
            target=serve, args=(theirs,), name="augury-reader", daemon=True
        )
        process.start()
        theirs.close()
        worker = _Worker(process, ours)
        with self._lock:
            self._live.add(worker)
            closed = self._closed
        try:
            if not closed and ours.poll(self.limits.startup_s) and ours.recv_bytes() == _READY:
                return worker
        except (EOFError, OSError):
            pass
        self._discard(worker)
        return None

    def _checkin(self, worker: _Worker) -> None:
        with self._lock:
            if not self._closed:
                self._idle.append(worker)
                return
        self._discard(worker)

    def _discard(self, worker: _Worker) -> None:
        with self._lock:
            self._live.discard(worker)
            if worker in self._idle:
                self._idle.remove(worker)
        worker.kill()

    def close(self) -> None:
        """Kill every worker (a read in progress fails) and stop the threads."""
        with self._lock:
            self._closed = True
            workers = list(self._live)
            self._live.clear()
            self._idle.clear()
        for worker in workers:
            worker.kill()
        self._threads.shutdown(wait=False, cancel_futures=True)
