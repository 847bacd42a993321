"""Order handling: place (route, fill, rest), cancel, expire, and the maker's uncrossing.

Each ``handle_*`` function validates the whole command first and raises
:class:`~augury.domain.rejections.Rejected` before emitting anything; once the first
event is emitted the command cannot fail. Postings, share moves and contributions are
computed here and carried by the events, so replay only adds them up.

Placing an order is the hot path: it reads the command's fields once, works on plain
ints and strings, and emits the order's events through the ``State.emit_*`` methods.
"""

from __future__ import annotations

import heapq
from typing import TYPE_CHECKING, Final

from msgspec.structs import astuple

from augury.domain import commands as cmd
from augury.domain import events as ev
from augury.domain import ledger
from augury.domain import router as rt
from augury.domain.affiliation import require_unaffiliated
from augury.domain.book import BUY_NO, BUY_YES, SELL_NO, SELL_YES, Order, pays_cash
from augury.domain.commands import PlaceOrder, Token
from augury.domain.market import Market, Status
from augury.domain.rejections import Code, Rejected
from augury.domain.units import ONE

if TYPE_CHECKING:
    from augury.domain.state import State

UNCROSS_MAX: Final = 10_000
"""Bound on maker-versus-book fills after one command."""

_STATUS_CODES = {
    Status.HALTED: (Code.MARKET_HALTED, "trading is halted"),
    Status.CLOSED: (Code.MARKET_CLOSED, "the market is closed"),
    Status.RESOLVED: (Code.MARKET_RESOLVED, "The market is already resolved."),
    Status.VOIDED: (Code.MARKET_VOIDED, "The market is already voided."),
}

_ASTUPLE: Final = astuple  # Final: a C static in the compiled build, not a global lookup
_TOKEN_YES: Final = Token.YES
_TOKEN_NO: Final = Token.NO

# handle_place unpacks a PlaceOrder by position (one call instead of a lookup per field)
_Place = tuple[
    str, str, int, str, str, int | None, int | None, int | None, str, int | None, bool,
    str | None, str,
]  # fmt: skip
_PLACE_FIELDS: Final = (
    "account",
    "market",
    "outcome",
    "side",
    "token",
    "qty",
    "price",
    "budget",
    "tif",
    "expires_at",
    "post_only",
    "client_order_id",
    "self_trade",
)
assert PlaceOrder.__struct_fields__ == _PLACE_FIELDS, "PlaceOrder's fields changed"


def require_open(market: Market, now: int) -> None:
    """Refuse unless the market is open for trading at ``now``."""
    if market.status is not Status.OPEN:
        code, message = _STATUS_CODES[market.status]
        raise Rejected(code, message)
    if now >= market.close_at:
        raise Rejected(Code.MARKET_CLOSED, "the market's close time has passed")


def handle_place(ex: State, c: PlaceOrder, now: int, out: list[ev.Event]) -> None:
    market, order, side, token = new_order(ex, c, now)
    postings, shares = reservation(ex, market, order)
    qty, tif, has_maker = order.qty, order.tif, market.has_maker
    if qty and order.budget == 0 and not order.post_only and tif != "fok" and not has_maker:
        # sized by qty, on a book without maker, neither post-only nor fill-or-kill:
        # nothing can refuse it now, so it trades as it walks the book, unplanned
        ex.emit_accepted(order, market, side, token, postings, shares, out)
        stopped = _match_book(ex, market, order, now, out)
    else:
        steps = rt.plan(market, order, now)
        if order.post_only and rt.crosses(steps):
            raise Rejected(Code.POST_ONLY_WOULD_CROSS, "a post-only order would trade on arrival")
        if tif == "fok" and (rt.fillable(steps) < qty or ("stop",) in steps):
            raise Rejected(Code.FOK_NOT_FILLABLE, "the order cannot be filled completely now")
        # -- validated: from here on the command cannot fail ----------------------------
        ex.emit_accepted(order, market, side, token, postings, shares, out)
        stopped = execute_plan(ex, market, order, steps, now, out)
    settle_arrival(ex, market, order, stopped, now, out)


