"""The incremental Evaluator decides exactly as evaluate() does, one observation at a time."""

from __future__ import annotations

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from augury.domain import commands as c
from augury.domain.exchange import Exchange
from augury.domain.resolution import HOUR_US, Observation, evaluate
from augury.domain.resolution.incremental import Evaluator
from augury.domain.resolution.spec import Extend, Hold, Void
from augury.domain.units import ONE

from .helpers import T_OBS, war_map_spec

MINUTE_US = 60_000_000

observation = st.builds(
    Observation,
    source_id=st.sampled_from(["map", "wire", "stranger"]),
    # Around T in 20-minute steps, or on a coarse 3-hour grid where many observations
    # share an instant (a later one can change an earlier instant's answer).
    fetched_at_us=st.one_of(
        st.integers(-30, 90).map(lambda m: T_OBS + m * 20 * MINUTE_US),
        st.integers(-4, 8).map(lambda h: T_OBS + h * 3 * HOUR_US),
    ),
    ok=st.booleans(),
    value=st.sampled_from(["A", "B", "contested", None]),
    content_sha256=st.sampled_from(["aa", "bb", "cc", "dd"]),
)
spec = st.builds(
    war_map_spec,
    quorum=st.integers(1, 2),
    hours=st.integers(0, 12),
    fallback=st.sampled_from([Hold(), Void(), Extend(by_hours=24)]),
    # the forward rule's "a later update agrees too": shorter and longer than the window
    map_interval=st.one_of(st.none(), st.integers(1, 18)),
    wire_interval=st.one_of(st.none(), st.integers(1, 18)),
)


@settings(max_examples=1_000, deadline=None)
@given(spec, st.lists(observation, max_size=60), st.integers(0, 80))
def test_every_step_decides_like_evaluate(
    the_spec: object, observations: list[Observation], extra_h: int
) -> None:
    assert isinstance(the_spec, type(war_map_spec()))
    evaluator = Evaluator(the_spec)
    fed: list[Observation] = []
    for o in observations:
        evaluator.add(o)
        fed.append(o)
        now = max(evaluator.latest_us, T_OBS - 24 * HOUR_US) + extra_h * HOUR_US // 4
        assert evaluator.decide(now) == evaluate(the_spec, fed, now)
    assert evaluator.count == len(observations)


def test_a_settled_source_is_not_recomputed_for_later_observations() -> None:
    the_spec = war_map_spec(quorum=1, hours=1)
    evaluator = Evaluator(the_spec)
    for minutes in range(-120, 61, 10):
        evaluator.add(Observation("map", T_OBS + minutes * MINUTE_US, True, "A", f"{minutes:x}"))
    first = evaluator.decide(T_OBS + HOUR_US)
    assert first.status == "propose" and first.decided_at_us == T_OBS + HOUR_US  # T + w
    settled = evaluator._tracks["map"].verdict
    evaluator.add(Observation("map", T_OBS + 2 * HOUR_US, True, "B", "later"))
    assert evaluator._tracks["map"].verdict is settled  # kept: after its settlement
    evaluator.add(Observation("map", T_OBS, True, "B", "same-instant"))
    assert evaluator._tracks["map"].verdict is None  # at or before it: recomputed
    now = T_OBS + 3 * HOUR_US
    fed = [
        *(
            Observation("map", T_OBS + m * MINUTE_US, True, "A", f"{m:x}")
            for m in range(-120, 61, 10)
        ),
        Observation("map", T_OBS + 2 * HOUR_US, True, "B", "later"),
        Observation("map", T_OBS, True, "B", "same-instant"),
    ]
    assert evaluator.decide(now) == evaluate(the_spec, fed, now)


def test_decide_refuses_an_instant_before_its_observations() -> None:
    evaluator = Evaluator(war_map_spec())
    evaluator.add(Observation("map", T_OBS, True, "A", "aa"))
    with pytest.raises(ValueError, match="now_us"):
        evaluator.decide(T_OBS - 1)


def test_minute_polling_for_weeks_agrees_with_evaluate_along_the_way() -> None:
    # Two sources polled every minute for 20 days that never agree long enough (one
    # flips every 3 hours, inside the 12-hour window): 57,600 observations, each
    # followed by a decision as the process makes it. evaluate() after every one would
    # be ~10^10 steps; the Evaluator's are bounded by the window. Spot-checked.
    the_spec = war_map_spec(quorum=2, hours=12)
    evaluator = Evaluator(the_spec)
    start = T_OBS - 24 * HOUR_US
    fed: list[Observation] = []
    for minute in range(20 * 24 * 60):
        at = start + minute * MINUTE_US
        flip = "A" if (minute // 180) % 2 else "B"
        for o in (
            Observation("map", at, True, "A", f"m{minute}"),
            Observation("wire", at, True, flip, f"w{minute}"),
        ):
            evaluator.add(o)
            fed.append(o)
        decision = evaluator.decide(at)
        if minute % 4_001 == 0:
            assert decision == evaluate(the_spec, fed, at)
    assert decision.status != "propose"
    assert decision == evaluate(the_spec, fed, at)


def test_the_process_keeps_an_evaluator_only_while_a_market_collects() -> None:
    ex = Exchange()
    for account in ("op", "ann"):
        assert ex.execute(c.OpenAccount(account), 1).ok
        assert ex.execute(c.GrantCredits(account, 1_000 * ONE), 1).ok
    close = T_OBS - 24 * HOUR_US
    spec = war_map_spec(quorum=1, hours=1)
    created = ex.execute(
        c.CreateMarket(
            "m", "op", "Who holds it?", ("A", "B"), close, spec=msgspec.json.encode(spec).decode()
        ),
        1,
    )
    assert created.ok, created.message
    at = close + HOUR_US
    observed = ex.execute(c.RecordObservation("m", "map", at - 1, True, "A", "a" * 64), at)
    assert observed.ok, observed.message
    assert "m" in ex.evaluators  # collecting, past the close: decided incrementally
    assert ex.execute(c.VoidMarket("m", "test: an operator voids it"), at).ok
    assert "m" not in ex.evaluators  # final: the cache let go
