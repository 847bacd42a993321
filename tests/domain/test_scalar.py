"""Scalar markets: the payout rule, its rounding, and settlement through the exchange."""

from __future__ import annotations

import itertools

import hypothesis.strategies as st
from hypothesis import given, settings

from augury.domain import codec, ledger, scalar
from augury.domain import commands as cmd
from augury.domain import events as ev
from augury.domain.exchange import Exchange
from augury.domain.fingerprint import fingerprint
from augury.domain.scalar import ScalarRange
from augury.domain.snapshot import dump, load
from augury.domain.state import State
from augury.domain.units import ONE

from .conftest import CLOSE, T0, cash, held, of_type, open_account, reject, run

SHIPS = ScalarRange(low=0, high=2_000 * ONE, step=ONE, units="ships")
"""How many ships transit the strait in March: 0..2000, whole ships."""

values = st.integers(-(10**15), 10**15)


@st.composite
def ranges(draw: st.DrawFn) -> ScalarRange:
    low = draw(st.integers(-(10**12), 10**12))
    steps = draw(st.integers(1, 10_000))
    step = draw(st.integers(1, 10**6))
    return ScalarRange(low, low + steps * step, step, "u")


@given(ranges(), values)
def test_a_pair_always_pays_exactly_one_credit(r: ScalarRange, value: int) -> None:
    long, short = scalar.weights(r, value)
    assert long + short == ONE
    assert 0 <= long <= ONE and 0 <= short <= ONE


@given(ranges(), values)
def test_values_outside_the_range_clamp(r: ScalarRange, value: int) -> None:
    assert scalar.long_payout(r, value) == scalar.long_payout(r, scalar.clamp(r, value))
    if value <= r.low:
        assert scalar.weights(r, value) == (0, ONE)
    if value >= r.high:
        assert scalar.weights(r, value) == (ONE, 0)


@given(ranges(), values, values)
def test_the_payout_rises_with_the_value(r: ScalarRange, a: int, b: int) -> None:
    lo, hi = sorted((a, b))
    assert scalar.long_payout(r, lo) <= scalar.long_payout(r, hi)


@given(ranges(), values)
def test_long_is_floored_to_a_micro(r: ScalarRange, value: int) -> None:
    """The one rounding rule: LONG's exact payout rounded down, never up."""
    v = scalar.clamp(r, value)
    long = scalar.long_payout(r, v)
    exact_times_width = (v - r.low) * ONE
    assert long * (r.high - r.low) <= exact_times_width < (long + 1) * (r.high - r.low)


@given(ranges(), st.integers(0, ONE))
def test_implied_value_lies_in_the_range(r: ScalarRange, price: int) -> None:
    v = scalar.implied_value(r, price)
    assert r.low <= v <= r.high
    assert scalar.implied_value(r, 0) == r.low and scalar.implied_value(r, ONE) == r.high


@given(ranges(), values)
def test_index_of_is_the_nearest_grid_point(r: ScalarRange, value: int) -> None:
    k = scalar.index_of(r, value)
    assert 0 <= k <= scalar.steps(r)
    grid = scalar.value_at(r, k)
    assert abs(grid - scalar.clamp(r, value)) * 2 <= r.step


@given(ranges(), values)
def test_the_weights_give_back_the_grid_value(r: ScalarRange, value: int) -> None:
    grid = scalar.value_at(r, scalar.index_of(r, value))
    assert scalar.value_of_weight(r, scalar.weights(r, grid)[0]) == grid


def test_parse_value_reads_numbers_as_sources_write_them() -> None:
    assert scalar.parse_value("1,234.5 ships") == 1_234_500_000
    assert scalar.parse_value("about 1 234 transits") == 1_234_000_000
    assert scalar.parse_value("\u22123.25") == -3_250_000
    assert scalar.parse_value("0.0000005") == 1  # half a micro rounds away from zero
    assert scalar.parse_value("12") == 12 * ONE
    assert scalar.parse_value("no number") is None
    assert scalar.parse_value("1e400") == ONE  # the first number only: "1"


