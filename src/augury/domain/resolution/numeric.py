"""Evaluation of a numeric spec (a scalar or bucketed market): sources read numbers.

The same rules as :mod:`.evaluate`, with "the same answer" read as "within the spec's
tolerance" (docs/resolution.md, "Numeric specs"):

- A successful observation reads a number (:func:`augury.domain.scalar.parse_value` of
  its value: a JSON number, a CSV cell, an HTML text, a regex capture); one that reads
  none (or observations at one instant that disagree beyond the tolerance) is no
  answer.
- A source *settles* on the value ``a`` it read at the observation time T (its last
  reading at or before T) when every successful observation of the run around T stays
  within the tolerance of ``a`` from the run's first instant f through an instant
  ``l >= T + w`` (and ``l >= f + u`` with an update interval): the persistence window
  counts forward from T exactly as for a binary market, so a number edited for a few
  hours around T and then reverted settles nothing.
- Quorum: one value per independent owner (its earliest settled source). At each
  instant a source settles, take the median of the owners' values settled so far (the
  lower median for an even count); the owners within the tolerance of it agree. When
  ``k`` agree, propose the lower median of the agreeing owners' values, decided at that
  instant (later settlements cannot change it). When ``k`` or more owners settled and
  they cannot agree (every source settled, or the deadline passed): hold for the
  arbiters. Otherwise pending until the deadline, then the fallback.
- The value maps to an outcome: in a scalar market, the grid index of the value clamped
  to the range (:func:`augury.domain.scalar.index_of`); in a bucketed market, the bucket
  it falls in (:func:`bucket_of`).

The result never depends on the order of the input list. No I/O, no clock. Unlike a
binary spec there is no incremental evaluator yet: the process evaluates every
observation of a numeric market each time (``O(n log n)`` per observation).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Sequence

from augury.domain.resolution.evaluate import (
    NO_OBSERVATION,
    NO_RUN,
    NO_VALUE,
    Decision,
    Observation,
    SourceVerdict,
    Status,
    _by_instant,
    _hours,
    _rel,
    by_source,
    evaluate,
    pending_or_fallback,
    settles_at,
    unsettled,
)
from augury.domain.resolution.spec import HOUR_US, AnySource, Numeric, ResolutionSpec, norm_org
from augury.domain.scalar import ScalarRange, index_of, parse_value
from augury.domain.units import format_micros


def lower_median(values: Sequence[int]) -> int:
    """The median of ``values``; of an even count, the lower of the two middle ones (a
    value someone actually read, and an integer)."""
    ordered = sorted(values)
    return ordered[(len(ordered) - 1) // 2]


def bucket_of(buckets: Sequence[int], value: int) -> int:
    """The outcome of ``value`` in a bucketed market with these rising boundaries."""
    return bisect_right(buckets, value)


def outcome_of(numeric: Numeric, rng: ScalarRange | None, value: int) -> int:
    """The outcome a value resolves to: its bucket, or its scalar grid index."""
    if numeric.buckets:
        return bucket_of(numeric.buckets, value)
    if rng is None:
        raise ValueError("a numeric spec without buckets needs a scalar market's range")
    return index_of(rng, value)


def _reading(group: Sequence[Observation], tolerance: int) -> int | None:
    """The number read at one instant: the lower median of its observations, or None
    when one reads no number or they spread beyond the tolerance."""
    values = [parse_value(o.value) if o.value is not None else None for o in group]
    numbers = [v for v in values if v is not None]
    if len(numbers) != len(values) or max(numbers) - min(numbers) > tolerance:
        return None
    return lower_median(numbers)


def _show(value: int, numeric: Numeric) -> str:
    return f"{format_micros(value)} {numeric.units}"


def settle_numeric(
    spec: ResolutionSpec, numeric: Numeric, src: AnySource, obs: Sequence[Observation]
) -> SourceVerdict:
    """One source's verdict from its successful observations, sorted by ``_key``."""
    if not obs:
        return unsettled(src.id, NO_OBSERVATION)
    t_obs, tol = spec.observation_at_us, numeric.tolerance
    groups = _by_instant(obs)
    times = [g[0].fetched_at_us for g in groups]
    readings = [_reading(g, tol) for g in groups]
    n = len(groups)
    i = bisect_right(times, t_obs) - 1  # the last instant at or before T
    if i < 0:
        return unsettled(src.id, NO_RUN)
    anchor = readings[i]
    if anchor is None:
        spans = times[i] == t_obs or (i + 1 < n and readings[i + 1] is None)
        return unsettled(src.id, NO_VALUE if spans else NO_RUN)

    def holds(j: int) -> bool:
        v = readings[j]
        return v is not None and abs(v - anchor) <= tol

    if times[i] != t_obs and not (i + 1 < n and holds(i + 1)):
        return unsettled(src.id, NO_RUN)  # the run ends before T
    start = i
    while start > 0 and holds(start - 1):
        start -= 1
    first_t = times[start]
    need = settles_at(spec, src, first_t)
    j = i
    while j < n and holds(j):
        if times[j] >= need:
            evidence = tuple(o.content_sha256 for g in groups[start : j + 1] for o in g)
            note = (
                f"read {_show(anchor, numeric)} (within {_show(tol, numeric)}) in every "
                f"observation from {_rel(first_t, t_obs)} to {_rel(times[j], t_obs)} "
                f"({_hours(times[j] - first_t)})"
            )
            return SourceVerdict(src.id, None, times[j], evidence, note, anchor)
        j += 1
    note = (
        f"reads {_show(anchor, numeric)} since {_rel(first_t, t_obs)}, within "
        f"{_show(tol, numeric)} through {_rel(times[j - 1], t_obs)}; it counts once every "
        f"observation until {_rel(need, t_obs)} stays within it"
    )
    return unsettled(src.id, note)


