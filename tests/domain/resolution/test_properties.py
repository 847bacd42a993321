"""Properties: determinism, order independence, and one source never decides a 2-of-n."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from augury.domain.resolution import HOUR_US, Observation, Status, changes, evaluate

from .helpers import T_OBS, war_map_spec

observation = st.builds(
    Observation,
    source_id=st.sampled_from(["map", "wire", "stranger"]),
    fetched_at_us=st.integers(-48, 60).map(lambda h: T_OBS + h * HOUR_US),
    ok=st.booleans(),
    value=st.sampled_from(["A", "B", "contested", None]),
    content_sha256=st.sampled_from(["aa", "bb", "cc"]),
)
now = st.integers(-48, 200).map(lambda h: T_OBS + h * HOUR_US)


@settings(max_examples=200, deadline=None)
@given(st.lists(observation, max_size=80), now, st.randoms(use_true_random=False))
def test_deterministic_and_order_independent(obs: list[Observation], t: int, rnd: object) -> None:
    spec = war_map_spec()
    shuffled = list(obs)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    assert evaluate(spec, obs, t) == evaluate(spec, shuffled, t)
    assert changes(obs) == changes(shuffled)


@settings(max_examples=200, deadline=None)
@given(st.lists(observation, max_size=80), now, st.sampled_from(["map", "wire"]))
def test_one_source_never_decides_two_of_n(obs: list[Observation], t: int, who: str) -> None:
    spec = war_map_spec(quorum=2)
    mine = [o for o in obs if o.source_id == who]
    d = evaluate(spec, mine, t)
    assert d.status is not Status.PROPOSE


@settings(max_examples=100, deadline=None)
@given(st.lists(observation, max_size=80), st.integers(0, 500))
def test_decision_is_final_after_the_deadline(obs: list[Observation], later_h: int) -> None:
    spec = war_map_spec()
    at_deadline = evaluate(spec, obs, spec.deadline_us)
    assert at_deadline.status is not Status.PENDING
    assert evaluate(spec, obs, spec.deadline_us + later_h * HOUR_US) == at_deadline


@settings(max_examples=100, deadline=None)
@given(st.lists(observation, max_size=80), now)
def test_a_source_settles_on_at_most_one_outcome_and_shows_its_evidence(
    obs: list[Observation], t: int
) -> None:
    d = evaluate(war_map_spec(), obs, t)
    hashes = {o.content_sha256 for o in obs}
    for v in d.sources:
        assert (v.outcome is None) == (v.settled_at_us is None) == (not v.evidence)
        assert set(v.evidence) <= hashes