def test_range_problems_have_stable_codes() -> None:
    assert scalar.problem(SHIPS) is None
    assert scalar.problem(ScalarRange(5, 5, 1, "x"))[0] == "scalar_range"  # type: ignore[index]
    assert scalar.problem(ScalarRange(0, 10, 3, "x"))[0] == "scalar_step"  # type: ignore[index]
    many = ScalarRange(0, 10**7, 1, "x")
    assert scalar.problem(many)[0] == "scalar_step"  # type: ignore[index]
    assert scalar.problem(ScalarRange(0, 10, 1, " x"))[0] == "scalar_units"  # type: ignore[index]
    assert scalar.problem(ScalarRange(0, 10, 1, ""))[0] == "scalar_units"  # type: ignore[index]


# -- through the exchange ---------------------------------------------------------------------
def scalar_market(ex: Exchange, market: str = "s", liquidity: int = 100 * ONE) -> None:
    open_account(ex, "creator", 1_000 * ONE)
    run(
        ex,
        cmd.CreateMarket(
            market, "creator", "Ships in March?", (), CLOSE, liquidity=liquidity, scalar=SHIPS
        ),
    )


def test_a_scalar_market_has_long_and_short() -> None:
    ex = Exchange()
    scalar_market(ex)
    m = ex.markets["s"]
    assert m.outcomes == scalar.OUTCOMES and not m.categorical and m.kind == "scalar"
    assert m.scalar == SHIPS
    restored = load(dump(ex))
    assert fingerprint(restored) == fingerprint(ex) and restored.markets["s"].scalar == SHIPS


def test_bad_scalar_markets_are_refused() -> None:
    ex = Exchange()
    open_account(ex, "creator", 1_000 * ONE)
    bad = ScalarRange(0, 10 * ONE, 3 * ONE, "ships")
    assert reject(ex, cmd.CreateMarket("s", "creator", "?", (), CLOSE, scalar=bad)) == (
        "invalid_market"
    )
    wrong = cmd.CreateMarket("s", "creator", "?", ("A", "B"), CLOSE, scalar=SHIPS)
    assert reject(ex, wrong) == "invalid_market"
    cat = cmd.CreateMarket("s", "creator", "?", (), CLOSE, scalar=SHIPS, categorical=True)
    assert reject(ex, cat) == "invalid_market"


def test_resolving_to_a_value_pays_long_its_share() -> None:
    ex = Exchange()
    scalar_market(ex, liquidity=0)
    open_account(ex, "alice", 100 * ONE)
    run(ex, cmd.MintSets("alice", "s", 10 * ONE))  # 10 LONG + 10 SHORT
    run(ex, cmd.PlaceOrder("alice", "s", 0, cmd.Side.SELL, qty=3 * ONE, price=500_000))
    open_account(ex, "bob", 100 * ONE)
    run(ex, cmd.PlaceOrder("bob", "s", 0, cmd.Side.BUY, qty=3 * ONE, price=500_000))
    assert held(ex, "s", "bob") == [3 * ONE, 0]
    # 1,234.5 ships: clamps nothing, rounds to the nearest whole ship (1,235, halves up)
    events = run(ex, cmd.ResolveMarket("s", (), "counted", value=1_234_500_000), CLOSE)
    settled = of_type(events, ev.MarketSettled)[0]
    assert settled.weights == (617_500, 382_500)  # 1235 / 2000
    assert cash(ex, "bob") == 100 * ONE - 1_500_000 + 3 * 617_500
    # alice: 7 LONG and 10 SHORT left; a pair pays exactly one credit
    assert cash(ex, "alice") == 100 * ONE - 10 * ONE + 1_500_000 + 7 * 617_500 + 10 * 382_500


def test_the_value_outside_the_range_clamps() -> None:
    ex = Exchange()
    scalar_market(ex, liquidity=0)
    events = run(ex, cmd.ResolveMarket("s", (), "", value=5_000 * ONE), CLOSE)
    assert of_type(events, ev.MarketSettled)[0].weights == (ONE, 0)
    refused = Exchange()
    scalar_market(refused, liquidity=0)
    assert reject(refused, cmd.ResolveMarket("s", (1, 2), "", value=ONE), CLOSE) == (
        "invalid_weights"
    )


def test_a_value_resolves_only_a_scalar_market() -> None:
    ex = Exchange()
    open_account(ex, "creator", 10 * ONE)
    run(ex, cmd.CreateMarket("b", "creator", "?", ("YES", "NO"), CLOSE))
    assert reject(ex, cmd.ResolveMarket("b", (), "", value=ONE), CLOSE) == "invalid_weights"


