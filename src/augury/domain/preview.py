"""What an order would do now, without placing it: the execution's own rules, read-only.

A preview checks the order exactly as placing it would (the same validation, the same
order the same command would make), asks the router for the same plan the execution
follows, and sums the plan up with the same price, value and fee rules
(:mod:`augury.domain.views`, :func:`augury.domain.router.cumulative_fee`). Nothing in
the exchange changes. Balances are not checked: a preview answers "what would it cost",
not "can I afford it".
"""

from __future__ import annotations

from dataclasses import dataclass

from augury.domain import router as rt
from augury.domain import views
from augury.domain.book import BUY_YES, SELL_YES, Order, pays_cash
from augury.domain.commands import PlaceOrder
from augury.domain.state import State
from augury.domain.trading import new_order
from augury.domain.units import ONE, Micros


@dataclass(frozen=True)
class PlannedFill:
    venue: str  # "book" | "maker"
    qty: Micros
    price: Micros  # in the order's own token


@dataclass(frozen=True)
class Preview:
    """An order's plan summed up, in integers (micros)."""

    filled: Micros
    unfilled: Micros | None  # None for an order sized by budget
    value: Micros  # what the filled shares cost (a buy) or fetch (a sell), before fees
    fee: Micros
    total: Micros  # a buy's value + fee, a sell's value - fee
    average_price: Micros | None
    fills: tuple[PlannedFill, ...]
    would_rest: bool
    fok_refused: bool
    self_trade_cancels: int
    self_trade_stopped: bool


def preview(ex: State, c: PlaceOrder, now: int) -> Preview:
    """The plan of ``c`` now, summed up (raises ``Rejected`` as placing ``c`` would)."""
    market, order, _side, _token = new_order(ex, c, now)
    steps = rt.plan(market, order, now)
    yes = order.intent in (BUY_YES, SELL_YES)
    fills: list[PlannedFill] = []
    filled = value = cancels = 0
    stopped = False
    for step in steps:
        kind = step[0]
        if kind == "book":
            resting, take = step[1], step[2]
            assert isinstance(resting, Order) and isinstance(take, int)
            yes_value = take * resting.price * market.tick // ONE
            step_value = yes_value if yes else take - yes_value
            price = views.own_price(resting.price, market.tick, yes)
            fills.append(PlannedFill("book", take, price))
        elif kind == "maker":
            take, charge = step[1], step[3]
            assert isinstance(take, int) and isinstance(charge, int)
            step_value = abs(charge)
            maker_price = views.average_price(step_value, take)
            assert maker_price is not None
            fills.append(PlannedFill("maker", take, maker_price))
        elif kind == "cancel":
            cancels += 1
            continue
        elif kind == "stop":
            stopped = True
            continue
        else:
            continue
        filled += take
        value += step_value
    fee = rt.cumulative_fee(0, 0, value, market.fee_bps)
    qty = order.qty
    remaining = max(qty - filled, 0) if qty else 0
    fok_refused = order.tif == "fok" and (remaining > 0 or stopped)
    rests = order.tif in ("gtc", "gtd") and remaining > 0 and not stopped and not fok_refused
    return Preview(
        filled=filled,
        unfilled=remaining if qty else None,
        value=value,
        fee=fee,
        total=value + fee if pays_cash(order.intent) else value - fee,
        average_price=views.average_price(value, filled),
        fills=tuple(fills),
        would_rest=rests,
        fok_refused=fok_refused,
        self_trade_cancels=cancels,
        self_trade_stopped=stopped,
    )


__all__ = ["PlannedFill", "Preview", "preview"]
