"""What the WebSocket API sends: book levels and their changes, order views, maker
prices, and the channel targets it resolves (pure reads of the exchange)."""

from __future__ import annotations

from augury.api.errors import ApiError
from augury.api.ws.limits import BOOK_DEPTH, Levels, Message
from augury.domain import events as ev
from augury.domain import views
from augury.domain.exchange import Exchange
from augury.domain.units import format_micros
from augury.settings import format_instant


def levels(ex: Exchange, market: str, outcome: int) -> tuple[Levels, Levels]:
    found = ex.markets[market]
    book = found.books[outcome]
    tick = found.tick

    def side(bid: bool) -> Levels:
        return {p * tick: (q, n) for p, q, n in book.levels(bid, BOOK_DEPTH)}

    return side(True), side(False)


def level_list(levels: Levels, descending: bool) -> list[Message]:
    return [
        {"price": format_micros(price), "qty": format_micros(qty), "orders": count}
        for price, (qty, count) in sorted(levels.items(), reverse=descending)
    ]


def diff(old: Levels, new: Levels, descending: bool) -> list[Message]:
    changed: Levels = {p: v for p, v in new.items() if old.get(p) != v}
    changed.update({p: (0, 0) for p in old if p not in new})
    return level_list(changed, descending)


def market_of(ex: Exchange, market: str) -> str:
    if market not in ex.markets:
        raise ApiError(404, "unknown_market", f"no market {market!r}")
    return market


def book_target(ex: Exchange, rest: str) -> tuple[str, int]:
    market, _, outcome_text = rest.partition(":")
    market_of(ex, market)
    found = ex.markets[market]
    try:
        outcome = int(outcome_text) if outcome_text else 0
    except ValueError:
        raise ApiError(422, "invalid_outcome", "the outcome must be a number") from None
    if not 0 <= outcome < found.n:
        raise ApiError(422, "invalid_outcome", f"outcome must be 0..{found.n - 1}")
    return market, outcome if found.categorical else 0


def accepted_view(event: ev.OrderAccepted, tick: int) -> Message:
    return {
        "id": event.order_id,
        "market": event.market,
        "outcome": event.outcome,
        "side": event.side,
        "token": event.token,
        "price": format_micros(views.own_price(event.price, tick, event.token == "yes")),
        "qty": format_micros(event.qty),
        "budget": format_micros(event.budget) if event.budget else None,
        "tif": event.tif,
        "expires_at": format_instant(event.expires_at) if event.expires_at else None,
        "post_only": event.post_only,
        "client_order_id": event.client_order_id or None,
        "self_trade": event.self_trade,
    }


def maker_prices(ex: Exchange, market: str) -> tuple[int, ...] | None:
    from augury.domain import lmsr

    found = ex.markets[market]
    return lmsr.marginal_prices(found.liquidity, found.q) if found.has_maker else None


def price_list(prices: tuple[int, ...] | None) -> list[str] | None:
    return None if prices is None else [format_micros(p) for p in prices]
