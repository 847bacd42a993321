"""One scenario per detector (honest noise, with or without the planted pattern) and the
precision/recall helper that scores a detector over several seeds.

An account counts as flagged by a detector when one of its alerts of at least
``MIN_SEVERITY`` names it; precision and recall are over accounts, summed across the
planted runs and the noise-only runs of every seed.
"""

from __future__ import annotations

import random
from collections.abc import Callable

import msgspec

from augury.domain.scalar import ScalarRange
from augury.domain.surveillance import Alert, Context, Severity, StreamItem, Surveillance
from augury.domain.surveillance.model import HOUR_US, MINUTE_US
from augury.domain.units import ONE

from . import synth
from .synth import Sim

MIN_SEVERITY = Severity.MEDIUM
SEEDS = (1, 2, 3, 4, 5)
HONEST = 20


class Stream(msgspec.Struct):
    items: list[StreamItem]
    context: Context
    planted: set[str]


Builder = Callable[[Sim, random.Random, bool, bool], set[str]]


def _longshot(sim: Sim, rng: random.Random, plant: bool, subtle: bool) -> set[str]:
    sim.market("map", owners=("ISW",))
    synth.noise(sim, rng, "map", synth.traders(sim, rng, HONEST), fair=0.004)
    if plant:
        return synth.plant_longshot(sim, rng, "map", subtle)
    sim.observe("map", 0, synth.CHANGE)  # an honest source change, nobody front-ran it
    return set()


def _affiliation(sim: Sim, rng: random.Random, plant: bool, subtle: bool) -> set[str]:
    sim.market("m", owners=("ISW",))
    synth.noise(sim, rng, "m", synth.traders(sim, rng, HONEST), fair=0.6)
    return synth.plant_affiliated(sim, rng, "m", subtle) if plant else set()


def _wash(sim: Sim, rng: random.Random, plant: bool, subtle: bool) -> set[str]:
    sim.market("m")
    synth.noise(sim, rng, "m", synth.traders(sim, rng, HONEST), fair=0.5)
    return synth.plant_wash(sim, rng, "m", 0.5, subtle) if plant else set()


def _spoofing(sim: Sim, rng: random.Random, plant: bool, subtle: bool) -> set[str]:
    sim.market("m")
    synth.noise(sim, rng, "m", synth.traders(sim, rng, HONEST), fair=0.5)
    synth.nervous_quoter(sim, rng, "m", 0.5)
    return synth.plant_spoofer(sim, rng, "m", subtle) if plant else set()


def _spoofing_by_amending(sim: Sim, rng: random.Random, plant: bool, subtle: bool) -> set[str]:
    sim.market("m")
    synth.noise(sim, rng, "m", synth.traders(sim, rng, HONEST), fair=0.5)
    synth.nervous_quoter(sim, rng, "m", 0.5)
    return synth.plant_spoofer(sim, rng, "m", subtle, by_amending=True) if plant else set()


def _last_minute(sim: Sim, rng: random.Random, plant: bool, subtle: bool) -> set[str]:
    sim.market("m", liquidity=200 * ONE)
    # the LMSR maker prices every trade (slow: decimal), so this stream is sparser
    synth.noise(sim, rng, "m", synth.traders(sim, rng, HONEST), fair=0.965, gap_s=60.0)
    return synth.plant_last_minute(sim, rng, "m", subtle) if plant else set()


EDIT = synth.START + 2 * HOUR_US  # the map shows "yes" from here...
REVERT = EDIT + 3 * HOUR_US  # ...to here; the other two sources never do (window 2h)


def _edited(source: str, ts: int) -> str:
    return "yes" if source == "map" and EDIT <= ts < REVERT else "no"


def _unconfirmed(sim: Sim, rng: random.Random, plant: bool, subtle: bool) -> set[str]:
    """The map is edited to YES for three hours; planted accounts buy YES cheaply in it."""
    sim.market("map", spec=synth.spec())
    synth.noise(sim, rng, "map", synth.traders(sim, rng, HONEST), fair=0.004)
    synth.poll(sim, "map", _edited)
    return synth.plant_unconfirmed(sim, rng, "map", EDIT, REVERT, subtle) if plant else set()


