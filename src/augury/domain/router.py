"""Best execution: plan how a taking order walks the book and the maker together.

The plan is computed read-only (nothing in the state changes), so a fill-or-kill or
post-only check can refuse the order before anything happens. At every step the
order takes whichever venue offers the better next lot: the maker while its next lot
is at least as good as the best resting price (or the order's limit), then the book.
The maker never stays crossed with the book: :func:`next_cross` finds a resting order
that the maker's moved price has passed, to be filled against the maker.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Final, Literal

from augury.domain import lmsr
from augury.domain.book import BUY_NO, BUY_YES, SELL_NO, SELL_YES, Order, pays_cash
from augury.domain.market import Market
from augury.domain.units import ONE, div_up

STEPS_MAX: Final = 100_000
"""Bound on the steps of one walk: more would mean a bug, not a big order."""

# A step: ("book", resting, qty) | ("maker", qty, delta, charge) | ("cancel", resting)
#         | ("expire", resting) | ("stop",)
Step = tuple[object, ...]


def maker_delta(market: Market, intent: int, outcome: int, qty: int) -> tuple[int, ...]:
    """The change of the maker's sold-shares vector when an order of ``intent`` trades."""
    n = market.n
    if intent in (BUY_YES, SELL_YES):
        sign = 1 if intent == BUY_YES else -1
        return tuple(sign * qty if j == outcome else 0 for j in range(n))
    sign = 1 if intent == BUY_NO else -1
    return tuple(0 if j == outcome else sign * qty for j in range(n))


def signed_value(intent: int, qty: int, own_price_micros: int) -> int:
    """What the account pays (+) or receives (-) for ``qty`` at an own price."""
    value = qty * own_price_micros // ONE
    return value if pays_cash(intent) else -value


def cumulative_fee(notional: int, paid: int, value: int, fee_bps: int) -> int:
    """The taker fee on one more fill of ``value`` after ``notional`` already filled and
    ``paid`` already charged: the running total is rounded up, not each fill.

    That keeps an order's total fee exactly ceil(total notional * rate), which is what
    its escrow reserved.
    """
    if fee_bps == 0:
        return 0
    return div_up((notional + value) * fee_bps, 10_000) - paid


def fee_for(order: Order, value: int, fee_bps: int) -> int:
    """The taker fee ``order`` pays on one more fill of ``value``."""
    return cumulative_fee(order.fee_notional, order.fee_paid, value, fee_bps)


def maker_lots(market: Market, q: list[int], intent: int, outcome: int, own_micros: int) -> int:
    """How much the maker gives an order of ``intent`` while its next lot beats a price."""
    side: Literal["buy", "sell"] = "buy" if pays_cash(intent) else "sell"
    token: Literal["yes", "no"] = "yes" if intent in (BUY_YES, SELL_YES) else "no"
    if not 0 < own_micros < ONE:
        return 0
    return lmsr.max_qty_below_average(
        market.liquidity, q, outcome, own_micros, market.lot, side, token
    )


def _budget_qty(market: Market, q: list[int], order: Order, budget: int) -> int:
    """The most lots a budget order can buy from the maker for ``budget`` (before fees)."""
    lot = market.lot
    if order.intent == BUY_YES:
        return lmsr.max_qty_for_budget(market.liquidity, q, order.outcome, budget, lot)
    if not market.categorical:
        return lmsr.max_qty_for_budget(market.liquidity, q, 1 - order.outcome, budget, lot)

    def affordable(lots: int) -> bool:
        delta = maker_delta(market, order.intent, order.outcome, lots * lot)
        return lmsr.trade_charge(market.liquidity, q, delta) <= budget

    low, high = 0, budget // lot + 1  # a NO basket can cost far less than 1 per share
    for _ in range(64):  # grow the bracket until it holds more than the budget buys
        if not affordable(high):
            break
        low, high = high, high * 2
    else:
        raise AssertionError("budget bracket did not close")
    for _ in range(200):
        if high - low <= 1:
            break
        mid = (low + high) // 2
        if affordable(mid):
            low = mid
        else:
            high = mid
    return low * lot


class _Walk:
    """Mutable bookkeeping of one planned walk (remaining size, budget, fees, maker q)."""

    def __init__(self, market: Market, order: Order) -> None:
        self.market = market
        self.order = order
        self.remaining = order.remaining
        self.budget = order.budget
        self.fee_notional = order.fee_notional
        self.fee_paid = order.fee_paid
        self.q = list(market.q)
        self.steps: list[Step] = []

    def fee(self, value: int) -> int:
        return cumulative_fee(self.fee_notional, self.fee_paid, value, self.market.fee_bps)

    def spend(self, value: int) -> None:
        fee = self.fee(value)
        self.fee_notional += value
        self.fee_paid += fee
        if self.budget:
            self.budget -= value + fee
            assert self.budget >= 0

    def affordable(self, qty: int, own_micros: int) -> int:
        """Shrink ``qty`` (lots) to what the remaining budget pays at ``own_micros``."""
        lot = self.market.lot
        bps = self.market.fee_bps
        best = self.budget * ONE * 10_000 // (own_micros * (10_000 + bps))
        qty = min(qty, best - best % lot)
        for _ in range(4):
            if qty <= 0:
                return 0
            value = qty * own_micros // ONE
            if value + self.fee(value) <= self.budget:
                return qty
            qty -= lot
        raise AssertionError("budget sizing did not converge")

    def more(self) -> bool:
        return self.remaining > 0 if self.order.qty else self.budget > 0


