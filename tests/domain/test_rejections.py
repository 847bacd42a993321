"""Every rejection code, produced through ``Exchange.execute``, with the state untouched.

Each test builds a small world, sends commands that must be refused with one code,
and :func:`conftest.reject` asserts that the result carries no events and that the
state's fingerprint is unchanged. A meta-test checks that every ``Code`` member is
covered here or listed as not produced by the domain yet.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from augury.domain import commands as cmd
from augury.domain import snapshot
from augury.domain.commands import PlaceOrder, Side, TimeInForce, Token
from augury.domain.exchange import Exchange
from augury.domain.limits import Limits
from augury.domain.rejections import Code
from augury.domain.units import ONE

from .conftest import CLOSE, T0, binary, categorical, check, open_account, order_id, reject, run

RSTART = 1_763_164_800_000_000 - 48 * 3_600_000_000  # the resolution tests' creation time
RCLOSE = RSTART + 24 * 3_600_000_000
RDECIDE = RCLOSE + 36 * 3_600_000_000  # the observation time (close + 24h) + 12h window
DOMAIN_SRC = Path(__file__).resolve().parents[2] / "src" / "augury" / "domain"

NOT_PRODUCED: dict[Code, str] = {
    Code.NO_LIQUIDITY: "reserved: an order that finds nothing is closed 'unfilled', not refused",
    Code.TIME_WENT_BACKWARDS: "the domain takes `now` as given; the engine owns the clock check",
}
"""Codes the domain does not raise yet, and why (the meta-test greps the sources)."""

COVERED: dict[Code, str] = {}


def covers(code: Code) -> Callable[[Callable[[], None]], Callable[[], None]]:
    """Register a test as the one that produces ``code``."""

    def register(test: Callable[[], None]) -> Callable[[], None]:
        assert code not in COVERED, f"{code} covered twice"
        COVERED[code] = test.__name__
        return test

    return register


def world(limits: Limits | None = None) -> Exchange:
    """creator (1000 credits), alice (100, holding 5 sets of m), bob (100), carol (0);
    binary m and categorical c without a maker, binary mk with one (b = 10 shares)."""
    ex = Exchange() if limits is None else Exchange(limits)
    open_account(ex, "creator", 1_000 * ONE)
    open_account(ex, "alice", 100 * ONE)
    open_account(ex, "bob", 100 * ONE)
    open_account(ex, "carol")
    binary(ex, "m")
    categorical(ex, "c")
    binary(ex, "mk", liquidity=10 * ONE)
    run(ex, cmd.MintSets("alice", "m", 5 * ONE))
    return ex


def buy(
    account: str = "alice", market: str = "m", price: int | None = 500_000, **kw: object
) -> PlaceOrder:
    kw.setdefault("qty", ONE)
    return PlaceOrder(account, market, 0, Side.BUY, price=price, **kw)  # type: ignore[arg-type]


def create(market: str = "new", **kw: object) -> cmd.CreateMarket:
    fields: dict[str, object] = {
        "creator": "creator",
        "question": "Will it?",
        "outcomes": ("YES", "NO"),
        "close_at": CLOSE,
    }
    fields.update(kw)
    return cmd.CreateMarket(market, **fields)  # type: ignore[arg-type]


# -- accounts ---------------------------------------------------------------------------
@covers(Code.UNKNOWN_ACCOUNT)
def test_unknown_account() -> None:
    ex = world()
    for command in (
        cmd.GrantCredits("nobody", ONE),
        buy("nobody"),
        cmd.CancelOrder("nobody", 1),
        cmd.CancelAll("nobody"),
        cmd.MintSets("nobody", "m", ONE),
        cmd.RedeemSets("nobody", "m", ONE),
        cmd.ConvertNo("nobody", "c", 0, ONE),
        create(creator="nobody"),
    ):
        assert reject(ex, command) == Code.UNKNOWN_ACCOUNT


@covers(Code.ACCOUNT_EXISTS)
def test_account_exists() -> None:
    ex = world()
    assert reject(ex, cmd.OpenAccount("alice")) == Code.ACCOUNT_EXISTS
    assert reject(ex, cmd.OpenAccount("carol")) == Code.ACCOUNT_EXISTS


@covers(Code.INVALID_ACCOUNT_ID)
def test_invalid_account_id() -> None:
    ex = world()
    for account in ("", "has space", "-leading-dash", "_x", "a/b", "é", "x" * 65, "alice\n"):
        assert reject(ex, cmd.OpenAccount(account)) == Code.INVALID_ACCOUNT_ID
    run(ex, cmd.OpenAccount("x" * 64))  # the longest allowed
    run(ex, cmd.OpenAccount("A9_.-z"))


@covers(Code.INVALID_AMOUNT)
def test_invalid_amount() -> None:
    ex = world()
    for amount in (0, -ONE, 1_000_000_000 * ONE + 1):
        assert reject(ex, cmd.GrantCredits("carol", amount)) == Code.INVALID_AMOUNT
    assert reject(ex, cmd.GrantCredits("carol", ONE, "m" * 4_001)) == Code.INVALID_AMOUNT
    for budget in (0, -1):
        assert reject(ex, buy(price=None, qty=None, budget=budget)) == Code.INVALID_AMOUNT
    run(ex, cmd.GrantCredits("carol", 1_000_000_000 * ONE))  # the largest grant


# -- markets ------------------------------------------------------------------------------
@covers(Code.UNKNOWN_MARKET)
def test_unknown_market() -> None:
    ex = world()
    for command in (
        buy(market="nope"),
        cmd.CancelAll("alice", "nope"),
        cmd.MintSets("alice", "nope", ONE),
        cmd.RedeemSets("alice", "nope", ONE),
        cmd.ConvertNo("alice", "nope", 0, ONE),
        cmd.HaltMarket("nope"),
        cmd.ResumeMarket("nope"),
        cmd.CloseMarket("nope"),
        cmd.ResolveMarket("nope", (ONE, 0)),
        cmd.VoidMarket("nope"),
    ):
        assert reject(ex, command) == Code.UNKNOWN_MARKET


@covers(Code.MARKET_EXISTS)
def test_market_exists() -> None:
    ex = world()
    assert reject(ex, create("m")) == Code.MARKET_EXISTS
    assert reject(ex, create("c", outcomes=("A", "B", "C"), categorical=True)) == (
        Code.MARKET_EXISTS
    )


@covers(Code.INVALID_MARKET)
def test_invalid_market() -> None:
    ex = world()
    bad = [
        create(""),
        create("bad id"),
        create("m\n"),
        create("x" * 65),
        create(outcomes=("YES",)),
        create(outcomes=("A", "B", "C")),  # binary needs exactly two
        create(outcomes=("A", "B"), categorical=True),  # categorical needs three or more
        create(outcomes=tuple(f"o{i}" for i in range(65)), categorical=True),
        create(outcomes=("YES", "YES")),
        create(outcomes=("YES", " YES ")),  # names are compared stripped
        create(outcomes=("YES", "  ")),
        create(outcomes=("YES", "n" * 201)),
        create(question="   "),
        create(question="q" * 4_001),
        create(tick=300),  # does not divide ONE
        create(tick=50),  # below tick_min
        create(tick=125_000),  # above tick_max
        create(fee_bps=-1),
        create(fee_bps=1_001),
        create(liquidity=999),  # below one lot
        create(liquidity=-ONE),
        create(liquidity=10_000_000 * ONE + 1_000),
    ]
    for command in bad:
        assert reject(ex, command) == Code.INVALID_MARKET, command


@covers(Code.CLOSE_TIME_PASSED)
def test_close_time_passed() -> None:
    ex = world()
    assert reject(ex, create(close_at=T0), T0) == Code.CLOSE_TIME_PASSED
    assert reject(ex, create(close_at=T0 - 1), T0) == Code.CLOSE_TIME_PASSED
    run(ex, create(close_at=T0 + 1), T0)


@covers(Code.MARKET_HALTED)
def test_market_halted() -> None:
    ex = world()
    run(ex, cmd.HaltMarket("m", "incident"))
    for command in (
        buy(),
        cmd.MintSets("alice", "m", ONE),
        cmd.HaltMarket("m"),
    ):
        assert reject(ex, command) == Code.MARKET_HALTED


@covers(Code.MARKET_CLOSED)
def test_market_closed() -> None:
    ex = world()
    # past the close time, before any Tick closed it
    assert reject(ex, buy(), CLOSE) == Code.MARKET_CLOSED
    assert reject(ex, cmd.MintSets("alice", "m", ONE), CLOSE) == Code.MARKET_CLOSED
    assert reject(ex, cmd.HaltMarket("m"), CLOSE) == Code.MARKET_CLOSED
    # a halted market cannot resume after its close time
    run(ex, cmd.HaltMarket("c"))
    assert reject(ex, cmd.ResumeMarket("c"), CLOSE) == Code.MARKET_CLOSED
    # closed by the operator
    run(ex, cmd.CloseMarket("m"))
    for command in (buy(), cmd.MintSets("alice", "m", ONE), cmd.CloseMarket("m")):
        assert reject(ex, command) == Code.MARKET_CLOSED


@covers(Code.MARKET_RESOLVED)
def test_market_resolved() -> None:
    ex = world()
    run(ex, cmd.ResolveMarket("m", (ONE, 0)))
    run(ex, cmd.ResolveMarket("c", (0, ONE, 0)))
    for command in (
        buy(),
        cmd.MintSets("alice", "m", ONE),
        cmd.RedeemSets("alice", "m", ONE),
        cmd.ConvertNo("alice", "c", 0, ONE),
        cmd.HaltMarket("m"),
        cmd.CloseMarket("m"),
        cmd.ResolveMarket("m", (0, ONE)),
        cmd.VoidMarket("m"),
    ):
        assert reject(ex, command) == Code.MARKET_RESOLVED


@covers(Code.MARKET_VOIDED)
def test_market_voided() -> None:
    ex = world()
    run(ex, cmd.VoidMarket("m", "ambiguous"))
    run(ex, cmd.VoidMarket("c"))
    for command in (
        buy(),
        cmd.MintSets("alice", "m", ONE),
        cmd.RedeemSets("alice", "m", ONE),
        cmd.ConvertNo("alice", "c", 0, ONE),
        cmd.HaltMarket("m"),
        cmd.CloseMarket("m"),
        cmd.ResolveMarket("m", (ONE, 0)),
        cmd.VoidMarket("m"),
    ):
        assert reject(ex, command) == Code.MARKET_VOIDED


@covers(Code.MARKET_NOT_HALTED)
def test_market_not_halted() -> None:
    ex = world()
    assert reject(ex, cmd.ResumeMarket("m")) == Code.MARKET_NOT_HALTED
    run(ex, cmd.CloseMarket("c"))
    assert reject(ex, cmd.ResumeMarket("c")) == Code.MARKET_NOT_HALTED
    run(ex, cmd.ResolveMarket("mk", (ONE, 0)))
    assert reject(ex, cmd.ResumeMarket("mk")) == Code.MARKET_NOT_HALTED


@covers(Code.NOT_CATEGORICAL)
def test_not_categorical() -> None:
    ex = world()
    assert reject(ex, cmd.ConvertNo("alice", "m", 0, ONE)) == Code.NOT_CATEGORICAL
    assert reject(ex, cmd.ConvertNo("alice", "m", 1, ONE, to_yes=False)) == Code.NOT_CATEGORICAL


@covers(Code.INVALID_OUTCOME)
def test_invalid_outcome() -> None:
    ex = world()
    for outcome in (2, -1):
        order = PlaceOrder("alice", "m", outcome, Side.BUY, qty=ONE, price=500_000)
        assert reject(ex, order) == Code.INVALID_OUTCOME
    order = PlaceOrder("alice", "c", 3, Side.BUY, qty=ONE, price=500_000)
    assert reject(ex, order) == Code.INVALID_OUTCOME
    run(ex, cmd.MintSets("alice", "c", ONE))
    for outcome in (3, -1):
        assert reject(ex, cmd.ConvertNo("alice", "c", outcome, ONE)) == Code.INVALID_OUTCOME
        command = cmd.RedeemSets("alice", "c", ONE, outcome=outcome)
        assert reject(ex, command) == Code.INVALID_OUTCOME


@covers(Code.INVALID_WEIGHTS)
def test_invalid_weights() -> None:
    ex = world()
    for weights in (
        (ONE,),
        (ONE, 0, 0),
        (ONE // 2, ONE // 2 - 1),  # sums to ONE - 1
        (ONE, 1),
        (2 * ONE, -ONE),  # sums to ONE, but out of 0..ONE
        (),
    ):
        assert reject(ex, cmd.ResolveMarket("m", weights)) == Code.INVALID_WEIGHTS
    assert reject(ex, cmd.ResolveMarket("c", (ONE, 0))) == Code.INVALID_WEIGHTS


# -- orders ---------------------------------------------------------------------------------
@covers(Code.INVALID_ORDER)
def test_invalid_order() -> None:
    ex = world()
    bad = [
        buy(price=None, tif=TimeInForce.GTD, expires_at=T0 + 10),  # a market order cannot rest
        buy(price=None, post_only=True),
        buy(price=None, budget=ONE),  # both qty and budget
        buy(price=None, qty=None),  # neither
        PlaceOrder("alice", "m", 0, Side.SELL, budget=ONE),  # only buys by budget
        buy(price=None, qty=None, budget=ONE, tif=TimeInForce.FOK),
        buy(budget=ONE),  # a limit order sized by budget
        buy(qty=None),  # a limit order without qty
        buy(post_only=True, tif=TimeInForce.IOC),
        buy(post_only=True, tif=TimeInForce.FOK),
        buy(client_order_id=""),
        buy(client_order_id="x" * 65),
    ]
    for command in bad:
        assert reject(ex, command) == Code.INVALID_ORDER, command


@covers(Code.PRICE_OUT_OF_RANGE)
def test_price_out_of_range() -> None:
    ex = world()
    for price in (0, ONE, -1_000, 2 * ONE):
        assert reject(ex, buy(price=price)) == Code.PRICE_OUT_OF_RANGE
    run(ex, create("coarse", tick=100_000))
    assert reject(ex, buy(market="coarse", price=ONE)) == Code.PRICE_OUT_OF_RANGE
    # the extremes of the range are accepted
    run(ex, buy(price=1_000, tif=TimeInForce.IOC))
    run(ex, buy(price=999_000, tif=TimeInForce.IOC))


@covers(Code.PRICE_NOT_ON_TICK)
def test_price_not_on_tick() -> None:
    ex = world()
    for price in (500_500, 1, 999_999):
        assert reject(ex, buy(price=price)) == Code.PRICE_NOT_ON_TICK
    run(ex, create("coarse", tick=10_000))
    assert reject(ex, buy(market="coarse", price=505_000)) == Code.PRICE_NOT_ON_TICK


@covers(Code.QTY_NOT_ON_LOT)
def test_qty_not_on_lot() -> None:
    ex = world()
    assert reject(ex, buy(qty=1_500)) == Code.QTY_NOT_ON_LOT
    assert reject(ex, buy(qty=1)) == Code.QTY_NOT_ON_LOT
    assert reject(ex, buy(price=None, qty=ONE + 1)) == Code.QTY_NOT_ON_LOT
    assert reject(ex, cmd.MintSets("alice", "m", 500)) == Code.QTY_NOT_ON_LOT
    assert reject(ex, cmd.RedeemSets("alice", "m", 1_001)) == Code.QTY_NOT_ON_LOT
    run(ex, create("coarse", tick=100))  # lot 10_000
    assert reject(ex, buy(market="coarse", qty=5_000)) == Code.QTY_NOT_ON_LOT


@covers(Code.QTY_TOO_SMALL)
def test_qty_too_small() -> None:
    ex = world()
    for qty in (0, -1_000):
        assert reject(ex, buy(qty=qty)) == Code.QTY_TOO_SMALL
        assert reject(ex, cmd.MintSets("alice", "m", qty)) == Code.QTY_TOO_SMALL
        assert reject(ex, cmd.RedeemSets("alice", "m", qty)) == Code.QTY_TOO_SMALL
    run(ex, cmd.MintSets("alice", "c", ONE))
    assert reject(ex, cmd.ConvertNo("alice", "c", 0, 0)) == Code.QTY_TOO_SMALL


@covers(Code.QTY_TOO_LARGE)
def test_qty_too_large() -> None:
    ex = world()
    too_many = 1_000_000 * ONE + 1_000
    assert reject(ex, buy(qty=too_many)) == Code.QTY_TOO_LARGE
    assert reject(ex, cmd.MintSets("alice", "m", too_many)) == Code.QTY_TOO_LARGE
    small = world(Limits(order_qty_max=5 * ONE))
    assert reject(small, buy(qty=5 * ONE + 1_000)) == Code.QTY_TOO_LARGE
    assert reject(small, cmd.RedeemSets("alice", "m", 5 * ONE + 1_000)) == Code.QTY_TOO_LARGE
    run(small, buy(qty=5 * ONE))


@covers(Code.INVALID_EXPIRY)
def test_invalid_expiry() -> None:
    ex = world()
    for command in (
        buy(tif=TimeInForce.GTD),  # GTD without an expiry
        buy(tif=TimeInForce.GTD, expires_at=T0),  # expiring now
        buy(tif=TimeInForce.GTD, expires_at=T0 - 1),
        buy(expires_at=T0 + 10),  # only GTD orders expire
        buy(tif=TimeInForce.IOC, expires_at=T0 + 10),
        buy(price=None, expires_at=T0 + 10),
    ):
        assert reject(ex, command) == Code.INVALID_EXPIRY, command


@covers(Code.INSUFFICIENT_FUNDS)
def test_insufficient_funds() -> None:
    ex = world()
    # carol has nothing; bob has exactly 100 credits
    assert reject(ex, buy("carol", qty=1_000, price=1_000)) == Code.INSUFFICIENT_FUNDS
    assert reject(ex, buy("bob", qty=200 * ONE + 2_000)) == Code.INSUFFICIENT_FUNDS
    run(ex, buy("bob", qty=200 * ONE, tif=TimeInForce.IOC))  # exactly affordable
    # a market order by qty reserves its worst price: 0.999 per share
    assert reject(ex, buy("bob", price=None, qty=101 * ONE)) == Code.INSUFFICIENT_FUNDS
    # a NO buy reserves its NO price: 0.999 for one share, one micro more than carol has
    run(ex, cmd.GrantCredits("carol", 998_999))
    buy_no = PlaceOrder("carol", "m", 0, Side.BUY, Token.NO, qty=ONE, price=999_000)
    assert reject(ex, buy_no) == Code.INSUFFICIENT_FUNDS
    assert reject(ex, buy("bob", price=None, qty=None, budget=100 * ONE + 1)) == (
        Code.INSUFFICIENT_FUNDS
    )
    assert reject(ex, cmd.MintSets("carol", "m", ONE)) == Code.INSUFFICIENT_FUNDS
    # a market maker's subsidy must be funded by its creator
    assert reject(ex, create(creator="carol", liquidity=10 * ONE)) == Code.INSUFFICIENT_FUNDS


@covers(Code.INSUFFICIENT_SHARES)
def test_insufficient_shares() -> None:
    ex = world()
    sell = PlaceOrder("bob", "m", 0, Side.SELL, qty=ONE, price=500_000)
    assert reject(ex, sell) == Code.INSUFFICIENT_SHARES
    # alice holds 5 YES and 5 NO of m
    for token in (Token.YES, Token.NO):
        order = PlaceOrder("alice", "m", 0, Side.SELL, token, qty=5 * ONE + 1_000, price=500_000)
        assert reject(ex, order) == Code.INSUFFICIENT_SHARES
    # shares reserved by a resting sell are not available twice
    run(ex, PlaceOrder("alice", "m", 0, Side.SELL, qty=3 * ONE, price=900_000))
    again = PlaceOrder("alice", "m", 0, Side.SELL, qty=3 * ONE, price=900_000)
    assert reject(ex, again) == Code.INSUFFICIENT_SHARES
    assert reject(ex, cmd.RedeemSets("alice", "m", 3 * ONE)) == Code.INSUFFICIENT_SHARES
    assert reject(ex, cmd.ConvertNo("alice", "c", 0, ONE)) == Code.INSUFFICIENT_SHARES
    assert reject(ex, cmd.RedeemSets("alice", "c", ONE, outcome=0)) == Code.INSUFFICIENT_SHARES


@covers(Code.TOO_MANY_OPEN_ORDERS)
def test_too_many_open_orders() -> None:
    ex = world(Limits(open_orders_per_account=2))
    run(ex, buy(price=100_000))
    run(ex, buy(market="c", price=100_000))
    assert reject(ex, buy(price=200_000)) == Code.TOO_MANY_OPEN_ORDERS
    # an order that can never rest (market, IOC) needs no slot
    run(ex, buy(price=None))
    assert reject(ex, buy(price=200_000, tif=cmd.TimeInForce.GTD, expires_at=T0 + 10)) == (
        Code.TOO_MANY_OPEN_ORDERS
    )
    run(ex, buy("bob", price=100_000))  # the limit is per account


@covers(Code.DUPLICATE_CLIENT_ORDER_ID)
def test_duplicate_client_order_id() -> None:
    ex = world()
    first = order_id(run(ex, buy(price=100_000, client_order_id="abc")))
    assert reject(ex, buy(price=200_000, client_order_id="abc")) == Code.DUPLICATE_CLIENT_ORDER_ID
    run(ex, cmd.CancelOrder("alice", first))
    # an id stays used after its order is gone
    assert reject(ex, buy(market="c", client_order_id="abc")) == Code.DUPLICATE_CLIENT_ORDER_ID
    run(ex, buy("bob", price=100_000, client_order_id="abc"))  # ids are per account


@covers(Code.UNKNOWN_ORDER)
def test_unknown_order() -> None:
    ex = world()
    mine = order_id(run(ex, buy(price=100_000)))
    assert reject(ex, cmd.CancelOrder("alice", 999)) == Code.UNKNOWN_ORDER
    assert reject(ex, cmd.CancelOrder("bob", mine)) == Code.UNKNOWN_ORDER  # not bob's
    run(ex, cmd.CancelOrder("alice", mine))
    assert reject(ex, cmd.CancelOrder("alice", mine)) == Code.UNKNOWN_ORDER  # already closed


@covers(Code.POST_ONLY_WOULD_CROSS)
def test_post_only_would_cross() -> None:
    ex = world()
    run(ex, PlaceOrder("alice", "m", 0, Side.SELL, qty=ONE, price=600_000))
    assert reject(ex, buy("bob", price=600_000, post_only=True)) == Code.POST_ONLY_WOULD_CROSS
    # a NO buy at 0.4 is an ask at YES 0.6: it crosses a YES bid at 0.6
    run(ex, buy("bob", price=550_000))
    no = PlaceOrder("carol", "m", 0, Side.BUY, Token.NO, qty=ONE, price=450_000, post_only=True)
    run(ex, cmd.GrantCredits("carol", ONE))
    assert reject(ex, no) == Code.POST_ONLY_WOULD_CROSS
    # meeting one's own order counts as crossing too
    own = PlaceOrder("alice", "m", 0, Side.SELL, qty=ONE, price=550_000, post_only=True)
    assert reject(ex, own) == Code.POST_ONLY_WOULD_CROSS
    # the maker quotes 0.5: a post-only bid above it would trade with the maker
    assert reject(ex, buy("bob", "mk", price=510_000, post_only=True)) == (
        Code.POST_ONLY_WOULD_CROSS
    )


@covers(Code.FOK_NOT_FILLABLE)
def test_fok_not_fillable() -> None:
    ex = world()
    run(ex, PlaceOrder("alice", "m", 0, Side.SELL, qty=ONE, price=600_000))
    fok = buy("bob", price=600_000, qty=2 * ONE, tif=TimeInForce.FOK)
    assert reject(ex, fok) == Code.FOK_NOT_FILLABLE
    assert reject(ex, buy("bob", price=None, qty=2 * ONE, tif=TimeInForce.FOK)) == (
        Code.FOK_NOT_FILLABLE
    )
    # the maker can fill some but not all of it below the limit: refused, maker untouched
    assert reject(ex, buy("bob", "mk", price=510_000, qty=5 * ONE, tif=TimeInForce.FOK)) == (
        Code.FOK_NOT_FILLABLE
    )
    # self-trade prevention that would stop the order makes it unfillable
    own = PlaceOrder(
        "alice",
        "m",
        0,
        Side.BUY,
        qty=ONE,
        price=600_000,
        tif=TimeInForce.FOK,
        self_trade=cmd.SelfTrade.CANCEL_INCOMING,
    )
    assert reject(ex, own) == Code.FOK_NOT_FILLABLE


# -- resolution --------------------------------------------------------------------------------
def resolution_world() -> Exchange:
    """The war-map market ``town`` (tests/domain/resolution) plus ``m`` with no spec."""
    from .resolution.test_process import world as town_world

    ex = town_world()
    run(ex, cmd.CreateMarket("m", "creator", "Q?", ("Y", "N"), close_at=RCLOSE), RSTART)
    return ex


def _observation(source: str = "map", **kwargs: object) -> cmd.RecordObservation:
    fields: dict[str, object] = {
        "market": "town", "source_id": source, "fetched_at_us": RSTART, "ok": True,
        "value": "A", "content_sha256": "ab" * 32,
    }  # fmt: skip
    fields.update(kwargs)
    return cmd.RecordObservation(**fields)  # type: ignore[arg-type]


@covers(Code.INVALID_SPEC)
def test_invalid_spec() -> None:
    ex = resolution_world()
    assert reject(ex, cmd.SetResolutionSpec("town", "creator", "[]"), RSTART) == Code.INVALID_SPEC
    big = cmd.SetResolutionSpec("town", "creator", " " * 70_000)
    assert reject(ex, big, RSTART) == Code.INVALID_SPEC


@covers(Code.NO_SPEC)
def test_no_spec() -> None:
    ex = resolution_world()
    assert reject(ex, _observation(market="m"), RSTART) == Code.NO_SPEC


@covers(Code.UNKNOWN_SOURCE)
def test_unknown_source() -> None:
    assert reject(resolution_world(), _observation("nope"), RSTART) == Code.UNKNOWN_SOURCE


@covers(Code.INVALID_OBSERVATION)
def test_invalid_observation() -> None:
    ex = resolution_world()
    for bad in (
        _observation(fetched_at_us=RSTART + 1),  # in the future
        _observation(content_sha256="XYZ"),
        _observation(content_sha256=""),  # an answer without its evidence
        _observation(ok=False),  # a failure that claims a value
        _observation(error="x" * 3_000),
    ):
        assert reject(ex, bad, RSTART) == Code.INVALID_OBSERVATION


@covers(Code.MARKET_NOT_CLOSED)
def test_market_not_closed() -> None:
    propose = cmd.ProposeOutcome("town", "res", 0, 100 * ONE)
    assert reject(resolution_world(), propose, RSTART) == Code.MARKET_NOT_CLOSED


@covers(Code.RESOLUTION_TOO_EARLY)
def test_resolution_too_early() -> None:
    ex = resolution_world()
    for command in (
        cmd.ProposeOutcome("town", "res", 0, 100 * ONE),
        cmd.CastVote("town", "arb1", 0),
        cmd.ResolveMarket("town", (ONE, 0), "admin: now"),
    ):
        assert reject(ex, command, RDECIDE - 1) == Code.RESOLUTION_TOO_EARLY


@covers(Code.WRONG_RESOLUTION_PHASE)
def test_wrong_resolution_phase() -> None:
    ex = resolution_world()
    assert reject(ex, cmd.DisputeProposal("town", "dis", 100 * ONE), RDECIDE) == (
        Code.WRONG_RESOLUTION_PHASE
    )
    assert reject(ex, cmd.CastVote("town", "arb1", 0), RDECIDE) == Code.WRONG_RESOLUTION_PHASE


@covers(Code.CONFLICT_OF_INTEREST)
def test_conflict_of_interest() -> None:
    ex = resolution_world()
    run(ex, cmd.MintSets("res", "town", ONE), RSTART)
    propose = cmd.ProposeOutcome("town", "res", 0, 100 * ONE)
    assert reject(ex, propose, RDECIDE) == Code.CONFLICT_OF_INTEREST


@covers(Code.BOND_TOO_SMALL)
def test_bond_too_small() -> None:
    propose = cmd.ProposeOutcome("town", "res", 0, 100 * ONE - 1)
    assert reject(resolution_world(), propose, RDECIDE) == Code.BOND_TOO_SMALL


@covers(Code.CHALLENGE_WINDOW_CLOSED)
def test_challenge_window_closed() -> None:
    ex = resolution_world()
    run(ex, cmd.RaiseAlert("town", "longshot", "high", (), (), "hold it"), RSTART)
    run(ex, cmd.ProposeOutcome("town", "res", 0, 100 * ONE), RDECIDE)
    late = RDECIDE + 48 * 3_600_000_000
    assert reject(ex, cmd.DisputeProposal("town", "dis", 100 * ONE), late) == (
        Code.CHALLENGE_WINDOW_CLOSED
    )


@covers(Code.ALREADY_VOTED)
def test_already_voted() -> None:
    ex = resolution_world()
    run(ex, cmd.ProposeOutcome("town", "res", 0, 100 * ONE), RDECIDE)
    run(ex, cmd.DisputeProposal("town", "dis", 100 * ONE), RDECIDE)
    run(ex, cmd.CastVote("town", "arb1", 1), RDECIDE)
    assert reject(ex, cmd.CastVote("town", "arb1", 0), RDECIDE) == Code.ALREADY_VOTED


@covers(Code.INVALID_TEXT)
def test_invalid_text() -> None:
    ex = resolution_world()
    assert reject(ex, cmd.PostClarification("town", "creator", ""), RSTART) == Code.INVALID_TEXT
    assert reject(ex, cmd.DeclareAffiliation("ann", " "), RSTART) == Code.INVALID_TEXT


@covers(Code.UNKNOWN_ALERT)
def test_unknown_alert() -> None:
    assert reject(resolution_world(), cmd.ReviewAlert(9, "arb1", "dismiss"), RSTART) == (
        Code.UNKNOWN_ALERT
    )


@covers(Code.ALERT_ALREADY_REVIEWED)
def test_alert_already_reviewed() -> None:
    ex = resolution_world()
    run(ex, cmd.RaiseAlert("town", "wash", "low", ("ann",), (), "self trade"), RSTART)
    run(ex, cmd.ReviewAlert(1, "arb1", "dismiss"), RSTART)
    assert reject(ex, cmd.ReviewAlert(1, "arb2", "confirm"), RSTART) == (
        Code.ALERT_ALREADY_REVIEWED
    )


@covers(Code.INVALID_ALERT)
def test_invalid_alert() -> None:
    ex = resolution_world()
    for bad in (
        cmd.RaiseAlert("town", "Bad Name", "high", (), (), "x"),
        cmd.RaiseAlert("town", "wash", "severe", (), (), "x"),
        cmd.RaiseAlert("town", "wash", "low", tuple(f"a{i}" for i in range(101)), (), "x"),
    ):
        assert reject(ex, bad, RSTART) == Code.INVALID_ALERT
    run(ex, cmd.RaiseAlert("town", "wash", "low", (), (), "x"), RSTART)
    assert reject(ex, cmd.ReviewAlert(1, "arb1", "maybe"), RSTART) == Code.INVALID_ALERT


@covers(Code.AFFILIATED_ACCOUNT)
def test_affiliated_account() -> None:
    from .resolution.test_process import spec_json

    ex = resolution_world()
    blocking = spec_json().replace(
        '"block_affiliated_trading":false', '"block_affiliated_trading":true'
    )
    assert '"block_affiliated_trading":true' in blocking
    run(ex, cmd.SetResolutionSpec("town", "creator", blocking), RSTART)
    run(ex, cmd.DeclareAffiliation("ann", " wire  AGENCY"), RSTART)
    order = PlaceOrder("ann", "town", 0, Side.BUY, qty=ONE, price=500_000)
    assert reject(ex, order, RSTART) == Code.AFFILIATED_ACCOUNT
    run(ex, PlaceOrder("ben", "town", 0, Side.BUY, qty=ONE, price=500_000), RSTART)
    run(ex, cmd.DeclareAffiliation("ann", "wire  AGENCY", affiliated=False), RSTART)
    run(ex, order, RSTART)  # no longer affiliated
    copy = snapshot.load(snapshot.dump(ex))  # derived again on load
    assert (
        copy.blocked_orgs
        == ex.blocked_orgs
        == {"town": frozenset({"institute for maps", "wire agency"})}
    )


# -- coverage of the codes --------------------------------------------------------------------
def test_every_code_is_covered_or_listed_as_not_produced() -> None:
    assert set(COVERED) | set(NOT_PRODUCED) == set(Code)
    assert not set(COVERED) & set(NOT_PRODUCED)


@pytest.mark.parametrize("code", sorted(NOT_PRODUCED))
def test_codes_listed_as_not_produced_really_are_not(code: Code) -> None:
    pattern = re.compile(rf"\bCode\.{code.name}\b")
    sources = sorted(DOMAIN_SRC.rglob("*.py"))
    assert sources, DOMAIN_SRC
    assert not [p.name for p in sources if pattern.search(p.read_text())]


@pytest.mark.parametrize("code", sorted(COVERED))
def test_codes_covered_here_are_raised_in_the_domain(code: Code) -> None:
    pattern = re.compile(rf"\bCode\.{code.name}\b")
    assert any(pattern.search(p.read_text()) for p in DOMAIN_SRC.rglob("*.py"))


def test_a_refused_command_leaves_even_a_busy_state_unchanged() -> None:
    ex = world()
    run(ex, PlaceOrder("alice", "m", 0, Side.SELL, qty=ONE, price=600_000))
    run(ex, buy("bob", "mk", price=520_000, qty=ONE))
    run(ex, buy("bob", price=400_000, tif=TimeInForce.GTD, expires_at=T0 + 5))
    check(ex, T0)
    # one refusal per stage of validation, from the first check to the last
    assert reject(ex, buy("bob", price=700_000, qty=2 * ONE, tif=TimeInForce.FOK)) == (
        Code.FOK_NOT_FILLABLE
    )
    assert reject(ex, buy("bob", "mk", price=700_000, post_only=True)) == (
        Code.POST_ONLY_WOULD_CROSS
    )
    assert reject(ex, buy("bob", price=700_000, qty=10_000 * ONE)) == Code.INSUFFICIENT_FUNDS
