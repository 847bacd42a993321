"""The server's followers (projector, surveillance) run at a lower CPU priority."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from pydantic import ValidationError

from augury.roles.services import Services
from augury.settings import Settings


def _priority_becomes(pid: int | None, expected: int, timeout_s: float = 30.0) -> int:
    """The process's priority once it has set it at its start (or the last one read)."""
    assert pid is not None
    deadline = time.monotonic() + timeout_s
    while True:
        priority = os.getpriority(os.PRIO_PROCESS, pid)
        if priority == expected or time.monotonic() > deadline:
            return priority
        time.sleep(0.02)


@pytest.mark.parametrize("nice", [0, 7])
def test_projector_and_watch_processes_take_the_setting(tmp_path: Path, nice: int) -> None:
    settings = Settings(
        data_dir=tmp_path,
        background_nice=nice,
        argon2_time_cost=1,
        argon2_memory_kib=1_024,
    )
    own = os.getpriority(os.PRIO_PROCESS, 0)
    services = Services.start(settings, on_admin_created=lambda _user, _password: None)
    try:
        expected = min(own + nice, 19)
        assert services.follower.pid is not None  # the projector process (the default)
        assert _priority_becomes(services.follower.pid, expected) == expected
        assert services.watch is not None
        assert _priority_becomes(services.watch.pid, expected) == expected
        assert os.getpriority(os.PRIO_PROCESS, 0) == own  # the server's own: unchanged
    finally:
        services.stop()


@pytest.mark.parametrize("nice", [-1, 20])
def test_an_out_of_range_setting_is_refused(tmp_path: Path, nice: int) -> None:
    with pytest.raises(ValidationError, match="background_nice"):
        Settings(data_dir=tmp_path, background_nice=nice)
