"""The long failover fault run (issue 15): >= 20 faults over >= 3 minutes, one JSON summary.
Usage: .venv/bin/python bench/faults.py [--faults 22] [--every 8] [--clients 16]
       [--standbys 1] [--seed S] [--pg DSN]

A leader and ``--standbys`` hot standbys (``augury engine [--standby]``), two API nodes
(``augury api``), the projector, a private nats-server and PostgreSQL (fresh schemas), as
real processes on this machine (tests/roles/faults.py, the harness of the short test
tests/roles/test_failover.py). ``--clients`` clients place orders (and cancel the oldest
beyond 20 open) with idempotency keys through both nodes, each logging what was acknowledged and
resending a failed request with the same key. Every ``--every`` seconds one fault, drawn
at random (each kind at least ``faults // 5`` times): SIGKILL the leader; SIGSTOP the
leader for 3 s then SIGCONT (the zombie); SIGKILL an API node; restart NATS;
pg_terminate_backend the leader's connections. Dead engines come back as standbys,
killed nodes come back.

At the end the harness checks (and fails loudly otherwise): every acknowledged command
in the journal exactly once, nothing executed twice, ``augury verify`` passes, the
ledger conserves, and every engine's state equals a fresh replay of the journal. The
summary: ``leader_failover_s`` (p50/p99/max from a leader fault to the first
acknowledgement of a command journaled after it; goal p99 <= 2 s), the same for every
fault, the windows in which no lease was live, and the failed requests (503s and dead
connections: all resent until acknowledged; ``unacknowledged`` those never were).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.roles.faults import FAULTS, FailoverCluster, Harness
from tests.transport.helpers import NatsServerProcess

PG_DEFAULT = os.environ.get("AUGURY_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")


def schedule(count: int, rng: random.Random) -> list[str]:
    """``count`` faults, each kind at least ``count // len(FAULTS)`` times, shuffled."""
    kinds = [kind for kind in FAULTS for _ in range(count // len(FAULTS))]
    kinds += rng.choices(FAULTS, k=count - len(kinds))
    rng.shuffle(kinds)
    return kinds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--faults", type=int, default=22)
    parser.add_argument("--every", type=float, default=8.0)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--standbys", type=int, default=1)
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--pg", default=PG_DEFAULT)
    args = parser.parse_args()
    kinds = schedule(args.faults, random.Random(args.seed))
    with tempfile.TemporaryDirectory(prefix="augury-faults-") as tmp:
        workdir = Path(tmp)
        nats = NatsServerProcess(workdir / "nats")
        nats.start()
        cluster = FailoverCluster(workdir, args.pg, nats.url)
        harness = Harness(cluster, nats, clients_n=args.clients)
        try:
            harness.start(standbys=args.standbys)
            started = time.monotonic()
            harness.run_faults(kinds, args.every, log=lambda line: print(line, file=sys.stderr))
            harness.stop_load()
            seconds = time.monotonic() - started
            checked = harness.check()
            summary = harness.summary(seconds)
        finally:
            harness.close()
            cluster.stop()
            nats.kill()
    print(json.dumps({"bench": "faults", **summary, "checks": checked}, indent=1))


if __name__ == "__main__":
    main()
