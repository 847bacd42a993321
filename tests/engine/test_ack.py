"""The Ack: result, exception, timeout, callbacks, waiting across threads, settle once."""

from __future__ import annotations

import threading
import time

import pytest

from augury.engine.ack import Ack, settle


def test_a_result_set_before_anyone_waits_is_returned_at_once() -> None:
    ack: Ack[int] = Ack()
    assert not ack.done()
    settle([ack], [7])
    assert ack.done() and ack.result() == 7 and ack.exception() is None
    assert not ack.cancel() and not ack.cancelled()


def test_an_error_is_raised_by_result_and_returned_by_exception() -> None:
    ack: Ack[int] = Ack()
    error = RuntimeError("stopped")
    settle([ack], [error], error=True)
    assert ack.exception() is error
    with pytest.raises(RuntimeError, match="stopped"):
        ack.result()


def test_result_times_out_while_pending() -> None:
    ack: Ack[int] = Ack()
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        ack.result(timeout=0.05)
    assert time.monotonic() - started >= 0.05
    with pytest.raises(TimeoutError):
        ack.exception(timeout=0.01)


def test_a_waiter_on_another_thread_is_woken_by_settle() -> None:
    acks: list[Ack[int]] = [Ack() for _ in range(50)]
    got: list[int] = []
    waiting = threading.Barrier(11)

    def wait(ack: Ack[int]) -> None:
        waiting.wait()
        got.append(ack.result(timeout=5))

    threads = [threading.Thread(target=wait, args=(acks[i * 5],)) for i in range(10)]
    for thread in threads:
        thread.start()
    waiting.wait()
    time.sleep(0.02)  # let them block
    settle(acks, list(range(len(acks))))
    for thread in threads:
        thread.join(5)
    assert sorted(got) == [i * 5 for i in range(10)]


def test_callbacks_run_once_when_settled_or_at_once_when_done() -> None:
    ack: Ack[int] = Ack()
    seen: list[tuple[str, int]] = []
    ack.add_done_callback(lambda a: seen.append(("early", a.result())))
    ack.add_done_callback(lambda a: 1 / 0)  # a failing callback is logged, not raised
    settle([ack], [3])
    ack.add_done_callback(lambda a: seen.append(("late", a.result())))
    assert seen == [("early", 3), ("late", 3)]


def test_the_first_answer_wins() -> None:
    ack: Ack[str] = Ack()
    settle([ack], ["first"])
    settle([ack], [RuntimeError("later")], error=True)
    settle([ack], ["second"])
    assert ack.result() == "first"
    assert "done" in repr(ack)
