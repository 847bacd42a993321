"""Issue 15's fault test, short: a leader, two standbys, two API nodes, the projector,
NATS and PostgreSQL as real processes; clients place and cancel keyed orders while the
leader is SIGKILLed, paused (SIGSTOP 3 s, then SIGCONT: the zombie), cut off from the
database (pg_terminate_backend), an API node is SIGKILLed and NATS restarted. Then every
acknowledged command is in the journal exactly once, nothing ran twice, the chain
verifies, the ledger conserves, and every engine's state equals a fresh replay
(tests/roles/faults.py; bench/faults.py is the long run)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.api.conftest import _pg_dsn
from tests.roles.faults import FailoverCluster, Harness
from tests.transport.helpers import NatsServerProcess

SHORT_FAULTS = ["kill_leader", "zombie_leader", "kill_api", "restart_nats", "terminate_db"]


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[Harness]:
    nats = NatsServerProcess(tmp_path / "nats")
    nats.start()
    cluster = FailoverCluster(tmp_path, _pg_dsn(), nats.url)
    made = Harness(cluster, nats, clients_n=4)
    try:
        yield made
    finally:
        made.close()
        cluster.stop()
        nats.kill()


def test_no_acknowledged_command_is_lost_or_run_twice_through_every_fault(
    harness: Harness,
) -> None:
    harness.start(standbys=2)
    harness.run_faults(SHORT_FAULTS, every_s=3.0)
    harness.stop_load()
    checked = harness.check()
    summary = harness.summary(0)
    print(json.dumps({**summary, **checked}, indent=1))
    assert checked["acknowledged"] > 50
    assert checked["refused"] == 0, checked["refused_sample"]
    assert checked["unacknowledged_in_journal"] <= checked["unacknowledged"]
    assert checked["engines_checked"] == 3  # the leader and both standbys
    assert not summary["never_recovered"], summary
    # every leader fault was followed by a new leader (a higher epoch)
    holder, epoch, live = harness.cluster.lease()
    assert live and epoch >= 4, (holder, epoch)
