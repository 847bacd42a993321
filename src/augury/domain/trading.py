"""Order handling: place (route, fill, rest), cancel, expire, and the maker's uncrossing.

Each ``handle_*`` function validates the whole command first and raises
:class:`~augury.domain.rejections.Rejected` before emitting anything; once the first
event is emitted the command cannot fail. Postings, share moves and contributions are
computed here and carried by the events, so replay only adds them up.
"""

from __future__ import annotations

import heapq
from typing import TYPE_CHECKING, Final

from augury.domain import commands as cmd
from augury.domain import events as ev
from augury.domain import ledger
from augury.domain import router as rt
from augury.domain.book import BUY_NO, BUY_YES, INTENT_NAMES, SELL_NO, SELL_YES, Order, pays_cash
from augury.domain.market import Market, Status
from augury.domain.rejections import Code, Rejected
from augury.domain.units import ONE, div_up

if TYPE_CHECKING:
    from augury.domain.exchange import Exchange

UNCROSS_MAX: Final = 10_000
"""Bound on maker-versus-book fills after one command."""

_STATUS_CODES = {
    Status.HALTED: (Code.MARKET_HALTED, "trading is halted"),
    Status.CLOSED: (Code.MARKET_CLOSED, "the market is closed"),
    Status.RESOLVED: (Code.MARKET_RESOLVED, "the market is resolved"),
    Status.VOIDED: (Code.MARKET_VOIDED, "the market is voided"),
}


def require_open(market: Market, now: int) -> None:
    """Refuse unless the market is open for trading at ``now``."""
    if market.status is not Status.OPEN:
        code, message = _STATUS_CODES[market.status]
        raise Rejected(code, message)
    if now >= market.close_at:
        raise Rejected(Code.MARKET_CLOSED, "the market's close time has passed")


def _token_of(market: Market, outcome: int, token: cmd.Token) -> tuple[int, cmd.Token]:
    """Map (outcome, token) onto a book: in a binary market YES on NO is NO on YES."""
    if not market.categorical and outcome == 1:
        return 0, cmd.Token.NO if token is cmd.Token.YES else cmd.Token.YES
    return outcome, token


def handle_place(ex: Exchange, c: cmd.PlaceOrder, now: int, out: list[ev.Event]) -> None:
    market = ex.require_market(c.market)
    ex.require_account(c.account)
    require_open(market, now)
    if not 0 <= c.outcome < market.n:
        raise Rejected(Code.INVALID_OUTCOME, f"outcome must be 0..{market.n - 1}")
    outcome, token = _token_of(market, c.outcome, c.token)
    intent = (
        (BUY_YES if token is cmd.Token.YES else BUY_NO)
        if c.side is cmd.Side.BUY
        else (SELL_YES if token is cmd.Token.YES else SELL_NO)
    )
    tif, own_ticks = _validate_shape(ex, market, c, intent, now)
    qty = c.qty or 0
    budget = c.budget or 0
    escrow = _escrow_needed(market, intent, own_ticks, qty, budget)
    _check_account_limits(ex, market, c, intent, outcome, escrow)
    yes_price = own_ticks if intent in (BUY_YES, SELL_YES) else market.top - own_ticks
    accepted = _accepted_event(ex, market, c, outcome, intent, token, yes_price, tif, escrow)
    order = ex.order_from(accepted, market)
    steps = rt.plan(market, order, now)
    if c.post_only and rt.crosses(steps):
        raise Rejected(Code.POST_ONLY_WOULD_CROSS, "a post-only order would trade on arrival")
    if tif == "fok" and (rt.fillable(steps) < qty or ("stop",) in steps):
        raise Rejected(Code.FOK_NOT_FILLABLE, "the order cannot be filled completely now")
    # -- validated: from here on the command cannot fail --------------------------------
    ex.accept(accepted, order, out)
    live = order
    stopped = _execute(ex, market, live, steps, now, out)
    if live.qty and live.remaining == 0:
        close_order(ex, live, "filled", out)
    elif stopped:
        close_order(ex, live, "self_trade", out)
    elif tif in ("gtc", "gtd"):
        ex.emit(ev.OrderRested(live.id), out)
    else:
        close_order(ex, live, "unfilled" if live.filled == 0 else "filled", out)
    if market.has_maker:
        uncross(ex, market, now, out)