def evaluate_numeric(
    spec: ResolutionSpec,
    observations: Iterable[Observation],
    now_us: int,
    rng: ScalarRange | None = None,
) -> Decision:
    """What the rules of numeric ``spec`` say at ``now_us``; ``rng``: the scalar market's
    range (None for a bucketed market)."""
    numeric = spec.numeric
    if numeric is None:
        raise ValueError("not a numeric spec")
    verdicts = tuple(
        settle_numeric(spec, numeric, src, mine)
        for src, mine in by_source(spec, observations, now_us)
    )
    return _decide_numeric(spec, numeric, verdicts, now_us, rng)


def _decide_numeric(
    spec: ResolutionSpec,
    numeric: Numeric,
    verdicts: tuple[SourceVerdict, ...],
    now_us: int,
    rng: ScalarRange | None,
) -> Decision:
    k, tol = spec.quorum, numeric.tolerance
    owner_of = {s.id: norm_org(s.owner) for s in spec.sources}
    first: dict[str, SourceVerdict] = {}  # each owner's earliest settled source
    for v in verdicts:
        if v.settled_at_us is None or v.value is None:
            continue
        owner = owner_of[v.source_id]
        prior = first.get(owner)
        if prior is None or (v.settled_at_us, v.source_id) < (prior.settled_at_us, prior.source_id):
            first[owner] = v
    told = "; ".join(f"{v.source_id}: {v.note}" for v in verdicts)
    instants = sorted({v.settled_at_us for v in first.values() if v.settled_at_us is not None})
    for at in instants:
        so_far = [v for v in first.values() if (v.settled_at_us or 0) <= at]
        if k < 1 or len(so_far) < k:
            continue
        middle = lower_median([v.value for v in so_far if v.value is not None])
        agree = [v for v in so_far if v.value is not None and abs(v.value - middle) <= tol]
        if len(agree) < k:
            continue
        value = lower_median([v.value for v in agree if v.value is not None])
        outcome = outcome_of(numeric, rng, value)
        ends = at + spec.challenge_window_hours * HOUR_US
        evidence = tuple(h for v in sorted(agree, key=lambda v: v.source_id) for h in v.evidence)
        why = (
            f"{len(agree)} independent owners of {len(spec.sources)} sources agree within "
            f"{_show(tol, numeric)}; their median is {_show(value, numeric)} "
            f"(outcome {outcome}). {told}"
        )
        return Decision(Status.PROPOSE, outcome, at, ends, None, verdicts, why, value, evidence)
    all_settled = len(first) == len({norm_org(s.owner) for s in spec.sources})
    if k >= 1 and len(first) >= k and (all_settled or now_us >= spec.deadline_us):
        values = ", ".join(_show(v.value, numeric) for v in first.values() if v.value is not None)
        why = (
            f"{len(first)} independent owners settled ({values}) but no {k} of them agree "
            f"within {_show(tol, numeric)}: conflicting evidence. {told}"
        )
        return Decision(Status.HOLD, sources=verdicts, explanation=why)
    return pending_or_fallback(spec, verdicts, now_us, told)


def evaluate_any(
    spec: ResolutionSpec,
    observations: Iterable[Observation],
    now_us: int,
    rng: ScalarRange | None = None,
) -> Decision:
    """The rules' decision for any spec: numeric (this module) or by expect tables
    (:func:`.evaluate.evaluate`). Adapters that explain a market's rules call this."""
    if spec.numeric is not None:
        return evaluate_numeric(spec, observations, now_us, rng)
    return evaluate(spec, observations, now_us)
