"""The exchange's state and the appliers that change it, one per event type.

Appliers are the only code that mutates state. Handlers decide what happens and emit
events; emitting an event applies it, and replaying a journal applies the same
events in the same order, so live state and replayed state cannot diverge. An
applier never validates user input (that was the handler's job) but asserts what
must already be true.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from typing import Any

from augury.domain import events as ev
from augury.domain.book import BUY_NO, BUY_YES, INTENT_NAMES, SELL_NO, SELL_YES, Order
from augury.domain.ledger import Ledger
from augury.domain.market import Market, Status

INTENTS = {name: i for i, name in enumerate(INTENT_NAMES)}


def intent_of(side: str, token: str) -> int:
    if side == "buy":
        return BUY_YES if token == "yes" else BUY_NO
    return SELL_YES if token == "yes" else SELL_NO


class State:
    """Everything the exchange knows: accounts, markets, orders, the ledger."""

    def __init__(self) -> None:
        self.accounts: set[str] = set()
        self.markets: dict[str, Market] = {}
        self.orders: dict[int, Order] = {}
        self.open_orders: dict[str, dict[int, Order]] = {}
        self.client_ids: dict[tuple[str, str], int] = {}
        self.expiries: list[tuple[int, int]] = []
        self.ledger = Ledger()
        self.next_order_id = 1
        self._appliers: dict[type[ev.Event], Callable[[Any], None]] = {
            ev.AccountOpened: self._account_opened,
            ev.CreditsGranted: self._credits_granted,
            ev.MarketCreated: self._market_created,
            ev.MarketStatusChanged: self._market_status_changed,
            ev.OrderAccepted: self._order_accepted,
            ev.OrderRested: self._order_rested,
            ev.BookFill: self._book_fill,
            ev.MakerFill: self._maker_fill,
            ev.OrderClosed: self._order_closed,
            ev.SetsMinted: self._sets_moved,
            ev.SetsRedeemed: self._sets_moved,
            ev.NoConverted: self._no_converted,
            ev.MarketSettled: self._market_settled,
            ev.MarketVoided: self._market_voided,
        }

    # -- entry points -------------------------------------------------------------
    def apply(self, event: ev.Event) -> None:
        """Apply one event (live, or while replaying a journal)."""
        self._appliers[type(event)](event)

    def emit(self, event: ev.Event, out: list[ev.Event]) -> None:
        """Apply an event decided by a handler and record it in the command's output."""
        self._appliers[type(event)](event)
        out.append(event)

    # -- shared movers --------------------------------------------------------------
    def _move(
        self,
        market: Market,
        shares: tuple[ev.ShareMove, ...],
        contrib: tuple[ev.Contribution, ...],
    ) -> None:
        for account, token, delta in shares:
            held = market.holding(account)
            held[token] += delta
            assert held[token] >= 0, "negative holding"
        mc = market.contrib
        for account, delta in contrib:
            mc[account] = mc.get(account, 0) + delta

    # -- appliers -------------------------------------------------------------------
    def _account_opened(self, e: ev.AccountOpened) -> None:
        assert e.account not in self.accounts
        self.accounts.add(e.account)
        self.open_orders[e.account] = {}

    def _credits_granted(self, e: ev.CreditsGranted) -> None:
        self.ledger.post(e.postings)

    def _market_created(self, e: ev.MarketCreated) -> None:
        assert e.market not in self.markets
        market = Market(
            e.market,
            e.creator,
            e.question,
            e.outcomes,
            e.categorical,
            e.close_at,
            e.liquidity,
            e.tick,
            e.lot,
            e.fee_bps,
            e.subsidy,
        )
        self.markets[e.market] = market
        self.ledger.post(e.postings)
        self._move(market, (), e.contrib)

    def _market_status_changed(self, e: ev.MarketStatusChanged) -> None:
        self.markets[e.market].status = Status(e.status)

    def order_from(self, e: ev.OrderAccepted, market: Market) -> Order:
        """The live order an ``OrderAccepted`` event creates (not yet registered)."""
        intent = intent_of(e.side, e.token)
        yes = intent in (BUY_YES, SELL_YES)
        return Order(
            e.order_id,
            e.account,
            e.market,
            e.outcome,
            intent,
            e.price,
            e.price if yes else market.top - e.price,
            e.qty,
            e.budget,
            e.escrow,
            e.tif,
            e.expires_at,
            e.post_only,
            e.client_order_id,
            e.self_trade,
        )

    def accept(self, e: ev.OrderAccepted, order: Order, out: list[ev.Event]) -> None:
        """Emit ``e`` registering ``order``, built by :meth:`order_from` from ``e``."""
        self._register(e, order)
        out.append(e)

    def _order_accepted(self, e: ev.OrderAccepted) -> None:
        self._register(e, self.order_from(e, self.markets[e.market]))

    def _register(self, e: ev.OrderAccepted, order: Order) -> None:
        assert e.order_id == self.next_order_id == order.id
        self.next_order_id = e.order_id + 1
        self.orders[e.order_id] = order
        self.open_orders[e.account][e.order_id] = order
        if e.client_order_id:
            self.client_ids[(e.account, e.client_order_id)] = e.order_id
        if e.expires_at:
            heapq.heappush(self.expiries, (e.expires_at, e.order_id))
        self.ledger.post(e.postings)
        if e.shares:
            self._move(self.markets[e.market], e.shares, ())

    def _order_rested(self, e: ev.OrderRested) -> None:
        order = self.orders[e.order_id]
        market = self.markets[order.market]
        market.books[order.outcome].add(order)

    def _fill_order(
        self, order: Order, qty: int, escrow_used: int, notional: int, fee: int
    ) -> None:
        if order.qty:
            order.remaining -= qty
            assert order.remaining >= 0
        order.filled += qty
        order.escrow -= escrow_used
        assert order.escrow >= 0, "escrow overdrawn"
        order.fee_notional += notional
        order.fee_paid += fee

    def _book_fill(self, e: ev.BookFill) -> None:
        market = self.markets[e.market]
        taker = self.orders[e.taker_order]
        resting = self.orders[e.resting_order]
        taker_value = _own_value(market, taker, e.price, e.qty)
        self._fill_order(taker, e.qty, e.taker_escrow_used, taker_value, e.fee)
        self._fill_order(resting, e.qty, e.resting_escrow_used, 0, 0)
        self.ledger.post(e.postings)
        self._move(market, e.shares, e.contrib)

    def _maker_fill(self, e: ev.MakerFill) -> None:
        market = self.markets[e.market]
        order = self.orders[e.order_id]
        self._fill_order(order, e.qty, e.escrow_used, abs(e.value), e.fee)
        q = market.q
        for i, d in enumerate(e.delta):
            q[i] += d
        market.maker_sets += e.sets_delta
        assert market.maker_sets == max(q), "maker inventory not minimal"
        self.ledger.post(e.postings)
        self._move(market, e.shares, e.contrib)

    def _order_closed(self, e: ev.OrderClosed) -> None:
        order = self.orders.pop(e.order_id)
        market = self.markets[order.market]
        if order.resting:
            market.books[order.outcome].remove(order)
        del self.open_orders[order.account][e.order_id]
        order.escrow -= e.released
        assert order.escrow == 0, "order closed with escrow left"
        expiries = self.expiries
        while expiries and expiries[0][1] not in self.orders:
            heapq.heappop(expiries)  # keep the top live, so next_timer is exact
        self.ledger.post(e.postings)
        self._move(market, e.shares, ())

    def _sets_moved(self, e: ev.SetsMinted | ev.SetsRedeemed) -> None:
        self.ledger.post(e.postings)
        self._move(self.markets[e.market], e.shares, e.contrib)

    def _no_converted(self, e: ev.NoConverted) -> None:
        self._move(self.markets[e.market], e.shares, ())

    def _market_settled(self, e: ev.MarketSettled) -> None:
        market = self.markets[e.market]
        self.ledger.post(e.postings)
        _clear_holdings(market)
        market.status = Status.RESOLVED
        market.settlement = e.weights

    def _market_voided(self, e: ev.MarketVoided) -> None:
        market = self.markets[e.market]
        self.ledger.post(e.postings)
        _clear_holdings(market)
        market.status = Status.VOIDED


def _clear_holdings(market: Market) -> None:
    market.positions.clear()
    market.contrib.clear()
    market.q = [0] * market.n
    market.maker_sets = 0


def _own_value(market: Market, order: Order, yes_price: int, qty: int) -> int:
    """Credits exchanged for ``qty`` shares at ``yes_price``, in the order's own terms."""
    own = yes_price if order.intent in (BUY_YES, SELL_YES) else market.top - yes_price
    return qty * own * market.tick // 1_000_000
