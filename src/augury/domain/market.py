"""One market's state: outcomes, tokens, books, the maker's inventory and holdings.

Tokens: a market with ``n`` outcomes has a YES token per outcome (token ``i``). A
binary market (n == 2) needs nothing more: NO on YES is the NO outcome. A categorical
market (n >= 3) also has a NO token per outcome (token ``n + i``) which pays when
outcome ``i`` loses, i.e. it is worth exactly the basket of every other YES.

Collateral: every share is backed. For each outcome ``j`` the "effective supply" (YES
j held, plus NO i held for every i != j, plus the maker's inventory of j) equals the
number of complete sets outstanding, which equals the market's collateral in micros.
"""

from __future__ import annotations

from enum import StrEnum

from augury.domain.book import BUY_YES, SELL_YES, Book
from augury.domain.ledger import collateral, maker
from augury.domain.scalar import ScalarRange
from augury.domain.units import ONE


class Status(StrEnum):
    OPEN = "open"
    HALTED = "halted"
    CLOSED = "closed"
    RESOLVED = "resolved"
    VOIDED = "voided"


TERMINAL = frozenset({Status.RESOLVED, Status.VOIDED})


class Market:
    """Mutable market state, changed only by the exchange's event appliers."""

    __slots__ = (
        "affiliated_trading_reason",
        "block_affiliated_trading",
        "books",
        "categorical",
        "close_at",
        "collateral_key",
        "contrib",
        "creator",
        "fee_bps",
        "id",
        "liquidity",
        "lot",
        "maker_key",
        "maker_sets",
        "n",
        "outcomes",
        "positions",
        "q",
        "question",
        "scalar",
        "settlement",
        "status",
        "subsidy",
        "tick",
        "top",
    )

    def __init__(
        self,
        market_id: str,
        creator: str,
        question: str,
        outcomes: tuple[str, ...],
        categorical: bool,
        close_at: int,
        liquidity: int,
        tick: int,
        lot: int,
        fee_bps: int,
        subsidy: int,
        block_affiliated_trading: bool = True,
        affiliated_trading_reason: str = "",
        scalar: ScalarRange | None = None,
    ) -> None:
        assert len(outcomes) >= 2
        assert ONE % tick == 0
        self.id = market_id
        self.collateral_key = collateral(market_id)  # its ledger accounts, built once
        self.maker_key = maker(market_id)
        self.creator = creator
        self.question = question
        self.outcomes = outcomes
        self.n = len(outcomes)
        self.categorical = categorical
        self.close_at = close_at
        self.liquidity = liquidity
        self.tick = tick
        self.lot = lot
        self.top = ONE // tick  # ticks per credit; valid prices are 1 .. top-1
        self.fee_bps = fee_bps
        self.subsidy = subsidy
        # affiliates of its sources' owners and of its creator's organizations may not
        # trade it (trading.affiliated_trading_conflict); off only with a public reason
        self.block_affiliated_trading = block_affiliated_trading
        self.affiliated_trading_reason = affiliated_trading_reason
        # a scalar market's range (outcomes LONG and SHORT, traded as YES and NO)
        self.scalar = scalar
        self.status = Status.OPEN
        self.books = [Book(self.top) for _ in range(self.n if categorical else 1)]
        self.q = [0] * self.n
        self.maker_sets = 0
        self.positions: dict[str, list[int]] = {}
        self.contrib: dict[str, int] = {}
        self.settlement: tuple[int, ...] | None = None

    @property
    def tokens(self) -> int:
        return 2 * self.n if self.categorical else 2

    @property
    def kind(self) -> str:
        """``binary``, ``categorical`` or ``scalar`` (what the API calls its ``type``)."""
        if self.scalar is not None:
            return "scalar"
        return "categorical" if self.categorical else "binary"

    @property
    def has_maker(self) -> bool:
        return self.liquidity > 0

    def no_token(self, outcome: int) -> int:
        return self.n + outcome if self.categorical else 1 - outcome

    def token_of(self, intent: int, outcome: int) -> int:
        """The token an order of ``intent`` on ``outcome``'s book receives or delivers."""
        return outcome if intent in (BUY_YES, SELL_YES) else self.no_token(outcome)

    def holding(self, account: str) -> list[int]:
        """The account's available holdings per token (created on first use)."""
        held = self.positions.get(account)
        if held is None:
            held = self.positions[account] = [0] * self.tokens
        return held

    def held(self, account: str, token: int) -> int:
        held = self.positions.get(account)
        return 0 if held is None else held[token]

    def maker_inventory(self, outcome: int) -> int:
        return self.maker_sets - self.q[outcome]

    def effective_supply(self, resting_shares: list[int]) -> list[int]:
        """Per outcome: shares that pay if it wins, including escrowed and the maker's.

        ``resting_shares`` is the per-token total escrowed in open sell orders.
        """
        totals = list(resting_shares)
        for held in self.positions.values():
            for token, amount in enumerate(held):
                totals[token] += amount
        n = self.n
        supply = []
        for j in range(n):
            if self.categorical:
                no_others = sum(totals[n + i] for i in range(n) if i != j)
                value = totals[j] + no_others
            else:
                value = totals[j]
            supply.append(value + self.maker_inventory(j))
        return supply
