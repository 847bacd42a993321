"""A deterministic stream of realistic commands: command ``i`` depends only on (seed, i).

Because no command depends on the state or on a clock, a restarted process can
regenerate exactly the command it sent before (same idempotency key, same bytes). Time
is simulated: command ``i`` belongs at ``time_of(i)``, and about one in ten is an
``AdvanceClock`` to that instant, so GTD orders expire and markets close along the way.

Every ``GENERATION`` commands a new set of four markets opens (binary and categorical,
book-only and with the LMSR maker); the previous generation closes by time, then is
resolved (one-hot or fractional) or voided. Accounts trade limit orders of every time
in force around the middle, market orders by budget, cancels, and complete sets. Many
commands are refused (that is realistic too); enough are accepted to keep books busy.
"""

from __future__ import annotations

import random

from augury.domain import commands as c
from augury.domain.exchange import Exchange, Result
from augury.domain.units import ONE
from augury.engine.entry import AdvanceClock, execute_entry

T0 = 1_700_000_000_000_000
STEP_US = 100_000
ACCOUNTS = tuple(f"u{i}" for i in range(6))
GENERATION = 400
SETUP = 2 * len(ACCOUNTS)
GRANT = 2_000 * ONE

KINDS = ("b", "m", "c", "k")  # binary book, binary maker, categorical maker, categorical book


def time_of(i: int) -> int:
    return T0 + i * STEP_US


def market_name(kind: str, generation: int) -> str:
    return f"{kind}{generation}"


def command_at(seed: int, i: int) -> c.Command:
    """The ``i``-th command of the stream ``seed``."""
    n_accounts = len(ACCOUNTS)
    if i < n_accounts:
        return c.OpenAccount(ACCOUNTS[i])
    if i < SETUP:
        return c.GrantCredits(ACCOUNTS[i - n_accounts], GRANT)
    generation, slot = divmod(i - SETUP, GENERATION)
    rng = random.Random(f"{seed}:{i}")
    if slot < len(KINDS):
        return _create(generation, KINDS[slot], i, rng)
    if slot in range(GENERATION - 20, GENERATION - 20 + len(KINDS)) and generation > 0:
        return _settle(generation - 1, KINDS[slot - GENERATION + 20], rng)
    return _trade(generation, i, rng)


def _create(generation: int, kind: str, i: int, rng: random.Random) -> c.Command:
    categorical = kind in ("c", "k")
    outcomes = ("A", "B", "C") if categorical else ("Yes", "No")
    liquidity = 50 * ONE if kind in ("m", "c") else 0
    close_at = time_of(i + GENERATION + rng.randrange(-40, 40))
    return c.CreateMarket(
        market_name(kind, generation),
        rng.choice(ACCOUNTS),
        f"Question {generation}{kind}?",
        outcomes,
        close_at,
        liquidity=liquidity,
        categorical=categorical,
        fee_bps=rng.choice((0, 0, 25)),
    )


def _settle(generation: int, kind: str, rng: random.Random) -> c.Command:
    market = market_name(kind, generation)
    n = 3 if kind in ("c", "k") else 2
    roll = rng.random()
    if roll < 0.15:
        return c.VoidMarket(market, "voided")
    if roll < 0.3:
        weights = [ONE // n] * n
        weights[0] += ONE - sum(weights)
        return c.ResolveMarket(market, tuple(weights), "split")
    winner = rng.randrange(n)
    return c.ResolveMarket(market, tuple(ONE if j == winner else 0 for j in range(n)), "won")


def _trade(generation: int, i: int, rng: random.Random) -> c.Command:
    account = rng.choice(ACCOUNTS)
    kind = rng.choice(KINDS)
    market = market_name(kind, generation if rng.random() < 0.9 else max(0, generation - 1))
    outcome = rng.randrange(3) if kind in ("c", "k") else 0
    roll = rng.random()
    if roll < 0.1:
        return AdvanceClock(time_of(i))
    if roll < 0.16:
        return c.CancelOrder(account, rng.randrange(1, 1 + i // 2))
    if roll < 0.19:
        return c.MintSets(account, market, rng.randint(1, 5) * ONE)
    if roll < 0.21:
        return c.GrantCredits(account, GRANT // 4, "top-up")
    if roll < 0.25:
        side = rng.choice((c.Side.BUY, c.Side.SELL))
        token = rng.choice((c.Token.YES, c.Token.NO))
        if side is c.Side.BUY and rng.random() < 0.5:
            return c.PlaceOrder(
                account, market, outcome, side, token, budget=rng.randint(1, 20) * ONE
            )
        return c.PlaceOrder(account, market, outcome, side, token, qty=rng.randint(1, 5) * ONE)
    return _limit(account, market, outcome, i, rng)


def _limit(account: str, market: str, outcome: int, i: int, rng: random.Random) -> c.Command:
    side = rng.choice((c.Side.BUY, c.Side.SELL))
    token = rng.choice((c.Token.YES, c.Token.NO))
    price = rng.randint(35, 65) * 10_000 + rng.choice((0, 0, 0, 5_000))
    tif = rng.choice(
        (
            c.TimeInForce.GTC,
            c.TimeInForce.GTC,
            c.TimeInForce.GTD,
            c.TimeInForce.IOC,
            c.TimeInForce.FOK,
        )
    )
    expires_at = time_of(i + rng.randint(1, 60)) if tif is c.TimeInForce.GTD else None
    return c.PlaceOrder(
        account,
        market,
        outcome,
        side,
        token,
        qty=rng.randint(1, 8) * ONE // 2,
        price=price,
        tif=tif,
        expires_at=expires_at,
        post_only=tif is c.TimeInForce.GTC and rng.random() < 0.1,
        self_trade=rng.choice(tuple(c.SelfTrade)),
        client_order_id=f"o{i}" if rng.random() < 0.2 else None,
    )


def drive(exchange: Exchange, seed: int, indexes: range, now: int = T0) -> tuple[int, list[Result]]:
    """Run commands ``indexes`` on a bare exchange with simulated time, as the engine would.

    Returns the clock afterwards and every result. An AdvanceClock backwards is refused
    (as the engine refuses it) and moves nothing.
    """
    results: list[Result] = []
    for i in indexes:
        command = command_at(seed, i)
        if isinstance(command, AdvanceClock) and command.to_us < now:
            results.append(Result(False, (), "time_went_backwards"))
            continue
        result = execute_entry(exchange, command, now)
        if result.ok and isinstance(command, AdvanceClock):
            now = command.to_us
        results.append(result)
    return now, results
