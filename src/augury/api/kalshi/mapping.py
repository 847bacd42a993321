"""How Augury's markets, orders and statuses read in Kalshi's terms (docs/kalshi.md).

* A binary market is one Kalshi market, alone in its event; a categorical market is an
  event whose markets are its outcomes (mutually exclusive), each outcome's YES book.
* Tickers are derived from market ids, stable and uppercase: a lowercase letter is
  written in capitals, a capital as ``_`` and the letter, ``_`` as ``__``, anything else
  (digits, ``-``, ``.``) as it is; an outcome's market adds ``~`` and its index
  (``ELECTION~2``). The event's ticker is the market id's.
* A series is a category (``GENERAL`` for markets without one).

Nothing here computes a price or a fee: the figures come from the read models and the
live reads as Augury's own API shows them, reformatted by ``augury.domain.fixed``.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from augury.api.kalshi import models as km
from augury.domain import fixed
from augury.domain.commands import SelfTrade, TimeInForce
from augury.domain.units import ONE, parse_micros

OUTCOME_MARK = "~"
GENERAL_SERIES = "GENERAL"
MARKET_STATUS = {
    "open": "active",
    "halted": "inactive",
    "closed": "closed",
    "resolved": "finalized",
    "voided": "finalized",
}
"""Augury's market status -> Kalshi's market status."""
RESOLUTION_STATUS = {"proposed": "determined", "disputed": "disputed", "held": "disputed"}
"""A market not yet settled whose resolution is proposed (the challenge window runs),
disputed, or held (the arbiters vote): Kalshi's status says so."""
STATUS_FILTER = {
    "unopened": (),
    "open": ("open",),
    "paused": ("halted",),
    "closed": ("closed",),
    "settled": ("resolved", "voided"),
}
"""Kalshi's ``status`` filter of ``GET /markets`` -> Augury's statuses."""
ORDER_STATUS = {"open": "resting", "resting": "resting", "filled": "executed"}
"""Augury's order status -> Kalshi's (any other closed status is ``canceled``)."""
ORDER_STATUS_FILTER = {
    "resting": ("open", "resting"),
    "executed": ("filled",),
    "canceled": ("cancelled", "expired", "unfilled", "self_trade", "market_closed", "replaced"),
}
TIME_IN_FORCE = {
    "fill_or_kill": TimeInForce.FOK,
    "good_till_canceled": TimeInForce.GTC,
    "immediate_or_cancel": TimeInForce.IOC,
}
SelfTradeName = Literal["taker_at_cross", "maker"]
SELF_TRADE: dict[SelfTradeName, SelfTrade] = {
    "taker_at_cross": SelfTrade.CANCEL_INCOMING,
    "maker": SelfTrade.CANCEL_RESTING,
}
SELF_TRADE_NAME: dict[str, SelfTradeName] = {str(v): k for k, v in SELF_TRADE.items()}
_SERIES_RE = re.compile(r"[^A-Z0-9]+")


def ticker_of(market_id: str) -> str:
    """The event ticker of a market id (see the module docstring)."""
    out = []
    for char in market_id:
        if "a" <= char <= "z":
            out.append(char.upper())
        elif "A" <= char <= "Z":
            out.append("_" + char)
        elif char == "_":
            out.append("__")
        else:
            out.append(char)
    return "".join(out)


def market_id_of(ticker: str) -> str | None:
    """The market id of an event ticker (None if no id gives it)."""
    out, i = [], 0
    while i < len(ticker):
        char = ticker[i]
        if char == "_":
            if i + 1 >= len(ticker):
                return None
            following = ticker[i + 1]
            if following == "_":
                out.append("_")
            elif "A" <= following <= "Z":
                out.append(following)
            else:
                return None
            i += 2
            continue
        if "A" <= char <= "Z":
            out.append(char.lower())
        elif char.isascii() and (char.isdigit() or char in "-."):
            out.append(char)
        else:
            return None
        i += 1
    return "".join(out) or None


def market_ticker(market_id: str, categorical: bool, outcome: int) -> str:
    base = ticker_of(market_id)
    return f"{base}{OUTCOME_MARK}{outcome}" if categorical else base


def parse_market_ticker(ticker: str) -> tuple[str, int | None] | None:
    """(market id, outcome index or None for a binary market's ticker), or None."""
    base, mark, index = ticker.partition(OUTCOME_MARK)
    market_id = market_id_of(base)
    if market_id is None:
        return None
    if not mark:
        return market_id, None
    if not index.isdigit() or len(index) > 2:
        return None
    return market_id, int(index)


def series_ticker(category: str) -> str:
    """A category's series ticker: its letters and digits in capitals, joined by ``-``."""
    slug = _SERIES_RE.sub("-", category.upper()).strip("-")
    return slug[:64] or GENERAL_SERIES


