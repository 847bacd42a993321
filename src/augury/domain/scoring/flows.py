"""Cash flows between an account and a market, read from the events' ledger postings.

A flow is a change of an account's **own credits** (``cash:<a>`` plus ``escrow:<a>``)
caused by one market. Escrow is the account's money set aside, so moving credits from
cash into escrow (an order accepted) or back (an order closed) is no flow: both
postings belong to the account and cancel out. The flow happens when escrow is *used*:
a fill debits ``escrow:<a>`` by what the order reserved for it and credits the unused
part back to ``cash:<a>``; their sum, the price paid (and the fee), is the flow.

So, per event and account, the flow is the sum of that account's cash and escrow
postings, split by kind:

=============== ========================================================================
event           rows (amount signed, + = credits to the account)
=============== ========================================================================
MarketCreated   ``subsidy``: the creator's payment of the LMSR subsidy (negative)
BookFill        ``trade`` for each side (price paid or received); ``fee`` for the taker
MakerFill       ``trade`` (price paid or received); ``fee``
SetsMinted      ``trade``: credits paid for complete sets
SetsRedeemed    ``trade``: credits received for complete sets
MarketSettled   ``payout`` (the event's ``payouts``); ``residue``: what the maker held
                (its remaining cash and the payout of its inventory) returned to the
                market's creator
MarketVoided    ``refund`` (the event's ``refunds``)
OrderAccepted,  nothing: escrow moves only (asserted: the account's net is zero)
OrderClosed,
OrderReduced
any other       ``other``: an event this module does not know (e.g. a resolution bond)
                that moves an account's credits and names a ``market``; kept so that
                the sums below still hold, but left out of profit (``traders.py``)
=============== ========================================================================

Hence, for every account and market, the sum of the flows is exactly the net credits the
account got from the market, and for every account the sum of all its flows plus its
grants equals its ledger balance (``cash`` + ``escrow``). Rows of amount zero are left
out. Within one event, rows come in the order the accounts first appear in the postings,
the principal kind before ``fee``/``residue``.
"""

from __future__ import annotations

from typing import Final, NamedTuple

from augury.domain import events as ev

TRADE: Final = "trade"
FEE: Final = "fee"
PAYOUT: Final = "payout"
REFUND: Final = "refund"
SUBSIDY: Final = "subsidy"
RESIDUE: Final = "residue"
OTHER: Final = "other"
FLOW_KINDS: Final = (TRADE, FEE, PAYOUT, REFUND, SUBSIDY, RESIDUE, OTHER)
PROFIT_KINDS: Final = (TRADE, FEE, PAYOUT, REFUND, SUBSIDY, RESIDUE)
"""The kinds a trader's profit adds up (``other`` is not trading)."""


class Flow(NamedTuple):
    account: str
    market: str
    kind: str
    amount: int  # signed micro-credits: + credits the account


def account_nets(postings: tuple[ev.Posting, ...]) -> dict[str, int]:
    """Per account (first appearance first): the sum of its cash and escrow postings."""
    nets: dict[str, int] = {}
    for ledger_account, amount in postings:
        kind, _, account = ledger_account.partition(":")
        if kind == "cash" or kind == "escrow":
            nets[account] = nets.get(account, 0) + amount
    return nets


def flows_of(event: ev.Event, fee_account: str = "") -> list[Flow]:
    """The flows of one event (see the module docstring).

    ``fee_account`` names the taker of a ``BookFill`` (the event names only its order);
    it is ignored for every other event.
    """
    postings: tuple[ev.Posting, ...] = getattr(event, "postings", ())
    if not postings:
        return []
    nets = account_nets(postings)
    out: list[Flow] = []
    if isinstance(event, ev.BookFill | ev.MakerFill):
        payer = event.account if isinstance(event, ev.MakerFill) else fee_account
        assert event.fee == 0 or payer in nets, "a fee without its payer's postings"
        for account, net in nets.items():
            fee = event.fee if account == payer else 0
            _add(out, account, event.market, TRADE, net + fee)
            _add(out, account, event.market, FEE, -fee)
    elif isinstance(event, ev.SetsMinted | ev.SetsRedeemed):
        for account, net in nets.items():
            _add(out, account, event.market, TRADE, net)
    elif isinstance(event, ev.MarketCreated):
        for account, net in nets.items():
            _add(out, account, event.market, SUBSIDY, net)
    elif isinstance(event, ev.MarketSettled):
        paid = dict(event.payouts)
        for account, net in nets.items():
            payout = paid.get(account, 0)
            _add(out, account, event.market, PAYOUT, payout)
            _add(out, account, event.market, RESIDUE, net - payout)
    elif isinstance(event, ev.MarketVoided):
        for account, net in nets.items():
            _add(out, account, event.market, REFUND, net)
    elif isinstance(event, ev.OrderAccepted | ev.OrderClosed | ev.OrderReduced):
        assert not any(nets.values()), "an order's escrow moved credits out of its account"
    elif isinstance(market := getattr(event, "market", None), str):
        for account, net in nets.items():
            _add(out, account, market, OTHER, net)
    return out


def _add(out: list[Flow], account: str, market: str, kind: str, amount: int) -> None:
    if amount:
        out.append(Flow(account, market, kind, amount))
