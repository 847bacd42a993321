"""Order-book throughput of the pure core, on the shared peers' CSV order stream.

Usage: .venv/bin/python bench/orderbook.py FILE

FILE is the CSV of ../shared/bench/orderbook_peers.py (account,side,price,qty; prices
in ticks 1..99 of a 0.01 market, whole shares). Every account is funded first; then
only the matching is timed, with everything real use does: validation, escrow,
ledger postings, share moves and events. ``S`` offers to sell YES at the price; an
account that holds no YES takes the same position by buying NO at 1 - price
(minting, as on Kalshi). Self-trade prevention is off for comparability. Prints, as
its last line, JSON with orders, fills, volume (whole shares) and seconds.
"""

from __future__ import annotations

import csv
import json
import sys
import time
from pathlib import Path

from augury.domain import commands as c
from augury.domain import events as ev
from augury.domain.exchange import Exchange
from augury.domain.limits import Limits
from augury.domain.units import ONE
from which_build import build

TICK = 10_000  # 0.01 credit
START = 1_700_000_000_000_000


def load(path: Path) -> list[tuple[str, str, int, int]]:
    with path.open() as f:
        reader = csv.reader(f)
        next(reader)
        return [(f"a{a}", s, int(p), int(q)) for a, s, p, q in reader]


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__)
        return 2
    rows = load(Path(argv[0]))
    ex = Exchange(Limits(open_orders_per_account=100_000))
    now = START
    accounts = sorted({r[0] for r in rows})
    for account in accounts:
        assert ex.execute(c.OpenAccount(account), now).ok
        assert ex.execute(c.GrantCredits(account, 10_000_000 * ONE), now).ok
    ex.execute(c.OpenAccount("operator"), now)
    created = ex.execute(
        c.CreateMarket("bench", "operator", "Benchmark?", ("Yes", "No"), now + 10**15, tick=TICK),
        now,
    )
    assert created.ok
    market = ex.markets["bench"]
    buy, sell, yes, no = c.Side.BUY, c.Side.SELL, c.Token.YES, c.Token.NO
    place = c.PlaceOrder  # positional fields are cheaper to build than keywords
    # budget, tif, expires_at, post_only, client_order_id, self_trade:
    rest = (None, c.TimeInForce.GTC, None, False, None, c.SelfTrade.ALLOW)
    execute = ex.execute
    fills = volume = 0
    book_fill = ev.BookFill
    started = time.perf_counter()
    for account, side, price, qty in rows:
        size = qty * ONE
        if side == "B":
            way, token, ticks = buy, yes, price
        elif market.held(account, 0) >= size:
            way, token, ticks = sell, yes, price
        else:  # no YES to sell: take the same position by buying NO at 1 - price
            way, token, ticks = buy, no, 100 - price
        order = place(account, "bench", 0, way, token, size, ticks * TICK, *rest)
        result = execute(order, now)
        assert result.ok, result
        for event in result.events:
            if type(event) is book_fill:
                fills += 1
                volume += event.qty
    seconds = time.perf_counter() - started
    print(
        json.dumps(
            {
                "orders": len(rows),
                "fills": fills,
                "volume": volume // ONE,
                "seconds": seconds,
                "build": build(),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
