"""Settling a market: resolution by outcome weights, and void (N/A) refunds.

Both paths first cancel every resting order, then empty the market's collateral and
maker accounts into the accounts that are owed, in one balanced posting set. Payouts
round down (the exchange pays down); whatever rounding leaves is booked to
``rounding``, never lost.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from augury.domain import events as ev
from augury.domain import ledger
from augury.domain.market import Market
from augury.domain.trading import cancel_market_orders
from augury.domain.units import ONE

if TYPE_CHECKING:
    from augury.domain.state import State


def payout_of(market: Market, held: list[int], weights: tuple[int, ...]) -> int:
    """Micro-credits that holdings ``held`` are paid under ``weights`` (rounded down)."""
    n = market.n
    total = sum(held[j] * weights[j] for j in range(n))
    if market.categorical:
        total += sum(held[n + i] * (ONE - weights[i]) for i in range(n))
    return total // ONE


def settle(
    ex: State, market: Market, weights: tuple[int, ...], reason: str, out: list[ev.Event]
) -> None:
    """Pay every holder by ``weights``; the maker's remainder goes to the creator."""
    cancel_market_orders(ex, market, "market_settled", out)
    pool = ex.ledger.balance(ledger.collateral(market.id))
    maker_cash = ex.ledger.balance(ledger.maker(market.id))
    assert maker_cash >= 0, "the maker lost more than its subsidy"
    payouts: list[ev.Contribution] = []
    for account in sorted(market.positions):
        amount = payout_of(market, market.positions[account], weights)
        if amount:
            payouts.append((account, amount))
    inventory = [market.maker_inventory(j) for j in range(market.n)]
    maker_payout = sum(inventory[j] * weights[j] for j in range(market.n)) // ONE
    residue = pool - sum(amount for _, amount in payouts) - maker_payout
    assert residue >= 0, "settlement would pay more than the collateral"
    postings: list[ev.Posting] = [
        (ledger.collateral(market.id), -pool),
        (ledger.maker(market.id), -maker_cash),
        (ledger.cash(market.creator), maker_cash + maker_payout),
    ]
    postings.extend((ledger.cash(account), amount) for account, amount in payouts)
    if residue:
        postings.append((ledger.ROUNDING, residue))
    ex.emit(
        ev.MarketSettled(market.id, weights, reason, tuple(payouts), residue, tuple(postings)),
        out,
    )


def void(ex: State, market: Market, reason: str, out: list[ev.Event]) -> None:
    """Give every account back its net cash contribution to the market.

    The pool (collateral plus the maker's cash) always equals the sum of all net
    contributions. When some accounts took out more than they put in (they sold at a
    profit), the pool is smaller than what the others put in; they then share it pro
    rata to what each put in. Gains already taken are not clawed back, so no balance
    can go negative.
    """
    cancel_market_orders(ex, market, "market_voided", out)
    pool = ex.ledger.balance(ledger.collateral(market.id))
    maker_cash = ex.ledger.balance(ledger.maker(market.id))
    total = pool + maker_cash
    owed = [(account, c) for account, c in sorted(market.contrib.items()) if c > 0]
    owed_total = sum(c for _, c in owed)
    assert owed_total >= total, "contributions must cover the pool"
    refunds: list[ev.Contribution] = []
    for account, c in owed:
        amount = c if owed_total == total else c * total // owed_total
        if amount:
            refunds.append((account, amount))
    residue = total - sum(amount for _, amount in refunds)
    postings: list[ev.Posting] = [
        (ledger.collateral(market.id), -pool),
        (ledger.maker(market.id), -maker_cash),
    ]
    postings.extend((ledger.cash(account), amount) for account, amount in refunds)
    if residue:
        postings.append((ledger.ROUNDING, residue))
    ex.emit(ev.MarketVoided(market.id, reason, tuple(refunds), residue, tuple(postings)), out)
