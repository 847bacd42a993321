"""The double-entry credit ledger.

Every change of credits is a set of postings (ledger account, signed micros) that
sums to zero. Credits enter the system only by debiting ``ISSUANCE`` (whose balance
is therefore minus everything issued) and never leave it. Shares are not credits and
are tracked by markets; this module only knows credits.

Ledger accounts are strings: ``cash:<account>``, ``escrow:<account>``,
``collateral:<market>``, ``maker:<market>``, ``bonds:<market>`` plus the singletons below.
"""

from __future__ import annotations

from sys import intern
from typing import Final

ISSUANCE: Final = "issuance"
FEES: Final = "fees"
ROUNDING: Final = "rounding"


# Keys are interned: every posting to one ledger account then uses the same string
# object, so a balance lookup is an identity check instead of a string comparison.
def cash(account: str) -> str:
    return intern("cash:" + account)


def escrow(account: str) -> str:
    return intern("escrow:" + account)


def collateral(market: str) -> str:
    return intern("collateral:" + market)


def maker(market: str) -> str:
    return intern("maker:" + market)


def bonds(market: str) -> str:
    """Bonds posted by a market's proposer and disputer, until the outcome is final."""
    return intern("bonds:" + market)


class Ledger:
    """Balances of ledger accounts, changed only by balanced posting sets."""

    __slots__ = ("balances",)

    def __init__(self) -> None:
        self.balances: dict[str, int] = {}

    def balance(self, account: str) -> int:
        return self.balances.get(account, 0)

    def post(self, postings: tuple[tuple[str, int], ...]) -> None:
        """Apply a balanced set of postings; the caller has already validated it."""
        balances = self.balances
        total = 0
        for account, amount in postings:
            balances[account] = balances.get(account, 0) + amount
            total += amount
        assert total == 0, "unbalanced postings"

    def issued(self) -> int:
        """All credits ever issued (and never destroyed)."""
        return -self.balance(ISSUANCE)

    def total(self) -> int:
        """The sum of every balance; zero whenever the ledger is consistent."""
        return sum(self.balances.values())
