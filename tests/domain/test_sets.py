"""Complete sets: mint and redeem (binary and categorical), YES+NO pairs, NO conversion."""

from __future__ import annotations

from augury.domain import commands as cmd
from augury.domain import events as ev
from augury.domain import ledger
from augury.domain.commands import ConvertNo, MintSets, PlaceOrder, RedeemSets, Side, Token
from augury.domain.exchange import Exchange
from augury.domain.rejections import Code
from augury.domain.units import ONE

from .conftest import (
    CLOSE,
    binary,
    cash,
    categorical,
    held,
    make_exchange,
    of_type,
    open_account,
    reject,
    run,
)


def world() -> Exchange:
    """a (100 credits) and b (0); binary m and categorical c (A, B, C)."""
    ex = make_exchange()
    open_account(ex, "creator", 1_000 * ONE)
    open_account(ex, "a", 100 * ONE)
    open_account(ex, "b")
    binary(ex, "m")
    categorical(ex, "c")
    return ex


def collateral(ex: Exchange, market: str) -> int:
    return ex.ledger.balance(ledger.collateral(market))


def test_mint_and_redeem_binary_sets() -> None:
    ex = world()
    (minted,) = of_type(run(ex, MintSets("a", "m", 2_500_000)), ev.SetsMinted)
    assert minted == ev.SetsMinted(
        market="m",
        account="a",
        qty=2_500_000,
        postings=(("cash:a", -2_500_000), ("collateral:m", 2_500_000)),
        shares=(("a", 0, 2_500_000), ("a", 1, 2_500_000)),
        contrib=(("a", 2_500_000),),
    )
    assert cash(ex, "a") == 97_500_000
    assert held(ex, "m", "a") == [2_500_000, 2_500_000]
    assert collateral(ex, "m") == 2_500_000
    (redeemed,) = of_type(run(ex, RedeemSets("a", "m", ONE)), ev.SetsRedeemed)
    assert redeemed.outcome == -1
    assert redeemed.postings == (("collateral:m", -ONE), ("cash:a", ONE))
    assert cash(ex, "a") == 98_500_000
    assert held(ex, "m", "a") == [1_500_000, 1_500_000]
    assert collateral(ex, "m") == 1_500_000
    assert ex.markets["m"].contrib == {"a": 1_500_000}
    run(ex, RedeemSets("a", "m", 1_500_000))
    assert cash(ex, "a") == 100 * ONE
    assert held(ex, "m", "a") == [0, 0] and collateral(ex, "m") == 0


def test_in_a_binary_market_an_outcome_on_redeem_still_means_full_sets() -> None:
    ex = world()
    run(ex, MintSets("a", "m", ONE))
    (redeemed,) = of_type(run(ex, RedeemSets("a", "m", ONE, outcome=1)), ev.SetsRedeemed)
    assert redeemed.outcome == -1
    assert held(ex, "m", "a") == [0, 0] and cash(ex, "a") == 100 * ONE


def test_mint_and_redeem_categorical_sets() -> None:
    ex = world()
    run(ex, MintSets("a", "c", 3 * ONE))
    assert held(ex, "c", "a") == [3 * ONE] * 3 + [0] * 3  # YES A, B, C; no NO tokens
    assert cash(ex, "a") == 97 * ONE and collateral(ex, "c") == 3 * ONE
    (redeemed,) = of_type(run(ex, RedeemSets("a", "c", 2 * ONE)), ev.SetsRedeemed)
    assert redeemed.shares == (("a", 0, -2 * ONE), ("a", 1, -2 * ONE), ("a", 2, -2 * ONE))
    assert held(ex, "c", "a") == [ONE] * 3 + [0] * 3
    assert cash(ex, "a") == 99 * ONE and collateral(ex, "c") == ONE


def test_convert_no_both_directions() -> None:
    ex = world()
    run(ex, MintSets("a", "c", 2 * ONE))
    # YES on every other outcome -> NO on A
    (to_no,) = of_type(run(ex, ConvertNo("a", "c", 0, ONE, to_yes=False)), ev.NoConverted)
    assert to_no.shares == (("a", 3, ONE), ("a", 1, -ONE), ("a", 2, -ONE))
    assert held(ex, "c", "a") == [2 * ONE, ONE, ONE, ONE, 0, 0]
    # NO on A -> YES on B and C
    (to_yes,) = of_type(run(ex, ConvertNo("a", "c", 0, ONE)), ev.NoConverted)
    assert to_yes.shares == (("a", 3, -ONE), ("a", 1, ONE), ("a", 2, ONE))
    assert held(ex, "c", "a") == [2 * ONE] * 3 + [0] * 3
    # conversion moves no credits
    assert cash(ex, "a") == 98 * ONE and collateral(ex, "c") == 2 * ONE
    assert ex.markets["c"].contrib == {"a": 2 * ONE}


def test_convert_no_from_a_bought_no() -> None:
    ex = world()
    open_account(ex, "seller", 10 * ONE)
    run(ex, MintSets("seller", "c", ONE))
    run(ex, ConvertNo("seller", "c", 2, ONE, to_yes=False))  # seller: YES C and NO C
    run(ex, PlaceOrder("seller", "c", 2, Side.SELL, Token.NO, qty=ONE, price=700_000))
    run(ex, PlaceOrder("a", "c", 2, Side.BUY, Token.NO, qty=ONE, price=700_000))
    assert held(ex, "c", "a") == [0, 0, 0, 0, 0, ONE]
    run(ex, ConvertNo("a", "c", 2, ONE))
    assert held(ex, "c", "a") == [ONE, ONE, 0, 0, 0, 0]
    assert cash(ex, "a") == 100 * ONE - 700_000


