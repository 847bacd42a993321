"""Where a market's dispute bonds go when its resolution is final: the right side gets its
bond back plus ``winner_share_bps`` of the losing side's, the rest to the arbiters who
voted for the outcome; a void or an operator's decision refunds every bond."""

from __future__ import annotations

from typing import TYPE_CHECKING

from augury.domain import events as ev
from augury.domain import ledger
from augury.domain.market import Market
from augury.domain.resolution.spec import Bonds

if TYPE_CHECKING:
    from augury.domain.state import State


def bond_payouts(
    ex: State, market: Market, bonds: Bonds, outcome: int | None, voters: tuple[str, ...]
) -> tuple[ev.Posting, ...]:
    """Empty the market's bond account: each side right gets its bond back plus its share
    of the losing side's; the rest to ``voters``. ``outcome`` None refunds every bond."""
    pool = ex.ledger.balance(ledger.bonds(market.id))
    if not pool:
        return ()
    r = ex.resolutions[market.id]
    sides: list[tuple[str, int, bool]] = []
    p, d = r.proposal, r.dispute
    if p is not None and p.proposer and p.bond:
        sides.append((p.proposer, p.bond, outcome is None or p.outcome == outcome))
    if d is not None and d.bond:
        right = outcome is None or p is None or p.outcome != outcome
        sides.append((d.disputer, d.bond, right))
    assert sum(b for _, b, _ in sides) == pool, "bonds posted do not match the bond account"
    paid: dict[str, int] = {}
    lost = sum(b for _, b, right in sides if not right)
    winners = [(a, b) for a, b, right in sides if right]
    for account, bond in winners:
        paid[account] = paid.get(account, 0) + bond
    if winners and lost:
        share = lost * bonds.winner_share_bps // 10_000 // len(winners)
        for account, _ in winners:
            paid[account] += share
        lost -= share * len(winners)
    if lost and voters:
        each = lost // len(voters)
        for v in voters:
            paid[v] = paid.get(v, 0) + each
        lost -= each * len(voters)
    postings: list[ev.Posting] = [(ledger.bonds(market.id), -pool)]
    postings.extend((ledger.cash(a), amount) for a, amount in sorted(paid.items()) if amount)
    if lost:  # a division's remainder, or a lost bond with no arbiter to reward
        postings.append((ledger.ROUNDING if voters else ledger.FEES, lost))
    return tuple(postings)
