"""Determinism: the same commands at the same times give byte-identical events.

The hash-chained journal and every replica rely on it. A seeded generator produces a
realistic session (several accounts, binary and categorical markets with and without
the maker, every kind of order, sets, conversions, halts, time passing, resolution and
void); the session is then run on fresh exchanges, in this process and in another one
with a different string-hash seed and cold LMSR caches, and the encoded events must be
identical. Commands and events also round-trip through the codec byte for byte, and
replaying the decoded events rebuilds the same state.
"""

from __future__ import annotations

import hashlib
import os
import random
import subprocess
import sys
from typing import Any

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from augury.domain import codec, lmsr
from augury.domain import commands as c
from augury.domain import events as ev
from augury.domain.exchange import Exchange, Result
from augury.domain.fingerprint import fingerprint
from augury.domain.invariants import violations
from augury.domain.market import Market, Status
from augury.domain.state import State
from augury.domain.units import ONE

T0 = 1_700_000_000_000_000
SECOND = 1_000_000
ACCOUNTS = ("ann", "ben", "cid", "dee", "eve")

Session = list[tuple[int, c.Command]]
"""Commands with the instant (UTC microseconds) each is executed at."""


# -- a seeded session generator -----------------------------------------------------------
class Generator:
    """Draws plausible commands from ``rnd``, looking at a model exchange to aim them."""

    def __init__(self, rnd: random.Random) -> None:
        self.rnd = rnd
        self.ex = Exchange()
        self.now = T0
        self.session: Session = []
        self.markets: list[str] = []

    def emit(self, command: c.Command) -> Result:
        self.session.append((self.now, command))
        return self.ex.execute(command, self.now)

    def setup(self) -> None:
        rnd = self.rnd
        for account in ACCOUNTS:
            self.emit(c.OpenAccount(account))
            self.emit(c.GrantCredits(account, rnd.randint(500, 5_000) * ONE, memo="start"))
        for index, n in enumerate((2, rnd.choice((3, 4)), rnd.choice((2, 3)))):
            liquidity = rnd.choice((0, rnd.randint(20, 200) * ONE))
            result = self.emit(
                c.CreateMarket(
                    market=f"m{index}",
                    creator=ACCOUNTS[index],
                    question=f"Question {index}?",
                    outcomes=tuple(f"o{j}" for j in range(n)),
                    close_at=self.now + rnd.randint(120, 1_200) * SECOND,
                    liquidity=liquidity,
                    tick=rnd.choice((1_000, 10_000)),
                    fee_bps=rnd.choice((0, 50)),
                    categorical=n > 2,
                )
            )
            assert result.ok, result
            self.markets.append(f"m{index}")
            for account in ACCOUNTS:
                self.emit(c.MintSets(account, f"m{index}", rnd.randint(5, 40) * ONE))

    def market(self) -> Market:
        """A market open for trading if there is one (so that most orders trade)."""
        markets = [self.ex.markets[m] for m in self.markets]
        live = [m for m in markets if m.status is Status.OPEN and self.now < m.close_at]
        return self.rnd.choice(live or markets)

    def yes_price(self, market: Market, outcome: int) -> int:
        if market.has_maker:
            return lmsr.marginal_prices(market.liquidity, market.q)[outcome]
        book = market.books[outcome if market.categorical else 0]
        if book.best_bid and book.best_ask < book.top:
            mid = (book.best_bid + book.best_ask) * market.tick // 2
            return ONE - mid if not market.categorical and outcome == 1 else mid
        return ONE // market.n

    def order(self) -> c.PlaceOrder:
        rnd = self.rnd
        market = self.market()
        outcome = rnd.randrange(market.n)
        side, token = rnd.choice(list(c.Side)), rnd.choice(list(c.Token))
        account = rnd.choice(ACCOUNTS)
        qty = rnd.randint(1, 40) * ONE // 4
        if side is c.Side.SELL:  # sell what the account holds, or buy instead
            index = outcome if token is c.Token.YES else market.no_token(outcome)
            held = market.held(account, index)
            held -= held % market.lot
            side, qty = (c.Side.SELL, min(qty, held)) if held else (c.Side.BUY, qty)
        extra: dict[str, Any] = {
            "self_trade": rnd.choice(list(c.SelfTrade)),
            "client_order_id": rnd.choice((None, None, f"k{rnd.randrange(6)}")),
        }
        kind = rnd.random()
        if kind < 0.15:
            if side is c.Side.BUY and rnd.random() < 0.5:
                return c.PlaceOrder(account, market.id, outcome, side, token, budget=qty, **extra)
            tif = rnd.choice((c.TimeInForce.IOC, c.TimeInForce.FOK))
            return c.PlaceOrder(account, market.id, outcome, side, token, qty, tif=tif, **extra)
        own = self.yes_price(market, outcome)
        own = own if token is c.Token.YES else ONE - own
        aggressive = 1 if side is c.Side.BUY else -1
        price = own + aggressive * rnd.randint(-20_000, 12_000)
        price = min(max(price // market.tick * market.tick, market.tick), ONE - market.tick)
        tif = rnd.choice(list(c.TimeInForce))
        expires = self.now + rnd.randint(1, 60) * SECOND if tif is c.TimeInForce.GTD else None
        post_only = tif in (c.TimeInForce.GTC, c.TimeInForce.GTD) and rnd.random() < 0.2
        return c.PlaceOrder(
            account,
            market.id,
            outcome,
            side,
            token,
            qty,
            price,
            tif=tif,
            expires_at=expires,
            post_only=post_only,
            **extra,
        )

    def other(self) -> c.Command:
        rnd = self.rnd
        market = self.market()
        account = rnd.choice(ACCOUNTS)
        qty = rnd.randint(1, 20) * ONE // 4
        outcome = rnd.randrange(market.n)
        if self.rnd.random() < 0.1:
            paused = self.ex.markets[rnd.choice(self.markets)]
            if paused.status is Status.HALTED:
                return c.ResumeMarket(paused.id, "go")
            return c.HaltMarket(paused.id, "pause")
        choices: list[c.Command] = [
            c.MintSets(account, market.id, qty),
            c.RedeemSets(account, market.id, qty, rnd.choice((None, outcome))),
            c.ConvertNo(account, market.id, outcome, qty, to_yes=rnd.random() < 0.5),
            c.CancelAll(account, rnd.choice((None, market.id))),
            c.GrantCredits(account, rnd.randint(1, 100) * ONE),
        ]
        open_ids = sorted(self.ex.open_orders[account])
        if open_ids:
            choices.append(c.CancelOrder(account, rnd.choice(open_ids)))
        return rnd.choice(choices)

    def end(self, market: Market) -> c.Command:
        rnd = self.rnd
        if rnd.random() < 0.25:
            return c.VoidMarket(market.id, "n/a")
        if rnd.random() < 0.5:
            weights = [0] * market.n
            weights[rnd.randrange(market.n)] = ONE
        else:
            cuts = sorted(rnd.randint(0, ONE) for _ in range(market.n - 1))
            weights = [b - a for a, b in zip([0, *cuts], [*cuts, ONE], strict=True)]
        return c.ResolveMarket(market.id, tuple(weights), "decided")

    def run(self, steps: int) -> Session:
        self.setup()
        rnd = self.rnd
        for _ in range(steps):
            roll = rnd.random()
            if roll < 0.65:
                self.emit(self.order())
            elif roll < 0.88:
                self.emit(self.other())
            elif roll < 0.99:
                self.now += rnd.randint(1, 30) * SECOND
                if rnd.random() < 0.7:
                    self.emit(c.Tick())
            else:
                self.emit(self.end(self.market()))
        for market_id in self.markets:  # settle whatever is still live
            self.emit(self.end(self.ex.markets[market_id]))
        return self.session


def generate(seed: int, steps: int = 120) -> Session:
    return Generator(random.Random(seed)).run(steps)


def execute(session: Session) -> tuple[Exchange, list[Result], list[ev.Event]]:
    ex = Exchange()
    results = [ex.execute(command, now) for now, command in session]
    events = [e for result in results for e in result.events]
    return ex, results, events


SEEDS = st.integers(0, 2**32 - 1)
STRESS = int(os.environ.get("AUGURY_STRESS", "1"))
"""``AUGURY_STRESS=N`` runs N times as many examples."""
FAST = settings(
    max_examples=25 * STRESS, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


# -- the tests ---------------------------------------------------------------------------------
def test_a_session_trades() -> None:
    """The generator is worth testing with: its sessions fill, refuse, settle and void."""
    kinds: dict[str, int] = {}
    for seed in range(5):
        _, results, events = execute(generate(seed))
        for e in events:
            kinds[type(e).__name__] = kinds.get(type(e).__name__, 0) + 1
        kinds["refused"] = kinds.get("refused", 0) + sum(not r.ok for r in results)
    for kind in ("BookFill", "MakerFill", "OrderRested", "MarketSettled", "NoConverted"):
        assert kinds.get(kind, 0) > 0, kinds
    assert kinds["refused"] > 0


@FAST
@given(SEEDS)
def test_same_commands_give_identical_bytes(seed: int) -> None:
    session = generate(seed)
    first, first_results, first_events = execute(session)
    second, second_results, second_events = execute(session)
    assert codec.encode(first_events) == codec.encode(second_events)
    assert codec.encode(first_results) == codec.encode(second_results)
    assert fingerprint(first) == fingerprint(second)


@FAST
@given(SEEDS)
def test_events_round_trip_through_the_codec(seed: int) -> None:
    _, _, events = execute(generate(seed))
    data = codec.encode(events)
    decoded = codec.decode_events(data)
    assert decoded == events
    assert codec.encode(decoded) == data
    for e in events:
        one = codec.encode(e)
        assert codec.decode_event(one) == e
        assert codec.encode(codec.decode_event(one)) == one


@FAST
@given(SEEDS)
def test_commands_round_trip_through_the_codec(seed: int) -> None:
    for _, command in generate(seed, steps=60):
        data = codec.encode(command)
        decoded = codec.decode_command(data)
        assert decoded == command and type(decoded) is type(command)
        assert codec.encode(decoded) == data
        assert codec.command_from_builtins(msgspec.json.decode(data)) == command


@FAST
@given(SEEDS)
def test_replaying_decoded_events_rebuilds_the_state(seed: int) -> None:
    session = generate(seed)
    live, _, events = execute(session)
    replayed = State()
    for e in codec.decode_events(codec.encode(events)):
        replayed.apply(e)
    assert fingerprint(replayed) == fingerprint(live)
    assert violations(replayed, session[-1][0]) == []


_CHILD = """
import hashlib, sys
import msgspec
from augury.domain import codec
from augury.domain.exchange import Exchange

for line in sys.stdin.buffer.read().splitlines():
    ex = Exchange()
    events = []
    for now, raw in msgspec.json.decode(line):
        command = codec.decode_command(msgspec.json.encode(raw))
        events.extend(ex.execute(command, now).events)
    print(hashlib.sha256(codec.encode(events)).hexdigest())
"""


def test_another_process_gives_identical_bytes() -> None:
    """A fresh interpreter (other hash seed, cold LMSR caches) produces the same bytes."""
    seeds = (7, 2024)
    lines = []
    expected = []
    for seed in seeds:
        session = generate(seed)
        lines.append(codec.encode([[now, command] for now, command in session]))
        expected.append(hashlib.sha256(codec.encode(execute(session)[2])).hexdigest())
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    child = subprocess.run(
        [sys.executable, "-c", _CHILD],
        input=b"\n".join(lines),
        capture_output=True,
        env=env,
        check=True,
        timeout=120,
    )
    assert child.stdout.decode().split() == expected
