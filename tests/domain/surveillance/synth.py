"""Synthetic trade streams for the surveillance tests: honest noise and planted manipulation.

Streams are made by running real commands through :class:`Exchange`, so the detectors
read real event shapes; every event gets the next journal seq and the command's time.
Honest noise is seeded random traders around a fair price that drifts in log-odds;
each ``plant_*`` function adds one manipulation pattern to the timeline and returns
the accounts it planted. Randomness lives here, in the tests, never in the domain.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
from collections.abc import Callable

import msgspec

from augury.domain import commands as c
from augury.domain.commands import SelfTrade, Side, TimeInForce, Token
from augury.domain.events import Event, OrderAccepted
from augury.domain.exchange import Exchange
from augury.domain.scalar import ScalarRange
from augury.domain.surveillance import AccountInfo, Context, SourceChange, StreamItem
from augury.domain.surveillance.model import DAY_US, HOUR_US, MINUTE_US, SECOND_US
from augury.domain.units import ONE

T0 = 1_700_000_000_000_000
START = T0 + HOUR_US
CLOSE = START + 8 * HOUR_US
CHANGE = CLOSE - HOUR_US  # when the (fake) source change is observed
TICK = 1_000

Action = Callable[["Sim"], None]


class Sim:
    """An exchange whose accepted events are collected as a journal (seq, ts, event)."""

    def __init__(self) -> None:
        self.ex = Exchange()
        self.items: list[StreamItem] = []
        self.seq = 0
        self.ids: dict[str, int] = {}
        self.timeline: list[tuple[int, int, Action]] = []
        self.accounts: dict[str, AccountInfo] = {}
        self.owners: dict[str, tuple[str, ...]] = {}
        self.changes: list[SourceChange] = []
        self.change_at: dict[int, tuple[str, int]] = {}  # ts -> (market, outcome) to observe
        self.scalar: ScalarRange | None = None  # set: every market is scalar (LONG = YES)

    def run(self, command: c.Command, now: int) -> tuple[Event, ...]:
        result = self.ex.execute(command, now)
        if not result.ok:
            return ()
        for event in result.events:
            self.seq += 1
            self.items.append(StreamItem(self.seq, now, event))
        return result.events

    def at(self, ts: int, action: Action) -> None:
        self.timeline.append((ts, len(self.timeline), action))

    def account(self, name: str, age_us: int, **info: object) -> None:
        self.run(c.OpenAccount(name), T0)
        self.run(c.GrantCredits(name, 1_000_000 * ONE), T0)
        self.accounts[name] = msgspec.convert(
            {"account": name, "created_at_us": START - age_us, **info}, AccountInfo
        )

    def market(
        self, market: str, liquidity: int = 0, owners: tuple[str, ...] = (), spec: str = ""
    ) -> None:
        if "creator" not in self.accounts:
            self.account("creator", 400 * DAY_US)
        outcomes = ("YES", "NO") if self.scalar is None else ()
        command = c.CreateMarket(
            market, "creator", "Will it?", outcomes, CLOSE, liquidity, spec=spec, scalar=self.scalar
        )
        assert self.run(command, T0), f"market {market} refused"
        if owners:
            self.owners[market] = owners

    def observe(self, market: str, outcome: int, ts: int) -> None:
        """A source observation toward ``outcome`` at ``ts``: it takes the next journal seq."""

        def capture(sim: Sim) -> None:
            sim.seq += 1
            sim.changes.append(SourceChange(market, outcome, sim.seq, ts, "map"))

        self.at(ts, capture)

    def capture(self, market: str, source: str, value: str, ts: int) -> None:
        """The fetcher's successful capture of ``source`` reading ``value`` at ``ts``."""
        digest = hashlib.sha256(f"{market}/{source}/{value}/{ts}".encode()).hexdigest()
        command = c.RecordObservation(market, source, ts, True, value, digest)
        self.at(ts, lambda sim: _ran(sim.run(command, ts)))

    def play(self) -> None:
        for ts, _, action in sorted(self.timeline, key=lambda x: (x[0], x[1])):
            self.run(c.Tick(), ts)
            action(self)
        self.run(c.Tick(), CLOSE)

    def context(self) -> Context:
        return Context(tuple(self.accounts.values()), dict(self.owners), tuple(self.changes))


def _ran(events: tuple[Event, ...]) -> None:
    assert events, "a command of the scenario was refused"


SOURCES = ("map", "wire", "osint")  # three owners, quorum 2: the war-map case