def plan(market: Market, order: Order, now: int) -> list[Step]:
    """The steps a taking order would execute now, computed without changing anything."""
    book = market.books[order.outcome]
    if not market.has_maker and (
        book.best_ask > order.price if order.bid else book.best_bid < order.price
    ):
        return []  # nothing on the book within the limit, and no maker: it just rests
    walk = _Walk(market, order)
    top, tick = market.top, market.tick
    resting_iter: Iterator[Order] = (
        book.iter_asks(order.price) if order.bid else book.iter_bids(order.price)
    )
    resting = next(resting_iter, None)
    maker_tried_at: Order | bool | None = False  # the resting order the maker last yielded to
    for _ in range(STEPS_MAX):
        if not walk.more():
            break
        if resting is not None and not resting.live_at(now):
            walk.steps.append(("expire", resting))
            resting = next(resting_iter, None)
            continue
        if resting is not None:
            yes = order.intent in (BUY_YES, SELL_YES)
            bound = (resting.price if yes else top - resting.price) * tick
        else:
            bound = order.own_price * tick
        if market.has_maker and maker_tried_at is not resting:
            maker_tried_at = resting
            if _maker_step(walk, bound):
                continue
        if resting is None:
            break
        # self-trade prevention acts only when the walk really reaches an own order
        if resting.account == order.account:
            if order.self_trade == "cancel_resting":
                walk.steps.append(("cancel", resting))
                resting = next(resting_iter, None)
                continue
            if order.self_trade == "cancel_incoming":
                walk.steps.append(("stop",))
                break
        take = min(resting.remaining, walk.remaining) if order.qty else resting.remaining
        if not order.qty:
            take = walk.affordable(take, bound)
            if take == 0:
                break
        walk.steps.append(("book", resting, take))
        walk.spend(take * bound // ONE)
        if order.qty:
            walk.remaining -= take
        if take < resting.remaining:
            break
        resting = next(resting_iter, None)
    else:
        raise AssertionError("router walk exceeded its step bound")
    return walk.steps


def _maker_step(walk: _Walk, bound: int) -> bool:
    """Plan one chunk from the maker at lots no worse than ``bound``; False if none."""
    market, order = walk.market, walk.order
    lot = market.lot
    take = maker_lots(market, walk.q, order.intent, order.outcome, bound)
    if order.qty:
        take = min(take, walk.remaining)
    else:
        bps = market.fee_bps
        budget = walk.budget * 10_000 // (10_000 + bps) - (1 if bps else 0)
        take = min(take, _budget_qty(market, walk.q, order, max(budget, 0)))
    for _ in range(8):
        if take <= 0:
            return False
        delta = maker_delta(market, order.intent, order.outcome, take)
        charge = lmsr.trade_charge(market.liquidity, walk.q, delta)
        fits = charge <= signed_value(order.intent, take, bound)
        if fits and not order.qty:
            fits = charge + walk.fee(charge) <= walk.budget
        if fits:
            walk.steps.append(("maker", take, delta, charge))
            walk.spend(abs(charge))
            if order.qty:
                walk.remaining -= take
            for j, d in enumerate(delta):
                walk.q[j] += d
            return True
        take -= lot
    raise AssertionError("maker chunk rounding did not converge")


def fillable(steps: list[Step]) -> int:
    """Total quantity the planned steps would fill."""
    total = 0
    for step in steps:
        if step[0] == "book":
            total += step[2]  # type: ignore[operator]
        elif step[0] == "maker":
            total += step[1]  # type: ignore[operator]
    return total


def crosses(steps: list[Step]) -> bool:
    """Whether a plan trades or meets an own order (what post-only refuses)."""
    return any(step[0] != "expire" for step in steps)


def next_cross(market: Market, now: int) -> tuple[Order, int, tuple[int, ...], int] | None:
    """A live resting order the maker's price has moved through, and the chunk to fill.

    Returns (order, qty, maker delta, maker charge) for the first such order, scanning
    books in outcome order, bids before asks, or None when the maker and the books
    are not crossed.
    """
    if not market.has_maker:
        return None
    tick, top = market.tick, market.top
    for outcome, book in enumerate(market.books):
        # Walk each side in priority order: a level holding only expired orders (not yet
        # removed by a Tick) must not hide a live, crossed order at the next level.
        for orders in (book.iter_bids(1), book.iter_asks(top - 1)):
            for order in orders:
                if not order.live_at(now):
                    continue
                own = order.own_price * tick
                take = min(
                    maker_lots(market, market.q, order.intent, outcome, own), order.remaining
                )
                for _ in range(8):
                    if take <= 0:
                        break
                    delta = maker_delta(market, order.intent, outcome, take)
                    charge = lmsr.trade_charge(market.liquidity, market.q, delta)
                    if charge <= signed_value(order.intent, take, own):
                        return order, take, delta, charge
                    take -= market.lot
                break  # the first live order decides; later ones are no better
    return None


__all__ = [
    "BUY_NO",
    "BUY_YES",
    "SELL_NO",
    "SELL_YES",
    "Step",
    "crosses",
    "fee_for",
    "fillable",
    "maker_delta",
    "maker_lots",
    "next_cross",
    "plan",
    "signed_value",
]