def _no_change(sim: Sim, rng: random.Random, plant: bool, subtle: bool) -> set[str]:
    """Control: the same buying, but no source ever changes. Nothing is planted."""
    sim.market("map", spec=synth.spec())
    synth.noise(sim, rng, "map", synth.traders(sim, rng, HONEST), fair=0.004)
    synth.poll(sim, "map", lambda source, ts: "no")
    if plant:
        synth.plant_unconfirmed(sim, rng, "map", EDIT, REVERT, subtle)
    return set()


def _confirmed(sim: Sim, rng: random.Random, plant: bool, subtle: bool) -> set[str]:
    """Control: every source changes to YES at EDIT and stays; the same buying starts once
    that held through the 2h window (10 minutes after). Nothing is planted."""
    sim.market("map", spec=synth.spec())
    synth.noise(sim, rng, "map", synth.traders(sim, rng, HONEST), fair=0.004)
    synth.poll(sim, "map", lambda source, ts: "yes" if ts >= EDIT else "no")
    if plant:
        after = EDIT + 2 * HOUR_US + 10 * MINUTE_US
        synth.plant_unconfirmed(sim, rng, "map", after, after + 3 * HOUR_US, subtle)
    return set()


SCENARIOS: dict[str, Builder] = {
    "longshot": _longshot,
    "affiliation": _affiliation,
    "wash": _wash,
    "spoofing": _spoofing,
    "spoofing_by_amending": _spoofing_by_amending,
    "last_minute": _last_minute,
    "unconfirmed": _unconfirmed,
    "unconfirmed_no_change": _no_change,
    "unconfirmed_confirmed": _confirmed,
}
DETECTOR = {
    "unconfirmed_no_change": "unconfirmed",
    "unconfirmed_confirmed": "unconfirmed",
    "spoofing_by_amending": "spoofing",
}
"""The detector a scenario tests, where its name is not the detector's (the controls)."""


def detector_of(scenario: str) -> str:
    return DETECTOR.get(scenario, scenario)


def build(
    detector: str,
    seed: int,
    plant: bool = True,
    subtle: bool = False,
    scalar: ScalarRange | None = None,
) -> Stream:
    """``scalar``: every market of the scenario is a scalar market of that range (its
    LONG side traded where the scenario trades YES)."""
    sim = Sim()
    sim.scalar = scalar
    rng = random.Random(f"{detector}-{seed}")
    planted = SCENARIOS[detector](sim, rng, plant, subtle)
    sim.play()
    return Stream(sim.items, sim.context(), planted)


def alerts_of(stream: Stream, detector: str | None = None) -> list[Alert]:
    surveillance = Surveillance(stream.context)
    for item in stream.items:
        surveillance.feed(item)
    return [a for a in surveillance.alerts() if detector is None or a.detector == detector]


def flagged(alerts: list[Alert], minimum: Severity = MIN_SEVERITY) -> set[str]:
    return {a for alert in alerts if alert.severity.rank >= minimum.rank for a in alert.accounts}


class Score(msgspec.Struct):
    detector: str
    tp: int = 0
    fp: int = 0
    fn: int = 0
    noise_alerts: int = 0  # alerts at MIN_SEVERITY or above on noise-only streams
    noise_low: int = 0  # low-severity alerts on noise-only streams (not counted above)
    planted_severity: dict[str, int] = {}  # severity of alerts on planted streams -> count
    streams: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0


def score(scenario: str, seeds: tuple[int, ...] = SEEDS, subtle: bool = False) -> Score:
    """Precision and recall of the scenario's detector over planted and noise-only runs
    of ``seeds``."""
    result = Score(scenario + (" (subtle)" if subtle else ""))
    for seed in seeds:
        for plant in (True,) if subtle else (True, False):
            stream = build(scenario, seed, plant, subtle)
            alerts = alerts_of(stream, detector_of(scenario))
            named = flagged(alerts)
            result.tp += len(named & stream.planted)
            result.fp += len(named - stream.planted)
            result.fn += len(stream.planted - named)
            result.streams += 1
            if not plant:
                result.noise_alerts += sum(a.severity.rank >= MIN_SEVERITY.rank for a in alerts)
                result.noise_low += sum(a.severity.rank < MIN_SEVERITY.rank for a in alerts)
            else:
                for alert in alerts:
                    key = alert.severity.value
                    result.planted_severity[key] = result.planted_severity.get(key, 0) + 1
    return result
