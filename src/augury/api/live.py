"""Live reads of the exchange's state, run on the engine thread through ``engine.query``.

Each function here takes the ``Exchange`` and answers plain JSON-ready values: the
book, the maker's prices, balances, holdings, an open order, and a quote preview (the
router's read-only plan for an order that is never placed). They run between command
groups, so what they see is consistent, and they must never change anything: no
``execute``, no ``emit``, no assignment to the state.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from augury.domain import ledger, lmsr, scalar
from augury.domain.book import BUY_YES, SELL_YES, Order, pays_cash
from augury.domain.commands import PlaceOrder
from augury.domain.exchange import Exchange
from augury.domain.market import Market
from augury.domain.preview import preview as domain_preview
from augury.domain.rejections import Code, Rejected
from augury.domain.units import ONE, format_micros
from augury.settings import format_instant

BOOK_DEPTH_MAX = 100


def _market(ex: Exchange, market_id: str) -> Market:
    found = ex.markets.get(market_id)
    if found is None:
        raise Rejected(Code.UNKNOWN_MARKET, f"no market {market_id!r}")
    return found


def _book_outcome(market: Market, outcome: int) -> int:
    if not 0 <= outcome < market.n:
        raise Rejected(Code.INVALID_OUTCOME, f"outcome must be 0..{market.n - 1}")
    return outcome if market.categorical else 0


def book(ex: Exchange, market_id: str, outcome: int, depth: int) -> dict[str, Any]:
    """Aggregated levels of one outcome's book, in YES prices (binary: outcome 0's book)."""
    market = _market(ex, market_id)
    index = _book_outcome(market, outcome)
    levels = market.books[index]
    tick = market.tick

    rng = market.scalar

    def side(bid: bool) -> list[dict[str, Any]]:
        return [
            {
                "price": format_micros(price * tick),
                "qty": format_micros(qty),
                "orders": count,
                "implied_value": None
                if rng is None
                else format_micros(scalar.implied_value(rng, price * tick)),
            }
            for price, qty, count in levels.levels(bid, depth)
        ]

    return {
        "market": market.id,
        "outcome": index,
        "status": market.status.value,
        "bids": side(True),
        "asks": side(False),
    }


def maker_quote(ex: Exchange, market_id: str) -> dict[str, Any]:
    """The LMSR maker's marginal price of every outcome (None without a maker)."""
    market = _market(ex, market_id)
    prices = lmsr.marginal_prices(market.liquidity, market.q) if market.has_maker else None
    implied = None
    if prices is not None and market.scalar is not None:
        implied = format_micros(scalar.implied_value(market.scalar, prices[0]))
    return {
        "market": market.id,
        "status": market.status.value,
        "liquidity": format_micros(market.liquidity),
        "prices": None if prices is None else [format_micros(p) for p in prices],
        "implied_value": implied,
    }


def balances(ex: Exchange, account: str) -> dict[str, Any]:
    available = ex.ledger.balance(ledger.cash(account))
    escrow = ex.ledger.balance(ledger.escrow(account))
    return {
        "account": account,
        "available": format_micros(available),
        "escrow": format_micros(escrow),
        "total": format_micros(available + escrow),
    }


@dataclass(frozen=True, slots=True)
class Holding:
    market: str
    token: int
    outcome: int
    outcome_name: str
    side: str  # yes | no
    qty: int
    escrowed: int
    mark: int | None  # micro-credits per share: the maker's price, else the book's mid


def _mark_prices(market: Market) -> list[int | None]:
    """A price per token: the maker's marginal price, else the mid of the token's book."""
    n = market.n
    if market.has_maker:
        yes: list[int | None] = list(lmsr.marginal_prices(market.liquidity, market.q))
    else:
        yes = []
        for outcome in range(n):
            book = market.books[outcome if market.categorical else 0]
            if book.best_bid == 0 or book.best_ask >= market.top:
                yes.append(None)
                continue
            mid = (book.best_bid + book.best_ask) * market.tick // 2
            yes.append(mid if market.categorical or outcome == 0 else ONE - mid)
    if not market.categorical:
        return yes
    return yes + [None if p is None else ONE - p for p in yes]


def _token_meaning(market: Market, token: int) -> tuple[int, str]:
    """(outcome, "yes"|"no") of a token index."""
    if market.categorical:
        return (token, "yes") if token < market.n else (token - market.n, "no")
    return token, "yes"


