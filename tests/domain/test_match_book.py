"""The unplanned book walk (``trading._match_book``) does exactly what planning does.

An order sized by qty on a market without maker, neither post-only nor fill-or-kill,
trades as it walks the book; every other order is planned first (``router.plan``) and
the plan then executed. For the orders that take the walk both ways must agree: random
order streams (own orders under every self-trade mode, GTD orders left to expire on
the book, IOC, market orders by qty, YES and NO on either outcome) run through an
exchange as built and through one whose walk is replaced by plan-then-execute must
give byte-identical results and the same state.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from augury.domain import codec, trading
from augury.domain import commands as c
from augury.domain import events as ev
from augury.domain import router as rt
from augury.domain.book import Order
from augury.domain.exchange import Exchange
from augury.domain.fingerprint import fingerprint
from augury.domain.invariants import violations
from augury.domain.market import Market
from augury.domain.units import ONE

T0 = 1_700_000_000_000_000
SECOND = 1_000_000
TICK = 10_000
ACCOUNTS = ("ann", "ben", "cid")

COMPILED = Path(trading.__file__).suffix != ".py"
pytestmark = pytest.mark.skipif(
    COMPILED, reason="compiled build: calls within a module are bound, not patchable"
)


def _planned(ex: Exchange, market: Market, order: Order, now: int, out: list[ev.Event]) -> bool:
    """The general path: plan the whole walk, then execute the plan."""
    return trading.execute_plan(ex, market, order, rt.plan(market, order, now), now, out)


def _exchange() -> Exchange:
    ex = Exchange()
    for account in ACCOUNTS:
        assert ex.execute(c.OpenAccount(account), T0).ok
        assert ex.execute(c.GrantCredits(account, 1_000 * ONE), T0).ok
    created = c.CreateMarket("m", "ann", "Will it?", ("YES", "NO"), T0 + 10**12, tick=TICK)
    assert ex.execute(created, T0).ok
    for account in ACCOUNTS:  # shares to sell from the start
        assert ex.execute(c.MintSets(account, "m", 50 * ONE), T0).ok
    return ex


@st.composite
def sessions(draw: st.DrawFn) -> list[tuple[int, c.Command]]:
    """Orders (and the odd Tick) at non-decreasing instants, aimed at one busy book."""
    now = T0
    session: list[tuple[int, c.Command]] = []
    for _ in range(draw(st.integers(1, 60))):
        now += draw(st.integers(0, 3)) * SECOND
        if draw(st.booleans()):  # else expired GTD orders stay on the book until met
            session.append((now, c.Tick()))
        price = draw(st.one_of(st.none(), st.integers(40, 60)))  # ticks; None: market
        tif = draw(st.sampled_from((c.TimeInForce.GTC, c.TimeInForce.GTD, c.TimeInForce.IOC)))
        if price is None:
            tif = c.TimeInForce.IOC
        order = c.PlaceOrder(
            draw(st.sampled_from(ACCOUNTS)),
            "m",
            draw(st.sampled_from((0, 1))),  # on a binary market, 1 is NO on the same book
            draw(st.sampled_from(tuple(c.Side))),
            draw(st.sampled_from(tuple(c.Token))),
            qty=draw(st.integers(1, 8)) * ONE,
            price=None if price is None else price * TICK,
            tif=tif,
            expires_at=now + 2 * SECOND if tif is c.TimeInForce.GTD else None,
            self_trade=draw(st.sampled_from(tuple(c.SelfTrade))),
        )
        session.append((now, order))
    return session


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(session=sessions())
def test_walking_the_book_equals_planning_it(session: list[tuple[int, c.Command]]) -> None:
    walked, planned = _exchange(), _exchange()
    for now, command in session:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(trading, "_match_book", _planned)
            expected = planned.execute(command, now)
        got = walked.execute(command, now)
        assert codec.encode(got) == codec.encode(expected), command
        assert violations(walked, now) == []
    assert fingerprint(walked) == fingerprint(planned)


def test_the_walk_is_taken_and_stops_at_self_trade() -> None:
    """A sanity check that the stream above exercises the walk: a cancel_incoming stop."""
    ex = _exchange()
    ask = c.PlaceOrder("ann", "m", 0, c.Side.SELL, c.Token.YES, qty=ONE, price=50 * TICK)
    assert ex.execute(ask, T0).ok
    own = c.PlaceOrder(
        "ann",
        "m",
        0,
        c.Side.BUY,
        c.Token.YES,
        qty=ONE,
        price=60 * TICK,
        self_trade=c.SelfTrade.CANCEL_INCOMING,
    )
    result = ex.execute(own, T0)
    assert result.ok
    closed = [e for e in result.events if isinstance(e, ev.OrderClosed)]
    assert [e.reason for e in closed] == ["self_trade"]