orders = st.lists(
    st.tuples(
        st.sampled_from(["alice", "bob", "carol"]),
        st.sampled_from([cmd.Side.BUY, cmd.Side.SELL]),
        st.sampled_from([cmd.Token.YES, cmd.Token.NO]),
        st.integers(1, 40),  # quantity in tenths of a share
        st.integers(1, 999),  # price in thousandths
    ),
    max_size=25,
)


@settings(max_examples=40, deadline=None)
@given(orders, values)
def test_random_trading_then_scalar_settlement_conserves_credits(
    trades: list[tuple[str, cmd.Side, cmd.Token, int, int]], value: int
) -> None:
    """Random book and maker trading, then settlement at any value: every invariant holds
    after every command (``run`` checks them), no credit is created, and the payouts plus
    the rounding residue are exactly the collateral and the maker's cash."""
    ex = Exchange()
    scalar_market(ex, liquidity=50 * ONE)
    for who in ("alice", "bob", "carol"):
        open_account(ex, who, 1_000 * ONE)
        run(ex, cmd.MintSets(who, "s", 5 * ONE))
    for who, side, token, tenths, price in trades:
        order = cmd.PlaceOrder(
            who, "s", 0, side, token=token, qty=tenths * ONE // 10, price=price * 1_000
        )
        result = ex.execute(order, T0)
        assert result.ok or result.code in ("insufficient_shares", "insufficient_funds")
    minted = -ex.ledger.balance(ledger.ISSUANCE)
    pool = ex.ledger.balance(ledger.collateral("s")) + ex.ledger.balance(ledger.maker("s"))
    events = run(ex, cmd.ResolveMarket("s", (), "", value=value), CLOSE)
    settled = of_type(events, ev.MarketSettled)[0]
    assert sum(settled.weights) == ONE
    paid = sum(amount for account, amount in settled.postings if account.startswith("cash:"))
    assert paid + settled.residue == pool
    assert 0 <= settled.residue < len(ex.markets["s"].positions) + 2
    assert -ex.ledger.balance(ledger.ISSUANCE) == minted
    assert sum(ex.ledger.balances.values()) == 0


def test_buckets_from_a_range() -> None:
    names, bounds = scalar.buckets(SHIPS, 4)
    assert bounds == (500 * ONE, 1_000 * ONE, 1_500 * ONE)
    assert names == (
        "under 500 ships",
        "500 to under 1000 ships",
        "1000 to under 1500 ships",
        "1500 ships or more",
    )


@given(ranges(), st.integers(3, 64))
def test_buckets_rise_on_the_grid(r: ScalarRange, n: int) -> None:
    if scalar.steps(r) < n:
        return
    names, bounds = scalar.buckets(r, n)
    assert len(names) == n == len(set(names)) and len(bounds) == n - 1
    assert all(a < b for a, b in itertools.pairwise(bounds))
    assert all((b - r.low) % r.step == 0 and r.low < b < r.high for b in bounds)


def test_voiding_a_scalar_market_refunds_and_replays() -> None:
    """A void refunds contributions like any market's; the events (the range on
    MarketCreated included) replay to the same state."""
    ex = Exchange()
    log: list[ev.Event] = []
    for command, now in (
        (cmd.OpenAccount("creator"), T0),
        (cmd.GrantCredits("creator", 1_000 * ONE), T0),
        (cmd.CreateMarket("s", "creator", "Ships?", (), CLOSE, 20 * ONE, scalar=SHIPS), T0),
        (cmd.OpenAccount("alice"), T0),
        (cmd.GrantCredits("alice", 100 * ONE), T0),
        (cmd.PlaceOrder("alice", "s", 0, cmd.Side.BUY, qty=5 * ONE, price=900_000), T0),
        (cmd.VoidMarket("s", "the port stopped publishing"), CLOSE),
    ):
        log.extend(run(ex, command, now))
    assert cash(ex, "alice") == 100 * ONE
    replayed = State()
    for e in codec.decode_events(codec.encode(log)):
        replayed.apply(e)
    assert fingerprint(replayed) == fingerprint(ex)
    created = next(e for e in log if isinstance(e, ev.MarketCreated))
    assert created.scalar == SHIPS and b'"scalar"' in codec.encode([created])
