"""``ClientCore``: a batch's answers matched by rid into one future, with one timer.

The node's side of the bus without a bus: ``send`` keeps what the core sends, and the
test answers it (or not) with ``on_answers``.
"""

from __future__ import annotations

import asyncio

import pytest

from augury.transport import RequestTimeout, TransportError
from augury.transport.core import ClientCore
from augury.transport.messages import Answer, AnswerBatch, Limits, encode

from .helpers import order

LIMITS = Limits(request_timeout_s=0.2)


def _core() -> tuple[ClientCore, list[bytes]]:
    sent: list[bytes] = []

    async def send(data: bytes) -> None:
        sent.append(data)

    return ClientCore("node-a", LIMITS, send), sent


def _answer(core: ClientCore, *answers: Answer) -> None:
    core.on_answers(encode(AnswerBatch(core.node, core.session, answers), LIMITS))


def test_answers_in_any_order_each_to_its_command_once() -> None:
    async def scenario() -> None:
        core, sent = _core()
        task = asyncio.create_task(core.submit([order("ann", i) for i in range(3)]))
        await asyncio.sleep(0)
        assert len(sent) == 1 and core.in_flight == 1
        _answer(core, Answer(3, True, seq=12), Answer(1, True, seq=10))
        _answer(core, Answer(1, True, seq=99))  # a duplicate: late, not taken
        assert not task.done()
        _answer(core, Answer(2, False, code="invalid", message="no"))
        answers = await task
        assert [(a.rid, a.seq, a.code) for a in answers] == [
            (1, 10, ""),
            (2, 0, "invalid"),
            (3, 12, ""),
        ]
        assert core.stats.late == 1 and core.in_flight == 0
        _answer(core, Answer(2, True, seq=5))  # after the batch: late
        assert core.stats.late == 2 and not core._pending

    asyncio.run(scenario())


def test_a_batch_partly_answered_times_out_naming_what_is_missing() -> None:
    async def scenario() -> None:
        core, _ = _core()
        task = asyncio.create_task(core.submit([order("ann", i) for i in range(2)]))
        await asyncio.sleep(0)
        _answer(core, Answer(1, True, seq=1))
        with pytest.raises(RequestTimeout, match="1 of 2 commands unanswered"):
            await task
        assert core.stats.timeouts == 1 and not core._pending and core.in_flight == 0

    asyncio.run(scenario())


def test_fail_all_fails_every_batch_waiting() -> None:
    async def scenario() -> None:
        core, _ = _core()
        tasks = [asyncio.create_task(core.submit([order("ann", i)])) for i in range(2)]
        await asyncio.sleep(0)
        core.fail_all(TransportError("resending"))
        for task in tasks:
            with pytest.raises(TransportError, match="resending"):
                await task
        assert not core._pending

    asyncio.run(scenario())
