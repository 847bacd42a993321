"""Cash flows from ledger postings: a worked example and the invariants over random sessions."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from augury.domain import commands as c
from augury.domain import events as ev
from augury.domain import ledger
from augury.domain.exchange import Exchange
from augury.domain.scoring import FLOW_KINDS, Flow, FlowSum, flow_sums, flows_of

ONE = 1_000_000
T0 = 1_000_000_000_000
CLOSE = T0 + 10**12
ACCOUNTS = ("ana", "ben", "cy")


class Tape:
    """An exchange whose events' flows are collected as they happen."""

    def __init__(self) -> None:
        self.ex = Exchange()
        self.owner: dict[int, str] = {}
        self.flows: list[Flow] = []
        self.events: list[ev.Event] = []

    def run(self, command: c.Command, now: int = T0, must: bool = True) -> bool:
        result = self.ex.execute(command, now)
        assert result.ok or not must, result.message
        for event in result.events:
            if isinstance(event, ev.OrderAccepted):
                self.owner[event.order_id] = event.account
            taker = self.owner[event.taker_order] if isinstance(event, ev.BookFill) else ""
            self.flows.extend(flows_of(event, taker))
            self.events.append(event)
        return result.ok

    def held(self, account: str) -> int:
        book = self.ex.ledger
        return book.balance(ledger.cash(account)) + book.balance(ledger.escrow(account))


def _setup(fee_bps: int = 0) -> Tape:
    tape = Tape()
    for name in ("op", *ACCOUNTS):
        tape.run(c.OpenAccount(name))
        tape.run(c.GrantCredits(name, 1_000 * ONE))
    tape.run(c.CreateMarket("bk", "op", "?", ("Y", "N"), CLOSE, fee_bps=fee_bps))
    tape.run(c.CreateMarket("mk", "op", "?", ("Y", "N"), CLOSE, 50 * ONE, fee_bps=fee_bps))
    tape.run(c.CreateMarket("ct", "op", "?", ("A", "B", "C"), CLOSE, 30 * ONE, categorical=True))
    return tape


def test_a_book_fill_and_its_settlement_by_hand() -> None:
    tape = _setup(fee_bps=100)
    before = len(tape.flows)
    buy, yes, no = c.Side.BUY, c.Token.YES, c.Token.NO
    tape.run(c.PlaceOrder("ana", "bk", 0, buy, yes, 100 * ONE, 300_000))  # rests: escrow only
    assert len(tape.flows) == before
    tape.run(c.PlaceOrder("ben", "bk", 0, buy, no, 100 * ONE, 700_000))  # takes: pays 70 + 1%
    assert tape.flows[before:] == [
        Flow("ben", "bk", "trade", -70 * ONE),
        Flow("ben", "bk", "fee", -700_000),
        Flow("ana", "bk", "trade", -30 * ONE),
    ]
    tape.run(c.ResolveMarket("bk", (ONE, 0), "yes"))
    assert tape.flows[-1] == Flow("ana", "bk", "payout", 100 * ONE)
    subsidy = [f for f in tape.flows if f.kind == "subsidy"]
    assert [f.market for f in subsidy] == ["mk", "ct"] and all(f.account == "op" for f in subsidy)


@st.composite
def sessions(draw: st.DrawFn) -> list[c.Command]:
    commands: list[c.Command] = []
    for _ in range(draw(st.integers(1, 40))):
        account = draw(st.sampled_from(ACCOUNTS))
        market, outcomes = draw(st.sampled_from([("bk", 1), ("mk", 1), ("ct", 3)]))
        kind = draw(st.sampled_from(["order", "order", "order", "mint", "redeem"]))
        qty = draw(st.integers(1, 20)) * ONE
        if kind == "mint":
            commands.append(c.MintSets(account, market, qty))
        elif kind == "redeem":
            commands.append(c.RedeemSets(account, market, qty))
        else:
            market_order = draw(st.booleans())
            commands.append(
                c.PlaceOrder(
                    account,
                    market,
                    draw(st.integers(0, outcomes - 1)),
                    draw(st.sampled_from([c.Side.BUY, c.Side.SELL])),
                    draw(st.sampled_from([c.Token.YES, c.Token.NO])),
                    qty,
                    None if market_order else draw(st.integers(1, 99)) * 10_000,
                    tif=c.TimeInForce.IOC if market_order else c.TimeInForce.GTC,
                )
            )
    return commands


@settings(max_examples=40, deadline=None)
@given(sessions(), st.integers(0, 2), st.booleans())
def test_flows_add_up_to_balances_and_settled_markets_close(
    commands: list[c.Command], winner: int, void_bk: bool
) -> None:
    tape = _setup(fee_bps=50)
    for command in commands:
        tape.run(command, must=False)
    if void_bk:
        tape.run(c.VoidMarket("bk", "n/a"))
    else:
        tape.run(c.ResolveMarket("bk", (ONE, 0) if winner else (0, ONE)))
    tape.run(c.ResolveMarket("mk", (ONE // 2, ONE // 2)))
    tape.run(c.ResolveMarket("ct", tuple(ONE if k == winner else 0 for k in range(3))))
    assert all(f.amount != 0 and f.kind in FLOW_KINDS for f in tape.flows)
    # per account: grants + flows = what it holds (cash + escrow)
    for account in ("op", *ACCOUNTS):
        mine = sum(f.amount for f in tape.flows if f.account == account)
        assert 1_000 * ONE + mine == tape.held(account), account
    # per settled market: everything that went in came back out, but fees and rounding
    fees: dict[str, int] = {}
    residue: dict[str, int] = {}
    for event in tape.events:
        if isinstance(event, ev.BookFill | ev.MakerFill):
            fees[event.market] = fees.get(event.market, 0) + event.fee
        elif isinstance(event, ev.MarketSettled | ev.MarketVoided):
            residue[event.market] = event.residue
    for market in ("bk", "mk", "ct"):
        flows = [f for f in tape.flows if f.market == market]
        assert -sum(f.amount for f in flows if f.kind == "fee") == fees.get(market, 0)
        assert sum(f.amount for f in flows if f.kind != "fee") == -residue[market]


class Bond(ev.Event, frozen=True, tag="test_bond"):
    """An event scoring does not know, moving credits for a market."""

    market: str
    postings: tuple[ev.Posting, ...]


def test_an_unknown_event_with_postings_is_an_other_flow_left_out_of_profit() -> None:
    event = Bond("m", (("cash:ana", -5), ("escrow:ana", 2), ("bonds:m", 3)))
    assert flows_of(event) == [Flow("ana", "m", "other", -3)]
    assert flow_sums([*flows_of(event), Flow("ana", "m", "trade", -1)]) == [
        FlowSum("ana", "m", -1, 1)
    ]
    assert flows_of(ev.CreditsGranted("ana", 5, "", (("issuance", -5), ("cash:ana", 5)))) == []
