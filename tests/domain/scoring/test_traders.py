"""Trader results and leaderboards: worked examples and invariants."""

from __future__ import annotations

import random
from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from augury.domain.scoring import (
    Exposure,
    Flow,
    RankBy,
    TraderStats,
    exposure,
    flow_sums,
    is_long,
    leaderboard,
    trade_predictions,
    trader_stats,
    window_start,
)
from augury.domain.scoring.traders import DAY_US, SCORE_MIN_SHARES

ONE = 1_000_000


def test_profit_return_and_edge_by_hand() -> None:
    # Market a resolved YES: alice bought 100 YES at 0.30, bob bought the NO side at
    # 0.70 and later 50 more NO at 0.40 (from carol's YES bid at 0.60).
    flows = [
        Flow("alice", "a", "trade", -30 * ONE),
        Flow("bob", "a", "trade", -70 * ONE),
        Flow("carol", "a", "trade", -30 * ONE),
        Flow("bob", "a", "trade", -20 * ONE),
        Flow("bob", "a", "fee", -ONE),
        Flow("alice", "a", "payout", 100 * ONE),
        Flow("carol", "a", "payout", 50 * ONE),
    ]
    exposures = [
        exposure("alice", "a", is_long("buy", "yes"), 300_000, 100 * ONE, ONE),
        exposure("bob", "a", is_long("buy", "no"), 300_000, 100 * ONE, ONE),
        exposure("carol", "a", is_long("buy", "yes"), 600_000, 50 * ONE, ONE),
        exposure("bob", "a", is_long("sell", "yes"), 600_000, 50 * ONE, ONE),
    ]
    assert exposures[1] == Exposure("bob", "a", 700_000, 0, 100 * ONE)
    stats = trader_stats(flow_sums(flows), exposures)
    alice, bob, carol = stats["alice"], stats["bob"], stats["carol"]
    assert (alice.profit, alice.capital, alice.return_) == (70 * ONE, 30 * ONE, Fraction(7, 3))
    assert alice.edge == Fraction(7, 10)
    assert (bob.profit, bob.capital, bob.return_) == (-91 * ONE, 91 * ONE, Fraction(-1))
    assert bob.edge == Fraction(-(100 * 7 + 50 * 4), 150 * 10)  # -0.6
    assert (carol.edge, carol.fills, carol.shares) == (Fraction(2, 5), 1, 50 * ONE)
    by_profit = leaderboard(stats.values(), "profit", 10)
    assert [(r.rank, r.stats.account) for r in by_profit] == [
        (1, "alice"),
        (2, "carol"),
        (3, "bob"),
    ]
    by_score = leaderboard(stats.values(), "score", 2)
    assert [r.stats.account for r in by_score] == ["alice", "carol"]
    predictions = trade_predictions(exposures)
    assert [p.prob for p in predictions] == [0.3, 0.7, 0.6, 0.4]
    assert [p.observed for p in predictions] == [1.0, 0.0, 1.0, 0.0]


def test_ties_break_by_shares_then_account_and_small_traders_are_not_scored() -> None:
    even = [
        TraderStats("b", profit=5, markets=1, shares=20 * ONE, edge_total=0),
        TraderStats("a", profit=5, markets=1, shares=20 * ONE, edge_total=0),
        TraderStats("c", profit=5, markets=1, shares=40 * ONE, edge_total=0),
        TraderStats("d", profit=9, markets=1, shares=ONE, edge_total=ONE * ONE),
    ]
    assert [r.stats.account for r in leaderboard(even, "profit", 9)] == ["d", "a", "b", "c"]
    assert [r.stats.account for r in leaderboard(even, "score", 9)] == ["c", "a", "b"]
    assert leaderboard(even, "score", 9, min_shares=ONE)[0].stats.account == "d"
    assert TraderStats("z").return_ is None and TraderStats("z").edge is None
    assert leaderboard([TraderStats("z")], "profit", 5) == []  # no settled market


def test_windows() -> None:
    assert window_start(100 * DAY_US, "all") is None
    assert window_start(100 * DAY_US, "30d") == 70 * DAY_US
    assert window_start(100 * DAY_US, "7d") == 93 * DAY_US


stats_strategy = st.builds(
    TraderStats,
    account=st.text("abcdef", min_size=1, max_size=3),
    profit=st.integers(-100, 100),
    capital=st.integers(0, 100),
    markets=st.integers(0, 3),
    fills=st.integers(0, 5),
    shares=st.sampled_from([0, ONE, SCORE_MIN_SHARES, 2 * SCORE_MIN_SHARES]),
    edge_total=st.integers(-(10**13), 10**13),
)


@given(
    st.lists(stats_strategy, unique_by=lambda s: s.account, max_size=30),
    st.sampled_from(["profit", "score"]),
    st.integers(1, 40),
    st.randoms(use_true_random=False),
)
def test_leaderboard_order_is_stable_and_sorted(
    stats: list[TraderStats], by: RankBy, limit: int, rnd: random.Random
) -> None:
    ranked = leaderboard(stats, by, limit)
    shuffled = list(stats)
    rnd.shuffle(shuffled)
    assert leaderboard(shuffled, by, limit) == ranked
    assert [r.rank for r in ranked] == list(range(1, len(ranked) + 1))
    assert len(ranked) <= limit
    if by == "profit":
        keys = [(-r.stats.profit, r.stats.account) for r in ranked]
        assert keys == sorted(keys)
    else:
        assert all(r.stats.shares >= SCORE_MIN_SHARES for r in ranked)
        edges = [(-(r.stats.edge or 0), -r.stats.shares, r.stats.account) for r in ranked]
        assert edges == sorted(edges)
