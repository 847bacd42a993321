"""snapshot.dump / snapshot.load: a restored exchange is the same exchange.

After random trading (limit orders of every time in force, binary and categorical
markets with and without the maker, resting and GTD orders, closed, resolved and voided
markets) the restored state has the same fingerprint and the same bytes, and the same
further commands yield byte-identical events on the original and on the copy.
"""

from __future__ import annotations

import pytest

from augury.domain import codec, snapshot
from augury.domain.book import Book, Order
from augury.domain.exchange import Exchange
from augury.domain.fingerprint import fingerprint
from augury.domain.invariants import violations
from augury.domain.ledger import Ledger
from augury.domain.limits import Limits
from augury.domain.market import Market
from tests.engine.workload import GENERATION, drive


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("cut", [40, GENERATION + 123, 3 * GENERATION - 7])
def test_round_trip_then_identical_continuation(seed: int, cut: int) -> None:
    ex = Exchange()
    now, _ = drive(ex, seed, range(cut))
    assert ex.orders, "the cut should leave resting orders to carry over"
    data = snapshot.dump(ex)
    copy = snapshot.load(data)
    assert fingerprint(copy) == fingerprint(ex)
    assert snapshot.dump(copy) == data
    assert violations(copy) == []

    further = range(cut, cut + 2 * GENERATION)
    now_a, results_a = drive(ex, seed, further, now)
    now_b, results_b = drive(copy, seed, further, now)
    assert now_a == now_b
    assert [codec.encode(r) for r in results_a] == [codec.encode(r) for r in results_b]
    assert sum(r.ok for r in results_a) > len(further) // 3
    assert fingerprint(copy) == fingerprint(ex)
    assert snapshot.dump(copy) == snapshot.dump(ex)


def test_state_coverage_of_the_workload() -> None:
    """The stream really reaches what the round trip must carry: every kind of state."""
    ex = Exchange()
    drive(ex, 1, range(3 * GENERATION - 7))
    statuses = {m.status.value for m in ex.markets.values()}
    assert {"open", "closed", "resolved", "voided"} <= statuses
    assert any(o.expires_at for o in ex.orders.values()), "a live GTD order"
    assert any(o.resting for o in ex.orders.values())
    assert any(m.categorical and m.liquidity for m in ex.markets.values())
    assert ex.expiries and ex.client_ids


def test_empty_exchange_round_trips() -> None:
    ex = Exchange()
    assert fingerprint(snapshot.load(snapshot.dump(ex))) == fingerprint(ex)


def test_limits_are_configuration_not_state() -> None:
    limits = Limits(open_orders_per_account=7)
    assert snapshot.load(snapshot.dump(Exchange()), limits).limits == limits


def test_unknown_version_is_refused() -> None:
    current = f'"v":{snapshot.SNAPSHOT_VERSION}'.encode()
    data = snapshot.dump(Exchange()).replace(current, b'"v":99')
    with pytest.raises(ValueError, match="version 99"):
        snapshot.load(data)


# What snapshot.py writes, or rebuilds from what it writes. If a test below fails, the
# core gained state: teach snapshot.dump/load about it, then update these sets.
MARKET_FIELDS = {
    "books", "categorical", "close_at", "contrib", "creator", "fee_bps", "id", "liquidity",
    "lot", "maker_sets", "outcomes", "positions", "q", "question", "settlement", "status",
    "subsidy", "tick", "block_affiliated_trading", "affiliated_trading_reason", "scalar",
}  # fmt: skip
MARKET_DERIVED = {"n", "top", "collateral_key", "maker_key"}  # computed by Market()
ORDER_FIELDS = {
    "account", "budget", "client_order_id", "escrow", "expires_at", "fee_notional",
    "fee_paid", "filled", "id", "intent", "market", "outcome", "own_price", "post_only",
    "price", "qty", "remaining", "resting", "self_trade", "tif",
}  # fmt: skip
ORDER_DERIVED = {"bid"}  # computed by Order() from the intent
STATE_FIELDS = {
    "accounts", "client_ids", "expiries", "ledger", "markets", "next_order_id",
    "open_orders", "orders", "resolutions", "affiliations", "alerts", "alert_keys",
}  # fmt: skip
NOT_STATE = {"limits", "blocked_orgs", "evaluators"}  # configuration; derived on load; a cache


def attributes(cls: type) -> set[str]:
    """A class's instance attributes, plain (``__slots__``) or mypyc-compiled."""
    names = getattr(cls, "__slots__", None) or getattr(cls, "__mypyc_attrs__", ())
    return set(names)


def test_snapshot_covers_every_field_of_the_core() -> None:
    assert attributes(Market) == MARKET_FIELDS | MARKET_DERIVED
    assert attributes(Order) == ORDER_FIELDS | ORDER_DERIVED
    assert attributes(Book) == {"asks", "best_ask", "best_bid", "bids", "count", "top"}
    assert attributes(Ledger) == {"balances"}
    exchange = Exchange()
    names = getattr(type(exchange), "__mypyc_attrs__", None) or vars(exchange)
    public = {name for name in names if not name.startswith("_")}
    assert public == STATE_FIELDS | NOT_STATE