def settle_arrival(
    ex: State, market: Market, order: Order, stopped: bool, now: int, out: list[ev.Event]
) -> None:
    """After an accepted order has traded on arrival: close it (filled, stopped by
    self-trade prevention, or an unfilled IOC/FOK) or rest it, then uncross the maker."""
    tif = order.tif
    if order.qty and order.remaining == 0:
        _close(ex, market, order, "filled", out)
    elif stopped:
        _close(ex, market, order, "self_trade", out)
    elif tif == "gtc" or tif == "gtd":
        ex.emit_rested(order, market, out)
    else:
        _close(ex, market, order, "unfilled" if order.filled == 0 else "filled", out)
    if market.has_maker:
        uncross(ex, market, now, out)


def new_order(ex: State, c: PlaceOrder, now: int) -> tuple[Market, Order, str, str]:
    """Check everything about ``c`` but its account's limits; return its market, the
    order it makes (not yet accepted), and its side and token."""
    fields: _Place = _ASTUPLE(c)  # every field at once: far cheaper than one by one
    (
        account,
        market_id,
        outcome,
        side,
        token,
        qty,
        price,
        budget,
        c_tif,
        expires_at,
        post_only,
        client_order_id,
        self_trade,
    ) = fields
    market = ex.require_market(market_id)
    ex.require_account(account)
    require_open(market, now)
    if ex.affiliations:  # someone declared an affiliation (else skip the call)
        require_unaffiliated(ex, market, account)
    if not 0 <= outcome < market.n:
        raise Rejected(Code.INVALID_OUTCOME, f"outcome must be 0..{market.n - 1}")
    if not market.categorical and outcome == 1:  # YES on NO is NO on YES: one book
        outcome = 0
        token = _TOKEN_NO if token == "yes" else _TOKEN_YES
    if side == "buy":
        intent = BUY_YES if token == "yes" else BUY_NO
    else:
        intent = SELL_YES if token == "yes" else SELL_NO
    tif, own_ticks = _validate_shape(
        ex, market, intent, qty, price, budget, c_tif, expires_at, post_only, client_order_id, now
    )
    escrow = _escrow_needed(market, intent, own_ticks, qty or 0, budget or 0)
    order = Order(
        ex.next_order_id,
        account,
        market.id,
        outcome,
        intent,
        own_ticks if intent in (BUY_YES, SELL_YES) else market.top - own_ticks,
        own_ticks,
        qty or 0,
        budget or 0,
        escrow,
        tif,
        expires_at or 0,
        post_only,
        client_order_id or "",
        self_trade,
    )
    return market, order, side, token


def _validate_shape(
    ex: State,
    market: Market,
    intent: int,
    qty: int | None,
    price: int | None,
    budget: int | None,
    c_tif: str,
    expires_at: int | None,
    post_only: bool,
    client_order_id: str | None,
    now: int,
) -> tuple[str, int]:
    """Check price, size and time in force; return (tif, own price in ticks)."""
    lots = market.lot
    limits = ex.limits
    if price is None:  # a market order
        if c_tif == "gtd" or post_only:
            raise Rejected(Code.INVALID_ORDER, "a market order cannot rest (GTD or post-only)")
        if (qty is None) == (budget is None):
            raise Rejected(Code.INVALID_ORDER, "a market order needs exactly one of qty, budget")
        if budget is not None and not pays_cash(intent):
            raise Rejected(Code.INVALID_ORDER, "only buys can be sized by budget")
        if budget is not None and c_tif == "fok":
            raise Rejected(Code.INVALID_ORDER, "a budget order cannot be fill-or-kill")
        if budget is not None and not 0 < budget <= limits.grant_max:
            raise Rejected(Code.INVALID_AMOUNT, "budget must be positive")
        tif = "fok" if c_tif == "fok" else "ioc"
        own_ticks = market.top - 1 if pays_cash(intent) else 1
    else:
        if budget is not None:
            raise Rejected(Code.INVALID_ORDER, "a limit order is sized by qty, not budget")
        if qty is None:
            raise Rejected(Code.INVALID_ORDER, "a limit order needs a qty")
        if price % market.tick:
            raise Rejected(
                Code.PRICE_NOT_ON_TICK, f"price must be a multiple of the tick {market.tick}"
            )
        own_ticks = price // market.tick
        if not 0 < own_ticks < market.top:
            raise Rejected(
                Code.PRICE_OUT_OF_RANGE,
                f"price must be between {market.tick} and {ONE - market.tick} micros",
            )
        tif = str(c_tif)  # a TimeInForce's plain value (str() of a StrEnum gives it)
        if post_only and tif != "gtc" and tif != "gtd":
            raise Rejected(Code.INVALID_ORDER, "post-only orders must be GTC or GTD")
    if tif == "gtd":
        if expires_at is None or expires_at <= now:
            raise Rejected(Code.INVALID_EXPIRY, "a GTD order needs expires_at in the future")
    elif expires_at is not None:
        raise Rejected(Code.INVALID_EXPIRY, "only GTD orders take expires_at")
    if qty is not None:
        if qty <= 0:
            raise Rejected(Code.QTY_TOO_SMALL, "qty must be positive")
        if qty % lots:
            raise Rejected(Code.QTY_NOT_ON_LOT, f"qty must be a multiple of the lot {lots}")
        if qty > limits.order_qty_max:
            raise Rejected(Code.QTY_TOO_LARGE, f"qty may be at most {limits.order_qty_max}")
    if client_order_id is not None and not 0 < len(client_order_id) <= limits.id_length_max:
        raise Rejected(Code.INVALID_ORDER, "client_order_id must be 1..64 characters")
    return tif, own_ticks


