"""The LMSR automated market maker's math: costs, charges, prices and their inverses.

Hanson's logarithmic market scoring rule prices a market of ``n`` outcomes from the
maker's state ``q`` (net micro-shares of each outcome it has sold, possibly negative)
and its liquidity ``b`` (micro-shares) through the cost function::

    C(q) = b * ln(sum_i exp(q_i / b))        prices p_i = softmax(q / b)_i

A trade moving the state from ``q`` to ``q + delta`` costs ``C(q + delta) - C(q)``; the
maker's worst-case loss is ``b * ln n``, the subsidy its creator funds.

Every amount in and out is an integer in micro-units (see ``augury.domain.units``).
Rounding always favours the maker: charges round up, payouts down, so over any
sequence of trades rounding never costs the maker anything.

What this module must never do:

- use a float: transcendental math runs in the ``decimal`` module, in the private
  context ``_CTX`` passed explicitly to every operation (never the thread's global
  context, which callers may change). ``decimal`` is deterministic across platforms,
  which the journal replay relies on;
- perform I/O, read a clock or draw randomness.

The ``lru_cache`` memos below only remember pure functions of their arguments, always
computed the same way, so a result never depends on what was called before.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import (
    ROUND_CEILING,
    ROUND_DOWN,
    ROUND_FLOOR,
    ROUND_HALF_EVEN,
    Context,
    Decimal,
    DivisionByZero,
    InvalidOperation,
    Overflow,
)
from functools import lru_cache
from typing import Literal, NamedTuple

from augury.domain.units import ONE, Micros

Side = Literal["buy", "sell"]
"""Which way the trader trades with the maker."""

OutcomeSide = Literal["yes", "no"]
"""A share of an outcome ("yes") or the basket of every other outcome ("no")."""

B_MAX: Micros = 10**18
"""The largest liquidity the error bounds below are proven for (10^12 credits)."""

_PREC = 50
"""Significant digits: a charge's computed error is about b * 10^-47 <= 10^-29 << _MARGIN."""

_CTX = Context(
    prec=_PREC,
    rounding=ROUND_HALF_EVEN,
    Emin=-999_999,
    Emax=999_999,
    traps=[InvalidOperation, DivisionByZero, Overflow],
)
"""The only context this module computes in; only its (unread) flags ever change."""

_MARGIN = Decimal("1e-20")
"""Added before a ceiling so that a computed cost is never below the exact one."""

_EXP_CUTOFF = 170
"""exp(x) for x < -170 (below 10^-73) counts as 0: negligible next to a sum >= 1."""

_SHIFT_STEP = 16
"""The log-sum-exp shift moves in steps of 16 b (exponents stay below 16, terms < 10^7)."""

_ZERO = Decimal(0)
_ONE_D = Decimal(1)
_MICROS_D = Decimal(ONE)
_LOOP_MAX = 4
"""Correction steps an inverse may take after its closed form (errors are ~10^-30)."""


class _State(NamedTuple):
    """The log-sum-exp decomposition of C(q) = shift + b * ln(total)."""

    shift: int
    """max(q) rounded down to a multiple of _SHIFT_STEP * b, so every exponent is below
    _SHIFT_STEP, nothing overflows, and trading one outcome rarely moves the others'."""
    terms: tuple[Decimal, ...]
    """exp((q_j - shift) / b); 0 below the cutoff."""
    total: Decimal
    """Sum of terms, in [1, n * e^_SHIFT_STEP)."""


def _exp_ratio(k: int, b: int) -> Decimal:
    """exp(k / b) for k / b < _SHIFT_STEP (0 past the cutoff)."""
    assert k < _SHIFT_STEP * b
    if k == 0:
        return _ONE_D
    if k < -_EXP_CUTOFF * b:
        return _ZERO
    return _CTX.exp(_CTX.divide(Decimal(k), Decimal(b)))


_exp_scaled = lru_cache(maxsize=1 << 14)(_exp_ratio)
"""The memo of exp(k / b): a trade on one outcome leaves the others' exponents alone."""


@lru_cache(maxsize=1 << 12)
def _state(b: int, q: tuple[int, ...]) -> _State:
    step = _SHIFT_STEP * b
    shift = max(q) // step * step
    terms = tuple([_exp_scaled(qj - shift, b) for qj in q])
    total = terms[0]
    for term in terms[1:]:
        total = _CTX.add(total, term)
    assert total >= _ONE_D
    return _State(shift, terms, total)


def _check(b: int, q: Sequence[int], outcome: int | None = None) -> tuple[int, ...]:
    """Validate a market and return its state as a hashable tuple."""
    assert 0 < b <= B_MAX, "liquidity out of range"
    key = tuple(q)
    assert len(key) >= 2, "a market has at least two outcomes"
    assert all(type(x) is int for x in key), "the state is integer micro-shares"
    assert outcome is None or 0 <= outcome < len(key), "no such outcome"
    return key


