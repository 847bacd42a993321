"""``Engine.asubmit_many``: a batch from the bus answered through one future (a
``Gathered``), the same answers and seqs as one ``asubmit_seq`` per command, never
before the records are durable, and EngineStopped for what a stopped engine left."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from augury.domain import commands as c
from augury.domain.exchange import Result
from augury.engine import EngineStopped
from augury.engine.errors import CODE_INVALID_KEY, CODE_KEY_REUSED
from tests.engine.conftest import Journal

CREDIT = 1_000_000


def _grants(first: int, count: int) -> list[tuple[c.Command, str, str]]:
    return [
        (c.GrantCredits("ann", CREDIT, f"g{i}"), "ann", f"g-{i}")
        for i in range(first, first + count)
    ]


def test_answers_and_seqs_match_one_submit_per_command(journal: Journal) -> None:
    engine = journal.engine()

    async def scenario() -> tuple[list[Any], list[int], list[tuple[Result, int]]]:
        requests = [
            (c.OpenAccount("ann"), "ann", "open"),
            *_grants(0, 3),
            (c.GrantCredits("nobody", CREDIT), "x", "k-refused"),  # no such account
            _grants(1, 1)[0],  # the same key and command again: the original's answer
            (c.GrantCredits("ann", 5), "ann", "g-1"),  # the same key, another command
            (c.GrantCredits("ann", 5), "ann", "k" * 200),  # an unusable key
        ]
        values, seqs = await engine.asubmit_many(requests)
        singles = [await engine.asubmit_seq(*request) for request in _grants(10, 2)]
        return values, seqs, singles

    values, seqs, singles = asyncio.run(scenario())
    assert [type(v) for v in values] == [Result] * 8
    assert [v.ok for v in values] == [True, True, True, True, False, True, False, False]
    assert seqs == [1, 2, 3, 4, 0, 3, 3, 0]
    assert values[5] == values[2]  # the duplicate: the original result
    assert values[6].code == CODE_KEY_REUSED and values[7].code == CODE_INVALID_KEY
    assert [seq for _, seq in singles] == [5, 6]
    store = journal.store()
    assert store.count() == 6
    for value, seq in zip(values[:4], seqs[:4], strict=True):
        record = store.get(seq)
        assert record is not None and value.events  # durable before it was answered


def test_an_empty_batch_is_answered_at_once(journal: Journal) -> None:
    engine = journal.engine()
    assert asyncio.run(engine.asubmit_many([])) == ([], [])


def test_a_closed_engine_refuses_the_batch(sqlite_journal: Journal) -> None:
    engine = sqlite_journal.engine()
    engine.close()

    async def scenario() -> None:
        await engine.asubmit_many(_grants(0, 2))

    with pytest.raises(EngineStopped):
        asyncio.run(scenario())


def test_a_failed_append_answers_every_command_of_the_batch_engine_stopped(
    sqlite_journal: Journal,
) -> None:
    engine = sqlite_journal.engine()

    def broken(records: Any, **options: Any) -> None:
        raise OSError("disk on fire")

    async def scenario() -> tuple[list[Any], list[int]]:
        opened = await engine.asubmit_many([(c.OpenAccount("ann"), "ann", "open")])
        first = opened[0][0]
        assert isinstance(first, Result) and first.ok
        engine.store.append = broken  # type: ignore[method-assign]
        return await engine.asubmit_many(_grants(0, 5))

    values, _ = asyncio.run(scenario())
    assert len(values) == 5 and all(isinstance(v, EngineStopped) for v in values)
    assert not engine.running


def test_the_batches_of_one_group_are_answered_in_one_hand_over_to_the_loop(
    sqlite_journal: Journal,
) -> None:
    # Three bus batches executed as one group: their three futures resolve in one
    # call_soon_threadsafe (the writer's hand-over per loop per group), not one each.
    engine = sqlite_journal.engine()
    engine.submit(c.OpenAccount("ann")).result(10)
    release = threading.Event()
    calls = [0]

    class CountingLoop(asyncio.SelectorEventLoop):
        def call_soon_threadsafe(  # type: ignore[override]
            self, *args: Any, **kwargs: Any
        ) -> Any:
            calls[0] += 1
            return super().call_soon_threadsafe(*args, **kwargs)

    async def scenario() -> list[tuple[list[Any], list[int]]]:
        held = engine.query(lambda _: release.wait(10))  # the engine thread waits here
        tasks = [asyncio.create_task(engine.asubmit_many(_grants(2 * i, 2))) for i in range(3)]
        await asyncio.sleep(0.05)  # every batch is queued behind the query
        calls[0] = 0
        release.set()
        assert held.result(10) is True
        return list(await asyncio.gather(*tasks))

    with asyncio.Runner(loop_factory=CountingLoop) as runner:
        answers = runner.run(scenario())
    assert [seqs for _, seqs in answers] == [[2, 3], [4, 5], [6, 7]]
    assert all(v.ok for values, _ in answers for v in values)
    assert calls[0] == 1
