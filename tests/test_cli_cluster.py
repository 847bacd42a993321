"""``augury cluster status``: the lease, the journal's head and the members, or one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from augury.cli import EXIT_ERROR, main
from augury.journal.pg_lease import WriterLease
from augury.roles.cluster import Membership, Report
from tests.api.conftest import _pg_dsn
from tests.projections.conftest import fresh_namespace, pg_dsn, pg_namespaces

__all__ = ["pg_dsn", "pg_namespaces"]  # fixtures, re-exported for this module


@pytest.fixture
def namespace(pg_namespaces: list[str]) -> str:
    """A fresh schema, dropped after the test."""
    pg_namespaces.append(fresh_namespace())
    return pg_namespaces[-1]


def test_it_needs_postgresql(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["cluster", "status", "--database-url", "sqlite:///x.db"]) == EXIT_ERROR
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "needs a PostgreSQL journal" in err


def test_it_shows_the_leader_its_epoch_and_each_members_lag(
    namespace: str, capsys: pytest.CaptureFixture[str]
) -> None:
    dsn = _pg_dsn()
    argv = ["cluster", "status", "--database-url", dsn, "--namespace", namespace]
    assert main(argv) == 0
    assert "leader   none (lease lapsed; last epoch 0)" in capsys.readouterr().out
    lease = WriterLease(dsn, namespace, ttl_s=60)  # no lapse while the test runs
    assert lease.try_acquire("eng-a") == 1
    members = [Membership(dsn, namespace, name) for name in ("eng-a", "eng-b", "api-1")]
    members[0].beat(Report("leader", 0, 1))
    members[1].beat(Report("standby", 0, state_seq=0, state_sha256="ab"))
    members[2].beat(Report("api", 0, detail="resent 0"))
    assert main([*argv, "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert (shown["leader"], shown["epoch"], shown["lease_live"]) == ("eng-a", 1, True)
    roles = {m["name"]: (m["role"], m["lag"]) for m in shown["members"]}
    assert roles == {"eng-a": ("leader", 0), "eng-b": ("standby", 0), "api-1": ("api", 0)}
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "leader   eng-a  epoch 1" in out and "standby  eng-b  seq 0  lag 0" in out
    lease.release("eng-a", 1)  # the leader is gone: its row says so
    assert main([*argv, "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["leader"] is None
    assert {m["name"]: m["role"] for m in shown["members"]}["eng-a"] == "fenced"
    for member in members:
        member._leave()
    lease.close()


def test_a_standby_needs_postgresql(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["engine", "--standby", "--data-dir", str(tmp_path), "--nats-url", "nats://x:1"]
    assert main(argv) == EXIT_ERROR
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--standby needs a PostgreSQL journal" in err