def holdings(ex: Exchange, account: str) -> list[Holding]:
    """Every token the account holds or has escrowed in open sell orders."""
    escrowed: dict[tuple[str, int], int] = {}
    for order in ex.open_orders.get(account, {}).values():
        if pays_cash(order.intent):
            continue
        market = ex.markets[order.market]
        token = order.outcome if order.intent == SELL_YES else market.no_token(order.outcome)
        escrowed[(market.id, token)] = escrowed.get((market.id, token), 0) + order.escrow
    out: list[Holding] = []
    for market in ex.markets.values():
        held = market.positions.get(account)
        marks: list[int | None] | None = None
        for token in range(market.tokens):
            qty = held[token] if held is not None else 0
            locked = escrowed.get((market.id, token), 0)
            if qty or locked:
                if marks is None:
                    marks = _mark_prices(market)
                outcome, side = _token_meaning(market, token)
                name = market.outcomes[outcome]
                holding = Holding(market.id, token, outcome, name, side, qty, locked, marks[token])
                out.append(holding)
    return out


def order_view(ex: Exchange, order: Order) -> dict[str, Any]:
    market = ex.markets[order.market]
    intent = order.intent
    return {
        "id": order.id,
        "market": order.market,
        "outcome": order.outcome,
        "side": "buy" if pays_cash(intent) else "sell",
        "token": "yes" if intent in (BUY_YES, SELL_YES) else "no",
        "price": format_micros(order.own_price * market.tick),
        "qty": format_micros(order.qty),
        "budget": format_micros(order.budget) if order.budget else None,
        "tif": order.tif,
        "expires_at": format_instant(order.expires_at) if order.expires_at else None,
        "post_only": order.post_only,
        "client_order_id": order.client_order_id or None,
        "self_trade": order.self_trade,
        "status": "resting" if order.resting else "open",
        "filled": format_micros(order.filled),
        "remaining": format_micros(order.remaining),
        "escrow": format_micros(order.escrow),
        "queue_ahead": format_micros(market.books[order.outcome].ahead_of(order))
        if order.resting
        else None,
        # the live state keeps no times: the read models' history has them
        "created_at": None,
        "updated_at": None,
    }


def queue_positions(
    ex: Exchange, account: str, markets: set[str] | None, order_id: int | None = None
) -> list[tuple[int, str, int, int]]:
    """(order id, market, book outcome, quantity ahead of it in its price's queue) of the
    account's resting orders, in ``markets`` (None: all), or only ``order_id``."""
    found = ex.open_orders.get(account, {})
    if order_id is None:
        orders = sorted(found.values(), key=lambda o: o.id)
    else:
        orders = [found[order_id]] if order_id in found else []
    out = []
    for order in orders:
        if order.resting and (markets is None or order.market in markets):
            book = ex.markets[order.market].books[order.outcome]
            out.append((order.id, order.market, order.outcome, book.ahead_of(order)))
    return out


def open_order(ex: Exchange, account: str, order_id: int) -> dict[str, Any] | None:
    """The account's own open order (None for a closed, missing or foreign one)."""
    order = ex.open_orders.get(account, {}).get(order_id)
    return None if order is None else order_view(ex, order)


def preview(ex: Exchange, c: PlaceOrder, now: int) -> dict[str, Any]:
    """What order ``c`` would do now (:func:`augury.domain.preview.preview`), as JSON.

    Balances are not checked (a preview answers "what would it cost", not "can I").
    """
    found = domain_preview(ex, c, now)
    average = found.average_price
    return {
        "market": c.market,
        "outcome": c.outcome,
        "side": str(c.side),
        "token": str(c.token),
        "filled_qty": format_micros(found.filled),
        "unfilled_qty": None if found.unfilled is None else format_micros(found.unfilled),
        "value": format_micros(found.value),
        "fee": format_micros(found.fee),
        "total": format_micros(found.total),
        "average_price": None if average is None else format_micros(average),
        "fills": [
            # a preview shows one total fee, not one per fill (PlacedFill's fee: null)
            {
                "venue": f.venue,
                "qty": format_micros(f.qty),
                "price": format_micros(f.price),
                "fee": None,
            }
            for f in found.fills
        ],
        "would_rest": found.would_rest,
        "fok_refused": found.fok_refused,
        "self_trade_cancels": found.self_trade_cancels,
        "self_trade_stopped": found.self_trade_stopped,
        "as_of": format_instant(now),
    }


def held_pair(ex: Exchange, account: str, market_id: str, outcome: int) -> tuple[int, int]:
    """(YES, NO) of ``outcome`` the account holds, available (not escrowed)."""
    market = _market(ex, market_id)
    index = _book_outcome(market, outcome)
    return market.held(account, index), market.held(account, market.no_token(index))


def outstanding(ex: Exchange, market_id: str, token: int) -> int:
    """Shares of ``token`` that accounts hold (available, not escrowed in sell orders)."""
    market = _market(ex, market_id)
    return sum(held[token] for held in market.positions.values())