def _ceil(value: Decimal) -> int:
    return int(value.to_integral_value(rounding=ROUND_CEILING, context=_CTX))


def _cost_change(b: int, before: tuple[int, ...], after: tuple[int, ...]) -> tuple[int, Decimal]:
    """C(after) - C(before) as an exact integer part plus a computed Decimal part."""
    old, new = _state(b, before), _state(b, after)
    ratio = _CTX.divide(new.total, old.total)
    # Both totals lie in [1, n e^16), so the Decimal part is at most b (16 + ln n) in size.
    return new.shift - old.shift, _CTX.multiply(Decimal(b), _CTX.ln(ratio))


def _cost_change_decimal(b: int, before: tuple[int, ...], after: tuple[int, ...]) -> Decimal:
    whole, part = _cost_change(b, before, after)
    return _CTX.add(Decimal(whole), part)


@lru_cache(maxsize=1 << 12)
def _charge(b: int, before: tuple[int, ...], after: tuple[int, ...]) -> int:
    whole, part = _cost_change(b, before, after)
    return whole + _ceil(_CTX.add(part, _MARGIN))


def subsidy(b: int, n: int) -> Micros:
    """The maker's worst-case loss, ceil(b * ln n) micro-credits, which the creator funds."""
    assert 0 < b <= B_MAX and n >= 2
    return _ceil(_CTX.add(_CTX.multiply(Decimal(b), _CTX.ln(Decimal(n))), _MARGIN))


def trade_charge(b: int, q: Sequence[int], delta: Sequence[int]) -> Micros:
    """Micro-credits the trader pays for moving the maker's state from q to q + delta.

    Negative means the trader receives ``-charge``. The result is ceil(C(q + delta) -
    C(q)), so always >= the exact cost and less than 1 + 10^-20 above it: the maker
    never loses to rounding. (Near-worthless outcomes, whose exponent is past the
    cutoff, cost a flat 1 micro-credit to trade: a cost of 10^-70 is charged as 1, and
    selling yields -1 instead of 0.) Equal deltas d on every outcome cost exactly d.
    """
    before = _check(b, q)
    step = tuple(delta)
    assert len(step) == len(before), "delta and q differ in length"
    assert all(type(d) is int for d in step), "a trade is integer micro-shares"
    first = step[0]
    if all(d == first for d in step):
        return first  # C(q + d) = C(q) + d exactly; also covers the zero trade
    return _charge(b, before, tuple([x + d for x, d in zip(before, step, strict=True)]))


def _single(n: int, outcome: int, qty: int) -> list[int]:
    delta = [0] * n
    delta[outcome] = qty
    return delta


def _basket(n: int, outcome: int, qty: int) -> list[int]:
    delta = [qty] * n
    delta[outcome] = 0
    return delta


def buy_charge(b: int, q: Sequence[int], outcome: int, qty: Micros) -> Micros:
    """What buying ``qty`` micro-shares of ``outcome`` from the maker costs the trader."""
    assert qty >= 0 and 0 <= outcome < len(q)
    return trade_charge(b, q, _single(len(q), outcome, qty))


def sell_charge(b: int, q: Sequence[int], outcome: int, qty: Micros) -> Micros:
    """The (negative) charge for selling ``qty`` micro-shares of ``outcome`` to the maker."""
    assert qty >= 0 and 0 <= outcome < len(q)
    return trade_charge(b, q, _single(len(q), outcome, -qty))


def buy_no_charge(b: int, q: Sequence[int], outcome: int, qty: Micros) -> Micros:
    """What buying ``qty`` of NO on ``outcome`` (every other outcome, each qty) costs."""
    assert qty >= 0 and 0 <= outcome < len(q)
    return trade_charge(b, q, _basket(len(q), outcome, qty))


def sell_no_charge(b: int, q: Sequence[int], outcome: int, qty: Micros) -> Micros:
    """The (negative) charge for selling ``qty`` of NO on ``outcome`` to the maker."""
    assert qty >= 0 and 0 <= outcome < len(q)
    return trade_charge(b, q, _basket(len(q), outcome, -qty))


def price_decimal(b: int, q: Sequence[int], outcome: int) -> Decimal:
    """The marginal price of ``outcome`` in credits per share, to about 48 digits.

    An outcome whose exponent is past the cutoff (price below 10^-73) reads 0.
    """
    state = _state(b, _check(b, q, outcome))
    return _CTX.divide(state.terms[outcome], state.total)