def spec(window_h: int = 2, quorum: int = 2, numeric: dict[str, object] | None = None) -> str:
    """A war-map spec: three sources of different owners read "yes"/"no" (YES is 0); with
    ``numeric`` (units, tolerance), they read a number instead (a scalar market's spec)."""
    expect = [{"outcome": 0, "value": "yes"}, {"outcome": 1, "value": "no"}]
    sources = [
        {"kind": "http_json", "id": sid, "owner": f"Owner of {sid}",
         "url": f"https://{sid}.example.org/town.json", "path": "$.taken"}
        | ({} if numeric else {"expect": expect})
        for sid in SOURCES
    ]  # fmt: skip
    body: dict[str, object] = {
        "sources": sources,
        "observation_at_us": CLOSE,
        "persistence": {"hours": window_h},
        "quorum": quorum,
    }
    if numeric is not None:
        body["numeric"] = numeric
    return json.dumps(body)


def poll(
    sim: Sim, market: str, shows: Callable[[str, int], str], every_us: int = 10 * MINUTE_US
) -> None:
    """Capture every source every ``every_us`` from the start to the close: ``shows(source,
    ts)`` is what it reads."""
    ts = START
    while ts < CLOSE:
        for source in SOURCES:
            sim.capture(market, source, shows(source, ts), ts)
        ts += every_us


def price(p: float) -> int:
    """A probability rounded to the tick, kept inside 1 tick .. 1 - 1 tick."""
    return min(ONE - TICK, max(TICK, round(p * ONE / TICK) * TICK))


def order(
    account: str,
    market: str,
    token: Token,
    p: int,
    qty: int,
    ts: int,
    tif: TimeInForce = TimeInForce.IOC,
    key: str = "",
    post_only: bool = False,
    self_trade: SelfTrade = SelfTrade.CANCEL_RESTING,
    outcome: int = 0,
) -> Action:
    """An action placing a buy of ``token`` (of ``outcome``'s book in a categorical
    market) at ``p``; ``key`` remembers its order id."""
    expires = ts + 20 * MINUTE_US if tif == TimeInForce.GTD else None
    command = msgspec.convert(
        {
            "account": account,
            "market": market,
            "outcome": outcome,
            "side": Side.BUY,
            "token": token,
            "qty": qty,
            "price": p,
            "tif": tif,
            "expires_at": expires,
            "post_only": post_only,
            "self_trade": self_trade,
        },
        c.PlaceOrder,
    )

    def act(sim: Sim) -> None:
        events = sim.run(command, ts)
        for e in events:
            if isinstance(e, OrderAccepted) and key:
                sim.ids[key] = e.order_id

    return act


def cancel(account: str, key: str, ts: int) -> Action:
    def act(sim: Sim) -> None:
        if key in sim.ids:
            sim.run(c.CancelOrder(account, sim.ids[key]), ts)

    return act


def amend(account: str, key: str, ts: int, price: int | None, qty: int) -> Action:
    """Amend the order named ``key`` to ``qty`` at ``price`` (None: its own price)."""

    def act(sim: Sim) -> None:
        order = sim.ex.orders.get(sim.ids.get(key, 0))
        if order is not None:
            own = order.own_price * sim.ex.markets[order.market].tick
            sim.run(c.AmendOrder(account, order.id, own if price is None else price, qty), ts)

    return act


def lots(shares: int) -> int:
    return shares * ONE


# -- honest noise ----------------------------------------------------------------------
def traders(sim: Sim, rng: random.Random, n: int, prefix: str = "h") -> list[str]:
    """Open ``n`` honest accounts: most months or years old, some young."""
    names = [f"{prefix}{i:02d}" for i in range(n)]
    for name in names:
        young = rng.random() < 0.15
        age = rng.randint(1, 20) * DAY_US if young else rng.randint(30, 700) * DAY_US
        sim.account(name, age)
    return names


def noise(
    sim: Sim,
    rng: random.Random,
    market: str,
    names: list[str],
    fair: float,
    gap_s: float = 30.0,
    drift: float = 0.25,
) -> None:
    """Honest traders around a fair price drifting in log-odds until the close.

    Half the actions take (IOC at the trader's belief, buying YES or NO), half quote
    (GTD bids and asks a tick or two away from the belief, expiring in 20 minutes).
    """
    x = math.log(fair / (1 - fair))
    ts = START
    while True:
        dt = rng.expovariate(1 / gap_s)
        ts += int(dt * SECOND_US)
        if ts >= CLOSE:
            break
        x += rng.gauss(0, drift * math.sqrt(dt / 3600))
        belief = 1 / (1 + math.exp(-(x + rng.gauss(0, 0.15))))
        who = rng.choice(names)
        qty = lots(rng.randint(1, 40))
        yes = rng.random() < 0.5
        if rng.random() < 0.5:
            p = price(belief) if yes else ONE - price(belief)
            sim.at(ts, order(who, market, Token.YES if yes else Token.NO, p, qty, ts))
        else:
            spread = rng.randint(1, 2) * TICK
            p = price(belief) - spread if yes else ONE - price(belief) - spread
            token = Token.YES if yes else Token.NO
            sim.at(ts, order(who, market, token, max(TICK, p), qty, ts, TimeInForce.GTD))


