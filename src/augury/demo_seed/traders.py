"""The scripted traders: each market's latent crowd, takers trading the gap to the
maker's price, and the book-keeper's GTD quotes around it."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import UTC, datetime

from augury.demo_seed.seeder import Seeder
from augury.demo_seed.stories import BOOKMAKER, HOUR_US, STEPS_PER_DAY, TICK, TRADERS, Story
from augury.domain import commands as dc
from augury.domain import lmsr
from augury.domain.exchange import Exchange
from augury.domain.units import ONE


# -- the simulation --------------------------------------------------------------------
def _logit(p: float) -> float:
    p = min(max(p, 0.005), 0.995)
    return math.log(p / (1 - p))


def _normalize(values: list[float]) -> list[float]:
    total = sum(values)
    return [v / total for v in values]


@dataclass
class _Crowd:
    """A market's latent belief (per outcome) and the truth it drifts to."""

    belief: list[float]
    truth: list[float]


def _step_crowd(crowd: _Crowd, rng: random.Random, shock: float) -> None:
    moved = []
    for b, t in zip(crowd.belief, crowd.truth, strict=True):
        x = _logit(b)
        x += 0.06 * (_logit(t) - x) + rng.gauss(0, shock)
        moved.append(1 / (1 + math.exp(-x)))
    crowd.belief = _normalize(moved)


@dataclass(frozen=True, slots=True)
class _View:
    prices: list[int]
    open: bool
    held: dict[str, list[int]]


def _views(ex: Exchange, ids: list[str], accounts: tuple[str, ...]) -> dict[str, _View]:
    out = {}
    for market_id in ids:
        market = ex.markets[market_id]
        prices = list(lmsr.marginal_prices(market.liquidity, market.q))
        held = {a: list(market.positions[a]) for a in accounts if a in market.positions}
        out[market_id] = _View(prices, market.status.value == "open", held)
    return out