def _escrow_needed(market: Market, intent: int, own_ticks: int, qty: int, budget: int) -> int:
    """Credits (buys) or shares (sells) an order must reserve when placed."""
    if intent not in (BUY_YES, BUY_NO):
        return qty
    if budget:
        return budget
    value = qty * own_ticks * market.tick // ONE
    fee_bps = market.fee_bps
    return value + rt.cumulative_fee(0, 0, value, fee_bps)  # the fee rule, reserved


def reservation(
    ex: State, market: Market, order: Order, replacing: Order | None = None
) -> tuple[tuple[ev.Posting, ...], tuple[ev.ShareMove, ...]]:
    """Check the account's limits for a new order; return the postings or share moves
    that reserve its escrow. ``replacing``: an open order of the same account, side and
    token that closes just before this one is accepted (an amendment), whose slot,
    escrow and client_order_id count as free."""
    account, escrow = order.account, order.escrow
    freed = 0 if replacing is None else replacing.escrow
    if order.client_order_id:
        existing = ex.client_ids.get((account, order.client_order_id))
        if existing is not None and (replacing is None or existing != replacing.id):
            raise Rejected(
                Code.DUPLICATE_CLIENT_ORDER_ID,
                f"client_order_id already used by order {existing}",
            )
    # only an order that can rest holds a slot; IOC, FOK and market orders never stay open
    resting_kind = order.tif == "gtc" or order.tif == "gtd"
    slots = len(ex.open_orders[account]) - (replacing is not None)
    if resting_kind and slots >= ex.limits.open_orders_per_account:
        raise Rejected(
            Code.TOO_MANY_OPEN_ORDERS,
            f"at most {ex.limits.open_orders_per_account} open orders per account",
        )
    if order.intent in (BUY_YES, BUY_NO):
        cash_key, escrow_key = ex.ledger_keys(account)
        available = ex.ledger.balance(cash_key) + freed
        if available < escrow:
            raise Rejected(
                Code.INSUFFICIENT_FUNDS, f"needs {escrow} micro-credits, {available} available"
            )
        return ((cash_key, -escrow), (escrow_key, escrow)), ()
    token = market.token_of(order.intent, order.outcome)
    held = market.held(account, token) + freed
    if held < escrow:
        raise Rejected(Code.INSUFFICIENT_SHARES, f"needs {escrow} micro-shares, {held} available")
    return (), ((account, token, -escrow),)


