"""lower_priority: a nice increment for the calling process, bounded."""

from __future__ import annotations

import multiprocessing
import os
from multiprocessing.connection import Connection

import pytest

from augury.priority import NICE_MAX, lower_priority


def _report_priority(increment: int, out: Connection) -> None:
    lower_priority(increment)
    out.send(os.getpriority(os.PRIO_PROCESS, 0))


def _child_priority(increment: int) -> int:
    context = multiprocessing.get_context("spawn")
    receive, send = context.Pipe(duplex=False)
    child = context.Process(target=_report_priority, args=(increment, send))
    child.start()
    try:
        assert receive.poll(30), "the child reported nothing"
        priority: int = receive.recv()
    finally:
        child.join(30)
    return priority


def test_the_increment_is_added_to_the_process_priority() -> None:
    own = os.getpriority(os.PRIO_PROCESS, 0)
    assert _child_priority(0) == own
    assert _child_priority(7) == min(own + 7, NICE_MAX)


@pytest.mark.parametrize("increment", [-1, NICE_MAX + 1])
def test_an_increment_out_of_range_is_refused(increment: int) -> None:
    own = os.getpriority(os.PRIO_PROCESS, 0)
    with pytest.raises(ValueError, match=r"0\.\.19"):
        lower_priority(increment)
    assert os.getpriority(os.PRIO_PROCESS, 0) == own
