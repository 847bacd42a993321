"""The transport contract against NATS (the machine's server at 127.0.0.1:4222, a subject
prefix of its own per test), then what only NATS has: an unreachable server at start
and a server restarted mid-stream (our own nats-server process on a free port)."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from pathlib import Path

import nats
import pytest
from nats.aio.client import Client

from augury.transport import (
    Answer,
    CommandClient,
    Limits,
    NatsTransport,
    NodeCommand,
    RequestTimeout,
    TransportUnavailable,
)
from tests.transport.contract import Harness, MakeHarness, TransportContract, collect, rig
from tests.transport.helpers import NatsServerProcess, free_port, journaled_keys, order

NATS_URL_ENV = "AUGURY_TEST_NATS_URL"
NATS_URL_DEFAULT = "nats://127.0.0.1:4222"


@pytest.fixture(scope="session")
def nats_url() -> str:
    url = os.environ.get(NATS_URL_ENV, NATS_URL_DEFAULT)

    async def probe() -> None:
        transport = await NatsTransport.connect(url)
        await transport.close()

    try:
        asyncio.run(probe())
        return url
    except TransportUnavailable as exc:
        reason = f"{exc} (set {NATS_URL_ENV})"
    if os.environ.get("CI"):
        pytest.fail(f"CI is set, so this is a failure, not a skip: {reason}", pytrace=False)
    pytest.skip(reason)


class NatsHarness:
    def __init__(self, url: str) -> None:
        self.url = url
        self.prefix = f"t{uuid.uuid4().hex[:12]}"
        self.opened: list[NatsTransport] = []
        self.raw: Client | None = None

    async def transport(self, limits: Limits) -> NatsTransport:
        transport = await NatsTransport.connect(self.url, prefix=self.prefix, limits=limits)
        self.opened.append(transport)
        return transport

    async def inject(self, channel: str, data: bytes, node: str = "") -> None:
        if self.raw is None:
            self.raw = await nats.connect(self.url)
        subject = f"{self.prefix}.{channel}"
        subject += f".{node}" if channel == "ans" else ""
        await self.raw.publish(subject, data)
        await self.raw.flush()

    async def close(self) -> None:
        for transport in self.opened:
            await transport.close()
        if self.raw is not None:
            await self.raw.close()


class TestNats(TransportContract):
    @pytest.fixture
    def make_harness(self, nats_url: str) -> MakeHarness:
        def make() -> Harness:
            return NatsHarness(nats_url)

        return make


def test_an_unreachable_server_is_one_clear_error_naming_the_url() -> None:
    url = f"nats://127.0.0.1:{free_port()}"
    started = time.monotonic()
    with pytest.raises(TransportUnavailable) as info:
        asyncio.run(NatsTransport.connect(url))
    assert str(info.value).startswith(f"NATS unreachable at {url}: ")
    assert "\n" not in str(info.value)
    assert time.monotonic() - started < 5


def test_a_server_restart_mid_stream_loses_no_acknowledged_command(tmp_path: Path) -> None:
    """Two nodes send batches while the NATS server is killed and started again on the
    same port: every command is answered in the end (resent with its key after a
    timeout), each exactly once in the journal under the seq it was answered with, and
    a follower sees the whole journal in order (what the bus lost, from the journal)."""
    server = NatsServerProcess(tmp_path / "nats")
    server.start()
    limits = Limits(max_message_bytes=64_000, request_timeout_s=1.0, idle_check_s=0.2)
    batches, size = 30, 10

    async def scenario() -> None:
        harness = NatsHarness(server.url)
        try:
            r = await rig(harness, tmp_path, limits)
            sub = await r.follower(1)
            reading = asyncio.create_task(collect(sub, 2 * batches * size, timeout_s=40))
            acked: dict[tuple[str, str], int] = {}
            retries = 0

            async def send(node: str) -> None:
                nonlocal retries
                client = await r.node(node)
                for k in range(batches):
                    batch = [order(node, k * size + i) for i in range(size)]
                    answers = await submit_until_answered(client, batch)
                    retries += answers[1]
                    for command, answer in zip(batch, answers[0], strict=True):
                        assert answer.ok
                        acked[(command.account, command.key)] = answer.seq
                    await asyncio.sleep(0.02)

            async def restart() -> None:
                await asyncio.sleep(0.3)
                server.kill()
                await asyncio.sleep(0.5)
                await asyncio.to_thread(server.start)

            await asyncio.gather(send("ann"), send("bob"), restart())
            keys = journaled_keys(r.store)
            assert len(keys) == len(set(keys)) == len(acked) == 2 * batches * size
            for pair, seq in acked.items():
                assert keys[seq - 1] == pair
            assert await reading == list(r.store.read(1))
            assert sub.stats.from_bus > 0
            assert all(t.nc.is_connected and t.nc.stats["reconnects"] for t in harness.opened)
            print(f"resends {retries}, feed {sub.stats}")
        finally:
            await harness.close()

    try:
        asyncio.run(scenario())
    finally:
        server.kill()


async def submit_until_answered(
    client: CommandClient, batch: list[NodeCommand], deadline_s: float = 30
) -> tuple[list[Answer], int]:
    """The batch's answers, resending it (same keys) after a timeout or an unavailable bus;
    and how many resends it took."""
    resends = 0
    async with asyncio.timeout(deadline_s):
        while True:
            try:
                return await client.submit(batch), resends
            except (RequestTimeout, TransportUnavailable):
                resends += 1
                await asyncio.sleep(0.1)