def _validate_shape(
    ex: Exchange, market: Market, c: cmd.PlaceOrder, intent: int, now: int
) -> tuple[str, int]:
    """Check price, size and time in force; return (tif, own price in ticks)."""
    lots = market.lot
    limits = ex.limits
    if c.price is None:  # a market order
        if c.tif in (cmd.TimeInForce.GTD,) or c.post_only:
            raise Rejected(Code.INVALID_ORDER, "a market order cannot rest (GTD or post-only)")
        if (c.qty is None) == (c.budget is None):
            raise Rejected(Code.INVALID_ORDER, "a market order needs exactly one of qty, budget")
        if c.budget is not None and not pays_cash(intent):
            raise Rejected(Code.INVALID_ORDER, "only buys can be sized by budget")
        if c.budget is not None and c.tif is cmd.TimeInForce.FOK:
            raise Rejected(Code.INVALID_ORDER, "a budget order cannot be fill-or-kill")
        if c.budget is not None and not 0 < c.budget <= limits.grant_max:
            raise Rejected(Code.INVALID_AMOUNT, "budget must be positive")
        tif = "fok" if c.tif is cmd.TimeInForce.FOK else "ioc"
        own_ticks = market.top - 1 if pays_cash(intent) else 1
    else:
        if c.budget is not None:
            raise Rejected(Code.INVALID_ORDER, "a limit order is sized by qty, not budget")
        if c.qty is None:
            raise Rejected(Code.INVALID_ORDER, "a limit order needs a qty")
        if c.price % market.tick:
            raise Rejected(
                Code.PRICE_NOT_ON_TICK, f"price must be a multiple of the tick {market.tick}"
            )
        own_ticks = c.price // market.tick
        if not 0 < own_ticks < market.top:
            raise Rejected(
                Code.PRICE_OUT_OF_RANGE,
                f"price must be between {market.tick} and {ONE - market.tick} micros",
            )
        tif = c.tif.value
        if c.post_only and tif not in ("gtc", "gtd"):
            raise Rejected(Code.INVALID_ORDER, "post-only orders must be GTC or GTD")
    if tif == "gtd":
        if c.expires_at is None or c.expires_at <= now:
            raise Rejected(Code.INVALID_EXPIRY, "a GTD order needs expires_at in the future")
    elif c.expires_at is not None:
        raise Rejected(Code.INVALID_EXPIRY, "only GTD orders take expires_at")
    if c.qty is not None:
        if c.qty <= 0:
            raise Rejected(Code.QTY_TOO_SMALL, "qty must be positive")
        if c.qty % lots:
            raise Rejected(Code.QTY_NOT_ON_LOT, f"qty must be a multiple of the lot {lots}")
        if c.qty > limits.order_qty_max:
            raise Rejected(Code.QTY_TOO_LARGE, f"qty may be at most {limits.order_qty_max}")
    if c.client_order_id is not None and not 0 < len(c.client_order_id) <= limits.id_length_max:
        raise Rejected(Code.INVALID_ORDER, "client_order_id must be 1..64 characters")
    return tif, own_ticks


def _escrow_needed(market: Market, intent: int, own_ticks: int, qty: int, budget: int) -> int:
    """Credits (buys) or shares (sells) an order must reserve when placed."""
    if not pays_cash(intent):
        return qty
    if budget:
        return budget
    value = qty * own_ticks * market.tick // ONE
    return value + div_up(value * market.fee_bps, 10_000)


def _check_account_limits(
    ex: Exchange, market: Market, c: cmd.PlaceOrder, intent: int, outcome: int, escrow: int
) -> None:
    if c.client_order_id is not None:
        existing = ex.client_ids.get((c.account, c.client_order_id))
        if existing is not None:
            raise Rejected(
                Code.DUPLICATE_CLIENT_ORDER_ID,
                f"client_order_id already used by order {existing}",
            )
    if len(ex.open_orders[c.account]) >= ex.limits.open_orders_per_account:
        raise Rejected(
            Code.TOO_MANY_OPEN_ORDERS,
            f"at most {ex.limits.open_orders_per_account} open orders per account",
        )
    if pays_cash(intent):
        available = ex.ledger.balance(ledger.cash(c.account))
        if available < escrow:
            raise Rejected(
                Code.INSUFFICIENT_FUNDS, f"needs {escrow} micro-credits, {available} available"
            )
    else:
        token = outcome if intent == SELL_YES else market.no_token(outcome)
        held = market.held(c.account, token)
        if held < escrow:
            raise Rejected(
                Code.INSUFFICIENT_SHARES, f"needs {escrow} micro-shares, {held} available"
            )