def marginal_prices(b: int, q: Sequence[int]) -> tuple[Micros, ...]:
    """Every outcome's price in micro-credits per share, summing to exactly ONE.

    Each is the exact price rounded down or up (so within 1 micro of it), by the
    largest-remainder method: floors first, then the missing micros go to the largest
    remainders, ties to the lower index.
    """
    state = _state(b, _check(b, q))
    scaled = [_CTX.divide(_CTX.multiply(t, _MICROS_D), state.total) for t in state.terms]
    floors = [int(s.to_integral_value(rounding=ROUND_FLOOR, context=_CTX)) for s in scaled]
    remainders = [_CTX.subtract(s, Decimal(f)) for s, f in zip(scaled, floors, strict=True)]
    missing = ONE - sum(floors)
    assert 0 <= missing <= len(floors), "scaled prices must sum to ONE"
    order = sorted(range(len(floors)), key=lambda j: (remainders[j], -j), reverse=True)
    for j in order[:missing]:
        floors[j] += 1
    assert sum(floors) == ONE and min(floors) >= 0
    return tuple(floors)


@lru_cache(maxsize=1 << 12)
def _logit_b(b: int, key: tuple[int, ...], outcome: int) -> Decimal:
    """b * ln(p / (1 - p)) for ``outcome``: q_i minus the others' cost C(q without i).

    Computed from the others' own log-sum-exp, so it stays exact for prices near 0 or 1.
    Memoized: the router asks it for one state at every price level it walks.
    """
    others = _state(b, key[:outcome] + key[outcome + 1 :])
    part = _CTX.multiply(Decimal(b), _CTX.ln(others.total))
    return _CTX.subtract(Decimal(key[outcome] - others.shift), part)


def qty_to_reach_price(b: int, q: Sequence[int], outcome: int, target_micros: Micros) -> Micros:
    """The signed change to ``outcome`` alone that moves its price to target_micros / ONE.

    From logit(p') = logit(p) + d / b: d = b * (logit(p') - logit(p)), truncated towards
    zero, so the price never passes the target. 0 if the target is outside (0, ONE).
    """
    key = _check(b, q, outcome)
    if not 0 < target_micros < ONE:
        return 0
    odds = _CTX.divide(Decimal(target_micros), Decimal(ONE - target_micros))
    target_b = _CTX.multiply(Decimal(b), _CTX.ln(odds))
    change = _CTX.subtract(target_b, _logit_b(b, key, outcome))
    return int(change.to_integral_value(rounding=ROUND_DOWN, context=_CTX))


def _budget_closed_form(b: int, key: tuple[int, ...], outcome: int, budget: int) -> Decimal:
    """Shares of ``outcome`` whose exact cost is ``budget``.

    Solving b * ln(1 - p + p e^(d/b)) = B gives d = B + b ln(1 - (1-p) e^(-B/b)) - b ln p,
    written so that nothing overflows and p near 0 or 1 loses no digits.
    """
    state = _state(b, key)
    b_d = Decimal(b)
    x_i = _CTX.divide(Decimal(key[outcome] - state.shift), b_d)
    ln_p = _CTX.subtract(x_i, _CTX.ln(state.total))  # ln(t_i / S), exact even if t_i is 0
    rest = _ZERO
    for j, term in enumerate(state.terms):
        if j != outcome:
            rest = _CTX.add(rest, term)
    p = _CTX.divide(state.terms[outcome], state.total)
    decay = _exp_ratio(-budget, b)
    # 1 - (1-p) e^(-B/b) = p + (1-p)(1 - e^(-B/b)): a sum of non-negative parts.
    gain = _CTX.multiply(_CTX.divide(rest, state.total), _CTX.subtract(_ONE_D, decay))
    inner = _CTX.add(p, gain)
    log_part = _CTX.multiply(b_d, _CTX.subtract(_CTX.ln(inner), ln_p))
    return _CTX.add(Decimal(budget), log_part)


def max_qty_for_budget(
    b: int, q: Sequence[int], outcome: int, budget: Micros, lot: Micros
) -> Micros:
    """The largest multiple of ``lot`` micro-shares of ``outcome`` whose buy_charge <= budget.

    A closed form gives the answer to ~30 digits; a loop of at most a few buy_charge
    calls then makes it exact.
    """
    key = _check(b, q, outcome)
    assert budget >= 0 and lot > 0
    if budget == 0:
        return 0  # any purchase costs at least 1 micro-credit
    shares = _budget_closed_form(b, key, outcome, budget)
    lots = max(0, int(_CTX.divide(shares, Decimal(lot)).to_integral_value(ROUND_FLOOR, _CTX)))
    for _ in range(_LOOP_MAX):
        if lots == 0 or buy_charge(b, key, outcome, lots * lot) <= budget:
            break
        lots -= 1
    else:
        raise AssertionError("budget closed form too far off")
    for _ in range(_LOOP_MAX):
        if buy_charge(b, key, outcome, (lots + 1) * lot) > budget:
            break
        lots += 1
    else:
        raise AssertionError("budget closed form too far off")
    return lots * lot