def _match_book(ex: State, market: Market, order: Order, now: int, out: list[ev.Event]) -> bool:
    """Trade an order sized by qty against a book without maker, best price first.

    Exactly what executing ``rt.plan`` does for such an order (expire, cancel own
    orders, fill), done as it walks: the head of the best level is the next resting
    order in priority, because whatever the walk passes leaves the book. True if
    self-trade prevention stopped the order.
    """
    book = market.books[order.outcome]
    limit = order.price
    bid = order.bid
    account = order.account
    self_trade = order.self_trade
    for _ in range(rt.STEPS_MAX):
        remaining = order.remaining
        if remaining == 0:
            return False
        if bid:
            best = book.best_ask
            if best > limit:
                return False
            resting = book.asks[best][0]
        else:
            best = book.best_bid
            if best < limit:
                return False
            resting = book.bids[best][0]
        if not resting.live_at(now):
            _close(ex, market, resting, "expired", out)
            continue
        if resting.account == account:
            if self_trade == "cancel_resting":
                _close(ex, market, resting, "self_trade", out)
                continue
            if self_trade == "cancel_incoming":
                return True
        available = resting.remaining
        take = remaining if remaining < available else available  # min() would box both
        book_fill(ex, market, order, resting, take, out)
        if resting.remaining == 0:
            _close(ex, market, resting, "filled", out)
    raise AssertionError("book walk exceeded its step bound")


def execute_plan(
    ex: State, market: Market, order: Order, steps: list[rt.Step], now: int, out: list[ev.Event]
) -> bool:
    """Carry out a plan; True if self-trade prevention stopped the incoming order."""
    for step in steps:
        kind = step[0]
        if kind == "book":
            resting, qty = step[1], step[2]
            assert isinstance(resting, Order) and isinstance(qty, int)
            book_fill(ex, market, order, resting, qty, out)
            if resting.remaining == 0:
                _close(ex, market, resting, "filled", out)
        elif kind == "maker":
            qty, delta, charge = step[1], step[2], step[3]
            assert isinstance(qty, int) and isinstance(delta, tuple) and isinstance(charge, int)
            maker_fill(ex, market, order, qty, delta, charge, charge, True, out)
        elif kind == "cancel":
            resting = step[1]
            assert isinstance(resting, Order)
            _close(ex, market, resting, "self_trade", out)
        elif kind == "expire":
            resting = step[1]
            assert isinstance(resting, Order)
            _close(ex, market, resting, "expired", out)
        else:
            return True
    return False


def book_fill(
    ex: State, market: Market, taker: Order, resting: Order, qty: int, out: list[ev.Event]
) -> None:
    """Fill ``qty`` between a taking and a resting order at the resting order's price."""
    price = resting.price
    tick = market.tick
    yes_value = qty * price * tick // ONE
    no_value = qty - yes_value
    taker_value = yes_value if taker.intent in (BUY_YES, SELL_YES) else no_value
    resting_value = yes_value if resting.intent in (BUY_YES, SELL_YES) else no_value
    fee = rt.fee_for(taker, taker_value, market.fee_bps) if market.fee_bps else 0
    taker_buys = taker.intent in (BUY_YES, BUY_NO)
    resting_buys = resting.intent in (BUY_YES, BUY_NO)
    postings: list[ev.Posting] = []
    shares: list[ev.ShareMove] = []
    contrib: list[ev.Contribution] = []
    taker_used = _fill_leg(
        ex, market, taker, taker_buys, qty, taker_value, fee, postings, shares, contrib
    )
    resting_used = _fill_leg(
        ex, market, resting, resting_buys, qty, resting_value, 0, postings, shares, contrib
    )
    if fee:
        postings.append((ledger.FEES, fee))
    buys = taker_buys + resting_buys
    if buys == 2:  # both buy: their payments mint a complete set
        postings.append((market.collateral_key, qty))
    elif buys == 0:  # both sell: a complete set is burned to pay them
        postings.append((market.collateral_key, -qty))
    # a buy meeting a sell moves credits between the two accounts only
    ex.emit_book_fill(
        market,
        taker,
        resting,
        price,
        qty,
        taker_used,
        resting_used,
        fee,
        tuple(postings),
        tuple(shares),
        tuple(contrib),
        out,
    )


