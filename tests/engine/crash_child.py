"""The process that test_crash.py SIGKILLs: an engine fed a seeded command stream.

Usage: python -m tests.engine.crash_child URL NAMESPACE KEY_PATH SEED START

It recovers the engine from the journal, prints ``READY <head seq>``, then submits
commands START, START+1, ... of the stream from four threads at once (so groups form),
each under the idempotency key ``k<i>``, and prints ``ACK <i> <ok>`` only once the
engine answered, i.e. once the command is durable. It runs until it is killed.
"""

from __future__ import annotations

import itertools
import sys
import threading

from augury.engine import SimulatedClock, open_engine
from tests.engine.workload import T0, command_at

THREADS = 4
COMMANDS_MAX = 1_000_000


def main(argv: list[str]) -> None:
    url, namespace, key_path, seed_text, start_text = argv
    seed, start = int(seed_text), int(start_text)
    engine = open_engine(
        url,
        key_path,
        SimulatedClock(T0),
        namespace=namespace,
        checkpoint_every=40,
        snapshot_every=150,
    )
    out = sys.stdout
    lock = threading.Lock()
    with lock:
        out.write(f"READY {engine.head[0]}\n")
        out.flush()
    indexes = itertools.count(start)

    def submitter() -> None:
        for _ in range(COMMANDS_MAX):
            i = next(indexes)
            result = engine.submit(command_at(seed, i), "driver", f"k{i}").result()
            with lock:
                out.write(f"ACK {i} {int(result.ok)}\n")
                out.flush()

    threads = [threading.Thread(target=submitter, daemon=True) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


if __name__ == "__main__":
    main(sys.argv[1:])