def test_redeem_a_yes_and_no_pair_of_one_outcome() -> None:
    ex = world()
    run(ex, MintSets("a", "c", 2 * ONE))
    run(ex, ConvertNo("a", "c", 1, ONE, to_yes=False))
    assert held(ex, "c", "a") == [ONE, 2 * ONE, ONE, 0, ONE, 0]
    (redeemed,) = of_type(run(ex, RedeemSets("a", "c", ONE, outcome=1)), ev.SetsRedeemed)
    assert redeemed.outcome == 1
    assert redeemed.shares == (("a", 1, -ONE), ("a", 4, -ONE))
    assert redeemed.postings == (("collateral:c", -ONE), ("cash:a", ONE))
    assert held(ex, "c", "a") == [ONE, ONE, ONE, 0, 0, 0]
    assert cash(ex, "a") == 99 * ONE and collateral(ex, "c") == ONE


def test_insufficient_funds_and_shares_are_refused() -> None:
    ex = world()
    assert reject(ex, MintSets("b", "m", 1_000)) == Code.INSUFFICIENT_FUNDS
    assert reject(ex, MintSets("a", "m", 100 * ONE + 1_000)) == Code.INSUFFICIENT_FUNDS
    run(ex, MintSets("a", "m", 100 * ONE))  # everything a has
    assert cash(ex, "a") == 0
    run(ex, cmd.GrantCredits("a", 10 * ONE))
    assert reject(ex, RedeemSets("a", "m", 100 * ONE + 1_000)) == Code.INSUFFICIENT_SHARES
    assert reject(ex, RedeemSets("b", "m", 1_000)) == Code.INSUFFICIENT_SHARES
    # one side short: a sells 1 YES (escrowed), so only 99 complete sets are available
    run(ex, PlaceOrder("a", "m", 0, Side.SELL, qty=ONE, price=900_000))
    assert reject(ex, RedeemSets("a", "m", 100 * ONE)) == Code.INSUFFICIENT_SHARES
    run(ex, RedeemSets("a", "m", 99 * ONE))
    # categorical
    run(ex, MintSets("a", "c", 2 * ONE))
    run(ex, ConvertNo("a", "c", 0, ONE, to_yes=False))  # [2, 1, 1, 1, 0, 0]
    assert reject(ex, RedeemSets("a", "c", 2 * ONE)) == Code.INSUFFICIENT_SHARES
    assert reject(ex, RedeemSets("a", "c", 2 * ONE, outcome=0)) == Code.INSUFFICIENT_SHARES
    assert reject(ex, RedeemSets("a", "c", ONE, outcome=1)) == Code.INSUFFICIENT_SHARES
    assert reject(ex, ConvertNo("a", "c", 0, 2 * ONE)) == Code.INSUFFICIENT_SHARES
    assert reject(ex, ConvertNo("a", "c", 1, ONE)) == Code.INSUFFICIENT_SHARES
    # to NO needs every other YES: B and C are 1 each, so 2 is refused
    assert reject(ex, ConvertNo("a", "c", 0, 2 * ONE, to_yes=False)) == Code.INSUFFICIENT_SHARES
    assert reject(ex, ConvertNo("b", "c", 0, ONE, to_yes=False)) == Code.INSUFFICIENT_SHARES
    run(ex, ConvertNo("a", "c", 0, ONE, to_yes=False))  # exactly enough: [2, 0, 0, 2, 0, 0]
    assert held(ex, "c", "a") == [2 * ONE, 0, 0, 2 * ONE, 0, 0]


def test_redeem_and_convert_work_while_halted_or_closed_but_mint_does_not() -> None:
    ex = world()
    run(ex, MintSets("a", "m", 2 * ONE))
    run(ex, MintSets("a", "c", 2 * ONE))
    run(ex, cmd.HaltMarket("m"))
    assert reject(ex, MintSets("a", "m", ONE)) == Code.MARKET_HALTED
    run(ex, RedeemSets("a", "m", ONE))
    run(ex, cmd.Tick(), CLOSE)
    assert reject(ex, MintSets("a", "c", ONE), CLOSE) == Code.MARKET_CLOSED
    run(ex, ConvertNo("a", "c", 0, ONE, to_yes=False), CLOSE)
    run(ex, RedeemSets("a", "c", ONE, outcome=0), CLOSE)
    run(ex, RedeemSets("a", "m", ONE), CLOSE)
    assert cash(ex, "a") == 99 * ONE  # 4 minted, 3 redeemed
    assert held(ex, "c", "a") == [ONE, ONE, ONE, 0, 0, 0]


def test_sets_in_a_market_with_a_coarse_tick_use_its_lot() -> None:
    ex = world()
    binary(ex, "coarse", tick=40_000)  # lot 25 micro-shares
    run(ex, MintSets("a", "coarse", 25))
    assert reject(ex, MintSets("a", "coarse", 30)) == Code.QTY_NOT_ON_LOT
    run(ex, RedeemSets("a", "coarse", 25))
    assert cash(ex, "a") == 100 * ONE


def test_sets_do_not_touch_the_maker() -> None:
    ex = world()
    binary(ex, "mk", liquidity=10 * ONE)
    maker = ex.ledger.balance(ledger.maker("mk"))
    run(ex, MintSets("a", "mk", 5 * ONE))
    run(ex, RedeemSets("a", "mk", 2 * ONE))
    assert ex.markets["mk"].q == [0, 0] and ex.markets["mk"].maker_sets == 0
    assert ex.ledger.balance(ledger.maker("mk")) == maker
    assert collateral(ex, "mk") == 3 * ONE