def _accepted_event(
    ex: Exchange,
    market: Market,
    c: cmd.PlaceOrder,
    outcome: int,
    intent: int,
    token: cmd.Token,
    yes_price: int,
    tif: str,
    escrow: int,
) -> ev.OrderAccepted:
    """The event that accepts a validated order and reserves its escrow."""
    account = c.account
    if pays_cash(intent):
        postings: tuple[ev.Posting, ...] = (
            (ledger.cash(account), -escrow),
            (ledger.escrow(account), escrow),
        )
        shares: tuple[ev.ShareMove, ...] = ()
    else:
        postings = ()
        held = outcome if intent == SELL_YES else market.no_token(outcome)
        shares = ((account, held, -escrow),)
    return ev.OrderAccepted(
        ex.next_order_id,
        account,
        market.id,
        outcome,
        c.side,
        token,
        yes_price,
        c.qty or 0,
        c.budget or 0,
        tif,
        c.expires_at or 0,
        c.post_only,
        c.client_order_id or "",
        c.self_trade,
        escrow,
        postings,
        shares,
    )


def _execute(
    ex: Exchange, market: Market, order: Order, steps: list[rt.Step], now: int, out: list[ev.Event]
) -> bool:
    """Carry out a plan; True if self-trade prevention stopped the incoming order."""
    for step in steps:
        kind = step[0]
        if kind == "book":
            resting, qty = step[1], step[2]
            assert isinstance(resting, Order) and isinstance(qty, int)
            book_fill(ex, market, order, resting, qty, out)
            if resting.remaining == 0:
                close_order(ex, resting, "filled", out)
        elif kind == "maker":
            qty, delta, charge = step[1], step[2], step[3]
            assert isinstance(qty, int) and isinstance(delta, tuple) and isinstance(charge, int)
            maker_fill(ex, market, order, qty, delta, charge, charge, True, out)
        elif kind == "cancel":
            resting = step[1]
            assert isinstance(resting, Order)
            close_order(ex, resting, "self_trade", out)
        elif kind == "expire":
            resting = step[1]
            assert isinstance(resting, Order)
            close_order(ex, resting, "expired", out)
        else:
            return True
    return False


def _holds_token(market: Market, order: Order) -> int:
    """The token a buy receives or a sell delivers."""
    return order.outcome if order.intent in (BUY_YES, SELL_YES) else market.no_token(order.outcome)


def book_fill(
    ex: Exchange, market: Market, taker: Order, resting: Order, qty: int, out: list[ev.Event]
) -> None:
    """Fill ``qty`` between a taking and a resting order at the resting order's price."""
    price = resting.price
    tick = market.tick
    yes_value = qty * price * tick // ONE
    no_value = qty - yes_value
    taker_value = yes_value if taker.intent in (BUY_YES, SELL_YES) else no_value
    resting_value = yes_value if resting.intent in (BUY_YES, SELL_YES) else no_value
    fee = rt.fee_for(taker, taker_value, market.fee_bps) if market.fee_bps else 0
    postings: list[ev.Posting] = []
    shares: list[ev.ShareMove] = []
    contrib: list[ev.Contribution] = []
    taker_used = _fill_leg(market, taker, qty, taker_value, fee, postings, shares, contrib)
    resting_used = _fill_leg(market, resting, qty, resting_value, 0, postings, shares, contrib)
    if fee:
        postings.append((ledger.FEES, fee))
    buys = pays_cash(taker.intent) + pays_cash(resting.intent)
    if buys == 2:  # both buy: their payments mint a complete set
        postings.append((ledger.collateral(market.id), qty))
    elif buys == 0:  # both sell: a complete set is burned to pay them
        postings.append((ledger.collateral(market.id), -qty))
    # a buy meeting a sell moves credits between the two accounts only
    ex.emit(
        ev.BookFill(
            market.id,
            taker.outcome,
            price,
            qty,
            taker.id,
            resting.id,
            taker_used,
            resting_used,
            fee,
            tuple(postings),
            tuple(shares),
            tuple(contrib),
        ),
        out,
    )


def _fill_leg(
    market: Market,
    order: Order,
    qty: int,
    value: int,
    fee: int,
    postings: list[ev.Posting],
    shares: list[ev.ShareMove],
    contrib: list[ev.Contribution],
) -> int:
    """One side of a book fill: its postings, share moves and contribution; escrow used."""
    account = order.account
    if pays_cash(order.intent):
        reserved = qty * order.own_price * market.tick // ONE if order.qty else value
        postings.append((ledger.escrow(account), -(reserved + fee)))
        if reserved > value:
            postings.append((ledger.cash(account), reserved - value))
        shares.append((account, _holds_token(market, order), qty))
        contrib.append((account, value))
        return reserved + fee
    postings.append((ledger.cash(account), value - fee))
    contrib.append((account, -value))
    return qty


