"""The notification rule (``augury.projections.notices``) on single events, with the
facts given by hand: who is told what, and who is not."""

from __future__ import annotations

from dataclasses import dataclass, field

from augury.domain import events as ev
from augury.domain.units import ONE
from augury.projections.notices import (
    KINDS,
    TEXT_MAX,
    MarketFacts,
    OrderFacts,
    notices_for,
)


@dataclass
class Facts:
    orders: dict[int, OrderFacts] = field(default_factory=dict)
    markets: dict[str, MarketFacts] = field(default_factory=dict)
    held: dict[str, list[str]] = field(default_factory=dict)
    proposed: dict[str, list[str]] = field(default_factory=dict)

    def order(self, order_id: int) -> OrderFacts:
        return self.orders[order_id]

    def market(self, market: str) -> MarketFacts:
        return self.markets[market]

    def holders(self, market: str) -> list[str]:
        return sorted(self.held.get(market, []))

    def proposers(self, market: str) -> list[str]:
        return sorted(self.proposed.get(market, []))


def facts() -> Facts:
    return Facts(
        orders={
            1: OrderFacts("ana", "m", 0, "buy", "yes"),
            2: OrderFacts("ben", "m", 0, "buy", "no"),
        },
        markets={"m": MarketFacts("Will it rain?", ("Yes", "No"), 10_000)},
        held={"m": ["ben", "ana"]},
        proposed={"m": ["", "ana"]},
    )


def test_a_book_fill_tells_both_orders_their_own_price_and_fee() -> None:
    fill = ev.BookFill("m", 0, 62, 5 * ONE, 1, 2, 0, 0, 30_000, (), (), ())
    taker, resting = notices_for(fill, "place_order", facts())
    assert (taker.account, taker.kind, resting.account) == ("ana", "fill", "ben")
    assert "filled 5 at 0.62, fee 0.03" in taker.text and "Will it rain?" in taker.text
    assert "filled 5 at 0.38:" in resting.text  # NO sees one credit less the YES price
    assert taker.details["price"] == "0.62" and resting.details["fee"] == "0"


def test_a_maker_fill_tells_the_order_owner() -> None:
    fill = ev.MakerFill("m", 0, 1, "ana", (ONE, 0), ONE, 600_000, 600_000, 0, 0, 0, (), (), ())
    (notice,) = notices_for(fill, "place_order", facts())
    assert notice.account == "ana" and "at 0.6" in notice.text


def test_only_closes_by_the_system_notify() -> None:
    f = facts()
    system = (
        ("expired", "tick"),
        ("market_closed", "tick"),
        ("cancelled", "post_clarification"),
        ("self_trade", "place_order"),
    )
    for reason, command in system:
        (notice,) = notices_for(ev.OrderClosed(1, reason, 0, (), ()), command, f)
        assert notice.account == "ana" and notice.kind == "order_closed"
        assert notice.details["reason"] == reason
    own = (
        ("cancelled", "cancel_order"),
        ("cancelled", "cancel_all"),
        ("filled", "place_order"),
        ("unfilled", "place_order"),
    )
    for reason, command in own:
        assert notices_for(ev.OrderClosed(1, reason, 0, (), ()), command, f) == []


def test_market_events_reach_every_holder_with_the_reason() -> None:
    f = facts()
    held = notices_for(ev.ResolutionHeld("m", "no quorum"), "tick", f)
    assert [n.account for n in held] == ["ana", "ben"]
    assert all(n.kind == "market_held" and "no quorum" in n.text for n in held)
    closed = notices_for(ev.MarketStatusChanged("m", "closed", "close time reached"), "tick", f)
    assert {n.kind for n in closed} == {"market_closed"} and len(closed) == 2
    halted = notices_for(ev.MarketStatusChanged("m", "halted", "checking"), "halt_market", f)
    assert {n.kind for n in halted} == {"market_halted"}
    assert notices_for(ev.MarketStatusChanged("m", "open", "resumed"), "resume_market", f) == []
    dispute = notices_for(ev.ProposalDisputed("m", "cy", ONE, 0, "wrong", ()), "dispute", f)
    assert [n.kind for n in dispute] == ["dispute", "dispute"]
    clarified = ev.ClarificationPosted("m", 2, "op", "Rain means 1 mm.", 0, "a", "b", True)
    notices = notices_for(clarified, "post_clarification", f)
    assert all("Rain means 1 mm." in n.text and "cancelled" in n.text for n in notices)


def test_settlement_tells_holders_and_payees_what_they_got() -> None:
    f = facts()
    settled = ev.MarketSettled("m", (ONE, 0), "final", (("ana", 3 * ONE), ("cy", ONE)), 0, ())
    notices = notices_for(settled, "cast_vote", f)
    paid = {n.account: n.details["payout"] for n in notices}
    assert paid == {"ana": "3", "ben": "0", "cy": "1"}
    voided = ev.MarketVoided("m", "source gone", (("ben", ONE),), 0, ())
    notices = notices_for(voided, "void_market", f)
    assert {n.account for n in notices} == {"ana", "ben"}
    assert all(n.kind == "market_voided" and "source gone" in n.text for n in notices)


def test_a_decision_tells_proposers_disputers_and_voters_not_the_rules() -> None:
    final = ev.ResolutionFinalized("m", 1, "arbiters", "", ("dee", "ana"), ())
    notices = notices_for(final, "cast_vote", facts())
    assert [n.account for n in notices] == ["ana", "dee"]
    assert all(n.kind == "decision" and "No" in n.text for n in notices)


def test_texts_are_bounded_and_kinds_known() -> None:
    f = facts()
    f.markets["m"] = MarketFacts("?" * 5_000, ("Yes", "No"), 10_000)
    for notice in notices_for(ev.ResolutionHeld("m", "x" * 5_000), "tick", f):
        assert len(notice.text) == TEXT_MAX and notice.kind in KINDS
    assert notices_for(ev.AccountOpened("ana"), "open_account", f) == []
