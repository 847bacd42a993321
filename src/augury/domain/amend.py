"""Amending a resting order: a smaller size in place, or an atomic replacement.

One command, one home for the rule (Augury's ``POST /orders/{id}/amend`` and Kalshi's
amend and decrease call it):

- the same price and a smaller size: the order is reduced in place (``OrderReduced``),
  keeping its id and its place in the queue, and gives back what it reserved for the
  part taken off (as a cancel of that part would);
- anything else (a new price, a larger size, another client_order_id): the order is
  closed with reason ``replaced`` and its replacement placed, exactly as
  ``PlaceOrder`` would place it, with the order's side, token, time in force, expiry,
  post-only and self-trade settings. The replacement is validated first, counting the
  old order's escrow, slot and client_order_id as free: if it would be refused the
  command is refused and the old order stays as it was.

Like every handler, everything is checked before the first event is emitted.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from augury.domain import commands as cmd
from augury.domain import events as ev
from augury.domain import router as rt
from augury.domain.book import BUY_NO, BUY_YES, SELL_YES, Order, pays_cash
from augury.domain.market import Market
from augury.domain.rejections import Code, Rejected
from augury.domain.trading import (
    close_order,
    execute_plan,
    new_order,
    reservation,
    settle_arrival,
)
from augury.domain.units import ONE

if TYPE_CHECKING:
    from augury.domain.state import State


def handle_amend(ex: State, c: cmd.AmendOrder, now: int, out: list[ev.Event]) -> None:
    ex.require_account(c.account)
    order = ex.open_orders[c.account].get(c.order_id)
    if order is None or not order.resting or not order.live_at(now):
        raise Rejected(Code.UNKNOWN_ORDER, f"no open order {c.order_id} of this account")
    market = ex.markets[order.market]
    same_id = c.client_order_id is None or c.client_order_id == order.client_order_id
    if c.price == order.own_price * market.tick and same_id:
        if c.qty == order.remaining:
            raise Rejected(Code.INVALID_ORDER, "the amendment changes nothing")
        if c.qty < order.remaining:
            _reduce(ex, market, order, c.qty, out)
            return
    _replace(ex, market, order, c, now, out)


def _reduce(ex: State, market: Market, order: Order, qty: int, out: list[ev.Event]) -> None:
    """Lower a resting order's unfilled size to ``qty``, keeping its place in the queue."""
    if qty <= 0:
        raise Rejected(Code.QTY_TOO_SMALL, "qty must be positive (cancel the order instead)")
    if qty % market.lot:
        raise Rejected(Code.QTY_NOT_ON_LOT, f"qty must be a multiple of the lot {market.lot}")
    account = order.account
    postings: tuple[ev.Posting, ...] = ()
    shares: tuple[ev.ShareMove, ...] = ()
    if pays_cash(order.intent):
        # a resting order fills as the maker, at its own price and without a fee, each
        # fill taking the floor of its value: this much covers every fill of ``qty``
        keep = qty * order.own_price * market.tick // ONE
        released = order.escrow - keep
        assert released >= 0, "a resting buy reserves less than its unfilled size costs"
        if released:
            cash_key, escrow_key = ex.ledger_keys(account)
            postings = ((escrow_key, -released), (cash_key, released))
    else:
        released = order.escrow - qty  # a sell reserves the shares it may still sell
        assert released > 0, "a resting sell reserves other than its unfilled size"
        shares = ((account, market.token_of(order.intent, order.outcome), released),)
    # -- validated: from here on the command cannot fail --------------------------------
    ex.emit(ev.OrderReduced(order.id, qty, released, postings, shares), out)


def _replace(
    ex: State, market: Market, old: Order, c: cmd.AmendOrder, now: int, out: list[ev.Event]
) -> None:
    """Close ``old`` and place its replacement at ``c``'s price and size, or neither."""
    intent = old.intent
    place = cmd.PlaceOrder(
        account=old.account,
        market=old.market,
        outcome=old.outcome,
        side=cmd.Side.BUY if intent in (BUY_YES, BUY_NO) else cmd.Side.SELL,
        token=cmd.Token.YES if intent in (BUY_YES, SELL_YES) else cmd.Token.NO,
        qty=c.qty,
        price=c.price,
        tif=cmd.TimeInForce(old.tif),
        expires_at=old.expires_at or None,
        post_only=old.post_only,
        client_order_id=c.client_order_id or old.client_order_id or None,
        self_trade=cmd.SelfTrade(old.self_trade),
    )
    market, order, side, token = new_order(ex, place, now)
    assert order.intent == intent, "a replacement trades the same side and token"
    postings, shares = reservation(ex, market, order, replacing=old)
    # ``old`` rests on the replacement's own side, so it is never a step of its plan
    steps = rt.plan(market, order, now)
    if order.post_only and rt.crosses(steps):
        raise Rejected(Code.POST_ONLY_WOULD_CROSS, "a post-only order would trade on arrival")
    # -- validated: from here on the command cannot fail --------------------------------
    close_order(ex, old, "replaced", out)
    ex.emit_accepted(order, market, side, token, postings, shares, out)
    stopped = execute_plan(ex, market, order, steps, now, out)
    settle_arrival(ex, market, order, stopped, now, out)
