"""``Batcher`` against a client that answers when told: what is queued goes out as one
batch, at most ``max_in_flight`` batches are out, what queued meanwhile goes out when a
batch ends, errors reach each command, and a closed batcher fails what waits."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from augury.transport import Answer, Batcher, Limits, NodeCommand, TransportOverloaded
from tests.transport.helpers import order


class HeldClient:
    """Each ``submit`` waits until ``release`` (then answers each command ``order(_, i)``
    with seq ``i + 1``, or raises the error given)."""

    def __init__(self) -> None:
        self.batches: list[list[NodeCommand]] = []
        self._gates: list[asyncio.Future[BaseException | None]] = []

    async def submit(self, commands: Sequence[NodeCommand]) -> list[Answer]:
        gate: asyncio.Future[BaseException | None] = asyncio.get_running_loop().create_future()
        self.batches.append(list(commands))
        self._gates.append(gate)
        error = await gate
        if error is not None:
            raise error
        return [
            Answer(i, True, seq=int(c.key.rsplit("-", 1)[1]) + 1) for i, c in enumerate(commands)
        ]

    def release(self, index: int, error: BaseException | None = None) -> None:
        self._gates[index].set_result(error)


async def _turns(n: int = 5) -> None:
    for _ in range(n):
        await asyncio.sleep(0)


def test_batches_are_what_queued_within_max_in_flight() -> None:
    async def scenario() -> None:
        client = HeldClient()
        batcher = Batcher(client, Limits(max_in_flight=2, max_batch_commands=3))  # type: ignore[arg-type]
        first = [asyncio.create_task(batcher.submit(order("ann", i))) for i in range(5)]
        await _turns()
        assert [len(b) for b in client.batches] == [3, 2]  # both slots taken
        later = [asyncio.create_task(batcher.submit(order("ann", i))) for i in range(5, 9)]
        await _turns()
        assert len(client.batches) == 2  # no slot free: they wait
        client.release(0)
        await _turns()
        assert [len(b) for b in client.batches] == [3, 2, 3]  # a slot freed: the next 3
        client.release(1, RuntimeError("lost"))
        await _turns()
        assert [len(b) for b in client.batches] == [3, 2, 3, 1]
        client.release(2)
        client.release(3)
        assert [a.seq for a in await asyncio.gather(*first[:3])] == [1, 2, 3]
        for task in first[3:]:
            with pytest.raises(RuntimeError, match="lost"):
                await task
        assert [a.seq for a in await asyncio.gather(*later)] == [6, 7, 8, 9]
        assert batcher.batches == 4
        await batcher.close()

    asyncio.run(scenario())


def test_a_closed_batcher_fails_what_is_queued_and_refuses_more() -> None:
    async def scenario() -> None:
        client = HeldClient()
        batcher = Batcher(client, Limits(max_in_flight=1))  # type: ignore[arg-type]
        out = asyncio.create_task(batcher.submit(order("ann", 0)))
        await _turns()
        queued = asyncio.create_task(batcher.submit(order("ann", 1)))
        await _turns()
        closing = asyncio.create_task(batcher.close())
        await _turns()
        with pytest.raises(TransportOverloaded):
            await queued
        client.release(0)  # the batch out is still answered
        assert (await out).seq == 1
        await closing
        with pytest.raises(TransportOverloaded):
            await batcher.submit(order("ann", 2))
        assert len(client.batches) == 1

    asyncio.run(scenario())
