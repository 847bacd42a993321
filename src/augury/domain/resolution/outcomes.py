"""What a proposal, a vote or a decision names, and what a decided outcome pays.

A binary or categorical market's outcome is an index (``VOID``, -1, voids). A scalar
market's is the grid index of its resolved value (docs/domain.md, "Scalar markets"):
people name a ``value`` (micros of the market's unit), clamped to the range and rounded
to the nearest step here, and :func:`weights_of` turns the index into the payout weights
``(LONG, SHORT)``. Pure; refusals are :class:`Rejected` with ``invalid_outcome``.
"""

from __future__ import annotations

from augury.domain import scalar
from augury.domain.market import Market
from augury.domain.rejections import Code, Rejected
from augury.domain.scalar import ScalarRange
from augury.domain.units import ONE

VOID = -1
"""The outcome index that means "void the market" in proposals and votes."""


def weights_of(market: Market, outcome: int) -> tuple[int, ...]:
    """The settlement weights of a decided outcome (one-hot, or a scalar market's
    payout of the resolved value)."""
    if market.scalar is not None:
        return scalar.weights(market.scalar, scalar.value_at(market.scalar, outcome))
    return tuple(ONE if j == outcome else 0 for j in range(market.n))


def scalar_of(market: Market) -> ScalarRange:
    """The market's range; a value names nothing in any other market."""
    if market.scalar is None:
        raise Rejected(Code.INVALID_OUTCOME, "Only a scalar market is resolved to a value.")
    return market.scalar


def outcome_of(market: Market, outcome: int, value: int | None) -> int:
    """The outcome a proposal or a vote names: ``outcome``, or in a scalar market the grid
    index of ``value`` (clamped to the range, rounded to the nearest step)."""
    if value is None:
        require_outcome(market, outcome)
        return outcome
    rng = scalar_of(market)
    if abs(value) > scalar.VALUE_MAX:
        raise Rejected(Code.INVALID_OUTCOME, f"The value must be within +-{scalar.VALUE_MAX}.")
    return scalar.index_of(rng, value)


def named_value(market: Market, value: int) -> int:
    """``value`` as the scalar market's grid holds it (a disputer's number)."""
    return scalar.value_at(scalar_of(market), outcome_of(market, 0, value))


def require_outcome(market: Market, outcome: int) -> None:
    if market.scalar is not None:
        last = scalar.steps(market.scalar)
        if not VOID <= outcome <= last:
            raise Rejected(
                Code.INVALID_OUTCOME,
                f"Give a value, or a step index 0 to {last}, or -1 for void.",
            )
        return
    if not VOID <= outcome < market.n:
        raise Rejected(
            Code.INVALID_OUTCOME, f"The outcome must be 0 to {market.n - 1}, or -1 for void."
        )
