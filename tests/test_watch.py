"""The queue from the watch process to the server is bounded: a full queue holds the
watch process back (it stops reading the journal), never drops an alert, and never keeps
a stopped or orphaned process alive."""

from __future__ import annotations

import multiprocessing
import os
import queue
import threading
import time

import pytest

from augury.watch import ALERTS_QUEUE_MAX, POLL_S, Watch, _send


def test_a_full_queue_holds_the_sender_until_there_is_room() -> None:
    context = multiprocessing.get_context("spawn")
    out = context.Queue(2)
    stop = context.Event()
    assert _send(out, b"a", stop, os.getppid()) and _send(out, b"b", stop, os.getppid())
    sent: list[bool] = []
    sender = threading.Thread(target=lambda: sent.append(_send(out, b"c", stop, os.getppid())))
    sender.start()
    time.sleep(5 * POLL_S)
    assert sender.is_alive() and not sent  # waiting: the queue holds 2
    assert out.get(timeout=5) == b"a"  # the server takes one: room for the third
    sender.join(5)
    assert sent == [True]
    assert [out.get(timeout=5), out.get(timeout=5)] == [b"b", b"c"]  # in order, none lost
    out.close()


def test_a_stopped_or_orphaned_sender_gives_up_on_a_full_queue() -> None:
    context = multiprocessing.get_context("spawn")
    out = context.Queue(1)
    stop = context.Event()
    assert _send(out, b"a", stop, os.getppid())
    started = time.monotonic()
    assert _send(out, b"b", stop, parent=os.getpid()) is False  # not our parent: orphaned
    stop.set()
    assert _send(out, b"b", stop, os.getppid()) is False
    assert time.monotonic() - started < 10
    assert out.get(timeout=5) == b"a"
    out.close()


def test_the_watchs_queue_holds_alerts_queue_max_alerts() -> None:
    watch = Watch(None, "sqlite:///unused", "augury")  # type: ignore[arg-type]  # not started
    out = watch._out
    for _ in range(ALERTS_QUEUE_MAX):
        out.put_nowait(b"x")
    with pytest.raises(queue.Full):
        out.put_nowait(b"x")
    out.cancel_join_thread()
    out.close()
