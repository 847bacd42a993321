"""Crash test: SIGKILL an engine at random moments, restart it, lose nothing acknowledged.

A child process (crash_child.py) runs an engine on the journal and a seeded stream of
random commands from four threads, printing each acknowledged command as soon as its
answer arrives. The parent kills it with SIGKILL at random moments (sometimes during
recovery itself), restarts it each time resuming a little BEFORE the last acknowledged
command (so already-journaled commands are resubmitted under their idempotency keys),
and finally checks that:

- the chain verifies, checkpoints included (verify_journal with the operator key);
- every acknowledged accepted command is in the journal exactly once, and no key is
  journaled twice (idempotency held across restarts);
- replaying the journal (from the snapshot, and from scratch) gives the same state, in
  which every invariant holds.

Select with ``-m crash``; about 20-40 s per backend.
"""

from __future__ import annotations

import os
import random
import selectors
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from augury.domain.fingerprint import fingerprint
from augury.domain.invariants import violations
from augury.engine import decode_entry
from augury.journal import KIND_COMMAND, load_or_create_key, verify_chain, verify_journal
from tests.engine.conftest import Journal
from tests.engine.workload import command_at

ROOT = Path(__file__).resolve().parents[2]
KILLS = 24
SEED = 20261129


class Child:
    def __init__(self, journal: Journal, start: int) -> None:
        args = [journal.url, journal.namespace, str(journal.key_path), str(SEED), str(start)]
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.engine.crash_child", *args],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert self.proc.stdout is not None
        self.fd = self.proc.stdout.fileno()
        os.set_blocking(self.fd, False)
        self.buffer = b""
        self.lines: list[str] = []

    def pump(self, until: float) -> bool:
        """Read output until the deadline; False once the child's stdout is closed."""
        with selectors.DefaultSelector() as selector:
            selector.register(self.fd, selectors.EVENT_READ)
            while (left := until - time.monotonic()) > 0:
                if not selector.select(left):
                    continue
                chunk = os.read(self.fd, 65536)
                if not chunk:
                    return False
                self.buffer += chunk
                *complete, self.buffer = self.buffer.split(b"\n")
                self.lines.extend(line.decode() for line in complete)
        return True

    def ready(self) -> bool:
        return any(line.startswith("READY") for line in self.lines)

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.pump(time.monotonic() + 10)  # what was printed before the kill was acknowledged
        self.proc.wait(10)
        assert self.proc.stderr is not None
        errors = self.proc.stderr.read().decode()
        self.proc.stderr.close()
        self.proc.stdout.close()  # type: ignore[union-attr]
        assert "Traceback" not in errors, errors


@pytest.mark.crash
def test_sigkill_loses_no_acknowledged_command(journal: Journal) -> None:
    rng = random.Random(SEED)
    acked_ok: set[int] = set()
    acked_max = -1
    start = 0
    started = time.monotonic()
    for _ in range(KILLS):
        child = Child(journal, start)
        if rng.random() < 0.2:  # sometimes in the middle of recovery
            child.pump(time.monotonic() + rng.uniform(0.05, 0.6))
        else:
            deadline = time.monotonic() + 30
            while not child.ready():
                assert child.pump(min(deadline, time.monotonic() + 0.05)) or child.ready()
                assert time.monotonic() < deadline, "the child did not recover in time"
            child.pump(time.monotonic() + rng.uniform(0.02, 0.5))
        child.kill()
        for line in child.lines:
            word, *rest = line.split()
            if word == "ACK":
                i, ok = int(rest[0]), rest[1] == "1"
                acked_max = max(acked_max, i)
                if ok:
                    acked_ok.add(i)
        start = max(0, acked_max + 1 - rng.randint(0, 12))
    assert time.monotonic() - started < 120
    assert len(acked_ok) > 200, "the children should have made progress"

    store = journal.store()
    public = load_or_create_key(journal.key_path).public_key()
    head = verify_chain(store.read())
    report = verify_journal(store.read(), public)
    assert report.head == head == store.head()
    assert report.checkpoints > 0
    entries = [decode_entry(r.body) for r in store.read() if r.kind == KIND_COMMAND]
    assert all(entry.key for entry in entries)  # simulated time: the engine makes no Ticks
    for entry in entries:  # each key holds the very command the stream has at its index
        assert entry.command == command_at(SEED, int(entry.key[1:]))
    keys = Counter(entry.key for entry in entries)
    assert max(keys.values()) == 1, "a command was journaled twice"
    missing = sorted(i for i in acked_ok if f"k{i}" not in keys)
    assert missing == [], f"acknowledged but not journaled: {missing[:10]}"

    engine = journal.engine()
    assert engine.recovery is not None and engine.recovery.snapshot_seq > 0
    print(
        f"{journal.backend}: {KILLS} kills, {len(acked_ok)} acknowledged accepted commands, "
        f"{report.records} records, {time.monotonic() - started:.1f} s"
    )
    state = engine.query(fingerprint).result(timeout=30)
    assert engine.query(violations).result(timeout=30) == []
    engine.close()
    full = journal.engine(use_snapshot=False)
    assert full.query(fingerprint).result(timeout=30) == state
