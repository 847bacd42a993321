"""Pure evaluation of a resolution spec against captured observations.

Given every observation of the spec's sources (as the fetcher journaled them) and the
current time, say whether to wait, propose an outcome, hold for the arbiters, void or
extend, with the observations (by hash) that support it and a human explanation.

The rules (docs/resolution.md):
- An observation answers only if it succeeded and its value is in the source's expect
  table. Failed observations (timeouts, 500s) are never answers and never break a run.
- A source *settles* on outcome o at l when, f being the first observation of the run
  of answers o that contains the observation time T, every successful observation in
  [f, l] answers o and l >= T + w (w: the persistence window), and, when the source has
  an update interval u, also l >= f + u. The window counts FORWARD from T: an edit
  shown for hours before T and reverted soon after settles nothing; at most one outcome
  can settle per source.
- Quorum: k sources settled on the same outcome -> propose it. Two outcomes each with k
  -> hold (conflicting evidence). Otherwise pending until the deadline, then the
  fallback. Only observations up to min(now, deadline) count, so a decision made at
  the deadline never changes.

The result never depends on the order of the input list. No I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from enum import StrEnum

import msgspec

from augury.domain.resolution.spec import (
    HOUR_US,
    AnySource,
    Extend,
    Hold,
    ResolutionSpec,
    Void,
    norm_org,
    update_interval_us,
)

OBSERVATIONS_MAX = 1_000_000
"""Bound on the input (a loop limit): a fetcher polling every minute for a year is less."""


class Observation(msgspec.Struct, frozen=True):
    """One capture of a source: the raw bytes live elsewhere, addressed by their hash."""

    source_id: str
    fetched_at_us: int
    ok: bool
    value: str | None
    """The answer read from the content (compared to the source's expect table), or None."""
    content_sha256: str


class Status(StrEnum):
    PENDING = "pending"
    PROPOSE = "propose"
    HOLD = "hold"
    VOID = "void"
    EXTEND = "extend"


class SourceVerdict(msgspec.Struct, frozen=True):
    source_id: str
    outcome: int | None
    """The outcome the source settled on, or None."""
    settled_at_us: int | None
    evidence: tuple[str, ...]
    """Hashes of the observations that support the settlement (f..l), in time order."""
    note: str
    value: int | None = None
    """A numeric spec's settled source: the number it held (micros of the unit)."""


class Decision(msgspec.Struct, frozen=True):
    status: Status
    outcome: int | None = None
    """For ``propose``: the outcome index."""
    decided_at_us: int | None = None
    """For ``propose``: when the quorum was met (the k-th settlement)."""
    challenge_ends_at_us: int | None = None
    extend_to_us: int | None = None
    """For ``extend``: the new observation time."""
    sources: tuple[SourceVerdict, ...] = ()
    explanation: str = ""
    value: int | None = None
    """A numeric spec's ``propose``: the median value of the agreeing owners (micros of
    the unit, before clamping to a scalar market's range)."""
    evidence: tuple[str, ...] = ()
    """A numeric spec's ``propose``: the hashes of the agreeing sources' evidence."""


class Change(msgspec.Struct, frozen=True):
    """A source's read value changed between two successful observations."""

    source_id: str
    at_us: int
    from_value: str | None
    to_value: str | None
    from_sha256: str
    to_sha256: str


def _key(o: Observation) -> tuple[str, int, str, bool, str]:
    """A total order on observations, so nothing depends on the input order."""
    return (o.source_id, o.fetched_at_us, o.content_sha256, o.ok, o.value or "")


def _hours(us: int) -> str:
    """A duration for humans, in whole hours and minutes (no float in the domain)."""
    sign, us = ("-", -us) if us < 0 else ("", us)
    h, rest = divmod(us, HOUR_US)
    m = rest // 60_000_000
    return f"{sign}{h}h{m:02d}m" if m else f"{sign}{h}h"


def _rel(t_us: int, t_obs: int) -> str:
    """A time relative to the observation time, e.g. ``T-6h`` or ``T+11h``."""
    d = t_us - t_obs
    return "T" if d == 0 else f"T{'+' if d > 0 else ''}{_hours(d)}"


def _answer_at(src: AnySource, group: Sequence[Observation]) -> int | None:
    """The outcome answered by the successful observations at one instant, or None when
    any value is unmapped or they disagree."""
    table = {e.value: e.outcome for e in src.expect}
    answers = {table.get(o.value) if o.value is not None else None for o in group}
    if len(answers) != 1:
        return None
    return answers.pop()


def _by_instant(obs: Sequence[Observation]) -> list[list[Observation]]:
    groups: list[list[Observation]] = []
    for o in obs:
        if groups and groups[-1][0].fetched_at_us == o.fetched_at_us:
            groups[-1].append(o)
        else:
            groups.append([o])
    return groups


def settle(spec: ResolutionSpec, src: AnySource, obs: Sequence[Observation]) -> SourceVerdict:
    """The verdict of one source from its successful observations, sorted by :func:`_key`."""
    t_obs = spec.observation_at_us
    if not obs:
        return unsettled(src.id, NO_OBSERVATION)
    groups = _by_instant(obs)
    answers = [_answer_at(src, g) for g in groups]
    # The run of equal answers that contains the observation time (at most one does).
    start = 0
    for i in range(1, len(groups) + 1):
        if i < len(groups) and answers[i] == answers[start]:
            continue
        first_t, last_t = groups[start][0].fetched_at_us, groups[i - 1][0].fetched_at_us
        if first_t <= t_obs <= last_t:
            return _verdict_in_run(spec, src, groups[start:i], answers[start])
        start = i
    return unsettled(src.id, NO_RUN)


def settles_at(spec: ResolutionSpec, src: AnySource, first_t: int) -> int:
    """The earliest instant at which a run that starts at ``first_t`` and contains the
    observation time settles: the observation time plus the window, and at least one
    update interval (where the source has one) after the answer first appeared."""
    need = spec.observation_at_us + spec.persistence.window_us
    interval = update_interval_us(spec, src)
    return need if interval is None else max(need, first_t + interval)


def _verdict_in_run(
    spec: ResolutionSpec,
    src: AnySource,
    run: Sequence[Sequence[Observation]],
    outcome: int | None,
) -> SourceVerdict:
    first_t, t_obs = run[0][0].fetched_at_us, spec.observation_at_us
    if outcome is None:
        return unsettled(src.id, NO_VALUE)
    need = settles_at(spec, src, first_t)
    for j, g in enumerate(run):
        if g[0].fetched_at_us >= need:
            evidence = tuple(o.content_sha256 for gg in run[: j + 1] for o in gg)
            return settled(src.id, outcome, first_t, g[0].fetched_at_us, t_obs, evidence)
    return holding(src.id, outcome, first_t, run[-1][0].fetched_at_us, t_obs, need)


# The verdicts and their words, shared with incremental.py (which must say the same).
NO_OBSERVATION = "no successful observation"
NO_RUN = "no run of equal answers spans the observation time yet"
NO_VALUE = "at the observation time it read no expected value"


def unsettled(source_id: str, note: str) -> SourceVerdict:
    return SourceVerdict(source_id, None, None, (), note)


def settled(
    source_id: str, outcome: int, first_t: int, at: int, t_obs: int, evidence: tuple[str, ...]
) -> SourceVerdict:
    """Settled on ``outcome`` at ``at``: every answer since ``first_t`` was it."""
    note = (
        f"answered outcome {outcome} in every observation from {_rel(first_t, t_obs)} "
        f"to {_rel(at, t_obs)} ({_hours(at - first_t)})"
    )
    return SourceVerdict(source_id, outcome, at, evidence, note)


def holding(
    source_id: str, outcome: int, first_t: int, last_t: int, t_obs: int, need: int
) -> SourceVerdict:
    """Answering ``outcome`` since ``first_t``, not yet through ``need``."""
    note = (
        f"answers outcome {outcome} since {_rel(first_t, t_obs)}, unchanged through "
        f"{_rel(last_t, t_obs)}; it counts once every observation until {_rel(need, t_obs)} "
        "shows it"
    )
    return unsettled(source_id, note)


def by_source(
    spec: ResolutionSpec, observations: Iterable[Observation], now_us: int
) -> list[tuple[AnySource, list[Observation]]]:
    """Each source (by id) with its successful observations up to ``min(now, deadline)``,
    sorted by :func:`_key`: what every evaluation reads (numeric specs too)."""
    ids = [s.id for s in spec.sources]
    if len(set(ids)) != len(ids):
        # One source's observations would count twice towards the quorum; lint rejects it.
        raise ValueError("resolution spec has duplicate source ids; lint it first")
    obs = sorted(observations, key=_key)
    if len(obs) > OBSERVATIONS_MAX:
        raise ValueError(f"more than {OBSERVATIONS_MAX} observations")
    cutoff = min(now_us, spec.deadline_us)
    return [
        (src, [o for o in obs if o.source_id == src.id and o.ok and o.fetched_at_us <= cutoff])
        for src in sorted(spec.sources, key=lambda s: s.id)
    ]


def evaluate(spec: ResolutionSpec, observations: Iterable[Observation], now_us: int) -> Decision:
    """What the rules say at ``now_us`` given every observation so far."""
    verdicts = [settle(spec, src, mine) for src, mine in by_source(spec, observations, now_us)]
    return _decide(spec, tuple(verdicts), now_us)


def _decide(spec: ResolutionSpec, verdicts: tuple[SourceVerdict, ...], now_us: int) -> Decision:
    k = spec.quorum
    # The quorum counts independent owners, not sources: one organization's editor could
    # change all of its sources at once, so two of them agreeing are one vote (its
    # earliest settlement). The linter warns about such specs; this makes them safe.
    owner_of = {s.id: norm_org(s.owner) for s in spec.sources}
    by_owner: dict[int, dict[str, int]] = {}
    for v in verdicts:
        if v.outcome is not None and v.settled_at_us is not None:
            votes = by_owner.setdefault(v.outcome, {})
            owner = owner_of[v.source_id]
            votes[owner] = min(votes.get(owner, v.settled_at_us), v.settled_at_us)
    settled = {o: list(votes.values()) for o, votes in by_owner.items()}
    met = sorted(o for o, times in settled.items() if k >= 1 and len(times) >= k)
    told = "; ".join(f"{v.source_id}: {v.note}" for v in verdicts)
    if len(met) > 1:
        why = f"outcomes {met} each reached the quorum of {k}: conflicting evidence. {told}"
        return Decision(Status.HOLD, sources=verdicts, explanation=why)
    if met:
        outcome = met[0]
        decided = sorted(settled[outcome])[k - 1]
        ends = decided + spec.challenge_window_hours * HOUR_US
        agree, n = len(settled[outcome]), len(spec.sources)
        why = f"{agree} independent owners of {n} sources settled on outcome {outcome}. {told}"
        return Decision(Status.PROPOSE, outcome, decided, ends, None, verdicts, why)
    return pending_or_fallback(spec, verdicts, now_us, told)


def pending_or_fallback(
    spec: ResolutionSpec, verdicts: tuple[SourceVerdict, ...], now_us: int, told: str
) -> Decision:
    """No quorum yet: wait until the deadline, then the spec's fallback."""
    k, t = spec.quorum, spec.observation_at_us
    if now_us < spec.deadline_us:
        until = _rel(spec.deadline_us, t)
        why = f"waiting for {k} sources to agree until {until} (T: observation time). {told}"
        return Decision(Status.PENDING, sources=verdicts, explanation=why)
    why = f"no quorum of {k} by the deadline {_rel(spec.deadline_us, t)}; fallback applies. {told}"
    fb = spec.fallback
    if isinstance(fb, Extend):
        to = spec.observation_at_us + fb.by_hours * HOUR_US
        return Decision(Status.EXTEND, extend_to_us=to, sources=verdicts, explanation=why)
    status = Status.VOID if isinstance(fb, Void) else Status.HOLD
    assert isinstance(fb, Void | Hold)
    return Decision(status, sources=verdicts, explanation=why)


def changes(observations: Iterable[Observation]) -> list[Change]:
    """Every change of read value per source between consecutive successful observations
    (failed ones are skipped: they are not answers), ordered by source then time."""
    out: list[Change] = []
    prev: Observation | None = None
    for o in sorted(observations, key=_key):
        if not o.ok:
            continue
        if prev is not None and prev.source_id == o.source_id and prev.value != o.value:
            out.append(
                Change(
                    o.source_id,
                    o.fetched_at_us,
                    prev.value,
                    o.value,
                    prev.content_sha256,
                    o.content_sha256,
                )
            )
        prev = o
    return out
