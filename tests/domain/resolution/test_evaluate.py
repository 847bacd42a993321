"""Evaluation: the war-map scenario, the genuine case, disagreement, failures."""

from __future__ import annotations

import msgspec

from augury.domain.resolution import HOUR_US, Extend, Status, Void, changes, evaluate

from .helpers import T_OBS, hourly, obs, war_map_spec

AFTER = T_OBS + 100 * HOUR_US  # well past every deadline


def war_map() -> list:  # type: ignore[type-arg]
    # The map shows A; six hours before the observation time it flips to B, and flips
    # back five hours later. The wire never flips.
    flipping = hourly("map", -48, 40, {-48: "A", -6: "B", -1: "A"})
    steady = hourly("wire", -48, 40, {-48: "A"})
    return flipping + steady


def test_war_map_never_proposes_b() -> None:
    spec = war_map_spec()
    observations = war_map()
    for hour in range(-48, 60):
        d = evaluate(spec, observations, T_OBS + hour * HOUR_US)
        assert not (d.status is Status.PROPOSE and d.outcome == 1), hour
    final = evaluate(spec, observations, AFTER)
    assert final.status is Status.PROPOSE and final.outcome == 0
    # The window counts forward from T: both sources settle once they held to T+12h.
    assert final.decided_at_us == T_OBS + 12 * HOUR_US
    assert final.challenge_ends_at_us == final.decided_at_us + 48 * HOUR_US
    by_id = {v.source_id: v for v in final.sources}
    assert by_id["map"].settled_at_us == T_OBS + 12 * HOUR_US
    assert len(by_id["map"].evidence) == 14  # -1h .. +12h, every hash kept


def test_war_map_pending_before_the_map_settles() -> None:
    d = evaluate(war_map_spec(), war_map(), T_OBS + 5 * HOUR_US)
    assert d.status is Status.PENDING
    assert "unchanged through T+5h; it counts once every observation until T+12h" in (d.explanation)


def test_flip_and_revert_are_in_changes() -> None:
    found = [(c.source_id, c.at_us, c.from_value, c.to_value) for c in changes(war_map())]
    assert found == [
        ("map", T_OBS - 6 * HOUR_US, "A", "B"),
        ("map", T_OBS - 1 * HOUR_US, "B", "A"),
    ]


def test_genuine_flip_that_persists_is_proposed_after_the_window() -> None:
    spec = war_map_spec()
    observations = hourly("map", -48, 40, {-48: "A", -6: "B"}) + hourly(
        "wire", -48, 40, {-48: "A", -4: "B"}
    )
    assert evaluate(spec, observations, T_OBS + 11 * HOUR_US).status is Status.PENDING
    d = evaluate(spec, observations, T_OBS + 12 * HOUR_US)
    assert d.status is Status.PROPOSE and d.outcome == 1
    assert d.decided_at_us == T_OBS + 12 * HOUR_US  # T + the 12h window, forward


def test_disagreeing_sources_are_held_for_arbiters() -> None:
    spec = war_map_spec()
    observations = hourly("map", -48, 40, {-48: "B"}) + hourly("wire", -48, 40, {-48: "A"})
    assert evaluate(spec, observations, T_OBS + 20 * HOUR_US).status is Status.PENDING
    d = evaluate(spec, observations, spec.deadline_us)
    assert d.status is Status.HOLD
    assert "no quorum of 2" in d.explanation


def test_fallback_void_and_extend() -> None:
    observations = hourly("map", -48, 40, {-48: "B"}) + hourly("wire", -48, 40, {-48: "A"})
    assert evaluate(war_map_spec(fallback=Void()), observations, AFTER).status is Status.VOID
    d = evaluate(war_map_spec(fallback=Extend(by_hours=72)), observations, AFTER)
    assert d.status is Status.EXTEND and d.extend_to_us == T_OBS + 72 * HOUR_US


def test_two_outcomes_each_with_quorum_hold() -> None:
    spec = war_map_spec(quorum=1)
    observations = hourly("map", -48, 40, {-48: "B"}) + hourly("wire", -48, 40, {-48: "A"})
    d = evaluate(spec, observations, AFTER)
    assert d.status is Status.HOLD and "conflicting evidence" in d.explanation


def test_failed_observations_are_never_answers() -> None:
    spec = war_map_spec()
    steady = hourly("wire", -48, 40, {-48: "A"})
    # The map only ever times out or returns 500 (ok=False), even with a value attached
    # by a careless reader: it must not settle, so the quorum of 2 cannot be met.
    failing = [obs("map", h, "B", ok=False) for h in range(-48, 41)]
    d = evaluate(spec, steady + failing, AFTER)
    assert d.status is Status.HOLD
    assert {v.source_id: v.outcome for v in d.sources} == {"map": None, "wire": 0}
    assert changes(failing) == []


def test_failures_inside_a_window_neither_break_nor_confirm() -> None:
    spec = war_map_spec()
    map_obs = [
        o
        for o in hourly("map", -48, 40, {-48: "A"})
        if not -3 <= ((o.fetched_at_us - T_OBS) // HOUR_US) <= 3
    ]
    map_obs += [obs("map", h, None, ok=False) for h in range(-3, 4)]
    d = evaluate(spec, map_obs + hourly("wire", -48, 40, {-48: "A"}), AFTER)
    assert d.status is Status.PROPOSE and d.outcome == 0


def test_window_with_no_successful_observation_is_not_settled() -> None:
    spec = war_map_spec()
    d = evaluate(spec, [obs("map", h, None, ok=False) for h in range(-5, 5)], AFTER)
    assert d.status is Status.HOLD
    assert all(v.outcome is None for v in d.sources)


def test_observations_after_the_deadline_do_not_count() -> None:
    spec = war_map_spec()
    late = (spec.deadline_us - T_OBS) // HOUR_US + 1
    observations = hourly("map", late, late + 30, {late: "A"}) + hourly(
        "wire", late, late + 30, {late: "A"}
    )
    assert evaluate(spec, observations, AFTER).status is Status.HOLD


def test_unexpected_value_settles_nothing() -> None:
    spec = war_map_spec()
    observations = hourly("map", -48, 40, {-48: "contested"}) + hourly("wire", -48, 40, {-48: "A"})
    d = evaluate(spec, observations, AFTER)
    assert d.status is Status.HOLD
    assert "no expected value" in d.explanation


def test_two_sources_of_one_owner_are_one_vote() -> None:
    # The wire is re-labelled as the map's owner: both flip to B and persist, but one
    # organization could have edited both, so a 2-of-2 quorum is not met.
    spec = war_map_spec()
    same = msgspec.structs.replace(spec.sources[1], owner="  institute FOR maps ")
    spec = msgspec.structs.replace(spec, sources=(spec.sources[0], same))
    observations = hourly("map", -48, 40, {-48: "A", -6: "B"}) + hourly(
        "wire", -48, 40, {-48: "A", -4: "B"}
    )
    d = evaluate(spec, observations, AFTER)
    assert d.status is Status.HOLD and d.outcome is None
    # with a quorum of one, that owner's single vote decides, at its earliest settlement
    one = evaluate(msgspec.structs.replace(spec, quorum=1), observations, AFTER)
    assert one.status is Status.PROPOSE and one.outcome == 1
    assert one.decided_at_us == T_OBS + 12 * HOUR_US  # T + the 12h window
