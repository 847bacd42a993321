"""The public ledger (``domain.ledger_report``): totals that tie, on a realistic story and
on random command sequences.

Each total is recomputed here the long way (from every account's and every market's
ledger accounts by name), so a report that misfiled a ledger account would differ.
"""

from __future__ import annotations

from hypothesis import settings
from hypothesis.stateful import invariant, run_state_machine_as_test

from augury.domain import commands as cmd
from augury.domain import ledger, lmsr
from augury.domain.commands import PlaceOrder, Side, Token
from augury.domain.exchange import Exchange
from augury.domain.ledger_report import LedgerTotals, report, summary
from augury.domain.market import TERMINAL, Status
from augury.domain.units import ONE

from .conftest import run
from .resolution.test_process import BOND, CLOSE, START, at, world
from .test_state_machine import SETTINGS, ExchangeMachine


def by_hand(ex: Exchange) -> dict[str, int]:
    """The totals, summed account by account and market by market."""
    bal = ex.ledger.balance
    markets = ex.markets.values()
    live = [m for m in markets if m.has_maker and m.status not in TERMINAL]
    maker_cash = sum(bal(ledger.maker(m.id)) for m in markets)
    return {
        "credits_minted": -bal(ledger.ISSUANCE),
        "balances": sum(bal(ledger.cash(a)) for a in ex.accounts),
        "order_escrow": sum(bal(ledger.escrow(a)) for a in ex.accounts),
        "share_collateral": sum(bal(ledger.collateral(m.id)) for m in markets),
        "dispute_bonds": sum(bal(ledger.bonds(m.id)) for m in markets),
        "maker_cash": maker_cash,
        "maker_subsidy": sum(m.subsidy for m in live),
        "maker_result": maker_cash - sum(m.subsidy for m in live),
        "fees": bal(ledger.FEES),
        "rounding": bal(ledger.ROUNDING),
    }


def checked(ex: Exchange) -> LedgerTotals:
    """The report, checked against :func:`by_hand` and the equation."""
    totals = report(ex)
    expected = by_hand(ex)
    assert {k: getattr(totals, k) for k in expected} == expected
    assert totals.conserved
    assert totals.held == totals.credits_minted
    return totals


def test_the_equation_holds_through_a_whole_story() -> None:
    ex = world()  # creator 10,000 credits, 8 accounts of 1,000; "town" with an LMSR maker
    subsidy = lmsr.subsidy(100 * ONE, 2)
    totals = checked(ex)
    assert totals.credits_minted == 18_000 * ONE
    assert (totals.maker_cash, totals.maker_subsidy, totals.maker_result) == (subsidy, subsidy, 0)
    assert totals.balances == 18_000 * ONE - subsidy
    # a book market with a 1% taker fee, and one that will be voided
    run(ex, cmd.CreateMarket("fee", "creator", "Q?", ("Y", "N"), CLOSE, fee_bps=100), START)
    run(ex, cmd.CreateMarket("void", "creator", "Q?", ("Y", "N"), CLOSE), START)
    run(ex, PlaceOrder("ann", "fee", 0, Side.BUY, qty=10 * ONE, price=400_000), START)
    assert checked(ex).order_escrow == 4 * ONE + 40_000  # value plus the worst-case fee
    run(ex, PlaceOrder("ben", "fee", 0, Side.BUY, Token.NO, qty=10 * ONE), START)  # takes
    totals = checked(ex)
    assert totals.share_collateral == 10 * ONE and totals.fees == 60_000  # 1% of 6 credits
    assert totals.order_escrow == 0  # ann's order filled: its unused fee reserve is back
    # the maker sells, then buys back part
    run(ex, PlaceOrder("ann", "town", 0, Side.BUY, budget=30 * ONE), START)
    run(ex, PlaceOrder("ben", "town", 0, Side.BUY, Token.NO, budget=10 * ONE), START)
    run(ex, cmd.MintSets("res", "void", 5 * ONE), START)
    run(ex, PlaceOrder("res", "void", 0, Side.SELL, qty=2 * ONE, price=600_000), START)
    totals = checked(ex)
    assert totals.maker_result != 0 and totals.maker_cash != subsidy
    # resolution with bonds: a proposal, a dispute, the arbiters' votes
    run(ex, cmd.ProposeOutcome("town", "res", 1, BOND, "B took the town"), at(13))
    run(ex, cmd.DisputeProposal("town", "dis", BOND, "A holds"), at(14))
    assert checked(ex).dispute_bonds == 2 * BOND
    run(ex, cmd.CastVote("town", "arb1", 0), at(15))
    run(ex, cmd.CastVote("town", "arb2", 0), at(15))
    assert ex.markets["town"].status is Status.RESOLVED
    totals = checked(ex)
    assert totals.dispute_bonds == 0 and totals.maker_subsidy == 0 and totals.maker_cash == 0
    assert totals.rounding >= 0
    run(ex, cmd.ResolveMarket("fee", (ONE // 2, ONE // 2), "50/50"), at(16))
    run(ex, cmd.VoidMarket("void", "source vanished"), at(16))
    totals = checked(ex)
    assert totals.share_collateral == totals.order_escrow == 0
    assert totals.credits_minted == 18_000 * ONE  # credits never leave
    assert totals.balances + totals.fees + totals.rounding == 18_000 * ONE
    assert "ledger conserved: 18000000000 micros minted" in summary(totals)


def test_a_credit_outside_the_equation_is_not_conserved() -> None:
    ex = world()
    ex.ledger.balances[ledger.cash("ann")] += 1  # a credit from nowhere
    assert not report(ex).conserved
    ex.ledger.balances[ledger.cash("ann")] -= 1
    assert report(ex).conserved
    ex.ledger.post((("somewhere", 5), (ledger.cash("ann"), -5)))  # balanced, unreported
    totals = report(ex)
    assert not totals.conserved and totals.held == totals.credits_minted - 5
    assert "NOT conserved" in summary(totals)


def test_the_report_changes_nothing() -> None:
    ex = world()
    before = dict(ex.ledger.balances)
    report(ex)
    assert ex.ledger.balances == before


class LedgerMachine(ExchangeMachine):
    """The state machine of test_state_machine, checking the public ledger after every step."""

    @invariant()
    def ledger_is_conserved(self) -> None:
        checked(self.ex)


def test_random_command_sequences_keep_the_ledger_conserved() -> None:
    fewer = settings(SETTINGS, max_examples=max(SETTINGS.max_examples // 4, 10))
    run_state_machine_as_test(LedgerMachine, settings=fewer)
