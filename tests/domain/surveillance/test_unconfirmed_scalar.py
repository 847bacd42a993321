"""The ``unconfirmed`` detector on scalar markets (numeric specs): one source edits its
number beyond the tolerance for a few hours and accounts buy the direction of the edit
cheaply; the controls (no edit, buying after confirmation, an edit within the
tolerance, buying against the edit) raise nothing at medium or above."""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest

from augury.domain.commands import CreateMarket, TimeInForce, Token
from augury.domain.events import ObservationRecorded
from augury.domain.scalar import ScalarRange
from augury.domain.surveillance import Severity, UnconfirmedDetector
from augury.domain.surveillance.model import DAY_US, HOUR_US, MINUTE_US, SECOND_US
from augury.domain.surveillance.unconfirmed import Finding
from augury.domain.units import ONE

from . import synth
from .synth import CLOSE, START, T0, TICK, Sim, lots

SHIPS = ScalarRange(low=0, high=1_000 * ONE, step=ONE, units="ships")
EDIT = START + 2 * HOUR_US
REVERT = EDIT + 3 * HOUR_US
Shows = Callable[[str, int], str]


def ships_spec(window_h: int = 2, quorum: int = 2, tolerance: int = 5 * ONE) -> str:
    """Three owners count the ships (a JSON number each): the war-map case with numbers."""
    return synth.spec(window_h, quorum, numeric={"units": "ships", "tolerance": tolerance})


def edited(honest: str, edit: str, start: int = EDIT, end: int = REVERT) -> Shows:
    """Every source reads ``honest``; the map reads ``edit`` from ``start`` to ``end``."""
    return lambda source, ts: edit if source == "map" and start <= ts < end else honest


def world(shows: Shows, fair: float, seed: int = 1, honest: bool = True) -> Sim:
    """A scalar market of 0..1,000 ships traded around ``fair`` (LONG's price) by 20
    honest accounts, its sources captured every 10 minutes."""
    rng = random.Random(seed)
    sim = Sim()
    sim.scalar = SHIPS
    sim.market("m", spec=ships_spec())
    if honest:
        synth.noise(sim, rng, "m", synth.traders(sim, rng, 20), fair=fair, drift=0.1)
    synth.poll(sim, "m", shows)
    return sim


def plant(
    sim: Sim,
    token: Token,
    price: int,
    start: int = EDIT,
    seed: int = 1,
    n: int = 3,
    quote: bool = True,
) -> set[str]:
    """``n`` young accounts buy ``token`` (LONG is the book's YES) near ``price`` in the
    first 1.5 hours from ``start``: four to seven bids of 150-400 shares, and as many
    takes of as much up to 10 cents above ``price`` (from a quoter a cent above it)."""
    rng = random.Random(seed * 7919)
    names = {f"uc{i}" for i in range(n)}
    # a quoter who does not watch the sources: an ask of ``token`` a cent above ``price``
    if quote:
        sim.account("quoter", 300 * DAY_US)
    other = Token.NO if token is Token.YES else Token.YES
    ask = ONE - price - 10 * TICK
    if quote:
        order = synth.order("quoter", "m", other, ask, lots(10_000), start, TimeInForce.GTC)
        sim.at(start, order)
    for name in sorted(names):
        sim.account(name, rng.randint(1, 5) * DAY_US)
        for _ in range(rng.randint(4, 7)):
            ts = start + rng.randint(1, 90) * MINUTE_US
            qty = lots(rng.randint(150, 400))
            p = price + rng.choice((-1, 0, 1)) * TICK
            sim.at(ts, synth.order(name, "m", token, p, qty, ts, TimeInForce.GTD))
            take = ts + SECOND_US
            sim.at(take, synth.order(name, "m", token, p + 100 * TICK, qty, take))
    return names


def run(sim: Sim) -> UnconfirmedDetector:
    sim.play()
    detector = UnconfirmedDetector()
    for item in sim.items:
        detector.feed(item)
    return detector


def serious(detector: UnconfirmedDetector) -> set[str]:
    medium = Severity.MEDIUM.rank
    return {
        a for alert in detector.alerts() if alert.severity.rank >= medium for a in alert.accounts
    }


def first_capture(sim: Sim, source: str, value: str) -> tuple[int, str]:
    for item in sim.items:
        e = item.event
        if isinstance(e, ObservationRecorded) and e.source_id == source and e.value == value:
            return item.seq, e.content_sha256
    raise AssertionError("no such capture")


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_buying_long_on_an_edited_number_is_flagged_high(seed: int) -> None:
    """The sources count 100 ships (LONG at 0.1); the map says 950 for three hours (a
    LONG share would pay 0.95); three young accounts buy LONG at about 0.1 in it."""
    sim = world(edited("100", "950"), fair=0.1, seed=seed)
    planted = plant(sim, Token.YES, 100_000, seed=seed)
    detector = run(sim)
    seq, sha = first_capture(sim, "map", "950")
    high = [a for a in detector.alerts() if a.severity is Severity.HIGH]
    assert high, [a.reason for a in detector.alerts()]
    assert set(high[-1].accounts) == planted  # exactly them at the worst
    # an honest account that bought early in the edit may be named in an early alert
    # beside the first planted buyer (the known false positive, docs/surveillance.md)
    assert len(serious(detector) - planted) <= 1
    assert high[-1].key == f"map@{sha[:16]}" and seq in high[-1].evidence
    finding: Finding = detector.findings[-1]
    assert (finding.market, finding.source, finding.outcome) == ("m", "map", 0)  # LONG
    assert (finding.value, finding.reference) == (950 * ONE, 100 * ONE)
    assert finding.target == 950_000 and finding.change_sha256 == sha
    for b in finding.buyers:
        assert b.net_qty >= lots(10) and b.low_price <= b.high_price <= 201_000
        # the profit if the edit held: every share bought pays 0.95
        assert 0 < b.profit <= b.bought_qty * (950_000 - b.low_price) // ONE
    assert "950 ships" in high[-1].reason and "100 ships" in high[-1].reason
    assert "Distance from 0.95 " in high[-1].reason