def maker_fill(
    ex: Exchange,
    market: Market,
    order: Order,
    qty: int,
    delta: tuple[int, ...],
    charge: int,
    value: int,
    taker: bool,
    out: list[ev.Event],
) -> None:
    """Trade ``qty`` between ``order`` and the maker; the order pays ``value`` (signed)."""
    account = order.account
    fee = rt.fee_for(order, abs(value), market.fee_bps) if taker else 0
    new_q = [a + d for a, d in zip(market.q, delta, strict=True)]
    sets_delta = max(new_q) - market.maker_sets
    postings: list[ev.Posting] = []
    shares: tuple[ev.ShareMove, ...] = ()
    if pays_cash(order.intent):
        reserved = qty * order.own_price * market.tick // ONE if order.qty else value
        escrow_used = reserved + fee
        postings.append((ledger.escrow(account), -escrow_used))
        if reserved > value:
            postings.append((ledger.cash(account), reserved - value))
        shares = ((account, _holds_token(market, order), qty),)
    else:
        escrow_used = qty
        postings.append((ledger.cash(account), -value - fee))
    if fee:
        postings.append((ledger.FEES, fee))
    postings.append((ledger.maker(market.id), value - sets_delta))
    if sets_delta:
        postings.append((ledger.collateral(market.id), sets_delta))
    ex.emit(
        ev.MakerFill(
            market=market.id,
            outcome=order.outcome,
            order_id=order.id,
            account=account,
            delta=delta,
            qty=qty,
            charge=charge,
            value=value,
            escrow_used=escrow_used,
            fee=fee,
            sets_delta=sets_delta,
            postings=tuple(postings),
            shares=shares,
            contrib=((account, value),),
        ),
        out,
    )


def close_order(ex: Exchange, order: Order, reason: str, out: list[ev.Event]) -> None:
    """Take an order off the book and give back whatever it still reserves."""
    released = order.escrow
    account = order.account
    postings: tuple[ev.Posting, ...] = ()
    shares: tuple[ev.ShareMove, ...] = ()
    if released:
        if pays_cash(order.intent):
            postings = ((ledger.escrow(account), -released), (ledger.cash(account), released))
        else:
            market = ex.markets[order.market]
            shares = ((account, _holds_token(market, order), released),)
    ex.emit(ev.OrderClosed(order.id, reason, released, postings, shares), out)


def uncross(ex: Exchange, market: Market, now: int, out: list[ev.Event]) -> None:
    """Fill resting orders that the maker's price has moved through (bounded)."""
    for _ in range(UNCROSS_MAX):
        found = rt.next_cross(market, now)
        if found is None:
            return
        order, qty, delta, charge = found
        value = rt.signed_value(order.intent, qty, order.own_price * market.tick)
        maker_fill(ex, market, order, qty, delta, charge, value, False, out)
        if order.remaining == 0:
            close_order(ex, order, "filled", out)
    raise AssertionError("uncrossing did not converge")


def handle_cancel(ex: Exchange, c: cmd.CancelOrder, now: int, out: list[ev.Event]) -> None:
    ex.require_account(c.account)
    order = ex.open_orders[c.account].get(c.order_id)
    if order is None:  # another account's order is as unknown as a missing one
        raise Rejected(Code.UNKNOWN_ORDER, f"no open order {c.order_id} of this account")
    close_order(ex, order, "cancelled", out)


def handle_cancel_all(ex: Exchange, c: cmd.CancelAll, now: int, out: list[ev.Event]) -> None:
    ex.require_account(c.account)
    if c.market is not None:
        ex.require_market(c.market)
    for order in list(ex.open_orders[c.account].values()):
        if c.market is None or order.market == c.market:
            close_order(ex, order, "cancelled", out)


def handle_tick(ex: Exchange, c: cmd.Tick, now: int, out: list[ev.Event]) -> None:
    """Expire GTD orders and close markets whose time has come, in time order."""
    expiries = ex.expiries
    while expiries and expiries[0][0] <= now:
        _, order_id = heapq.heappop(expiries)
        order = ex.orders.get(order_id)
        if order is not None:
            close_order(ex, order, "expired", out)
    for market in ex.markets.values():
        if market.status in (Status.OPEN, Status.HALTED) and market.close_at <= now:
            close_market(ex, market, "close time reached", out)


def close_market(ex: Exchange, market: Market, reason: str, out: list[ev.Event]) -> None:
    cancel_market_orders(ex, market, "market_closed", out)
    ex.emit(ev.MarketStatusChanged(market.id, Status.CLOSED.value, reason), out)


def cancel_market_orders(ex: Exchange, market: Market, reason: str, out: list[ev.Event]) -> None:
    for book in market.books:
        for order in list(book.orders()):
            close_order(ex, order, reason, out)


__all__ = ["INTENT_NAMES", "handle_place"]
