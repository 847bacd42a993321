"""The transport contract against the embedded (in-process) implementation."""

from __future__ import annotations

import asyncio

import pytest

from augury.transport import EmbeddedTransport, Limits, TransportUnavailable
from tests.transport.contract import Harness, MakeHarness, TransportContract
from tests.transport.helpers import order


class EmbeddedHarness:
    def __init__(self) -> None:
        self.bus: EmbeddedTransport | None = None

    async def transport(self, limits: Limits) -> EmbeddedTransport:
        if self.bus is None:
            self.bus = EmbeddedTransport(limits)
        return self.bus

    async def inject(self, channel: str, data: bytes, node: str = "") -> None:
        assert self.bus is not None
        if channel == "cmd":
            self.bus.deliver_command(data)
        elif channel == "ans":
            self.bus.deliver_answers(node, data)
        else:
            self.bus.deliver_records(data)

    async def close(self) -> None:
        if self.bus is not None:
            await self.bus.close()


class TestEmbedded(TransportContract):
    @pytest.fixture
    def make_harness(self) -> MakeHarness:
        def make() -> Harness:
            return EmbeddedHarness()

        return make


def test_no_sequencer_is_unavailable_at_once() -> None:
    async def scenario() -> None:
        bus = EmbeddedTransport()
        client = await bus.client("ann")
        with pytest.raises(TransportUnavailable, match="no sequencer"):
            await client.submit([order("ann", 1)])
        assert client.core.in_flight == 0
        await bus.close()

    asyncio.run(scenario())
