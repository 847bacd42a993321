"""Properties of the LMSR market maker, checked against an independent exact reference.

The reference below recomputes the cost function and prices with ``decimal`` at 120
digits, straight from their definitions, sharing no code with ``augury.domain.lmsr``.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Context, Decimal, Inexact, Rounded, localcontext

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from augury.domain.lmsr import (
    B_MAX,
    OutcomeSide,
    Side,
    buy_charge,
    buy_no_charge,
    marginal_prices,
    max_qty_below_average,
    max_qty_for_budget,
    price_decimal,
    qty_to_reach_price,
    sell_charge,
    sell_no_charge,
    subsidy,
    trade_charge,
)
from augury.domain.units import ONE

# --- the exact reference ---------------------------------------------------------------

_REF = Context(prec=120, Emin=-(10**9), Emax=10**9)

# A computed charge is at most 1 + 10^-20 above the exact cost (the documented margin);
# only trades whose exact cost lies within 10^-20 above an integer can show the excess.
_TOLERANCE = Decimal(1) + Decimal("1e-19")


def ref_cost(b: int, q: Sequence[int]) -> Decimal:
    """C(q) = b ln(sum exp(q_i / b)), with the maximum factored out."""
    with localcontext(_REF):
        top = max(q)
        total = sum(((Decimal(x - top) / b).exp() for x in q), Decimal(0))
        return top + b * total.ln()


def ref_change(b: int, q: Sequence[int], delta: Sequence[int]) -> Decimal:
    after = [x + d for x, d in zip(q, delta, strict=True)]
    with localcontext(_REF):
        return ref_cost(b, after) - ref_cost(b, q)


def ref_prices(b: int, q: Sequence[int]) -> list[Decimal]:
    with localcontext(_REF):
        top = max(q)
        terms = [(Decimal(x - top) / b).exp() for x in q]
        total = sum(terms, Decimal(0))
        return [t / total for t in terms]


def one_hot(n: int, outcome: int, qty: int) -> list[int]:
    delta = [0] * n
    delta[outcome] = qty
    return delta


def basket(n: int, outcome: int, qty: int) -> list[int]:
    delta = [qty] * n
    delta[outcome] = 0
    return delta


def assert_charge_ok(charge: int, exact: Decimal) -> None:
    with localcontext(_REF):
        assert charge >= exact, (charge, exact)
        assert charge - exact <= _TOLERANCE, (charge, exact)


# --- strategies ------------------------------------------------------------------------

# Liquidity from 0.001 share to 10^8 shares, log-uniformly.
liquidity = st.builds(
    lambda mantissa, exponent: mantissa * 10**exponent // 1000,
    st.integers(1_000, 9_999),
    st.integers(3, 13),
)


@st.composite
def markets(
    draw: st.DrawFn, n_min: int = 2, n_max: int = 12, extreme: bool = False
) -> tuple[int, list[int]]:
    """A liquidity and a state whose prices range from ~1e-8 to ~0.9999.

    ``extreme`` adds states with outcomes priced below 1e-100, past the module's cutoff.
    """
    b = draw(liquidity)
    n = draw(st.integers(n_min, n_max))
    spread = draw(st.sampled_from([9_000, 400_000])) if extreme else 9_000
    logits_milli = draw(st.lists(st.integers(-spread, spread), min_size=n, max_size=n))
    offset = draw(st.integers(-(10**15), 10**15))
    return b, [z * b // 1000 + offset for z in logits_milli]


def quantities(b: int) -> st.SearchStrategy[int]:
    return st.one_of(
        st.integers(-3, 3),
        st.integers(-5 * b, 5 * b),
        st.integers(-b // 50, b // 50),
        st.integers(-1_000 * b, 1_000 * b),
    )


@st.composite
def trades(draw: st.DrawFn) -> tuple[int, list[int], list[int]]:
    b, q = draw(markets(extreme=True))
    n = len(q)
    kind = draw(st.sampled_from(["one", "basket", "any"]))
    if kind == "any":
        delta = draw(st.lists(quantities(b), min_size=n, max_size=n))
    else:
        outcome = draw(st.integers(0, n - 1))
        qty = draw(quantities(b))
        delta = one_hot(n, outcome, qty) if kind == "one" else basket(n, outcome, qty)
    return b, q, delta


FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SLOW = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# --- charges ---------------------------------------------------------------------------


@FAST
@given(trades())
def test_charge_is_ceiling_of_exact_cost(trade: tuple[int, list[int], list[int]]) -> None:
    b, q, delta = trade
    assert_charge_ok(trade_charge(b, q, delta), ref_change(b, q, delta))


@FAST
@given(markets(), st.integers(-(10**12), 10**12))
def test_equal_deltas_cost_exactly_their_size(market: tuple[int, list[int]], d: int) -> None:
    b, q = market
    assert trade_charge(b, q, [d] * len(q)) == d
    assert trade_charge(b, q, [0] * len(q)) == 0


@pytest.mark.parametrize("b", [1, 7, 1_000, ONE, 10**13, B_MAX])
def test_extreme_liquidity(b: int) -> None:
    for q in ([0, 0], [3 * b, -b, 0], [10**9, -(10**9)], [5, 5, 5, 6]):
        for delta in (one_hot(len(q), 0, 1), one_hot(len(q), 1, -b), basket(len(q), 0, 2 * b)):
            assert_charge_ok(trade_charge(b, q, delta), ref_change(b, q, delta))


def test_known_values() -> None:
    b = 100 * ONE
    assert subsidy(b, 2) == 69_314_719  # 100 ln 2 = 69.3147180...
    assert marginal_prices(b, (0, 0, 0)) == (333_334, 333_333, 333_333)
    # Buying 10 shares at even odds: 100 ln((1 + e^0.1) / 2) = 5.1249479...
    assert buy_charge(b, [0, 0], 0, 10 * ONE) == 5_124_948
    # Selling them back pays the floor: -(100 ln((1 + e^-0.1) / 2)) = 4.8750520...
    assert sell_charge(b, [0, 0], 0, 10 * ONE) == -4_875_052


@FAST
@given(markets(), st.integers(0, 10**9), st.integers(0, 11))
def test_wrappers_match_their_deltas(market: tuple[int, list[int]], qty: int, i: int) -> None:
    b, q = market
    n = len(q)
    i %= n
    assert buy_charge(b, q, i, qty) == trade_charge(b, q, one_hot(n, i, qty))
    assert sell_charge(b, q, i, qty) == trade_charge(b, q, one_hot(n, i, -qty))
    assert buy_no_charge(b, q, i, qty) == trade_charge(b, q, basket(n, i, qty))
    assert sell_no_charge(b, q, i, qty) == trade_charge(b, q, basket(n, i, -qty))


@FAST
@given(markets(n_min=2, n_max=2), st.integers(0, 10**10))
def test_binary_symmetry(market: tuple[int, list[int]], qty: int) -> None:
    b, (x, y) = market
    # Relabelling the outcomes changes nothing.
    assert buy_charge(b, [x, y], 0, qty) == buy_charge(b, [y, x], 1, qty)
    assert sell_charge(b, [x, y], 0, qty) == sell_charge(b, [y, x], 1, qty)
    # In a binary market NO on one outcome is YES on the other.
    assert buy_no_charge(b, [x, y], 0, qty) == buy_charge(b, [x, y], 1, qty)
    assert sell_no_charge(b, [x, y], 1, qty) == sell_charge(b, [x, y], 0, qty)
    # Buying NO is paying qty for a complete set, then selling YES back: same to the micro.
    assert buy_no_charge(b, [x, y], 0, qty) == qty + sell_charge(b, [x, y], 0, qty)


@SLOW
@given(markets(), st.integers(1, 8), st.integers(1, 10**9), st.integers(0, 11))
def test_buying_in_pieces_costs_at_most_k_more(
    market: tuple[int, list[int]], pieces: int, qty: int, i: int
) -> None:
    b, q = market
    i %= len(q)
    at_once = buy_charge(b, q, i, qty)
    state, paid = list(q), 0
    for k in range(pieces):
        part = qty // pieces + (1 if k < qty % pieces else 0)
        paid += buy_charge(b, state, i, part)
        state[i] += part
    assert at_once <= paid <= at_once + pieces


@st.composite
def trade_sequences(draw: st.DrawFn) -> tuple[int, int, list[tuple[str, int, int]]]:
    b = draw(liquidity)
    n = draw(st.integers(2, 6))
    steps = draw(
        st.lists(
            st.tuples(
                st.sampled_from(["yes", "no"]),
                st.integers(0, n - 1),
                st.one_of(
                    st.integers(-3 * b, 3 * b), st.integers(-5, 5), st.integers(-500 * b, 500 * b)
                ),
            ),
            max_size=25,
        )
    )
    return b, n, steps


@SLOW
@given(trade_sequences())
def test_maker_never_loses_more_than_the_subsidy(
    sequence: tuple[int, int, list[tuple[str, int, int]]],
) -> None:
    b, n, steps = sequence
    q = [0] * n
    cash = subsidy(b, n)
    for kind, outcome, qty in steps:
        delta = one_hot(n, outcome, qty) if kind == "yes" else basket(n, outcome, qty)
        cash += trade_charge(b, q, delta)
        q = [x + d for x, d in zip(q, delta, strict=True)]
        # Whichever outcome wins, the maker can pay every share it has sold.
        assert cash >= max(q)


def test_subsidy_is_ceiling_of_b_ln_n() -> None:
    for b in (1, 999, ONE, 100 * ONE, 10**13, B_MAX):
        for n in (2, 3, 7, 12, 100):
            with localcontext(_REF):
                exact = b * Decimal(n).ln()
            assert 0 < subsidy(b, n) - exact < 1


# --- prices ----------------------------------------------------------------------------


@FAST
@given(markets())
def test_prices_sum_to_one_and_match_reference(market: tuple[int, list[int]]) -> None:
    b, q = market
    prices = marginal_prices(b, q)
    assert sum(prices) == ONE
    assert all(p >= 0 for p in prices)
    with localcontext(_REF):
        for p, exact, i in zip(prices, ref_prices(b, q), range(len(q)), strict=True):
            assert abs(p - exact * ONE) < 1
            assert abs(price_decimal(b, q, i) - exact) < Decimal("1e-45")


@FAST
@given(markets(), st.integers(0, 11), st.integers(1, 10**10))
def test_buying_raises_the_price(market: tuple[int, list[int]], i: int, qty: int) -> None:
    b, q = market
    i %= len(q)
    after = q.copy()
    after[i] += qty
    assert price_decimal(b, after, i) > price_decimal(b, q, i)
    assert marginal_prices(b, after)[i] >= marginal_prices(b, q)[i]


# --- inverses --------------------------------------------------------------------------


@FAST
@given(markets(extreme=True), st.integers(0, 11), st.integers(1, ONE - 1))
def test_qty_to_reach_price_brackets_the_target(
    market: tuple[int, list[int]], i: int, target: int
) -> None:
    b, q = market
    i %= len(q)
    d = qty_to_reach_price(b, q, i, target)
    goal = Decimal(target) / ONE

    def price_after(change: int) -> Decimal:
        return ref_prices(b, [x + (change if j == i else 0) for j, x in enumerate(q)])[i]

    # Truncation towards zero never passes the target; one micro-share more reaches it.
    with localcontext(_REF):
        if d > 0:
            assert price_after(d) <= goal <= price_after(d + 1)
        elif d < 0:
            assert price_after(d - 1) <= goal <= price_after(d)
        else:
            assert price_after(-1) <= goal <= price_after(1)
        if b >= ONE:
            assert abs(price_after(d) * ONE - target) <= 1


def test_qty_to_reach_price_outside_open_interval_is_zero() -> None:
    for target in (0, ONE, -5, ONE + 1):
        assert qty_to_reach_price(100 * ONE, [0, 0], 0, target) == 0


@FAST
@given(
    markets(extreme=True),
    st.integers(0, 11),
    st.one_of(st.integers(0, 100), st.integers(0, 10**11)),
    st.sampled_from([1, 10, 1_000, 10_000, ONE]),
)
def test_max_qty_for_budget_fits_and_is_maximal(
    market: tuple[int, list[int]], i: int, budget: int, lot: int
) -> None:
    b, q = market
    i %= len(q)
    qty = max_qty_for_budget(b, q, i, budget, lot)
    assert qty >= 0 and qty % lot == 0
    assert buy_charge(b, q, i, qty) <= budget
    assert buy_charge(b, q, i, qty + lot) > budget


def lot_cost(b: int, q: Sequence[int], delta: Sequence[int], k: int) -> Decimal:
    """The exact cost of the k-th of several identical trades ``delta``."""
    start = [x + (k - 1) * d for x, d in zip(q, delta, strict=True)]
    return ref_change(b, start, delta)


@SLOW
@given(
    markets(extreme=True),
    st.integers(0, 11),
    st.integers(1, ONE - 1),
    st.sampled_from([1, 1_000, 10_000, ONE]),
    st.sampled_from(["buy", "sell"]),
    st.sampled_from(["yes", "no"]),
)
def test_max_qty_below_average_is_the_last_good_lot(
    market: tuple[int, list[int]],
    i: int,
    price: int,
    lot: int,
    side: Side,
    outcome_side: OutcomeSide,
) -> None:
    b, q = market
    n = len(q)
    i %= n
    qty = max_qty_below_average(b, q, i, price, lot, side, outcome_side)
    assert qty >= 0 and qty % lot == 0
    lots = qty // lot
    sign = 1 if side == "buy" else -1
    delta = (one_hot if outcome_side == "yes" else basket)(n, i, sign * lot)
    with localcontext(_REF):
        limit = Decimal(price * lot) / ONE

        def good(k: int) -> bool:
            cost = lot_cost(b, q, delta, k)
            return cost <= limit if side == "buy" else -cost >= limit

        # Lot costs are monotonic, so the n-th good lot means all before it were good.
        assert lots == 0 or good(lots)
        assert not good(lots + 1)
        if lots >= 2:
            assert good(1)


# --- purity ----------------------------------------------------------------------------


def test_ignores_the_global_decimal_context() -> None:
    b, q, delta = 123_456_789, [31_337, -4_242, 99_001], [1_234_567, 0, -7]
    expected = ref_change(b, q, delta)
    hostile = Context(prec=3, traps=[Inexact, Rounded])
    with localcontext(hostile):
        charge = trade_charge(b, q, delta)
        prices = marginal_prices(b, q)
    assert_charge_ok(charge, expected)
    assert sum(prices) == ONE