def market_status(status: str, phase: str) -> str:
    """Kalshi's status of a market of Augury ``status`` whose resolution is at ``phase``."""
    if status in ("resolved", "voided"):
        return MARKET_STATUS[status]
    return RESOLUTION_STATUS.get(phase, MARKET_STATUS[status])


def micros(text: str | None) -> int:
    """A decimal string of Augury's answers as micros (0 for None)."""
    return 0 if text is None else parse_micros(text)


def outcomes_of(view: dict[str, Any]) -> list[int]:
    """The outcome indexes that are Kalshi markets: each one's if categorical, else 0."""
    return list(range(len(view["outcomes"]))) if view["categorical"] else [0]


def result(view: dict[str, Any], outcome: int) -> str:
    """``yes``/``no`` once resolved one-hot, ``scalar`` for a fractional one, else ''."""
    weights = view["weights"]
    if view["status"] != "resolved" or weights is None:
        return ""
    weight = micros(weights[outcome])
    return "yes" if weight == ONE else "no" if weight == 0 else "scalar"


def kalshi_market(
    view: dict[str, Any],
    outcome: int,
    live: dict[str, Any],
    stats: dict[str, str] | None,
) -> km.Market:
    """One Kalshi market: ``view`` is the read model's market, ``live`` its book's top
    (``bid``, ``bid_qty``, ``ask``, ``ask_qty`` in YES micros, None when empty) and the
    YES shares held (``open_interest``), ``stats`` the trade totals."""
    categorical = view["categorical"]
    names = view["outcomes"]
    tick = micros(view["tick_size"])
    bid, ask = live["bid"], live["ask"]
    yes_bid = 0 if bid is None else bid
    yes_ask = ONE if ask is None else ask
    weights = view["weights"]
    settled = view["status"] in ("resolved", "voided")
    return km.Market(
        ticker=market_ticker(view["id"], categorical, outcome),
        event_ticker=ticker_of(view["id"]),
        market_type="binary",
        title=f"{view['question']}: {names[outcome]}" if categorical else view["question"],
        subtitle="",
        yes_sub_title=names[outcome] if categorical else names[0],
        no_sub_title=f"Not {names[outcome]}" if categorical else names[1],
        created_time=view["created_at"],
        updated_time=view["created_at"],
        open_time=view["created_at"],
        close_time=view["close_time"],
        expected_expiration_time=view["close_time"],
        latest_expiration_time=view["close_time"],
        settlement_timer_seconds=0,
        status=market_status(view["status"], live.get("phase", "")),
        yes_bid_dollars=fixed.dollars(yes_bid),
        yes_bid_size_fp=fixed.count(live["bid_qty"]),
        yes_ask_dollars=fixed.dollars(yes_ask),
        yes_ask_size_fp=fixed.count(live["ask_qty"]),
        no_bid_dollars=fixed.dollars(ONE - yes_ask),
        no_ask_dollars=fixed.dollars(ONE - yes_bid),
        last_price_dollars=fixed.dollars(micros(stats["last_price"]) if stats else 0),
        volume_fp=fixed.count(micros(stats["volume"]) if stats else 0),
        volume_24h_fp=fixed.count(micros(stats["volume_since"]) if stats else 0),
        result=result(view, outcome),
        can_close_early=True,
        open_interest_fp=fixed.count(live["open_interest"]),
        notional_value_dollars=fixed.dollars(ONE),
        previous_yes_bid_dollars=fixed.dollars(0),
        previous_yes_ask_dollars=fixed.dollars(0),
        previous_price_dollars=fixed.dollars(0),
        settlement_value_dollars=(
            fixed.dollars(micros(weights[outcome])) if settled and weights else None
        ),
        settlement_bounds_type="default",
        expiration_value="",
        rules_primary=view["rules"] or view["question"],
        rules_secondary=view["description"],
        price_level_structure="linear",
        price_ranges=[
            km.PriceRange(fixed.dollars(tick), fixed.dollars(ONE - tick), fixed.dollars(tick))
        ],
    )


def event(view: dict[str, Any], markets: list[km.Market] | None) -> km.Event:
    return km.Event(
        event_ticker=ticker_of(view["id"]),
        series_ticker=series_ticker(view["category"]),
        sub_title="",
        title=view["question"],
        collateral_return_type="",
        mutually_exclusive=view["categorical"],
        settlement_sources=[],
        category=view["category"] or None,
        markets=markets,
    )


def series(category: str) -> km.Series:
    return km.Series(
        ticker=series_ticker(category),
        frequency="custom",
        title=category or "General",
        category=category,
        categories=[category] if category else [],
        tags=[],
        settlement_sources=[],
        contract_url="",
        contract_terms_url="",
        fee_type="flat",
        fee_multiplier=1,
        additional_prohibitions=[],
    )
