"""A terminal demo of the exchange core: a market created, traded, resolved.

Scripted accounts trade a binary market (with the LMSR maker and the order book) and
a categorical one; the demo prints each step, the final balances and the invariant
check. It runs on the pure core in memory; nothing is stored.
"""

from __future__ import annotations

from augury.domain import commands as c
from augury.domain import ledger
from augury.domain.exchange import Exchange, Result
from augury.domain.invariants import violations
from augury.domain.units import ONE, format_micros

START = 1_763_164_800_000_000  # 2025-11-15T00:00:00Z
HOUR = 3_600_000_000


def _show(label: str, result: Result) -> None:
    if result.ok:
        kinds = ", ".join(type(e).__name__ for e in result.events)
        print(f"  ok   {label}: {kinds}")
    else:
        print(f"  REFUSED {label}: {result.code} ({result.message})")


def run_demo() -> int:
    ex = Exchange()
    now = START

    def do(label: str, command: c.Command) -> Result:
        result = ex.execute(command, now)
        _show(label, result)
        problems = violations(ex, now)
        assert not problems, problems
        return result

    print("Augury core demo: accounts, a binary and a categorical market\n")
    for name in ("operator", "ana", "ben", "chen", "dara"):
        do(f"open {name}", c.OpenAccount(name))
        do(f"grant {name} 1000 credits", c.GrantCredits(name, 1_000 * ONE, "welcome"))
    do(
        "create binary market with a 100-credit-b maker",
        c.CreateMarket(
            "myrnohrad",
            "operator",
            "Will Russian forces control Myrnohrad on 2025-11-30?",
            ("Yes", "No"),
            START + 24 * HOUR,
            liquidity=100 * ONE,
        ),
    )
    buy, sell, yes, no = c.Side.BUY, c.Side.SELL, c.Token.YES, c.Token.NO
    do(
        "ana buys 40 YES up to 0.65",
        c.PlaceOrder("ana", "myrnohrad", 0, buy, yes, 40 * ONE, 650_000),
    )
    do(
        "ben bids 30 NO at 0.30 (rests)",
        c.PlaceOrder("ben", "myrnohrad", 0, buy, no, 30 * ONE, 300_000),
    )
    do(
        "chen sells 10 YES he lacks",
        c.PlaceOrder("chen", "myrnohrad", 0, sell, yes, 10 * ONE, 600_000),
    )
    do(
        "chen buys YES for 25 credits",
        c.PlaceOrder("chen", "myrnohrad", 0, buy, yes, budget=25 * ONE),
    )
    do("dara mints 20 complete sets", c.MintSets("dara", "myrnohrad", 20 * ONE))
    do(
        "dara offers 20 YES at 0.72",
        c.PlaceOrder("dara", "myrnohrad", 0, sell, yes, 20 * ONE, 720_000),
    )
    do("ana buys 15 YES at market", c.PlaceOrder("ana", "myrnohrad", 0, buy, yes, 15 * ONE))
    do(
        "create categorical market",
        c.CreateMarket(
            "ceasefire",
            "operator",
            "When will a ceasefire be signed?",
            ("2025", "2026", "Later"),
            START + 24 * HOUR,
            liquidity=50 * ONE,
            categorical=True,
        ),
    )
    do("ben buys 20 YES on 2026", c.PlaceOrder("ben", "ceasefire", 1, buy, yes, 20 * ONE, 600_000))
    do("chen buys NO on 2025", c.PlaceOrder("chen", "ceasefire", 0, buy, no, 10 * ONE, 900_000))
    do("chen converts NO 2025 -> YES others", c.ConvertNo("chen", "ceasefire", 0, 10 * ONE))
    now += 25 * HOUR
    do("time passes: markets close", c.Tick())
    do("resolve myrnohrad: No", c.ResolveMarket("myrnohrad", (0, ONE), "both sources agree"))
    do("resolve ceasefire 50/50 2026/Later", c.ResolveMarket("ceasefire", (0, ONE // 2, ONE // 2)))
    print("\nFinal balances (credits):")
    for name in ("operator", "ana", "ben", "chen", "dara"):
        print(f"  {name:9} {format_micros(ex.ledger.balance(ledger.cash(name))):>14}")
    print(f"  {'rounding':9} {format_micros(ex.ledger.balance(ledger.ROUNDING)):>14}")
    print(f"\nIssued {format_micros(ex.ledger.issued())} credits; ledger total {ex.ledger.total()}")
    print("Invariants: all hold" if not violations(ex, now) else "Invariants: BROKEN")
    return 0
