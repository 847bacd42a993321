"""Market surveillance on the live journal, in a process of its own.

The detectors (:class:`~augury.domain.surveillance.Surveillance`) read the journal the
way any verifier can: a child process opens the journal store read-only, follows its
committed records in seq order (polling every ``POLL_S`` when it is idle), feeds their
events to the detectors and, at most every ``ALERT_EVERY_S``, sends each new finding to
the parent, which submits it to the engine as a journaled ``RaiseAlert`` command. A
high-severity alert holds the market's resolution until an arbiter or admin reviews it
(the exchange decides that, not this module).

A separate process, because the engine's thread and its journal writer already need
most of one interpreter: detectors in the same process would take their time from
trading (bench/surveillance.py measures both). The engine's only cost is the child's
reads of its journal and the rare alert.

A finding is raised once: its key is (detector, market, the detector's own key if it has
one, accounts, severity), and the exchange refuses a key it has seen, so re-reading the
journal after a restart raises nothing twice.
"""

from __future__ import annotations

import hashlib
import logging
import multiprocessing
import os
import queue
import signal
import threading
import time
from collections.abc import Iterable
from multiprocessing.context import SpawnProcess
from multiprocessing.synchronize import Event
from typing import Any

import msgspec

from augury.domain import commands as dc
from augury.domain.surveillance import Alert, StreamItem, Surveillance
from augury.engine import Engine
from augury.engine.entry import decode_entry
from augury.journal import JournalRecord, open_store
from augury.journal.records import KIND_COMMAND
from augury.priority import lower_priority

log = logging.getLogger(__name__)

ALERT_EVERY_S = 0.5
POLL_S = 0.1
SEQS_MAX = 1_000
KEY_MAX = 200  # the exchange's limit on an alert's key
ALERTS_QUEUE_MAX = 1_000
"""Alerts sent to the server and not yet submitted, at most. When that many wait, the
watch process stops reading the journal until there is room (it falls behind, and
``Watch.fed_seq`` shows by how much); it never drops an alert."""
_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder(dc.RaiseAlert).decode


def alert_key(alert: Alert) -> str:
    """What makes a finding the same finding (an escalation is a new one); a detector's
    own key (``unconfirmed``: the source and the changed capture) comes first."""
    if not alert.key:
        return f"{'+'.join(alert.accounts)}|{alert.severity.value}"[:KEY_MAX]
    key = f"{alert.key}|{alert.severity.value}|{'+'.join(alert.accounts)}"
    if len(key) <= KEY_MAX:
        return key
    return f"{key[:100]}|{hashlib.sha256(key.encode()).hexdigest()}"  # distinct, and short


def alert_command(alert: Alert) -> dc.RaiseAlert:
    return dc.RaiseAlert(
        market=alert.market,
        detector=alert.detector,
        severity=alert.severity.value,
        accounts=alert.accounts[:100],
        seqs=alert.evidence[-SEQS_MAX:],
        reason=alert.reason[:4_000],
        score=alert.score_bp,
        key=alert_key(alert),
    )


class Follower:
    """The detectors over a journal store, from its first record on (child process)."""

    def __init__(self) -> None:
        self.surveillance = Surveillance()
        self.seq = 0
        self.raised: set[tuple[str, str, str]] = set()

    def read(self, store: Any) -> bool:
        """Feed every record after ``seq``; True if there was any."""
        progressed = False
        for record in store.read(from_seq=self.seq + 1):
            self.feed((record,))
            progressed = True
        return progressed

    def feed(self, records: Iterable[JournalRecord]) -> None:
        """Feed records that follow ``seq`` (from the journal or the record stream)."""
        feed = self.surveillance.feed
        for record in records:
            if record.kind == KIND_COMMAND:
                for event in decode_entry(record.body).events:
                    feed(StreamItem(record.seq, record.ts_us, event))
            self.seq = record.seq

    def new_alerts(self) -> list[dc.RaiseAlert]:
        found = []
        for alert in self.surveillance.alerts():
            ident = (alert.market, alert.detector, alert_key(alert))
            if ident not in self.raised:
                self.raised.add(ident)
                found.append(alert_command(alert))
        return found


