"""Orders and the price-time-priority book of one outcome.

A book is kept in YES terms: a bid is a buy of YES or a sell of NO, an ask is a sell
of YES or a buy of NO, and every price is in ticks of the YES side. Levels are plain
arrays indexed by tick, each a FIFO queue, so best prices move by a bounded scan.
This module only stores and orders; deciding what trades is the router's job.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from typing import Final

BUY_YES: Final = 0
SELL_YES: Final = 1
BUY_NO: Final = 2
SELL_NO: Final = 3
INTENT_NAMES: Final = ("buy_yes", "sell_yes", "buy_no", "sell_no")


def pays_cash(intent: int) -> bool:
    """True for buys, which escrow credits; sells escrow shares."""
    return intent in (BUY_YES, BUY_NO)


def is_yes(intent: int) -> bool:
    return intent in (BUY_YES, SELL_YES)


class Order:
    """A live order. Mutable: the exchange's appliers change it as events happen."""

    __slots__ = (
        "account",
        "bid",
        "budget",
        "client_order_id",
        "escrow",
        "expires_at",
        "fee_notional",
        "fee_paid",
        "filled",
        "id",
        "intent",
        "market",
        "outcome",
        "own_price",
        "post_only",
        "price",
        "qty",
        "remaining",
        "resting",
        "self_trade",
        "tif",
    )

    def __init__(
        self,
        order_id: int,
        account: str,
        market: str,
        outcome: int,
        intent: int,
        price: int,
        own_price: int,
        qty: int,
        budget: int,
        escrow: int,
        tif: str,
        expires_at: int,
        post_only: bool,
        client_order_id: str,
        self_trade: str,
    ) -> None:
        self.id = order_id
        self.account = account
        self.market = market
        self.outcome = outcome
        self.intent = intent
        self.bid = intent in (BUY_YES, SELL_NO)  # buys of YES and sells of NO are bids
        self.price = price
        self.own_price = own_price
        self.qty = qty
        self.remaining = qty
        self.budget = budget
        self.escrow = escrow
        self.tif = tif
        self.expires_at = expires_at
        self.post_only = post_only
        self.client_order_id = client_order_id
        self.self_trade = self_trade
        self.filled = 0
        self.fee_notional = 0
        self.fee_paid = 0
        self.resting = False

    def live_at(self, now: int) -> bool:
        """False once a GTD order's expiry has passed (it may still await its timer)."""
        return self.expires_at == 0 or now < self.expires_at


class Book:
    """Resting orders of one outcome, best price first, then first come first served."""

    __slots__ = ("asks", "best_ask", "best_bid", "bids", "count", "top")

    def __init__(self, ticks_per_credit: int) -> None:
        assert ticks_per_credit >= 2
        self.top = ticks_per_credit
        self.bids: list[deque[Order]] = [deque() for _ in range(ticks_per_credit + 1)]
        self.asks: list[deque[Order]] = [deque() for _ in range(ticks_per_credit + 1)]
        self.best_bid = 0  # 0: no bid
        self.best_ask = ticks_per_credit  # top: no ask
        self.count = 0

    def add(self, order: Order) -> None:
        price = order.price
        assert 0 < price < self.top
        if order.bid:
            assert price < self.best_ask, "a resting bid may not cross"
            self.bids[price].append(order)
            if price > self.best_bid:
                self.best_bid = price
        else:
            assert price > self.best_bid, "a resting ask may not cross"
            self.asks[price].append(order)
            if price < self.best_ask:
                self.best_ask = price
        order.resting = True
        self.count += 1

    def remove(self, order: Order) -> None:
        assert order.resting
        price = order.price
        if order.bid:
            level = self.bids[price]
            if level[0] is order:
                level.popleft()
            else:
                level.remove(order)
            if not level and price == self.best_bid:
                self._fix_best_bid()
        else:
            level = self.asks[price]
            if level[0] is order:
                level.popleft()
            else:
                level.remove(order)
            if not level and price == self.best_ask:
                self._fix_best_ask()
        order.resting = False
        self.count -= 1

    def _fix_best_bid(self) -> None:
        bids, price = self.bids, self.best_bid
        while price > 0 and not bids[price]:
            price -= 1
        self.best_bid = price

    def _fix_best_ask(self) -> None:
        asks, price, top = self.asks, self.best_ask, self.top
        while price < top and not asks[price]:
            price += 1
        self.best_ask = price

    def iter_asks(self, limit: int) -> Iterator[Order]:
        """Resting asks priced at or below ``limit``, in priority order (read-only)."""
        asks = self.asks
        for price in range(self.best_ask, min(limit, self.top - 1) + 1):
            yield from asks[price]

    def iter_bids(self, limit: int) -> Iterator[Order]:
        """Resting bids priced at or above ``limit``, in priority order (read-only)."""
        bids = self.bids
        for price in range(self.best_bid, max(limit, 1) - 1, -1):
            yield from bids[price]

    def levels(self, bid: bool, depth: int) -> list[tuple[int, int, int]]:
        """Aggregated levels (price, total qty, order count), best first, at most ``depth``."""
        out: list[tuple[int, int, int]] = []
        if bid:
            prices = range(self.best_bid, 0, -1)
            side = self.bids
        else:
            prices = range(self.best_ask, self.top)
            side = self.asks
        for price in prices:
            level = side[price]
            if level:
                out.append((price, sum(o.remaining for o in level), len(level)))
                if len(out) >= depth:
                    break
        return out

    def ahead_of(self, order: Order) -> int:
        """The unfilled quantity resting before ``order`` at its price (price-time
        priority: what must trade before it can), 0 for the first in its queue."""
        assert order.resting
        level = self.bids[order.price] if order.bid else self.asks[order.price]
        ahead = 0
        for other in level:
            if other is order:
                return ahead
            ahead += other.remaining
        raise AssertionError("a resting order missing from its level")

    def orders(self) -> Iterator[Order]:
        """Every resting order, bids then asks."""
        for level in self.bids:
            yield from level
        for level in self.asks:
            yield from level
