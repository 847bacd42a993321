"""Builders for the transport tests: a sequencer that journals for real, commands, a
private nats-server process."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

from augury.domain import commands as dc
from augury.engine.entry import Entry, decode_entry, encode_entry
from augury.journal import JournalRecord, JournalStore, next_record
from augury.transport import Answer, CommandBatch, NodeCommand, RecordPublisher

TS0_US = 1_767_225_600_000_000
NATS_SERVER = os.environ.get(
    "AUGURY_NATS_SERVER", shutil.which("nats-server") or "/usr/sbin/nats-server"
)


def order(account: str, i: int) -> NodeCommand:
    """A limit order of ``account`` whose quantity (and key) names it: ``i``."""
    command = dc.PlaceOrder(
        account=account, market="m1", outcome=0, side=dc.Side.BUY, qty=i + 1, price=500_000
    )
    return NodeCommand(command, account, f"{account}-{i}")


class JournalSequencer:
    """A stand-in for the engine behind the transport: it journals every command of a
        batch as a real "command" record in ONE append, answers with its seq once the append
        returned, answers a repeated (account, key) with the original seq, and publishes
        the records it appended. ``stall`` holds the batches containing a key in it until
        ``release`` is set (for timeouts); ``fail`` makes the batches containing a key in it
    raise, as a stopped engine would."""

    def __init__(self, store: JournalStore, publisher: RecordPublisher | None = None) -> None:
        self.store = store
        self.publisher = publisher
        self.seen: dict[tuple[str, str], int] = {}
        self.stall: set[str] = set()
        self.fail: set[str] = set()
        self.release = asyncio.Event()
        self.publish = True
        self.batches = 0

    async def handle(self, batch: CommandBatch) -> Sequence[Answer]:
        self.batches += 1
        if any(r.key in self.stall for r in batch.commands):
            await self.release.wait()
        if any(r.key in self.fail for r in batch.commands):
            raise RuntimeError("the engine stopped")
        head = self.store.head()
        records: list[JournalRecord] = []
        answers: list[Answer] = []
        for request in batch.commands:
            pair = (request.account, request.key)
            if pair in self.seen:
                answers.append(Answer(request.rid, True, seq=self.seen[pair]))
                continue
            entry = Entry(request.command, (), request.account, request.key)
            record = next_record(head, TS0_US + len(self.seen), "command", encode_entry(entry))
            head = (record.seq, record.hash)
            records.append(record)
            self.seen[pair] = record.seq
            answers.append(Answer(request.rid, True, seq=record.seq))
        if records:
            self.store.append(records)
            if self.publisher is not None and self.publish:
                await self.publisher.publish(records)
        return answers


def journaled_keys(store: JournalStore) -> list[tuple[str, str]]:
    """(account, key) of every command record, in seq order."""
    out = []
    for record in store.read(1):
        entry = decode_entry(record.body)
        out.append((entry.account, entry.key))
    return out


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class NatsServerProcess:
    """A nats-server of our own (JetStream on, store in ``store_dir``), restartable on
    the same port."""

    def __init__(self, store_dir: Path) -> None:
        self.port = free_port()
        self.store_dir = store_dir
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self) -> None:
        args = [NATS_SERVER, "-a", "127.0.0.1", "-p", str(self.port), "-js"]
        args += ["-sd", str(self.store_dir)]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"nats-server did not start on port {self.port}")

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None