def _child(
    url: str, namespace: str, out: Any, stop: Event, fed: Any, parent: int, nice: int
) -> None:
    """The watch process: follow the journal, send new findings as encoded commands.

    It ignores Ctrl-C and SIGTERM, which reach the whole process group (the server
    decides when it stops), and stops by itself when the server process is gone (its
    parent changed), so a killed server leaves no orphan.
    """
    lower_priority(nice)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    store = open_store(url, namespace=namespace)
    follower = Follower()
    last = 0.0
    try:
        while not stop.is_set() and os.getppid() == parent:
            progressed = follower.read(store)
            fed.value = follower.seq
            now = time.monotonic()
            if now - last >= ALERT_EVERY_S:
                last = now
                for command in follower.new_alerts():
                    if not _send(out, _encode(command), stop, parent):
                        return
            if not progressed:
                stop.wait(POLL_S)
    finally:
        store.close()


def _send(out: Any, item: bytes, stop: Event, parent: int) -> bool:
    """Put ``item`` on the bounded queue to the server, waiting while it is full
    (backpressure); False, with nothing sent, once told to stop or orphaned."""
    while not stop.is_set() and os.getppid() == parent:
        try:
            out.put(item, timeout=POLL_S)
        except queue.Full:
            continue
        return True
    return False


class Watch:
    """Runs the watch process and submits what it finds (a thread of the server)."""

    def __init__(self, engine: Engine, journal_url: str, namespace: str, *, nice: int = 0) -> None:
        context = multiprocessing.get_context("spawn")  # never fork a threaded server
        self.engine = engine
        self._out: Any = context.Queue(ALERTS_QUEUE_MAX)
        self._stop: Any = context.Event()
        self._fed: Any = context.Value("q", 0)
        self._process: SpawnProcess = context.Process(
            target=_child,
            args=(journal_url, namespace, self._out, self._stop, self._fed, os.getpid(), nice),
            name="augury-watch",
            daemon=True,
        )
        self._thread = threading.Thread(target=self._submit, name="augury-alerts", daemon=True)
        self._done = threading.Event()
        self._last_fed = 0
        self.submitted = 0

    @property
    def pid(self) -> int | None:
        """The watch process's pid (None before it starts)."""
        return self._process.pid

    @property
    def fed_seq(self) -> int:
        """The last journal seq the detectors have read."""
        return self._last_fed if self._fed is None else int(self._fed.value)

    def start(self) -> None:
        self._process.start()
        self._thread.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop the process, submit what it had sent, then stop the thread.

        The server never writes to the queue (no feeder thread to join): a child killed
        while writing can leave the queue's write lock taken, which must not hang this.
        """
        self._stop.set()
        self._process.join(timeout_s)
        if self._process.is_alive():
            self._process.kill()
            self._process.join(5.0)
        self._done.set()
        self._thread.join(timeout_s)
        self._out.cancel_join_thread()
        self._out.close()
        self._last_fed = self.fed_seq
        # Free the queue's, event's and value's semaphores now: otherwise the resource
        # tracker reports them as leaked when the server exits.
        self._out = self._stop = self._fed = None

    def _submit(self) -> None:
        while True:
            try:
                item = self._out.get(timeout=0.2)
            except queue.Empty:
                if self._done.is_set():  # the process has stopped and all it sent is read
                    return
                continue
            except (EOFError, OSError):
                return
            command = _decode(item)
            try:
                result = self.engine.submit(command).result(timeout=30)
            except Exception:
                log.exception("could not submit alert %s on %s", command.detector, command.market)
                continue
            self.submitted += result.ok
            if not result.ok and result.code != "invalid_alert":  # invalid: raised before
                log.warning("alert refused: %s %s", result.code, result.message)
