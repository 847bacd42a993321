"""Per-trader results and leaderboards.

Only **settled** markets count: resolved, or voided (a void refunds, so its flows count
for profit but it has no outcome to score). Money is integer micros; ratios are exact
``Fraction`` values, so rankings never depend on float rounding.

* **profit**: the sum of the account's flows (``flows.py``: trades, fees, payouts,
  refunds, subsidies, residues; not ``other``) in those markets.
* **capital**: the sum of its debits there (every negative flow: what it paid for
  shares, sets, fees and subsidies). **return** = profit / capital (None without
  capital).
* **edge** (the "score" of the score leaderboard): each fill in a resolved market is
  an exposure bought at a price: buying YES of outcome k (or selling its NO) buys "k" at
  the YES price p; selling YES (or buying NO) buys "not k" at 1 - p. A share of the
  exposure paid the outcome's weight w (or 1 - w). The edge is the share-weighted mean
  of ``paid - price``: what the trader's prices beat the outcome by, per share, before
  fees (0 = no better than a coin priced fairly; -1..1). It is independent of size, so
  it ranks skill where profit ranks size; a trader needs ``SCORE_MIN_SHARES`` traded in
  resolved markets to be ranked by it. (A Brier score of the prices a trader paid is not
  used: it would reward buying favourites whatever they cost.)
* **calibration** of a trader: its exposures as predictions (price paid vs paid out).

Rankings are deterministic: by profit, higher first, then account id; by score, higher
edge first, then more shares, then account id. Ranks are 1, 2, 3, ... with no ties.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction
from typing import Final, Literal, NamedTuple

from augury.domain.scoring.calibration import Prediction
from augury.domain.scoring.flows import PROFIT_KINDS, Flow
from augury.domain.units import ONE

DAY_US: Final = 86_400_000_000
SCORE_MIN_SHARES: Final = 10 * ONE
"""Micro-shares traded in resolved markets needed to be ranked by score."""
WINDOWS: Final[dict[str, int | None]] = {"all": None, "30d": 30 * DAY_US, "7d": 7 * DAY_US}
"""Leaderboard windows: markets settled within this long before now (None: ever)."""

Window = Literal["all", "30d", "7d"]
RankBy = Literal["profit", "score"]


class Exposure(NamedTuple):
    """One fill seen from one trader: an exposure bought at ``prob`` that paid ``result``."""

    account: str
    market: str
    prob: int  # micro-credits paid per share of the exposure (its implied probability)
    result: int  # micro-credits one share of it paid at resolution
    qty: int  # micro-shares


class FlowSum(NamedTuple):
    """One account's flows in one settled market."""

    account: str
    market: str
    net: int  # sum of the flows
    debits: int  # sum of the negative flows, as a positive number


def is_long(side: str, token: str) -> bool:
    """True when a fill of this order bought the outcome (YES exposure)."""
    return (side == "buy") == (token == "yes")


def exposure(
    account: str, market: str, long: bool, yes_price: int, qty: int, weight: int
) -> Exposure:
    """The exposure a fill at ``yes_price`` gave, in a market where its outcome got ``weight``."""
    assert 0 < yes_price < ONE and 0 <= weight <= ONE and qty > 0
    if long:
        return Exposure(account, market, yes_price, weight, qty)
    return Exposure(account, market, ONE - yes_price, ONE - weight, qty)


def flow_sums(flows: Iterable[Flow]) -> list[FlowSum]:
    """Sum flow rows per (account, market), the kinds of ``PROFIT_KINDS`` only."""
    sums: dict[tuple[str, str], list[int]] = {}
    for flow in flows:
        if flow.kind not in PROFIT_KINDS:
            continue
        both = sums.setdefault((flow.account, flow.market), [0, 0])
        both[0] += flow.amount
        both[1] += -flow.amount if flow.amount < 0 else 0
    return [FlowSum(a, m, net, debits) for (a, m), (net, debits) in sorted(sums.items())]


@dataclass(frozen=True)
class TraderStats:
    account: str
    profit: int = 0
    capital: int = 0
    markets: int = 0  # settled markets with a flow
    fills: int = 0  # exposures in resolved markets
    shares: int = 0  # their micro-shares
    edge_total: int = 0  # sum of qty * (result - prob): micro-shares x micro-credits

    @property
    def return_(self) -> Fraction | None:
        return Fraction(self.profit, self.capital) if self.capital else None

    @property
    def edge(self) -> Fraction | None:
        return Fraction(self.edge_total, self.shares * ONE) if self.shares else None


def trader_stats(sums: Iterable[FlowSum], exposures: Iterable[Exposure]) -> dict[str, TraderStats]:
    """Every account's stats from its flow sums and exposures (already windowed)."""
    acc: dict[str, list[int]] = {}
    for s in sums:
        row = acc.setdefault(s.account, [0] * 6)
        row[0] += s.net
        row[1] += s.debits
        row[2] += 1
    for e in exposures:
        row = acc.setdefault(e.account, [0] * 6)
        row[3] += 1
        row[4] += e.qty
        row[5] += e.qty * (e.result - e.prob)
    return {account: TraderStats(account, *row) for account, row in sorted(acc.items())}


class Ranked(NamedTuple):
    rank: int
    stats: TraderStats


def leaderboard(
    stats: Iterable[TraderStats],
    by: RankBy,
    limit: int,
    min_shares: int = SCORE_MIN_SHARES,
) -> list[Ranked]:
    """The top ``limit`` accounts (see the module docstring for order and eligibility)."""
    assert limit >= 1
    if by == "profit":
        eligible = [s for s in stats if s.markets]
        eligible.sort(key=lambda s: (-s.profit, s.account))
    else:
        eligible = [s for s in stats if s.shares and s.shares >= min_shares]
        eligible.sort(key=lambda s: (-(s.edge or 0), -s.shares, s.account))
    return [Ranked(i + 1, s) for i, s in enumerate(eligible[:limit])]


def window_start(now_us: int, window: Window) -> int | None:
    """The earliest settlement instant a window takes (None: all time)."""
    length = WINDOWS[window]
    return None if length is None else now_us - length


def trade_predictions(exposures: Iterable[Exposure]) -> list[Prediction]:
    """A trader's exposures as predictions: price paid vs what a share paid."""
    return [Prediction(e.prob / ONE, e.result / ONE) for e in exposures]
