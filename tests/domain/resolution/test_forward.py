"""The persistence window counts FORWARD from the observation time T (issue 17).

The November 2025 case: one live map, a 1-hour window, an edit visible for about three
hours around T. Counted backwards (the old rule: a run of at least w that contains T)
the edit settled at T and resolved the market; counted forward, every capture from the
answer's first appearance until T + w must show it, and, where the spec names the
source's update interval u, a capture at least u after its first appearance too.
"""

from __future__ import annotations

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from augury.domain.resolution import (
    HOUR_US,
    Decision,
    Observation,
    Persistence,
    ResolutionSpec,
    Status,
    evaluate,
)
from augury.domain.resolution.incremental import Evaluator

from .helpers import T_OBS, hourly, obs, single_map_spec, war_map_spec

AFTER = T_OBS + 100 * HOUR_US
HALF_HOUR = HOUR_US // 2


def half_hourly(
    source: str, start_h: float, end_h: float, value_at: dict[float, str]
) -> list[Observation]:
    """Captures every 30 minutes from ``start_h`` to ``end_h`` hours after T."""
    out = []
    steps = int((end_h - start_h) * 2)
    for i in range(steps + 1):
        h = start_h + i / 2
        value = value_at[max(k for k in value_at if k <= h)]
        o = obs(source, 0, value)
        out.append(Observation(source, T_OBS + int(h * HOUR_US), True, value, o.content_sha256))
    return out


def both(spec: ResolutionSpec, observations: list[Observation], now: int) -> Decision:
    """evaluate() and the incremental Evaluator, which must agree."""
    batch = evaluate(spec, observations, now)
    evaluator = Evaluator(spec)
    for o in sorted(observations, key=lambda o: o.fetched_at_us):
        evaluator.add(o)
    assert evaluator.decide(max(now, evaluator.latest_us)) == evaluate(
        spec, observations, max(now, evaluator.latest_us)
    )
    return batch


def never_b(spec: ResolutionSpec, observations: list[Observation]) -> None:
    for h in range(-30, 100):
        d = both(spec, observations, T_OBS + h * HOUR_US)
        assert not (d.status is Status.PROPOSE and d.outcome == 1), h


def test_an_edit_around_the_observation_time_does_not_resolve_a_single_source_market() -> None:
    # The map shows A; it is edited to B at T-2h and reverted at T+1h: B is captured at
    # T-2h, T-1h and T (three hours around T). The old rule settled B at T.
    spec = single_map_spec(hours=1)
    observations = hourly("map", -24, 30, {-24: "A", -2: "B", 1: "A"})
    never_b(spec, observations)
    d = evaluate(spec, observations, spec.deadline_us)
    assert d.status is Status.HOLD  # no answer held from T to T+1h: the arbiters decide
    assert d.sources[0].outcome is None


@pytest.mark.parametrize("revert_h", [1, 0.5])
def test_the_capture_at_t_plus_the_window_must_still_agree(revert_h: float) -> None:
    # Reverted at (or just before) T + w: the capture at T + w shows A, so B never counts.
    spec = single_map_spec(hours=1)
    observations = half_hourly("map", -12, 12, {-12: "A", -1.5: "B", revert_h: "A"})
    never_b(spec, observations)


def test_a_genuine_change_that_holds_resolves_a_single_source_market() -> None:
    spec = single_map_spec(hours=1)
    observations = hourly("map", -24, 30, {-24: "A", -2: "B"})
    assert both(spec, observations, T_OBS).status is Status.PENDING
    d = evaluate(spec, observations, T_OBS + HOUR_US)
    assert d.status is Status.PROPOSE and d.outcome == 1
    assert d.decided_at_us == T_OBS + HOUR_US
    assert len(d.sources[0].evidence) == 4  # T-2h .. T+1h


def test_an_answer_first_shown_after_the_observation_time_does_not_count() -> None:
    spec = single_map_spec(hours=1)
    observations = hourly("map", -24, 30, {-24: "A", 1: "B"})
    never_b(spec, observations)


