"""The ``unconfirmed`` detector on small, exact streams: who is named, with which numbers
and severity, and when nothing may be raised (no change, after confirmation, a revert,
buying the other side)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import msgspec
import pytest

from augury.domain.commands import TimeInForce, Token
from augury.domain.events import ObservationRecorded
from augury.domain.resolution.evaluate import Observation, Status, evaluate
from augury.domain.resolution.spec import decode_spec
from augury.domain.surveillance import (
    Severity,
    Surveillance,
    UnconfirmedDetector,
    UnconfirmedParams,
)
from augury.domain.surveillance.model import DAY_US, HOUR_US, MINUTE_US
from augury.domain.surveillance.tape import Observed
from augury.domain.surveillance.unconfirmed import Finding
from augury.domain.units import ONE
from augury.watch import KEY_MAX, alert_command, alert_key

from . import scenarios, synth
from .synth import START, Sim, lots

EDIT = START + 2 * HOUR_US
Shows = Callable[[str, int], str]


def _map_edited(until: int = START + 6 * HOUR_US) -> Shows:
    return lambda source, ts: "yes" if source == "map" and EDIT <= ts < until else "no"


def _never(source: str, ts: int) -> str:
    return "no"


def _sim(shows: Shows, window_h: int = 2, quorum: int = 2, ask: int | None = 3_000) -> Sim:
    """A market whose sources are captured every 10 minutes, and a resting ask of YES at
    ``ask`` (an account bidding ``1 - ask`` for NO) for the buyers to take."""
    sim = Sim()
    sim.market("m", spec=synth.spec(window_h, quorum))
    synth.poll(sim, "m", shows)
    if ask is not None:
        sim.account("ann", 300 * DAY_US)
        rest = START + MINUTE_US
        order = synth.order("ann", "m", Token.NO, ONE - ask, lots(5_000), rest, TimeInForce.GTC)
        sim.at(rest, order)
    return sim


def _buy(sim: Sim, account: str, ts: int, shares: int, price: int = 3_000) -> None:
    if account not in sim.accounts:
        sim.account(account, 2 * DAY_US)
    sim.at(ts, synth.order(account, "m", Token.YES, price, lots(shares), ts))


def _run(sim: Sim, params: UnconfirmedParams | None = None) -> UnconfirmedDetector:
    sim.play()
    detector = UnconfirmedDetector(params=params)
    for item in sim.items:
        detector.feed(item)
    return detector


def _change(sim: Sim, source: str = "map") -> tuple[int, str]:
    """The journal seq and hash of the first capture of ``source`` reading "yes"."""
    for item in sim.items:
        e = item.event
        if isinstance(e, ObservationRecorded) and e.source_id == source and e.value == "yes":
            return item.seq, e.content_sha256
    raise AssertionError("no change")


def test_buyers_on_an_edited_map_are_named_with_quantities_prices_and_profit() -> None:
    sim = _sim(_map_edited())
    _buy(sim, "p1", EDIT + 5 * MINUTE_US, 300)
    _buy(sim, "p2", EDIT + 7 * MINUTE_US, 300)
    detector = _run(sim)
    seq, sha = _change(sim)
    medium, high = detector.alerts()
    assert (medium.severity, medium.accounts) == (Severity.MEDIUM, ("p1",))
    assert (high.severity, high.accounts) == (Severity.HIGH, ("p1", "p2"))
    assert high.detector == "unconfirmed" and high.market == "m"
    assert high.key == f"map@{sha[:16]}" and seq in high.evidence
    finding = detector.findings[-1]
    assert finding == Finding(
        market="m",
        source="map",
        outcome=0,
        change_sha256=sha,
        change_seq=seq,
        change_at_us=EDIT,
        buyers=finding.buyers,
        distance_bp=9_970,  # bought at 0.3 cents: 99.7% upside
        concentration_bp=10_000,  # they are all the buying
        score_bp=9_970,
        severity=Severity.HIGH,
    )
    assert [(b.account, b.net_qty, b.bought_qty, b.low_price, b.high_price, b.profit)
            for b in finding.buyers] == [
        ("p1", lots(300), lots(300), 3_000, 3_000, 299_100_000),
        ("p2", lots(300), lots(300), 3_000, 3_000, 299_100_000),
    ]  # fmt: skip
    assert (
        sha in high.reason and "'map'" in high.reason and "299100000 micro-credits" in high.reason
    )
    # the first buyer alone had not bought min_volume yet: 300/500 concentration
    assert detector.findings[0].concentration_bp == 6_000


def test_severity_rises_with_the_distance_from_one() -> None:
    def worst(price: int) -> tuple[Severity, int] | None:
        sim = _sim(_map_edited(), ask=price)
        _buy(sim, "p1", EDIT + 5 * MINUTE_US, 600, price)
        alerts = _run(sim).alerts()
        return (alerts[-1].severity, alerts[-1].score_bp) if alerts else None

    # one buyer of 600 shares is all the buying: the score is the distance from 1
    assert worst(3_000) == (Severity.HIGH, 9_970)
    assert worst(300_000) == (Severity.HIGH, 7_000)
    assert worst(450_000) == (Severity.MEDIUM, 5_500)
    assert worst(700_000) is None  # not a low price: not a bet on the edit


def test_severity_rises_with_concentration() -> None:
    def alerts(buyers: int, shares: int) -> list[Severity]:
        sim = _sim(_map_edited())
        for i in range(buyers):
            _buy(sim, f"b{i}", EDIT + (5 + i) * MINUTE_US, shares)
        return [a.severity for a in _run(sim).alerts()]

    assert alerts(2, 300)[-1] is Severity.HIGH  # two accounts: all of the buying
    # ten accounts of 60 shares: the top three are 30% of the buying, 0.3 x 0.997 -> low
    assert max(alerts(10, 60), key=lambda s: s.rank) is Severity.LOW


def test_the_same_buying_without_a_source_change_raises_nothing() -> None:
    sim = _sim(_never)
    _buy(sim, "p1", EDIT + 5 * MINUTE_US, 300)
    _buy(sim, "p2", EDIT + 7 * MINUTE_US, 300)
    assert _run(sim).alerts() == []


def test_a_source_that_showed_the_outcome_from_its_first_capture_is_no_change() -> None:
    sim = _sim(lambda source, ts: "yes" if source == "map" else "no")
    _buy(sim, "p1", EDIT + 5 * MINUTE_US, 600)
    assert _run(sim).alerts() == []


def test_buying_after_the_change_held_through_the_window_with_a_quorum_raises_nothing() -> None:
    agree: Shows = lambda source, ts: "yes" if source != "osint" and ts >= EDIT else "no"  # noqa: E731
    sim = _sim(agree)
    _buy(sim, "p1", EDIT + 2 * HOUR_US + 5 * MINUTE_US, 300)  # map and wire held 2h
    _buy(sim, "p2", EDIT + 2 * HOUR_US + 7 * MINUTE_US, 300)
    assert _run(sim).alerts() == []
    # ...and the rules agree: with the observation time at the change, they propose YES
    spec = decode_spec(synth.spec())
    captures = [
        o for o in _observations(sim) if o.fetched_at_us <= EDIT + 2 * HOUR_US + 5 * MINUTE_US
    ]
    changed = msgspec.structs.replace(spec, observation_at_us=EDIT)
    decision = evaluate(changed, captures, EDIT + 2 * HOUR_US + 5 * MINUTE_US)
    assert (decision.status, decision.outcome) == (Status.PROPOSE, 0)


def test_buying_before_the_window_has_passed_is_flagged_even_when_a_quorum_agrees() -> None:
    agree: Shows = lambda source, ts: "yes" if source != "osint" and ts >= EDIT else "no"  # noqa: E731
    sim = _sim(agree)
    _buy(sim, "p1", EDIT + 30 * MINUTE_US, 600)  # both changed, neither has held 2h yet
    alerts = _run(sim).alerts()
    assert alerts and alerts[-1].severity is Severity.HIGH and alerts[-1].accounts == ("p1",)
    assert alerts[-1].key.startswith("map@")  # the earliest change (map, before wire by id)


def test_a_change_that_one_source_alone_cannot_confirm_stays_unconfirmed_past_the_window() -> None:
    sim = _sim(_map_edited())  # map alone: it holds 4h, but the quorum is 2
    _buy(sim, "p1", EDIT + 3 * HOUR_US, 600)
    assert _run(sim).alerts()[-1].severity is Severity.HIGH


def test_a_quorum_of_one_with_no_window_confirms_at_once() -> None:
    sim = _sim(_map_edited(), window_h=0, quorum=1)
    _buy(sim, "p1", EDIT + 5 * MINUTE_US, 600)
    assert _run(sim).alerts() == []


def test_after_the_revert_the_change_is_over() -> None:
    sim = _sim(_map_edited(until=EDIT + 30 * MINUTE_US))
    _buy(sim, "p1", EDIT + 45 * MINUTE_US, 600)
    assert _run(sim).alerts() == []


def test_buying_the_other_outcome_is_not_flagged() -> None:
    sim = _sim(_map_edited(), ask=None)
    sim.account("p1", 2 * DAY_US)
    ts = EDIT + 5 * MINUTE_US
    sim.at(ts, synth.order("p1", "m", Token.YES, 3_000, lots(600), ts, TimeInForce.GTC))
    sim.account("p2", 2 * DAY_US)
    later = ts + MINUTE_US  # p2 buys NO (the unchanged answer) from p1's bid
    sim.at(later, synth.order("p2", "m", Token.NO, 997_000, lots(600), later))
    alerts = _run(sim).alerts()
    assert [a.accounts for a in alerts] == [("p1",)]  # p1 bought YES from p2, who bought NO


@pytest.mark.parametrize("keep", [1, 3])
def test_kept_captures_are_bounded_and_the_verdict_does_not_depend_on_them(keep: int) -> None:
    agree: Shows = lambda source, ts: "yes" if source != "osint" and ts >= EDIT else "no"  # noqa: E731
    for shift in (30 * MINUTE_US, 2 * HOUR_US + 5 * MINUTE_US):
        sim = _sim(agree)
        _buy(sim, "p1", EDIT + shift, 600)
        small = _run(sim, UnconfirmedParams(run_keep=keep))
        full = UnconfirmedDetector()
        for item in sim.items:
            full.feed(item)
        assert small.alerts() == full.alerts()
        runs = small._markets["m"].runs
        assert all(len(r.latest) <= keep for r in runs.values())


def test_the_suite_runs_it_and_the_watch_keys_each_change_apart() -> None:
    sim = _sim(_map_edited())
    _buy(sim, "p1", EDIT + 5 * MINUTE_US, 600)
    sim.play()
    suite = Surveillance()
    for item in sim.items:
        suite.feed(item)
    (alert,) = [a for a in suite.alerts() if a.detector == "unconfirmed"]
    key = alert_key(alert)
    assert key.startswith(alert.key + "|high|") and len(key) <= KEY_MAX
    other = msgspec.structs.replace(alert, key="map@0123456789abcdef")
    assert alert_key(other) != key  # another change, same accounts: another finding
    crowd = msgspec.structs.replace(alert, accounts=tuple(f"a{i:03d}" for i in range(99)))
    assert len(alert_key(crowd)) <= KEY_MAX
    assert alert_command(alert).key == key and alert_command(alert).severity == "high"


def _observations(sim: Sim) -> list[Observation]:
    found = []
    for item in sim.items:
        e = item.event
        if isinstance(e, ObservationRecorded):
            found.append(Observation(e.source_id, e.fetched_at_us, e.ok, e.value, e.content_sha256))
    return found


def test_observed_records_carry_the_capture() -> None:
    sim = _sim(_map_edited())
    sim.play()
    seq, sha = _change(sim)
    assert sha == hashlib.sha256(f"m/map/yes/{EDIT}".encode()).hexdigest()
    detector = UnconfirmedDetector()
    seen = []
    for item in sim.items:
        seen += [r for r in detector.tape.feed(item) if isinstance(r, Observed) and r.seq == seq]
    assert [(r.source_id, r.value, r.content_sha256, r.fetched_at_us) for r in seen] == [
        ("map", "yes", sha, EDIT)
    ]


@pytest.mark.parametrize("control", ["unconfirmed_no_change", "unconfirmed_confirmed"])
def test_the_controls_never_name_the_buyers(control: str) -> None:
    """The planted buying with no source change, or after the change held and a quorum
    agreed, names none of the buyers at any severity."""
    for seed in scenarios.SEEDS:
        stream = scenarios.build(control, seed)
        named = scenarios.flagged(scenarios.alerts_of(stream, "unconfirmed"), Severity.LOW)
        assert not {a for a in named if a.startswith("uc")}, (seed, named)
