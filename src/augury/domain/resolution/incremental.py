"""The decision of :func:`evaluate.evaluate`, kept up to date one observation at a time.

``evaluate`` sorts and scans every observation of a market; run after each new
observation (as the process does once the market has closed), a market polled every
minute for weeks would cost time quadratic in its observations. An ``Evaluator`` holds,
per source, the successful observations up to the deadline grouped by instant (sorted,
so a new one is one binary search and, in time order, an append), each group's answer,
and the source's last verdict. A new observation invalidates only its own source's
verdict, and not even that when the source has settled before the observation's instant
(later observations cannot change a settlement, see below). Recomputing a verdict
locates the run around the observation time by binary search and walks that run only.

Why a settlement stands: a source settles at the first instant ``l >= max(T + w, f + u)``
(``u`` the source's update interval, if any) of the run of equal answers that contains
the observation time ``T``; everything the verdict holds (the run's start ``f``, its
groups up to ``l``, their hashes) lies at or before ``l``. An observation after ``l``
touches none of it.

Equality with ``evaluate`` is the contract (a hypothesis test feeds both the same
observations); the process falls back to ``evaluate`` when asked about an instant
earlier than an observation it holds (``evaluate`` would ignore that observation).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort

from augury.domain.resolution.evaluate import (
    NO_OBSERVATION,
    NO_RUN,
    NO_VALUE,
    Decision,
    Observation,
    SourceVerdict,
    _answer_at,
    _decide,
    holding,
    settled,
    settles_at,
    unsettled,
)
from augury.domain.resolution.spec import AnySource, ResolutionSpec


def _within(o: Observation) -> tuple[str, str]:
    """The order of one source's observations at one instant (``evaluate._key``'s tail:
    every observation held here is successful)."""
    return (o.content_sha256, o.value or "")


class _Track:
    """One source's successful observations up to the deadline, grouped by instant."""

    __slots__ = ("answers", "groups", "times", "verdict")

    def __init__(self) -> None:
        self.times: list[int] = []  # distinct instants, ascending
        self.groups: list[list[Observation]] = []  # the observations at each instant
        self.answers: list[int | None] = []  # the outcome each instant answers, or None
        self.verdict: SourceVerdict | None = None  # None: recompute before use


class Evaluator:
    """Feed it a market's observations in the order they were recorded; ask ``decide``."""

    def __init__(self, spec: ResolutionSpec, spec_version: int = 0) -> None:
        ids = [s.id for s in spec.sources]
        if len(set(ids)) != len(ids):
            raise ValueError("resolution spec has duplicate source ids; lint it first")
        self.spec = spec
        self.spec_version = spec_version
        self.count = 0
        """How many observations were fed (those ignored included)."""
        self.latest_us = 0
        """The latest instant among the observations fed."""
        self._sources: dict[str, AnySource] = {s.id: s for s in spec.sources}
        self._order = sorted(ids)
        self._tracks: dict[str, _Track] = {sid: _Track() for sid in self._order}

    def add(self, o: Observation) -> None:
        self.count += 1
        self.latest_us = max(self.latest_us, o.fetched_at_us)
        src = self._sources.get(o.source_id)
        if src is None or not o.ok or o.fetched_at_us > self.spec.deadline_us:
            return  # evaluate() never counts it
        track = self._tracks[o.source_id]
        t = o.fetched_at_us
        i = bisect_left(track.times, t)
        if i < len(track.times) and track.times[i] == t:
            insort(track.groups[i], o, key=_within)
            track.answers[i] = _answer_at(src, track.groups[i])
        else:
            track.times.insert(i, t)
            track.groups.insert(i, [o])
            track.answers.insert(i, _answer_at(src, [o]))
        settled = track.verdict.settled_at_us if track.verdict is not None else None
        if settled is None or t <= settled:
            track.verdict = None

    def decide(self, now_us: int) -> Decision:
        """What ``evaluate(spec, observations fed, now_us)`` says, for ``now_us`` at or
        after every observation fed (the caller checks ``latest_us``)."""
        if now_us < self.latest_us:
            raise ValueError("decide() needs now_us >= every observation's instant")
        verdicts: list[SourceVerdict] = []
        for sid in self._order:
            track = self._tracks[sid]
            if track.verdict is None:
                track.verdict = _settle(self.spec, self._sources[sid], track)
            verdicts.append(track.verdict)
        return _decide(self.spec, tuple(verdicts), now_us)


def _settle(spec: ResolutionSpec, src: AnySource, track: _Track) -> SourceVerdict:
    """``evaluate.settle`` over a track: the same verdict, the same words."""
    times, answers = track.times, track.answers
    n = len(times)
    if n == 0:
        return unsettled(src.id, NO_OBSERVATION)
    t_obs = spec.observation_at_us
    i = bisect_right(times, t_obs) - 1  # the last instant at or before T
    if i < 0:
        return unsettled(src.id, NO_RUN)
    outcome = answers[i]
    if times[i] != t_obs and not (i + 1 < n and answers[i + 1] == outcome):
        return unsettled(src.id, NO_RUN)  # the run ends before T
    if outcome is None:
        return unsettled(src.id, NO_VALUE)
    start = i
    while start > 0 and answers[start - 1] == outcome:
        start -= 1
    first_t = times[start]
    need = settles_at(spec, src, first_t)
    j = i  # no instant before i is at or after need (they are all at or before T)
    while j < n and answers[j] == outcome:
        if times[j] >= need:
            evidence = tuple(o.content_sha256 for g in track.groups[start : j + 1] for o in g)
            return settled(src.id, outcome, first_t, times[j], t_obs, evidence)
        j += 1
    return holding(src.id, outcome, first_t, times[j - 1], t_obs, need)
