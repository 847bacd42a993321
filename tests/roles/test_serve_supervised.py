"""``augury serve`` supervises its server (issue 15, SQLite on one machine): the server is
SIGKILLed twice and its engine made to stop by an error under keyed load, and each time
a new server serves on the same port, recovered from the journal; nothing acknowledged
is lost or run twice, the chain verifies, the ledger conserves. SIGTERM stops it all
(status 0, no process left); a SIGKILLed supervisor takes its server with it."""

from __future__ import annotations

import json
import signal
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from augury.cli import EXIT_ERROR, main
from augury.journal.sqlite_store import writer_lock_holder
from tests.roles.serve_faults import START_S, ServeRun, alive, descendants

GONE_S = 10.0
"""How long the processes of a SIGKILLed supervisor may take to go."""


@pytest.fixture
def run(tmp_path: Path) -> Iterator[ServeRun]:
    made = ServeRun(tmp_path, clients_n=4)
    try:
        yield made
    finally:
        made.close()


def test_a_crashed_server_comes_back_on_its_port_and_loses_nothing(run: ServeRun) -> None:
    run.start()
    time.sleep(0.5)  # some load first
    kills = [run.kill_server(), run.kill_server()]
    broken = run.break_engine()
    time.sleep(0.5)
    run.stop_load()
    checked = run.check()
    summary = run.summary()
    print(json.dumps({**summary, **checked}, indent=1))
    assert checked["acknowledged"] > 20
    assert checked["refused"] == 0, checked["refused_sample"]
    assert checked["unacknowledged"] == 0
    assert not summary["never_recovered"], summary
    # four servers in turn, on the one port the clients kept using, each fault recovered
    assert len(set(run.server_pids)) == 4, run.server_pids
    assert all(f.recovered_s is not None for f in [*kills, broken])
    output = run.output()
    assert output.count("server exited (killed by SIGKILL)") == 2, output
    assert "the engine stopped by an error" in output, output
    assert "server exited (status 1)" in output, output  # the engine's failure: restarted
    assert output.count("serving again") == 3, output
    assert output.count("password: ") == 1, output  # the admin was made once
    assert output.count("augury serve: the web UI and API at") == 1, output

    tree = descendants(run.server.process.pid)
    assert len(tree) >= 3, tree  # the server, its projector and surveillance processes
    assert run.stop(signal.SIGTERM) == 0, output
    assert "Application shutdown complete" in run.output()
    assert not alive(tree), "a process outlived augury serve"


def test_a_warm_spare_takes_over(run: ServeRun) -> None:
    run.args = ("--warm-spare",)
    run.start(load=False)
    spare = _spare(run)
    run.kill_server()
    assert run.server_pids[-1] == spare, run.output()  # the spare serves: no new process
    assert _spare(run) not in (spare, run.server_pids[0])  # and a new spare waits
    tree = descendants(run.server.process.pid)
    assert run.stop(signal.SIGTERM) == 0, run.output()
    assert not alive(tree), "a process outlived augury serve"


def _spare(run: ServeRun) -> int:
    """The warm spare's pid, once there is one."""
    deadline = time.monotonic() + START_S
    while time.monotonic() < deadline:
        server = run.server_pid()
        spares = run.children() - {server}
        if server is not None and len(spares) == 1:
            return spares.pop()
        time.sleep(0.05)
    raise AssertionError(f"no warm spare came:\n{run.output()}")


def test_a_killed_supervisor_takes_its_server_along(run: ServeRun) -> None:
    run.start(load=False)
    tree = descendants(run.server.process.pid)
    assert run.server_pid() in tree
    assert run.stop(signal.SIGKILL) == -signal.SIGKILL
    deadline = time.monotonic() + GONE_S
    while alive(tree) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(tree), "the server outlived its supervisor"
    with pytest.raises(httpx.ConnectError):  # and nothing holds the port
        httpx.get(run.server.url + "/health", timeout=5.0)
    assert writer_lock_holder(run.journal_path) is None  # nor the journal


def test_a_busy_port_is_one_line_before_anything_starts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["serve", "--data-dir", str(tmp_path), "--port", str(port)]) == EXIT_ERROR
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and f"could not serve on 127.0.0.1:{port}" in lines[0], lines
    assert not (tmp_path / "journal.db").exists()