def _price(micros: float) -> int:
    """A limit price on the tick, strictly inside (0, 1)."""
    ticks = round(micros / TICK)
    return min(max(ticks, 2), ONE // TICK - 2) * TICK


def simulate(s: Seeder, steps: int) -> None:
    rng = s.rng
    crowds = {sid: _Crowd(list(story.start), list(story.truth)) for sid, story in s.stories.items()}
    ids = list(s.stories)
    span = s.end_us - s.begin_us
    for step in range(steps):
        at = s.begin_us + span * step // steps
        s.run_due(at)
        s.advance(at)
        fraction = step / steps
        hour = datetime.fromtimestamp(at / 1e6, UTC).hour
        daytime = 1.3 if 7 <= hour <= 21 else 0.5  # quieter at night (UTC)
        views: dict[str, _View] = s.query(lambda ex: _views(ex, ids, TRADERS))
        orders: list[tuple[dc.Command, str]] = []
        for sid in ids:
            story, crowd, view = s.stories[sid], crowds[sid], views[sid]
            for when, truth in story.news:
                if fraction - 1 / steps < when <= fraction:
                    crowd.truth = list(truth)
            _step_crowd(crowd, rng, 0.05 if fraction > 0.1 else 0.02)
            if not view.open:  # closed: resolution is for the resolvers (and a hook)
                continue
            count = _poisson(rng, story.activity * daytime)
            for _ in range(count):
                order = _taker(rng, sid, story, crowd, view)
                if order is not None:
                    orders.append((order, order.account))
                    _impact(story, view, order)  # the next trader of this step sees it
            if rng.random() < 0.6:
                orders.extend((o, BOOKMAKER) for o in _quotes(rng, sid, story, view, at))
        if orders:
            s.run_all(orders)
        if step % (STEPS_PER_DAY * 7) == 0:
            s.log(f"  day {step // STEPS_PER_DAY}: {s.commands} commands")
    # a last round of quotes, so that every open book has depth on both sides at the end
    views = s.query(lambda ex: _views(ex, ids, ()))
    final = [
        (order, BOOKMAKER)
        for sid in ids
        if views[sid].open
        for order in _quotes(rng, sid, s.stories[sid], views[sid], s.now_us, every_outcome=True)
    ]
    s.run_all(final)


def _poisson(rng: random.Random, mean: float) -> int:
    limit, k, p = math.exp(-mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def _taker(
    rng: random.Random, sid: str, story: Story, crowd: _Crowd, view: _View
) -> dc.PlaceOrder | None:
    trader = rng.choice(TRADERS)
    seen = [min(max(b + rng.gauss(0, 0.025), 0.01), 0.99) for b in crowd.belief]
    prices = [p / ONE for p in view.prices]
    outcomes = range(len(prices)) if story.categorical else range(1)
    outcome = max(outcomes, key=lambda i: abs(seen[i] - prices[i]))
    gap = seen[outcome] - prices[outcome]
    if abs(gap) < 0.012:
        return None
    conviction = min(abs(gap), 0.25) * rng.uniform(0.6, 1.6)
    budget = int(max(2.0, min(400.0, conviction * story.liquidity * 0.5)) * ONE)
    budget -= budget % ONE  # whole credits
    held = view.held.get(trader)
    if gap > 0:
        return dc.PlaceOrder(
            trader, sid, outcome, dc.Side.BUY, dc.Token.YES, budget=budget, tif=dc.TimeInForce.IOC
        )
    yes_held = held[outcome] if held else 0
    if yes_held >= ONE and rng.random() < 0.7:  # take profit / cut: sell what it holds
        qty = min(yes_held, int(budget / max(prices[outcome], 0.02)))
        qty -= qty % ONE
        if qty >= ONE:
            return dc.PlaceOrder(
                trader, sid, outcome, dc.Side.SELL, dc.Token.YES, qty=qty, tif=dc.TimeInForce.IOC
            )
    if story.categorical:
        return dc.PlaceOrder(
            trader, sid, outcome, dc.Side.BUY, dc.Token.NO, budget=budget, tif=dc.TimeInForce.IOC
        )
    return dc.PlaceOrder(  # binary: YES on "No" is NO on "Yes"
        trader, sid, 1, dc.Side.BUY, dc.Token.YES, budget=budget, tif=dc.TimeInForce.IOC
    )


def _impact(story: Story, view: _View, order: dc.PlaceOrder) -> None:
    """Move the step's price view as the order will roughly move the maker (LMSR: a
    price p moves by about p(1-p)/b per share), so traders in one step do not all
    chase the same stale gap."""
    prices = view.prices
    binary_no = not story.categorical and order.outcome == 1
    outcome = 0 if binary_no else order.outcome
    p = prices[outcome] / ONE
    up = (order.side is dc.Side.BUY) == (order.token is dc.Token.YES) and not binary_no
    if order.qty is not None:
        shares = order.qty / ONE
    else:
        paid = p if up else 1 - p
        shares = (order.budget or 0) / ONE / max(paid, 0.01)
    moved = min(max(p + (1 if up else -1) * p * (1 - p) * shares / story.liquidity, 0.01), 0.99)
    rest = 1 - p
    for i, old in enumerate(prices):
        if i == outcome:
            prices[i] = int(moved * ONE)
        elif rest > 0:
            prices[i] = int(old * (1 - moved) / rest)


def _quotes(
    rng: random.Random,
    sid: str,
    story: Story,
    view: _View,
    now_us: int,
    every_outcome: bool = False,
) -> list[dc.PlaceOrder]:
    """A bid and an offer a little away from the maker's price, good for 12-36 hours."""
    if not story.categorical:
        outcomes = [0]
    elif every_outcome:
        outcomes = list(range(len(view.prices)))
    else:
        outcomes = [rng.randrange(len(view.prices))]
    out = []
    for outcome in outcomes:
        out.extend(_quote(rng, sid, outcome, view.prices[outcome], now_us))
    return out


def _quote(
    rng: random.Random, sid: str, outcome: int, price: int, now_us: int
) -> list[dc.PlaceOrder]:
    out = []
    for _ in range(rng.randint(1, 2)):
        spread = rng.randint(4, 30) * TICK
        qty = rng.randint(5, 60) * ONE
        expires = now_us + rng.randint(12, 36) * HOUR_US
        bid = _price(price - spread)
        ask_no = _price(ONE - (price + spread))  # buying NO at 1 - p offers YES at p
        for token, limit in ((dc.Token.YES, bid), (dc.Token.NO, ask_no)):
            out.append(
                dc.PlaceOrder(
                    BOOKMAKER,
                    sid,
                    outcome,
                    dc.Side.BUY,
                    token,
                    qty=qty,
                    price=limit,
                    tif=dc.TimeInForce.GTD,
                    expires_at=expires,
                    post_only=True,
                )
            )
    return out
