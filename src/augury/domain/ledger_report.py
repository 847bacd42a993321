"""The public ledger: where every credit ever granted is now, in a few totals.

:func:`report` reads the live state (pure: it changes nothing) and adds the ledger's
balances up by kind of ledger account (docs/domain.md, "Ledger"). Credits enter only by
being granted (``issuance``) and never leave, so one equation ties the totals::

    credits_minted = balances + order_escrow + share_collateral + dispute_bonds
                     + maker_cash + fees + rounding

``conserved`` is true when the ledger's conservation invariant holds
(:func:`augury.domain.invariants.conservation`: postings balance, nothing but issuance
is negative, credits held equal credits issued) and these published totals add up to
the credits minted, i.e. no credit sits anywhere the report does not show.

The makers' figures: ``maker_subsidy`` is what the creators of the markets still open
(or halted, or closed) funded their LMSR makers with, ``maker_cash`` what those makers
hold now, and ``maker_result`` the difference (negative: the makers have paid out more
than they took in so far, in cash; the shares they hold pay at settlement, when their
whole cash goes back to the creator). A maker can never lose more than its subsidy.
"""

from __future__ import annotations

import msgspec

from augury.domain import invariants, ledger
from augury.domain.market import TERMINAL
from augury.domain.state import State

_KINDS = {
    "cash": "balances",
    "escrow": "order_escrow",
    "collateral": "share_collateral",
    "bonds": "dispute_bonds",
    "maker": "maker_cash",
    ledger.FEES: "fees",
    ledger.ROUNDING: "rounding",
}
"""The total each ledger account adds to: by its prefix (``cash:<account>``) or name."""


class LedgerTotals(msgspec.Struct, frozen=True, kw_only=True):
    """Totals in micro-credits of the whole ledger, and whether they are conserved."""

    credits_minted: int
    balances: int
    order_escrow: int
    share_collateral: int
    dispute_bonds: int
    maker_cash: int
    maker_subsidy: int
    maker_result: int
    fees: int
    rounding: int
    conserved: bool

    @property
    def held(self) -> int:
        """The right-hand side of the equation: every credit held somewhere."""
        return (
            self.balances
            + self.order_escrow
            + self.share_collateral
            + self.dispute_bonds
            + self.maker_cash
            + self.fees
            + self.rounding
        )


def report(state: State) -> LedgerTotals:
    """The ledger's totals on ``state`` as it is now."""
    book = state.ledger
    totals = dict.fromkeys(_KINDS.values(), 0)
    for account, balance in book.balances.items():
        if account == ledger.ISSUANCE:
            continue
        kind = _KINDS.get(account.partition(":")[0])
        if kind is not None:
            totals[kind] += balance
    subsidy = sum(
        m.subsidy for m in state.markets.values() if m.has_maker and m.status not in TERMINAL
    )
    partial = LedgerTotals(
        credits_minted=book.issued(),
        maker_subsidy=subsidy,
        maker_result=totals["maker_cash"] - subsidy,
        conserved=False,
        **totals,
    )
    conserved = not invariants.conservation(book) and partial.held == partial.credits_minted
    return msgspec.structs.replace(partial, conserved=conserved)


def summary(totals: LedgerTotals) -> str:
    """One line for people, e.g. for ``augury verify``."""
    verdict = "conserved" if totals.conserved else "NOT conserved"
    return (
        f"ledger {verdict}: {totals.credits_minted} micros minted = "
        f"{totals.balances} balances + {totals.order_escrow} order escrow + "
        f"{totals.share_collateral} share collateral + {totals.dispute_bonds} dispute bonds + "
        f"{totals.maker_cash} maker cash (subsidy {totals.maker_subsidy}, result "
        f"{totals.maker_result}) + {totals.fees} fees + {totals.rounding} rounding"
    )