_lot_cost = lru_cache(maxsize=1 << 12)(_cost_change_decimal)
"""The memo of one lot's exact cost: the fix-up loops of neighbouring price levels ask
for the same lots again."""


def _lot_cost_ok(
    b: int, key: tuple[int, ...], outcome: int, price_micros: int, lot: int, side: Side, k: int
) -> bool:
    """Is the maker's k-th lot (k >= 1) at least as good as price_micros per share?"""
    sign = 1 if side == "buy" else -1
    step = _single(len(key), outcome, sign * lot)
    start = tuple([x + (k - 1) * d for x, d in zip(key, step, strict=True)])
    end = tuple([x + d for x, d in zip(start, step, strict=True)])
    cost = _CTX.multiply(_lot_cost(b, start, end), _MICROS_D)
    limit = Decimal(price_micros * lot)
    if side == "buy":
        return cost <= limit  # the lot costs at most the price
    return _CTX.minus(cost) >= limit  # the lot pays at least the price


@lru_cache(maxsize=1 << 12)
def _lot_gain(b: int, price_micros: int, lot: int) -> Decimal:
    """g of ``_lots_closed_form``: two logarithms that depend on the price level, the lot
    and b only, not on the market's state (so memoized: prices repeat)."""
    g_part = _CTX.subtract(
        _CTX.ln(_CTX.subtract(_ONE_D, _exp_ratio(-price_micros * lot, ONE * b))),
        _CTX.ln(_CTX.subtract(_ONE_D, _exp_ratio(-(ONE - price_micros) * lot, ONE * b))),
    )
    return _CTX.multiply(Decimal(b), g_part)


def _lots_closed_form(
    b: int, key: tuple[int, ...], outcome: int, price_micros: int, lot: int, side: Side
) -> int:
    """How many YES lots are at least as good as the price, from the prices' logits.

    Buying a lot of L at price p costs <= aL iff p <= p* = (e^(aL/b) - 1) / (e^(L/b) - 1),
    and b logit(p*) = g - (1-a)L with g = b (ln(1 - e^(-aL/b)) - ln(1 - e^(-(1-a)L/b))).
    Selling a lot at p pays >= aL iff the price after it is >= p*, i.e. b logit(p) >=
    g + aL. Each lot moves b logit(p) by L, so the count is a floor.
    """
    ask_l = Decimal(price_micros * lot)  # ONE * aL, where a = price_micros / ONE
    rest_l = Decimal((ONE - price_micros) * lot)  # ONE * (1-a)L
    g = _lot_gain(b, price_micros, lot)
    now = _logit_b(b, key, outcome)
    if side == "buy":
        room = _CTX.subtract(_CTX.subtract(g, _CTX.divide(rest_l, _MICROS_D)), now)
    else:
        room = _CTX.subtract(now, _CTX.add(g, _CTX.divide(ask_l, _MICROS_D)))
    if room < 0:
        return 0
    return int(_CTX.divide(room, Decimal(lot)).to_integral_value(ROUND_FLOOR, _CTX)) + 1


def max_qty_below_average(
    b: int,
    q: Sequence[int],
    outcome: int,
    price_micros: Micros,
    lot: Micros,
    side: Side,
    outcome_side: OutcomeSide = "yes",
) -> Micros:
    """How much the router may take from the maker while its next lot beats a price.

    Returns ``n * lot`` for the largest n such that every one of the maker's first n
    lots (the k-th lot's exact cost being C after k lots minus C after k - 1) costs at
    most ``lot * price_micros / ONE`` (side "buy") or pays at least that (side "sell").
    Lot costs rise as the trader buys and fall as it sells, so this is also where the
    maker's marginal lot stops beating the price. ``outcome_side`` "no" trades the NO
    basket: its k-th lot costs L minus the k-th YES sale's proceeds, so buying NO at a
    is selling YES at 1 - a, and selling NO at a is buying YES at 1 - a.
    """
    key = _check(b, q, outcome)
    assert 0 < price_micros < ONE and lot > 0
    if outcome_side == "no":
        side = "sell" if side == "buy" else "buy"
        price_micros = ONE - price_micros
    lots = _lots_closed_form(b, key, outcome, price_micros, lot, side)
    for _ in range(_LOOP_MAX):
        if lots == 0 or _lot_cost_ok(b, key, outcome, price_micros, lot, side, lots):
            break
        lots -= 1
    else:
        raise AssertionError("lot closed form too far off")
    for _ in range(_LOOP_MAX):
        if not _lot_cost_ok(b, key, outcome, price_micros, lot, side, lots + 1):
            break
        lots += 1
    else:
        raise AssertionError("lot closed form too far off")
    return lots * lot
