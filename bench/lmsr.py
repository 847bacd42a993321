"""Benchmark: how many LMSR trades per second the market maker's math prices.

Runs ``--trades`` seeded random buys and sells of 0.001 to 10 shares against a market
maker with b = 100 credits, first in a binary market, then in a 10-outcome one (or only
in a market of ``--outcomes`` outcomes). Trades mean-revert so prices stay away from 0
and 1. Only the ``trade_charge`` calls and the updates of the maker's state are timed.

Prints one JSON object per market, the last line being the last market:
{"trades", "seconds", "trades_per_s", "n_outcomes"}.

Run: ``.venv/bin/python bench/lmsr.py [--trades N] [--outcomes N]``.
"""

from __future__ import annotations

import argparse
import json
import random
import time

from augury.domain.lmsr import trade_charge
from augury.domain.units import ONE
from which_build import build

SEED = 20_251_115
LIQUIDITY = 100 * ONE
LOT = 1_000  # 0.001 share


def run(trades: int, n_outcomes: int) -> dict[str, float | int]:
    rng = random.Random(SEED)
    plan = [
        (rng.randrange(n_outcomes), rng.random(), rng.randrange(1, 10_001) * LOT)
        for _ in range(trades)
    ]
    q = [0] * n_outcomes
    elapsed_ns = 0
    cash = 0
    for outcome, coin, qty in plan:
        # Lean towards selling an outcome the maker is short of, so prices stay moderate.
        lean = max(-0.4, min(0.4, q[outcome] / (4 * LIQUIDITY)))
        delta = [0] * n_outcomes
        delta[outcome] = -qty if coin < 0.5 + lean else qty
        start = time.perf_counter_ns()
        cash += trade_charge(LIQUIDITY, q, delta)
        q[outcome] += delta[outcome]
        elapsed_ns += time.perf_counter_ns() - start
    seconds = elapsed_ns / 1e9
    return {
        "trades": trades,
        "seconds": round(seconds, 4),
        "trades_per_s": round(trades / seconds, 1),
        "n_outcomes": n_outcomes,
        "build": build(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trades", type=int, default=100_000)
    parser.add_argument("--outcomes", type=int, default=None, help="one market of N outcomes")
    args = parser.parse_args()
    for n_outcomes in [args.outcomes] if args.outcomes else [2, 10]:
        print(json.dumps(run(args.trades, n_outcomes)))


if __name__ == "__main__":
    main()
