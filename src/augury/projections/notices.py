"""Which event notifies whom, with what text: the one rule of the notification feed.

``notices_for(event, command, facts)`` turns one journaled event into the notices it
leaves in accounts' feeds (``notifications`` read model, docs/projections.md):

* ``fill``: each order of an account that traded (book or maker fill), both sides;
* ``order_closed``: an order the system closed: expired, cancelled when its market
  closed, by self-trade prevention, or by a clarification (a ``cancelled`` close in a
  record whose command is not the owner's own cancel);
* ``market_closed``, ``market_halted``: a market an account holds stopped trading;
* ``market_held``: a market an account holds waits for the arbiters (with the reason);
* ``market_resolved``, ``market_voided``: a market an account held settled;
* ``clarification``, ``dispute``: on a market an account holds;
* ``decision``: the market an account proposed, disputed or voted on was decided.

A login from a new place (``new_login``) is not a journal event: the API writes it
(``augury.api.notifications``). What the rule needs to know beyond the event (an
order's owner, a market's question, who holds a market, who proposed) comes in through
``Facts``; the function itself is pure: no I/O, no clock.
"""

from __future__ import annotations

from typing import Any, Literal, NamedTuple, Protocol, get_args

from augury.domain import events as ev
from augury.domain import views
from augury.domain.units import format_micros

Kind = Literal[
    "fill",
    "order_closed",
    "market_closed",
    "market_halted",
    "market_held",
    "market_resolved",
    "market_voided",
    "clarification",
    "dispute",
    "decision",
    "new_login",
]
"""A kind of notification (stable, public: never rename one)."""
KINDS: tuple[str, ...] = get_args(Kind)
"""Every kind, in this order."""

SYSTEM_CLOSES = {
    "expired": "expired",
    "market_closed": "was cancelled because its market closed",
    "self_trade": "was cancelled by self-trade prevention",
    "cancelled": "was cancelled by the exchange",
}
"""Close reasons that notify the order's owner, and how the text says it."""

OWN_CANCELS = frozenset({"cancel_order", "cancel_all"})
"""Commands whose ``cancelled`` closes are the owner's own doing (no notice)."""

TEXT_MAX = 500
"""The longest text of a notice (a creator's question or reason is cut to fit)."""


# NamedTuples, not frozen dataclasses: the projector makes a few of these per fill, and
# a frozen dataclass's __init__ (object.__setattr__ per field) cost several times more.
class OrderFacts(NamedTuple):
    account: str
    market: str
    outcome: int
    side: str  # buy | sell
    token: str  # yes | no


class MarketFacts(NamedTuple):
    question: str
    outcomes: tuple[str, ...]
    tick: int


class Notice(NamedTuple):
    account: str
    kind: str
    market: str
    text: str
    details: dict[str, Any]


class Facts(Protocol):
    """What the projector knows at the event (before it is applied)."""

    def order(self, order_id: int) -> OrderFacts: ...

    def market(self, market: str) -> MarketFacts: ...

    def holders(self, market: str) -> list[str]:
        """Accounts holding shares of ``market`` (available or escrowed), sorted."""
        ...

    def proposers(self, market: str) -> list[str]:
        """Accounts that proposed or disputed an outcome of ``market``, sorted."""
        ...


def _cut(text: str) -> str:
    return text if len(text) <= TEXT_MAX else text[: TEXT_MAX - 1] + "…"


def _outcome_name(market: MarketFacts, outcome: int) -> str:
    if outcome == -1:
        return "void"
    if outcome == -2:
        return "fractional weights"
    if 0 <= outcome < len(market.outcomes):
        return market.outcomes[outcome]
    return f"outcome {outcome}"


def _side_text(order: OrderFacts, market: MarketFacts) -> str:
    token = order.token.upper()
    if len(market.outcomes) > 2:  # categorical: name the outcome
        return f"{order.side} {token} {_outcome_name(market, order.outcome)}"
    return f"{order.side} {token}"


def _fill(
    order_id: int, order: OrderFacts, market: MarketFacts, qty: int, price: int, fee: int
) -> Notice:
    what = _side_text(order, market)
    qty_text, price_text, fee_text = format_micros(qty), format_micros(price), format_micros(fee)
    fee_part = f", fee {fee_text}" if fee else ""
    text = (
        f"your {what} order #{order_id} filled {qty_text} at "
        f"{price_text}{fee_part}: {market.question}"
    )
    details = {
        "order_id": order_id,
        "qty": qty_text,
        "price": price_text,
        "fee": fee_text,
        "side": order.side,
        "token": order.token,
        "outcome": order.outcome,
    }
    return Notice(order.account, "fill", order.market, _cut(text), details)


