"""``augury serve`` (SQLite, one machine) restarting its crashed server under load; one
JSON summary. Usage: .venv/bin/python bench/serve_faults.py [--kills 10] [--every 6]
       [--clients 16] [--engine-errors 0] [--warm-spare]

A supervised ``augury serve`` on a fresh data directory (tests/roles/serve_faults.py, the
harness of tests/roles/test_serve_supervised.py). ``--clients`` clients place orders
(and cancel the oldest beyond 20 open) with idempotency keys, each logging what was
acknowledged and resending a failed request (a reset connection, a 503) with the same
key. ``--kills`` times, ``--every`` seconds after the server is back, its server process
is SIGKILLed (then ``--engine-errors`` times its engine is made to stop by an error: a
record appended behind its back); the supervisor starts a new one on the same port (with
``--warm-spare``, hands over to the spare that waits loaded).

At the end the harness checks (and fails loudly otherwise): every acknowledged command
in the journal exactly once, nothing executed twice, a resent key answered with its first
answer, ``augury verify`` passes, the ledger conserves. The summary:
``kill_to_first_ack_s`` (p50/p99/max from the kill to the first acknowledgement of a
command journaled after it), ``failed_requests`` (reset connections and 503s, all resent
until acknowledged; ``unacknowledged`` those never were).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.roles.serve_faults import ServeRun


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--every", type=float, default=6.0)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--engine-errors", type=int, default=0)
    parser.add_argument("--warm-spare", action="store_true", help="augury serve --warm-spare")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="augury-serve-faults-") as tmp:
        run = ServeRun(Path(tmp), clients_n=args.clients)
        run.args = ("--warm-spare",) if args.warm_spare else ()
        try:
            run.start()
            started = time.monotonic()
            for i in range(args.kills + args.engine_errors):
                time.sleep(args.every)
                fault = run.kill_server() if i < args.kills else run.break_engine()
                print(f"{fault.kind} (server pid {fault.target})", file=sys.stderr)
            time.sleep(args.every)
            run.stop_load()
            seconds = time.monotonic() - started
            checked = run.check()
            summary = run.summary()
            status = run.stop()
            for line in run.output().splitlines():
                if "serving again" in line or "exited" in line:
                    print(line, file=sys.stderr)
        finally:
            run.close()
    print(
        json.dumps(
            {
                "bench": "serve_faults",
                "seconds": round(seconds, 1),
                "warm_spare": args.warm_spare,
                "load_1min": round(os.getloadavg()[0], 1),
                **summary,
                "checks": checked,
                "sigterm_status": status,
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