def nervous_quoter(sim: Sim, rng: random.Random, market: str, fair: float) -> None:
    """An honest market maker that quotes normal size and pulls within seconds, all day."""
    sim.account("quoter", 200 * DAY_US)
    ts = START
    for i in range(200):
        ts += rng.randint(60, 180) * SECOND_US
        if ts >= CLOSE:
            break
        key = f"q{i}"
        p = price(fair) - 2 * TICK
        sim.at(ts, order("quoter", market, Token.YES, p, lots(30), ts, TimeInForce.GTC, key))
        pulled = ts + rng.randint(1, 5) * SECOND_US
        sim.at(pulled, cancel("quoter", key, pulled))


# -- planted manipulation -------------------------------------------------------------------
def plant_longshot(sim: Sim, rng: random.Random, market: str, subtle: bool = False) -> set[str]:
    """Young accounts buy YES at 0.3-1.5 cents in the 4 hours before a change toward YES.

    Subtle: two old accounts, three smaller buys each, spread over six hours."""
    names = {f"ls{i}" for i in range(2 if subtle else 3)}
    for name in sorted(names):
        sim.account(name, (rng.randint(200, 400) if subtle else rng.randint(1, 3)) * DAY_US)
        for _ in range(3 if subtle else rng.randint(4, 7)):
            ts = CHANGE - rng.randint(10, 350 if subtle else 240) * MINUTE_US
            qty = lots(rng.randint(60, 150) if subtle else rng.randint(150, 400))
            p = rng.choice((3, 4, 5)) * TICK
            sim.at(ts, order(name, market, Token.YES, p, qty, ts, TimeInForce.GTD))
            take = ts + SECOND_US
            sim.at(take, order(name, market, Token.YES, 15 * TICK, qty // 2, take))
    sim.observe(market, 0, CHANGE)
    return names


def plant_affiliated(sim: Sim, rng: random.Random, market: str, subtle: bool = False) -> set[str]:
    """One account declared at the source's owner and its linked alt trade a little.

    Subtle: the alt is not declared linked; it only shares the staff member's funder."""
    sim.account("staff", 300 * DAY_US, affiliations=("ISW",), funded_by="family")
    if subtle:
        sim.account("alt", 2 * DAY_US, funded_by="family")
    else:
        sim.account("alt", 2 * DAY_US, linked=("staff",))
    sim.account("reporter", 300 * DAY_US, affiliations=("Reuters",))  # not an owner
    for name in ("staff", "alt", "reporter"):
        for _ in range(3):
            ts = START + rng.randint(10, 400) * MINUTE_US
            sim.at(ts, order(name, market, Token.YES, price(0.9), lots(20), ts))
            sim.at(ts, order(name, market, Token.NO, price(0.9), lots(20), ts))
    return {"staff", "alt"}


def _cross(
    sim: Sim,
    market: str,
    bidder: str,
    taker: str,
    qty: int,
    ts: int,
    self_trade: SelfTrade = SelfTrade.CANCEL_RESTING,
) -> None:
    """``bidder`` rests a YES bid inside the spread, ``taker`` hits it at once (if room)."""

    def act(sim: Sim) -> None:
        book = sim.ex.markets[market].books[0]
        p = (book.best_bid + 1) * TICK
        if book.best_bid + 1 >= book.best_ask:
            return  # no room inside the spread: a wash trader would wait
        order(bidder, market, Token.YES, p, qty, ts, TimeInForce.GTC, post_only=True)(sim)
        order(taker, market, Token.NO, ONE - p, qty, ts, self_trade=self_trade)(sim)

    sim.at(ts, act)


def plant_wash(
    sim: Sim, rng: random.Random, market: str, fair: float, subtle: bool = False
) -> set[str]:
    """A linked pair, a ring of three and a self-trader trade among themselves and end flat.

    Subtle: the ring members also trade honestly (twenty takes each at the fair price)."""
    sim.account("w1", 5 * DAY_US, funded_by="sponsor")
    sim.account("w2", 5 * DAY_US, funded_by="sponsor")
    for name in ("r1", "r2", "r3", "self"):
        sim.account(name, 50 * DAY_US)
    ring = ("r1", "r2", "r3")
    for i in range(8):
        ts = START + rng.randint(30, 420) * MINUTE_US
        qty = lots(rng.randint(40, 80))
        a, b = ("w1", "w2") if i % 2 else ("w2", "w1")
        _cross(sim, market, a, b, qty, ts)
        for j in range(3):
            _cross(sim, market, ring[j], ring[(j + 1) % 3], qty, ts + (j + 2) * SECOND_US)
            _cross(sim, market, ring[(j + 1) % 3], ring[j], qty, ts + (j + 5) * SECOND_US)
    for _ in range(3):
        ts = START + rng.randint(30, 420) * MINUTE_US
        _cross(sim, market, "self", "self", lots(30), ts, self_trade=SelfTrade.ALLOW)
    for name in ring if subtle else ():
        for _ in range(20):
            ts = START + rng.randint(5, 470) * MINUTE_US
            token = rng.choice((Token.YES, Token.NO))
            sim.at(ts, order(name, market, token, price(fair), lots(rng.randint(20, 60)), ts))
    return {"w1", "w2", "r1", "r2", "r3", "self"}


def plant_spoofer(
    sim: Sim, rng: random.Random, market: str, subtle: bool = False, by_amending: bool = False
) -> set[str]:
    """Large bids shown a tick under the best bid and pulled within seconds, six times,
    while selling YES into the honest bids.

    Subtle: three smaller bids (150 shares), a few minutes apart. ``by_amending``: each
    bid is pulled by an amendment instead of a cancel, in turn reduced in place to one
    lot and replaced by one at the lowest price."""
    sim.account("spoof", 90 * DAY_US)
    ts = START + rng.randint(60, 360) * MINUTE_US
    size = lots(150 if subtle else 500)
    for i in range(3 if subtle else 6):
        ts += rng.randint(120, 240) * SECOND_US if subtle else rng.randint(40, 90) * SECOND_US
        key = f"sp{i}"

        def act(sim: Sim, ts: int = ts, key: str = key) -> None:
            book = sim.ex.markets[market].books[0]
            best = book.best_bid if book.best_bid > 1 else book.best_ask - 2
            bid = (best - 1) * TICK  # behind the best bid: shown, never meant to trade
            order("spoof", market, Token.YES, bid, size, ts, TimeInForce.GTC, key)(sim)
            order("spoof", market, Token.NO, ONE - best * TICK, lots(20), ts)(sim)

        sim.at(ts, act)
        pulled = ts + rng.randint(2, 4) * SECOND_US
        if not by_amending:
            sim.at(pulled, cancel("spoof", key, pulled))
        elif i % 2:
            sim.at(pulled, amend("spoof", key, pulled, TICK, size))
        else:
            sim.at(pulled, amend("spoof", key, pulled, None, lots(1)))
    return {"spoof"}


def plant_last_minute(sim: Sim, rng: random.Random, market: str, subtle: bool = False) -> set[str]:
    """Two accounts dump YES through the maker in the last ten minutes before close.

    Subtle: one account, two smaller sells."""
    names = {"dump1"} if subtle else {"dump1", "dump2"}
    for name in sorted(names):
        sim.account(name, 100 * DAY_US)
        for _ in range(2 if subtle else 4):
            ts = CLOSE - rng.randint(1, 10) * MINUTE_US
            qty = lots(rng.randint(40, 80) if subtle else rng.randint(80, 150))
            sim.at(ts, order(name, market, Token.NO, price(0.6), qty, ts))
    return names


def plant_unconfirmed(
    sim: Sim, rng: random.Random, market: str, start: int, end: int, subtle: bool = False
) -> set[str]:
    """Accounts buy YES at 0.3-1.5 cents between ``start`` and ``end`` (most of it early):
    four to seven bids of 150-400 shares each, half taken at once.

    Subtle: two accounts, three buys of 60-150 shares each, spread evenly."""
    names = {f"uc{i}" for i in range(2 if subtle else 3)}
    span = (end - start) // MINUTE_US
    for name in sorted(names):
        sim.account(name, rng.randint(1, 400) * DAY_US)
        for _ in range(3 if subtle else rng.randint(4, 7)):
            ts = start + rng.randint(1, span if subtle else span // 2) * MINUTE_US
            qty = lots(rng.randint(60, 150) if subtle else rng.randint(150, 400))
            p = rng.choice((3, 4, 5)) * TICK
            sim.at(ts, order(name, market, Token.YES, p, qty, ts, TimeInForce.GTD))
            take = ts + SECOND_US
            sim.at(take, order(name, market, Token.YES, 15 * TICK, qty // 2, take))
    return names
