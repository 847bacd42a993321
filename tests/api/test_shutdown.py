"""A server and its child processes (its supervisor, projector, surveillance) stop
together and cleanly when SIGTERM reaches the whole process group, as a service manager
sends it; supervised (the default) or not."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.api.conftest import FAST_HASHING, free_port


def _group(pgid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if os.getpgid(int(entry.name)) == pgid:
                    found.append(int(entry.name))
            except ProcessLookupError:
                continue
    return found


@pytest.mark.parametrize("mode", ["--supervise", "--no-supervise"])
def test_sigterm_to_the_process_group_stops_everything(tmp_path: Path, mode: str) -> None:
    port = free_port()
    log = tmp_path / "server.log"
    command = [sys.executable, "-m", "augury.cli", "serve", "--data-dir", str(tmp_path / "d"),
               "--port", str(port), mode]  # fmt: skip
    with open(log, "wb") as out:
        process = subprocess.Popen(
            command,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, **FAST_HASHING},
            start_new_session=True,  # its own process group, like a service
        )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/api/v1/health").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        found = len(_group(process.pid))  # server, projector, watch (and the supervisor)
        assert found >= (4 if mode == "--supervise" else 3), log.read_text()
        os.killpg(process.pid, signal.SIGTERM)
        assert process.wait(30) in (0, -signal.SIGTERM), log.read_text()
        assert process.returncode == 0 or mode == "--no-supervise"  # uvicorn re-raises it
        deadline = time.monotonic() + 10
        while _group(process.pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _group(process.pid) == [], "a child process outlived the server"
        output = log.read_text()
        assert "Application shutdown complete" in output, output
        assert "Traceback" not in output and "leaked" not in output, output
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)
