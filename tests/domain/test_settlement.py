"""Settlement: resolution by outcome weights, void refunds, and the maker's remainder."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from augury.domain import commands as cmd
from augury.domain import events as ev
from augury.domain import ledger, lmsr
from augury.domain.commands import (
    ConvertNo,
    MintSets,
    PlaceOrder,
    ResolveMarket,
    Side,
    TimeInForce,
    Token,
    VoidMarket,
)
from augury.domain.exchange import Exchange
from augury.domain.market import Status
from augury.domain.rejections import Code
from augury.domain.units import ONE

from .conftest import (
    CLOSE,
    T0,
    binary,
    cash,
    categorical,
    check,
    escrow,
    held,
    make_exchange,
    of_type,
    open_account,
    order_id,
    reject,
    run,
)

YES, NO = Token.YES, Token.NO
BUY, SELL = Side.BUY, Side.SELL


def world(**market: object) -> Exchange:
    """creator (1000 credits); a, b, c, d (100 each); binary market m."""
    ex = make_exchange()
    open_account(ex, "creator", 1_000 * ONE)
    for account in "abcd":
        open_account(ex, account, 100 * ONE)
    binary(ex, "m", **market)  # type: ignore[arg-type]
    return ex


def place(
    ex: Exchange,
    account: str,
    side: Side,
    price: int,
    qty: int = ONE,
    token: Token = YES,
    market: str = "m",
    outcome: int = 0,
    **kw: object,
) -> tuple[ev.Event, ...]:
    order = PlaceOrder(account, market, outcome, side, token, qty=qty, price=price, **kw)  # type: ignore[arg-type]
    return run(ex, order)


def pool(ex: Exchange, market: str) -> tuple[int, int]:
    """(collateral, maker cash) of a market."""
    return (
        ex.ledger.balance(ledger.collateral(market)),
        ex.ledger.balance(ledger.maker(market)),
    )


def settled(events: tuple[ev.Event, ...]) -> ev.MarketSettled:
    found = of_type(events, ev.MarketSettled)
    assert len(found) == 1
    return found[0]


def voided(events: tuple[ev.Event, ...]) -> ev.MarketVoided:
    found = of_type(events, ev.MarketVoided)
    assert len(found) == 1
    return found[0]


def assert_emptied(ex: Exchange, market: str) -> None:
    m = ex.markets[market]
    assert pool(ex, market) == (0, 0)
    assert m.positions == {} and m.contrib == {}
    assert m.q == [0] * m.n and m.maker_sets == 0
    assert all(b.count == 0 for b in m.books)
    assert not [o for o in ex.orders.values() if o.market == market]
    check(ex)


def split(ex: Exchange, qty: int = 3 * ONE, no_price: int = 300_000) -> None:
    """a mints ``qty`` sets and sells the NO half to b: a holds YES, b holds NO."""
    run(ex, MintSets("a", "m", qty))
    place(ex, "b", BUY, no_price, qty=qty, token=NO)
    place(ex, "a", SELL, no_price, qty=qty, token=NO)
    assert held(ex, "m", "a") == [qty, 0] and held(ex, "m", "b") == [0, qty]


# -- binary resolution -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("weights", "a_paid", "b_paid"), [((ONE, 0), 3 * ONE, 0), ((0, ONE), 0, 3 * ONE)]
)
def test_resolving_binary_pays_one_credit_per_winning_share(
    weights: tuple[int, int], a_paid: int, b_paid: int
) -> None:
    ex = world()
    split(ex)
    a_before, b_before = cash(ex, "a"), cash(ex, "b")
    assert (a_before, b_before) == (97 * ONE + 900_000, 99 * ONE + 100_000)
    events = run(ex, ResolveMarket("m", weights, "source quorum"))
    s = settled(events)
    assert s.payouts == tuple((acc, amt) for acc, amt in (("a", a_paid), ("b", b_paid)) if amt)
    assert s.residue == 0 and s.weights == weights
    assert cash(ex, "a") == a_before + a_paid
    assert cash(ex, "b") == b_before + b_paid
    assert ex.markets["m"].status is Status.RESOLVED
    assert ex.markets["m"].settlement == weights
    assert ex.ledger.balance(ledger.ROUNDING) == 0
    assert_emptied(ex, "m")


@pytest.mark.parametrize(
    ("weights", "a_paid", "b_paid"),
    [
        ((500_000, 500_000), 1_500_000, 1_500_000),
        ((300_000, 700_000), 900_000, 2_100_000),
    ],
)
def test_fractional_resolution_pays_by_weight(
    weights: tuple[int, int], a_paid: int, b_paid: int
) -> None:
    ex = world()
    split(ex)
    a_before, b_before = cash(ex, "a"), cash(ex, "b")
    s = settled(run(ex, ResolveMarket("m", weights)))
    assert s.payouts == (("a", a_paid), ("b", b_paid)) and s.residue == 0
    assert cash(ex, "a") == a_before + a_paid and cash(ex, "b") == b_before + b_paid
    assert_emptied(ex, "m")


def test_fractional_resolution_rounds_each_payout_down_into_the_rounding_account() -> None:
    ex = world()
    split(ex, qty=1_000, no_price=500_000)  # one lot each: a YES, b NO
    s = settled(run(ex, ResolveMarket("m", (333_333, 666_667))))
    # 1000 * 0.333333 = 333.333 -> 333; 1000 * 0.666667 = 666.667 -> 666
    assert s.payouts == (("a", 333), ("b", 666))
    assert s.residue == 1 and ("rounding", 1) in s.postings
    assert ex.ledger.balance(ledger.ROUNDING) == 1
    assert_emptied(ex, "m")


def test_a_half_resolution_of_an_odd_lot_rounds_down() -> None:
    ex = world()
    binary(ex, "odd", tick=40_000)  # lot: 25 micro-shares
    run(ex, MintSets("a", "odd", 25))
    place(ex, "b", BUY, 480_000, qty=25, token=NO, market="odd")
    place(ex, "a", SELL, 480_000, qty=25, token=NO, market="odd")
    assert cash(ex, "a") == 100 * ONE - 25 + 12 and cash(ex, "b") == 100 * ONE - 12
    s = settled(run(ex, ResolveMarket("odd", (ONE // 2, ONE // 2))))
    assert s.payouts == (("a", 12), ("b", 12)) and s.residue == 1  # 12.5 each, rounded down
    assert cash(ex, "a") == 100 * ONE - 1 and cash(ex, "b") == 100 * ONE
    assert ex.ledger.balance(ledger.ROUNDING) == 1
    assert_emptied(ex, "odd")


# -- categorical resolution ----------------------------------------------------------------------
def categorical_world() -> Exchange:
    """a: YES A 2, YES B 1, YES C 1; b: NO A 1 (bought from a at 0.6). Collateral 2."""
    ex = world()
    categorical(ex, "c")
    run(ex, MintSets("a", "c", 2 * ONE))
    run(ex, ConvertNo("a", "c", 0, ONE, to_yes=False))
    place(ex, "b", BUY, 600_000, token=NO, market="c")
    place(ex, "a", SELL, 600_000, token=NO, market="c")
    assert held(ex, "c", "a") == [2 * ONE, ONE, ONE, 0, 0, 0]
    assert held(ex, "c", "b") == [0, 0, 0, ONE, 0, 0]
    assert cash(ex, "a") == 98 * ONE + 600_000 and cash(ex, "b") == 99 * ONE + 400_000
    return ex


@pytest.mark.parametrize(
    ("weights", "a_paid", "b_paid"),
    [
        ((ONE, 0, 0), 2 * ONE, 0),  # A wins: NO A is worthless
        ((0, ONE, 0), ONE, ONE),  # B wins: a's YES B and b's NO A pay
        ((0, 0, ONE), ONE, ONE),
        ((200_000, 300_000, 500_000), 1_200_000, 800_000),  # 2*0.2+0.3+0.5; NO A: 1-0.2
    ],
)
def test_categorical_resolution_pays_yes_and_no_tokens(
    weights: tuple[int, ...], a_paid: int, b_paid: int
) -> None:
    ex = categorical_world()
    a_before, b_before = cash(ex, "a"), cash(ex, "b")
    s = settled(run(ex, ResolveMarket("c", weights)))
    assert dict(s.payouts) == {k: v for k, v in (("a", a_paid), ("b", b_paid)) if v}
    assert s.residue == 0
    assert cash(ex, "a") == a_before + a_paid and cash(ex, "b") == b_before + b_paid
    assert_emptied(ex, "c")
    assert ex.markets["m"].status is Status.OPEN  # other markets are untouched


# -- resting orders and terminal markets ---------------------------------------------------------
def test_settlement_cancels_resting_orders_and_pays_their_shares() -> None:
    ex = world()
    run(ex, MintSets("a", "m", 2 * ONE))
    sell = order_id(place(ex, "a", SELL, 900_000, qty=2 * ONE))
    bid = order_id(place(ex, "c", BUY, 400_000, qty=ONE))
    gtd = order_id(place(ex, "d", BUY, 100_000, tif=TimeInForce.GTD, expires_at=T0 + 10))
    events = run(ex, ResolveMarket("m", (ONE, 0)))
    closes = [(e.order_id, e.reason, e.released) for e in of_type(events, ev.OrderClosed)]
    assert sorted(closes) == [
        (sell, "market_settled", 2 * ONE),
        (bid, "market_settled", 400_000),
        (gtd, "market_settled", 100_000),
    ]
    assert isinstance(events[-1], ev.MarketSettled)  # cancels come first
    assert settled(events).payouts == (("a", 2 * ONE),)  # the escrowed YES came back first
    assert cash(ex, "a") == 100 * ONE
    assert cash(ex, "c") == cash(ex, "d") == 100 * ONE
    assert escrow(ex, "c") == escrow(ex, "d") == 0
    assert run(ex, cmd.Tick(), T0 + 10) == ()  # the expiry timer of a settled order is moot
    assert_emptied(ex, "m")


def test_void_cancels_resting_orders_first() -> None:
    ex = world()
    bid = order_id(place(ex, "c", BUY, 400_000))
    events = run(ex, VoidMarket("m", "question was ambiguous"))
    assert [(e.order_id, e.reason) for e in of_type(events, ev.OrderClosed)] == [
        (bid, "market_voided")
    ]
    assert voided(events).refunds == ()
    assert cash(ex, "c") == 100 * ONE
    assert ex.markets["m"].status is Status.VOIDED
    assert_emptied(ex, "m")


@pytest.mark.parametrize("how", ["resolve", "void"])
def test_a_settled_market_refuses_further_commands(how: str) -> None:
    ex = world()
    split(ex)
    run(ex, ResolveMarket("m", (ONE, 0)) if how == "resolve" else VoidMarket("m"))
    code = Code.MARKET_RESOLVED if how == "resolve" else Code.MARKET_VOIDED
    for command in (
        PlaceOrder("a", "m", 0, BUY, qty=ONE, price=500_000),
        MintSets("a", "m", ONE),
        cmd.RedeemSets("a", "m", ONE),
        ResolveMarket("m", (0, ONE)),
        VoidMarket("m"),
        cmd.CloseMarket("m"),
        cmd.HaltMarket("m"),
    ):
        assert reject(ex, command) == code
    assert reject(ex, cmd.ResumeMarket("m")) == Code.MARKET_NOT_HALTED
    assert run(ex, cmd.CancelAll("a", "m")) == ()


def test_a_closed_or_halted_market_can_be_resolved() -> None:
    ex = world()
    binary(ex, "m2")
    split(ex)
    run(ex, cmd.HaltMarket("m2"))
    run(ex, cmd.Tick(), CLOSE)
    assert ex.markets["m"].status is Status.CLOSED
    run(ex, ResolveMarket("m", (0, ONE)), CLOSE)
    run(ex, ResolveMarket("m2", (ONE, 0)), CLOSE)
    assert cash(ex, "b") == 99 * ONE + 100_000 + 3 * ONE


# -- void ------------------------------------------------------------------------------------------
def test_void_refunds_net_contributions_exactly_when_nobody_took_a_profit() -> None:
    ex = world(liquidity=10 * ONE)
    subsidy = lmsr.subsidy(10 * ONE, 2)
    assert cash(ex, "creator") == 1_000 * ONE - subsidy
    place(ex, "a", BUY, 700_000, qty=5 * ONE)  # from the maker
    run(ex, MintSets("b", "m", 2 * ONE))
    place(ex, "c", BUY, 800_000, qty=ONE)  # the maker's price is lower: c buys from it too
    place(ex, "d", BUY, 100_000, qty=ONE)  # rests; void cancels it
    place(ex, "b", SELL, 500_000, qty=ONE, tif=TimeInForce.IOC)  # to the maker, at a loss
    contrib = dict(ex.markets["m"].contrib)
    assert contrib["creator"] == subsidy and contrib.keys() == {"creator", "a", "b", "c"}
    assert 2 * ONE - contrib["b"] > 500_000  # b's share went for more than 0.5...
    assert all(c > 0 for c in contrib.values())  # ...but nobody is ahead
    assert sum(contrib.values()) == sum(pool(ex, "m"))
    events = run(ex, VoidMarket("m"))
    v = voided(events)
    assert dict(v.refunds) == contrib and v.residue == 0
    # with no fees and no profit taken, everyone ends exactly where they started
    assert cash(ex, "creator") == 1_000 * ONE
    for account in "abcd":
        assert cash(ex, account) == 100 * ONE
    assert_emptied(ex, "m")


def test_void_shares_the_pool_pro_rata_when_someone_took_a_profit() -> None:
    ex = world()
    run(ex, MintSets("a", "m", 3 * ONE))
    place(ex, "b", BUY, 900_000, qty=ONE)
    place(ex, "c", BUY, 700_000, qty=2 * ONE)
    place(ex, "a", SELL, 700_000, qty=3 * ONE, tif=TimeInForce.IOC)
    place(ex, "d", BUY, 950_000, qty=3 * ONE, token=NO)
    place(ex, "a", SELL, 950_000, qty=3 * ONE, token=NO, tif=TimeInForce.IOC)
    # a put in 3 and took out 0.9 + 1.4 + 2.85 = 5.15: a profit of 2.15 it keeps
    assert ex.markets["m"].contrib == {
        "a": -2_150_000,
        "b": 900_000,
        "c": 1_400_000,
        "d": 2_850_000,
    }
    assert pool(ex, "m") == (3 * ONE, 0)
    v = voided(run(ex, VoidMarket("m")))
    # the 3 credits left are shared in proportion to 0.9 : 1.4 : 2.85 (of 5.15), rounded down
    assert v.refunds == (("b", 524_271), ("c", 815_533), ("d", 1_660_194))
    assert v.residue == 2 and ex.ledger.balance(ledger.ROUNDING) == 2
    assert cash(ex, "a") == 102_150_000
    assert cash(ex, "b") == 100 * ONE - 900_000 + 524_271
    assert cash(ex, "c") == 100 * ONE - 1_400_000 + 815_533
    assert cash(ex, "d") == 100 * ONE - 2_850_000 + 1_660_194
    assert_emptied(ex, "m")


# -- the maker -------------------------------------------------------------------------------------
def test_the_makers_remainder_goes_to_the_creator() -> None:
    for weights in ((ONE, 0), (0, ONE)):
        ex = world(liquidity=10 * ONE)
        subsidy = lmsr.subsidy(10 * ONE, 2)
        assert subsidy == 6_931_472
        events = place(ex, "a", BUY, 990_000, qty=5 * ONE)
        (fill,) = of_type(events, ev.MakerFill)
        charge = lmsr.buy_charge(10 * ONE, [0, 0], 0, 5 * ONE)
        assert fill.charge == charge
        assert pool(ex, "m") == (5 * ONE, subsidy + charge - 5 * ONE)
        s = settled(run(ex, ResolveMarket("m", weights)))
        if weights[0]:  # YES: a is paid 5, the maker keeps what it was paid above that
            assert s.payouts == (("a", 5 * ONE),)
            assert cash(ex, "creator") == 1_000 * ONE + charge - 5 * ONE
        else:  # NO: the maker's 5 NO pay, so the creator gets the subsidy and the charge
            assert s.payouts == ()
            assert cash(ex, "creator") == 1_000 * ONE + charge
        assert cash(ex, "creator") >= 1_000 * ONE - subsidy
        assert cash(ex, "a") == 100 * ONE - charge + (5 * ONE if weights[0] else 0)
        assert_emptied(ex, "m")


def test_the_makers_loss_is_bounded_by_the_subsidy() -> None:
    ex = world(liquidity=10 * ONE)
    subsidy = lmsr.subsidy(10 * ONE, 2)
    # a drives YES all the way to 0.999 and YES wins: the worst case for the maker
    place(ex, "a", BUY, 999_000, qty=90 * ONE, tif=TimeInForce.IOC)
    bought = held(ex, "m", "a")[0]
    assert 68 * ONE < bought < 70 * ONE  # 10 * ln(999) = 69.07 shares to reach 0.999
    run(ex, ResolveMarket("m", (ONE, 0)))
    loss = 1_000 * ONE - cash(ex, "creator")
    # loss = subsidy - b ln(1 + e^(-x/b)), about subsidy - 0.01 credit at x/b = ln 999
    assert 0 < subsidy - loss < 11_000
    assert_emptied(ex, "m")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    trades=st.lists(
        st.tuples(
            st.sampled_from(["a", "b"]),
            st.integers(0, 2),
            st.sampled_from([BUY, SELL]),
            st.sampled_from([YES, NO]),
            st.integers(1, 3),
        ),
        max_size=8,
    ),
    winner=st.integers(0, 2),
)
def test_the_makers_loss_never_exceeds_the_subsidy_whatever_is_traded(
    trades: list[tuple[str, int, Side, Token, int]], winner: int
) -> None:
    ex = make_exchange()
    open_account(ex, "creator", 100 * ONE)
    for account in "ab":
        open_account(ex, account, 1_000 * ONE)
    categorical(ex, "c", liquidity=5 * ONE)
    subsidy = lmsr.subsidy(5 * ONE, 3)
    for account in "ab":  # 40 YES and 30 NO of every outcome each
        run(ex, MintSets(account, "c", 100 * ONE))
        for outcome in range(3):
            run(ex, ConvertNo(account, "c", outcome, 30 * ONE, to_yes=False))
        assert held(ex, "c", account) == [40 * ONE] * 3 + [30 * ONE] * 3
    for account, outcome, side, token, shares in trades:
        price = 999_000 if side is BUY else 1_000
        order = PlaceOrder(
            account, "c", outcome, side, token, qty=shares * ONE, price=price, tif=TimeInForce.IOC
        )
        run(ex, order)
    weights = tuple(ONE if j == winner else 0 for j in range(3))
    run(ex, ResolveMarket("c", weights))
    assert cash(ex, "creator") >= 100 * ONE - subsidy
    assert sum(cash(ex, account) for account in ("a", "b", "creator")) == 2_100 * ONE
    assert_emptied(ex, "c")