def test_an_update_interval_needs_a_later_update_to_agree() -> None:
    # A map updated every 6 hours, a 1-hour window: an edit captured from T-1h30 to
    # T+2h holds through T + w but not through the next update (T-1h30 + 6h).
    spec = single_map_spec(hours=1, map_interval=6)
    edit = half_hourly("map", -12, 12, {-12: "A", -1.5: "B", 2.5: "A"})
    never_b(spec, edit)
    assert evaluate(single_map_spec(hours=1), edit, AFTER).outcome == 1  # without u: counts
    held = half_hourly("map", -12, 12, {-12: "A", -1.5: "B"})
    d = both(spec, held, AFTER)
    assert d.status is Status.PROPOSE and d.outcome == 1
    assert d.decided_at_us == T_OBS + int(4.5 * HOUR_US)


def test_the_spec_wide_update_interval_applies_to_every_source() -> None:
    spec = war_map_spec(quorum=1, hours=1)
    per_source = war_map_spec(quorum=1, hours=1, map_interval=6, wire_interval=6)
    wide = msgspec.structs.replace(spec, persistence=Persistence(1, False, 6))
    observations = hourly("map", -12, 12, {-12: "A", -1: "B"})
    for s in (per_source, wide):
        d = evaluate(s, observations, AFTER)
        assert d.decided_at_us == T_OBS + 5 * HOUR_US  # B first at T-1h, + 6h
    assert evaluate(spec, observations, AFTER).decided_at_us == T_OBS + HOUR_US


def test_failed_captures_between_do_not_break_a_forward_run() -> None:
    spec = single_map_spec(hours=2)
    observations = [o for o in hourly("map", -6, 6, {-6: "B"}) if o.fetched_at_us != T_OBS]
    observations.append(obs("map", 0, None, ok=False))
    d = both(spec, observations, AFTER)
    assert d.decided_at_us == T_OBS + 2 * HOUR_US


# Runs of equal answers (the shape the forward rule cares about): each source is a list
# of (hours, value) segments captured every 30 minutes, some captures failing.
segments = st.lists(
    st.tuples(st.integers(1, 8), st.sampled_from(["A", "B", "contested"])), min_size=1, max_size=8
)


def as_captures(
    source: str, start_h: int, segs: list[tuple[int, str]], fails: set[int]
) -> list[Observation]:
    out, step = [], start_h * 2
    for hours, value in segs:
        for _ in range(hours * 2):
            at = T_OBS + step * HALF_HOUR
            ok = step not in fails
            digest = f"{source}{step}{value}"
            out.append(Observation(source, at, ok, value if ok else None, digest))
            step += 1
    return out


@settings(max_examples=300, deadline=None)
@given(
    st.integers(1, 2),
    st.integers(0, 8),
    st.one_of(st.none(), st.integers(1, 10)),
    st.one_of(st.none(), st.integers(1, 10)),
    st.integers(-12, 0),
    segments,
    segments,
    st.sets(st.integers(-30, 40), max_size=10),
)
def test_incremental_and_batch_agree_on_runs(
    quorum: int,
    hours: int,
    map_u: int | None,
    wire_u: int | None,
    start_h: int,
    map_segs: list[tuple[int, str]],
    wire_segs: list[tuple[int, str]],
    fails: set[int],
) -> None:
    spec = war_map_spec(quorum=quorum, hours=hours, map_interval=map_u, wire_interval=wire_u)
    captures = as_captures("map", start_h, map_segs, fails)
    captures += as_captures("wire", start_h, wire_segs, fails)
    captures.sort(key=lambda o: (o.fetched_at_us, o.source_id))
    evaluator, fed = Evaluator(spec), list[Observation]()
    for o in captures:
        evaluator.add(o)
        fed.append(o)
        d = evaluator.decide(o.fetched_at_us)
        assert d == evaluate(spec, fed, o.fetched_at_us)
        if d.status is Status.PROPOSE:  # never before T + w, never before f + u
            assert d.decided_at_us is not None and d.decided_at_us >= spec.earliest_resolution_us