def test_an_exact_scenario_names_quantities_prices_and_profit() -> None:
    sim = world(edited("200", "900"), fair=0.2, honest=False)
    sim.account("ann", 300 * DAY_US)
    rest = START + MINUTE_US
    ask = synth.order("ann", "m", Token.NO, ONE - 200_000, lots(5_000), rest, TimeInForce.GTC)
    sim.at(rest, ask)  # an ask of LONG at 0.2
    for name, minute in (("p1", 5), ("p2", 7)):
        sim.account(name, 2 * DAY_US)
        ts = EDIT + minute * MINUTE_US
        sim.at(ts, synth.order(name, "m", Token.YES, 200_000, lots(300), ts))
    detector = run(sim)
    alert = detector.alerts()[-1]
    assert (alert.severity, alert.accounts) == (Severity.HIGH, ("p1", "p2"))
    f = detector.findings[-1]
    assert (f.distance_bp, f.concentration_bp, f.score_bp) == (7_000, 10_000, 7_000)
    assert [(b.account, b.net_qty, b.low_price, b.profit) for b in f.buyers] == [
        ("p1", lots(300), 200_000, 210_000_000),  # 300 shares x (0.9 - 0.2)
        ("p2", lots(300), 200_000, 210_000_000),
    ]


def test_buying_short_on_a_number_edited_down_is_flagged() -> None:
    """The sources count 900 (LONG at 0.9, SHORT at 0.1); the map says 50: a SHORT share
    would pay 0.95. Accounts buy SHORT at about 0.1."""
    sim = world(edited("900", "50"), fair=0.9)
    planted = plant(sim, Token.NO, 100_000)
    detector = run(sim)
    high = [a for a in detector.alerts() if a.severity is Severity.HIGH]
    assert high and set(high[-1].accounts) == planted
    assert detector.findings[-1].outcome == 1 and detector.findings[-1].target == 950_000


def test_controls_raise_nothing_serious() -> None:
    # no edit: the same buying
    sim = world(edited("200", "200"), fair=0.2)
    plant(sim, Token.YES, 200_000)
    assert run(sim).alerts() == []
    # an edit within the tolerance (5 ships)
    sim = world(edited("200", "204"), fair=0.2)
    plant(sim, Token.YES, 200_000)
    assert run(sim).alerts() == []
    # an edit beyond the range where the others already are (both clamp to 1,000 ships)
    sim = world(edited("1200", "1500"), fair=0.9)
    plant(sim, Token.YES, 100_000)
    assert run(sim).alerts() == []
    # buying against the edit (SHORT while the map says more)
    sim = world(edited("200", "900"), fair=0.2)
    buyers = plant(sim, Token.NO, 800_000, quote=False)
    assert not any(set(a.accounts) & buyers for a in run(sim).alerts())
    # every source moves to 900 and stays: the buying starts after it held through the
    # 2-hour window with a quorum of 2
    after = EDIT + 2 * HOUR_US + 10 * MINUTE_US
    sim = world(lambda s, ts: "900" if ts >= EDIT else "200", fair=0.2)
    buyers = plant(sim, Token.YES, 200_000, start=after)
    detector = run(sim)
    assert serious(detector) == set()
    assert not any(set(a.accounts) & buyers for a in detector.alerts())


def bucketed(shows: Shows) -> Sim:
    """A bucketed market (fewer than 300 ships, 300-600, 600 or more) on the same sources,
    an ask of "600 or more" at 0.02 resting, two accounts buying it 5 and 7 minutes
    into the map's edit."""
    sim = Sim()
    sim.account("creator", 400 * DAY_US)
    numeric = {"units": "ships", "tolerance": 5 * ONE, "buckets": [300 * ONE, 600 * ONE]}
    command = CreateMarket(
        "m", "creator", "How many ships?", ("<300", "300-600", ">=600"), CLOSE,
        categorical=True, spec=synth.spec(numeric=numeric),
    )  # fmt: skip
    assert sim.run(command, T0)
    synth.poll(sim, "m", shows)
    sim.account("ann", 300 * DAY_US)
    rest = START + MINUTE_US
    ask = synth.order("ann", "m", Token.NO, ONE - 20_000, lots(5_000), rest, TimeInForce.GTC,
                      outcome=2)  # fmt: skip
    sim.at(rest, ask)
    for name, minute in (("p1", 5), ("p2", 7)):
        sim.account(name, 2 * DAY_US)
        ts = EDIT + minute * MINUTE_US
        sim.at(ts, synth.order(name, "m", Token.YES, 20_000, lots(300), ts, outcome=2))
    return sim


def test_a_bucketed_market_flags_buying_the_bucket_an_edit_moved_to() -> None:
    detector = run(bucketed(edited("100", "900")))
    alert = detector.alerts()[-1]
    assert (alert.severity, alert.accounts) == (Severity.HIGH, ("p1", "p2"))
    f = detector.findings[-1]
    assert (f.outcome, f.value, f.reference, f.target) == (2, 900 * ONE, 100 * ONE, ONE)
    assert f.distance_bp == 9_800 and f.buyers[0].profit == 294_000_000
    # an edit beyond the tolerance that stays in the same bucket moves no bet
    assert run(bucketed(edited("100", "250"))).alerts() == []
