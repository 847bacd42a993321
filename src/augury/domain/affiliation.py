"""Conflicts of interest in trading: who may not trade a market, and the market setting.

A market blocks affiliated trading by default (``block_affiliated_trading``): an account
that declared an affiliation with an organization owning one of the market's sources, or
with one of its creator's declared organizations, is refused (``affiliated_account``)
when it places an order of any kind or mints complete sets. Cancelling, redeeming and
converting (which only reduce or reshape what it holds) and settlement stay allowed. A
market may allow such trading only with a public reason, given at creation. Judging a
market (proposing, voting, reviewing alerts) is refused separately, by
``resolution.process.conflict``, whatever this setting says.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from augury.domain import commands as cmd
from augury.domain.limits import Limits
from augury.domain.market import Market
from augury.domain.rejections import Code, Rejected
from augury.domain.resolution.spec import norm_org

if TYPE_CHECKING:
    from augury.domain.state import State


def setting(c: cmd.CreateMarket, limits: Limits) -> str:
    """Check a new market's ``block_affiliated_trading`` setting; return its public
    reason (stripped). Turning the block off needs a reason; keeping it on takes none."""
    reason = c.affiliated_trading_reason.strip()
    if len(reason) > limits.text_length_max:
        raise Rejected(
            Code.INVALID_MARKET,
            f"affiliated_trading_reason may be at most {limits.text_length_max} characters.",
        )
    if not c.block_affiliated_trading and not reason:
        raise Rejected(
            Code.INVALID_MARKET,
            "Allowing trading by affiliated accounts (block_affiliated_trading false) needs "
            "a public reason in affiliated_trading_reason.",
        )
    if c.block_affiliated_trading and reason:
        raise Rejected(
            Code.INVALID_MARKET,
            "affiliated_trading_reason is the public reason for allowing affiliated trading; "
            "give it only with block_affiliated_trading false.",
        )
    return reason


def affiliated_trading_conflict(ex: State, market: Market, account: str) -> str | None:
    """Why ``account`` may not trade ``market`` for a conflict of interest, or None.

    The one home of the rule: when the market blocks affiliated trading (the default),
    an account that declared an affiliation with an organization owning one of the
    market's sources, or with an organization its creator declared, may not trade it.
    A market that allows it still refuses affiliates of the owners if its spec says
    ``block_affiliated_trading``. Names compare as the conflict check of resolution
    does (``norm_org``).
    """
    orgs = ex.affiliations.get(account)
    if not orgs:
        return None
    owners = ex.blocked_orgs.get(market.id, frozenset())
    creator: set[str] = set()
    if market.block_affiliated_trading:
        creator = {norm_org(o) for o in ex.affiliations.get(market.creator, ())}
    for org in orgs:
        name = norm_org(org)
        if name in owners:
            return (
                f"{account} is affiliated with {org}, which owns a source of market "
                f"{market.id}, so it may not trade this market."
            )
        if name in creator:
            return (
                f"{account} is affiliated with {org}, the organization of the creator of "
                f"market {market.id}, so it may not trade this market."
            )
    return None


def require_unaffiliated(ex: State, market: Market, account: str) -> None:
    """Refuse (``affiliated_account``) if :func:`affiliated_trading_conflict` finds one."""
    if not ex.affiliations:  # nobody declared an affiliation: nothing to look up
        return
    why = affiliated_trading_conflict(ex, market, account)
    if why is not None:
        raise Rejected(Code.AFFILIATED_ACCOUNT, why)