def _fill_leg(
    ex: State,
    market: Market,
    order: Order,
    buys: bool,
    qty: int,
    value: int,
    fee: int,
    postings: list[ev.Posting],
    shares: list[ev.ShareMove],
    contrib: list[ev.Contribution],
) -> int:
    """One side of a book fill: its postings, share moves and contribution; escrow used."""
    account = order.account
    cash_key, escrow_key = ex.ledger_keys(account)
    if buys:
        reserved = qty * order.own_price * market.tick // ONE if order.qty else value
        postings.append((escrow_key, -(reserved + fee)))
        if reserved > value:
            postings.append((cash_key, reserved - value))
        shares.append((account, market.token_of(order.intent, order.outcome), qty))
        contrib.append((account, value))
        return reserved + fee
    postings.append((cash_key, value - fee))
    contrib.append((account, -value))
    return qty


def maker_fill(
    ex: State,
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
    cash_key, escrow_key = ex.ledger_keys(account)
    if pays_cash(order.intent):
        reserved = qty * order.own_price * market.tick // ONE if order.qty else value
        escrow_used = reserved + fee
        postings.append((escrow_key, -escrow_used))
        if reserved > value:
            postings.append((cash_key, reserved - value))
        shares = ((account, market.token_of(order.intent, order.outcome), qty),)
    else:
        escrow_used = qty
        postings.append((cash_key, -value - fee))
    if fee:
        postings.append((ledger.FEES, fee))
    postings.append((market.maker_key, value - sets_delta))
    if sets_delta:
        postings.append((market.collateral_key, sets_delta))
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


def close_order(ex: State, order: Order, reason: str, out: list[ev.Event]) -> None:
    """Take an order off the book and give back whatever it still reserves."""
    _close(ex, ex.markets[order.market], order, reason, out)


def _close(ex: State, market: Market, order: Order, reason: str, out: list[ev.Event]) -> None:
    """:func:`close_order` of an order of ``market``."""
    released = order.escrow
    account = order.account
    postings: tuple[ev.Posting, ...] = ()
    shares: tuple[ev.ShareMove, ...] = ()
    if released:
        if order.intent in (BUY_YES, BUY_NO):
            cash_key, escrow_key = ex.ledger_keys(account)
            postings = ((escrow_key, -released), (cash_key, released))
        else:
            shares = ((account, market.token_of(order.intent, order.outcome), released),)
    ex.emit_closed(order, market, reason, released, postings, shares, out)


def uncross(ex: State, market: Market, now: int, out: list[ev.Event]) -> None:
    """Fill resting orders that the maker's price has moved through (bounded)."""
    for _ in range(UNCROSS_MAX):
        found = rt.next_cross(market, now)
        if found is None:
            return
        order, qty, delta, charge = found
        value = rt.signed_value(order.intent, qty, order.own_price * market.tick)
        maker_fill(ex, market, order, qty, delta, charge, value, False, out)
        if order.remaining == 0:
            _close(ex, market, order, "filled", out)
    raise AssertionError("uncrossing did not converge")


def handle_cancel(ex: State, c: cmd.CancelOrder, now: int, out: list[ev.Event]) -> None:
    ex.require_account(c.account)
    order = ex.open_orders[c.account].get(c.order_id)
    if order is None:  # another account's order is as unknown as a missing one
        raise Rejected(Code.UNKNOWN_ORDER, f"no open order {c.order_id} of this account")
    close_order(ex, order, "cancelled", out)


def handle_cancel_all(ex: State, c: cmd.CancelAll, now: int, out: list[ev.Event]) -> None:
    ex.require_account(c.account)
    if c.market is not None:
        ex.require_market(c.market)
    for order in list(ex.open_orders[c.account].values()):
        if c.market is None or order.market == c.market:
            close_order(ex, order, "cancelled", out)


def handle_tick(ex: State, c: cmd.Tick, now: int, out: list[ev.Event]) -> None:
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


def close_market(ex: State, market: Market, reason: str, out: list[ev.Event]) -> None:
    cancel_market_orders(ex, market, "market_closed", out)
    ex.emit(ev.MarketStatusChanged(market.id, Status.CLOSED.value, reason), out)


def cancel_market_orders(ex: State, market: Market, reason: str, out: list[ev.Event]) -> None:
    for book in market.books:
        for order in list(book.orders()):
            _close(ex, market, order, reason, out)