def _to_holders(facts: Facts, market_id: str, kind: str, text: str, **details: Any) -> list[Notice]:
    text = _cut(text)
    return [Notice(a, kind, market_id, text, dict(details)) for a in facts.holders(market_id)]


def notices_for(event: ev.Event, command: str, facts: Facts) -> list[Notice]:
    """The notices ``event`` leaves (``command``: the tag of its record's command)."""
    e = event
    if isinstance(e, ev.BookFill):
        market = facts.market(e.market)
        out = []
        for order_id in (e.taker_order, e.resting_order):
            order = facts.order(order_id)
            price = views.book_fill_price(e, market.tick, order.token == "yes")
            fee = views.book_fill_fee(e, order_id)
            out.append(_fill(order_id, order, market, e.qty, price, fee))
        return out
    if isinstance(e, ev.MakerFill):
        order = facts.order(e.order_id)
        market = facts.market(e.market)
        price = views.maker_fill_price(e)
        return [_fill(e.order_id, order, market, e.qty, price, e.fee)]
    if isinstance(e, ev.OrderClosed):
        how = SYSTEM_CLOSES.get(e.reason)
        if how is None or (e.reason == "cancelled" and command in OWN_CANCELS):
            return []
        order = facts.order(e.order_id)
        market = facts.market(order.market)
        what = _side_text(order, market)
        text = f"your {what} order #{e.order_id} {how}: {market.question}"
        details = {"order_id": e.order_id, "reason": e.reason, "command": command}
        return [Notice(order.account, "order_closed", order.market, _cut(text), details)]
    if isinstance(e, ev.MarketStatusChanged):
        if e.status not in ("closed", "halted"):
            return []
        question = facts.market(e.market).question
        because = f" ({e.reason})" if e.reason else ""
        verb = "closed" if e.status == "closed" else "was halted"
        kind = "market_closed" if e.status == "closed" else "market_halted"
        text = f"a market you hold {verb}{because}: {question}"
        return _to_holders(facts, e.market, kind, text, status=e.status, reason=e.reason)
    if isinstance(e, ev.ResolutionHeld):
        question = facts.market(e.market).question
        text = f"a market you hold is held for the arbiters ({e.reason}): {question}"
        return _to_holders(facts, e.market, "market_held", text, reason=e.reason)
    if isinstance(e, ev.MarketSettled):
        market = facts.market(e.market)
        paid = dict(e.payouts)
        out = []
        for account in sorted(set(facts.holders(e.market)) | set(paid)):
            amount = paid.get(account, 0)
            text = f"a market you held resolved, you were paid {format_micros(amount)}: "
            text += market.question
            details = {"payout": format_micros(amount), "weights": list(e.weights)}
            out.append(Notice(account, "market_resolved", e.market, _cut(text), details))
        return out
    if isinstance(e, ev.MarketVoided):
        market = facts.market(e.market)
        refunded = dict(e.refunds)
        out = []
        for account in sorted(set(facts.holders(e.market)) | set(refunded)):
            amount = refunded.get(account, 0)
            because = f" ({e.reason})" if e.reason else ""
            text = f"a market you held was voided{because}, refund {format_micros(amount)}: "
            text += market.question
            details = {"refund": format_micros(amount), "reason": e.reason}
            out.append(Notice(account, "market_voided", e.market, _cut(text), details))
        return out
    if isinstance(e, ev.ClarificationPosted):
        question = facts.market(e.market).question
        cancelled = " (resting orders were cancelled)" if e.cancel_orders else ""
        text = f"clarification v{e.version} on a market you hold{cancelled}: {e.text} ({question})"
        return _to_holders(facts, e.market, "clarification", text, version=e.version)
    if isinstance(e, ev.ProposalDisputed):
        question = facts.market(e.market).question
        because = f": {e.reason}" if e.reason else ""
        text = f"the proposed outcome of a market you hold was disputed{because} ({question})"
        return _to_holders(facts, e.market, "dispute", text, disputer=e.disputer)
    if isinstance(e, ev.ResolutionFinalized):
        market = facts.market(e.market)
        outcome = _outcome_name(market, e.outcome)
        accounts = sorted({a for a in (*facts.proposers(e.market), *e.voters) if a})
        text = f"a market you proposed on or voted on was decided: {outcome} (by {e.by}): "
        text += market.question
        details = {"outcome": e.outcome, "by": e.by}
        return [Notice(a, "decision", e.market, _cut(text), dict(details)) for a in accounts]
    return []
