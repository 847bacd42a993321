"""The resolution-spec linter: run when a market is created or its spec edited.

Each finding has a severity (an ``error`` rejects the spec, a ``warning`` informs), a
stable code (API: do not rename) and a message a creator can act on, naming the field.
Pure: it parses URLs and compiles regular expressions (with RE2, :mod:`.patterns`) but
never fetches anything.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from enum import StrEnum
from itertools import pairwise
from urllib.parse import urlsplit

import msgspec

from augury.domain import scalar
from augury.domain.resolution.patterns import pattern_problem
from augury.domain.resolution.spec import (
    HOUR_US,
    AnySource,
    AttestationSource,
    CsvSource,
    Extend,
    GeoJsonSource,
    HtmlSource,
    HttpJsonSource,
    ResolutionSpec,
    is_live,
    norm_org,
    update_interval_us,
)
from augury.domain.scalar import ScalarRange

PERSISTENCE_HOURS_MAX = 30 * 24
"""A window longer than 30 days keeps a market open long after its question."""
LIVE_PERSISTENCE_HOURS_MIN = 6
"""A live map or dashboard can be edited for a few hours: hold its answers at least this."""
CHALLENGE_HOURS_MIN = 24
"""Below a day, a challenge window can pass unwatched (the November 2025 failure)."""
EXTEND_HOURS_MAX = 90 * 24

_JSON_PATH = re.compile(r"^\$(\.[A-Za-z_][A-Za-z0-9_\-]*|\[\d+\]|\[\"[^\"]+\"\])*$")
_ED25519_HEX = re.compile(r"^[0-9a-fA-F]{64}$")


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


class Code(StrEnum):
    NO_SOURCE = "no_source"
    SINGLE_SOURCE_NO_PERSISTENCE = "single_source_no_persistence"
    NO_PERSISTENCE = "no_persistence"
    OBSERVATION_BEFORE_CLOSE = "observation_before_close"
    UNREACHABLE_OUTCOME = "unreachable_outcome"
    UNKNOWN_OUTCOME = "unknown_outcome"
    AMBIGUOUS_EXPECTATION = "ambiguous_expectation"
    NO_EXPECTATION = "no_expectation"
    CREATOR_OWNS_SOURCE = "creator_owns_source"
    DUPLICATE_SOURCE_ID = "duplicate_source_id"
    QUORUM_OUT_OF_RANGE = "quorum_out_of_range"
    QUORUM_NOT_MAJORITY = "quorum_not_majority"
    SAME_OWNER = "same_owner"
    BAD_URL = "bad_url"
    BAD_JSON_PATH = "bad_json_path"
    BAD_HTML_READER = "bad_html_reader"
    BAD_REGEX = "bad_regex"
    UNSUPPORTED_REGEX = "unsupported_regex"
    BAD_COORDINATES = "bad_coordinates"
    BAD_PUBLIC_KEY = "bad_public_key"
    UPDATE_INTERVAL_MISSING = "update_interval_missing"
    PERSISTENCE_TOO_LONG = "persistence_too_long"
    BAD_EXTENSION = "bad_extension"
    SHORT_CHALLENGE_WINDOW = "short_challenge_window"
    SINGLE_SOURCE = "single_source"
    PERSISTENCE_UNDER_TWO_UPDATES = "persistence_under_two_updates"
    PERSISTENCE_SHORT_FOR_LIVE_SOURCE = "persistence_short_for_live_source"
    # numeric specs (scalar and bucketed markets): lint_numeric.py
    SCALAR_RANGE = "scalar_range"
    SCALAR_STEP = "scalar_step"
    SCALAR_UNITS = "scalar_units"
    SCALAR_TOLERANCE = "scalar_tolerance"
    NUMERIC_SPEC_REQUIRED = "numeric_spec_required"
    BAD_BUCKETS = "bad_buckets"
    NUMERIC_EXPECT_IGNORED = "numeric_expect_ignored"


class Finding(msgspec.Struct, frozen=True):
    severity: Severity
    code: Code
    message: str
    where: str = "$"
    """JSON path of the offending field in the spec."""


def _error(code: Code, where: str, message: str) -> Finding:
    return Finding(Severity.ERROR, code, message, where)


def _warning(code: Code, where: str, message: str) -> Finding:
    return Finding(Severity.WARNING, code, message, where)


def lint(
    spec: ResolutionSpec,
    market_outcomes: Sequence[str],
    close_at: int,
    creator_orgs: Sequence[str],
    scalar_range: ScalarRange | None = None,
) -> list[Finding]:
    """Every problem with ``spec`` for a market with these outcomes, closing at
    ``close_at`` (UTC microseconds), created by someone affiliated with ``creator_orgs``
    (``scalar_range``: a scalar market's range). Errors first, then warnings; within a
    severity, in spec order."""
    assert len(market_outcomes) >= 2, "a market has at least two outcomes"
    findings: list[Finding] = []
    findings += _lint_sources(spec, len(market_outcomes), creator_orgs)
    findings += lint_numeric(spec, len(market_outcomes), scalar_range)
    findings += _lint_coverage(spec, market_outcomes)
    findings += _lint_rules(spec, close_at)
    findings += _lint_independence(spec)
    findings += _lint_persistence(spec)
    errors = [f for f in findings if f.severity is Severity.ERROR]
    return errors + [f for f in findings if f.severity is Severity.WARNING]


def is_acceptable(findings: Sequence[Finding]) -> bool:
    """A spec is accepted when the linter found no error (warnings only inform)."""
    return all(f.severity is not Severity.ERROR for f in findings)


def _lint_sources(
    spec: ResolutionSpec, n_outcomes: int, creator_orgs: Sequence[str]
) -> list[Finding]:
    out: list[Finding] = []
    creators = {norm_org(o) for o in creator_orgs}
    seen_ids: set[str] = set()
    owners: dict[str, int] = {}
    for i, src in enumerate(spec.sources):
        where = f"$.sources[{i}]"
        if src.id in seen_ids:
            msg = f"source id {src.id!r} is used twice; give every source its own id"
            out.append(_error(Code.DUPLICATE_SOURCE_ID, f"{where}.id", msg))
        seen_ids.add(src.id)
        if norm_org(src.owner) in creators:
            msg = (
                f"source {src.id!r} is owned by {src.owner!r}, the creator's own "
                "organization; use a source the creator cannot edit"
            )
            out.append(_error(Code.CREATOR_OWNS_SOURCE, f"{where}.owner", msg))
        first = owners.setdefault(norm_org(src.owner), i)
        if first != i:
            msg = (
                f"sources {spec.sources[first].id!r} and {src.id!r} are both owned by "
                f"{src.owner!r}: one editor can change both, so they count as one vote in "
                "the quorum"
            )
            out.append(_warning(Code.SAME_OWNER, f"{where}.owner", msg))
        if spec.numeric is None:  # a numeric spec's sources read numbers, not a table
            out += _lint_expect(src, where, n_outcomes)
        out += _lint_reader(src, where)
    return out


def _lint_expect(src: AnySource, where: str, n_outcomes: int) -> list[Finding]:
    out: list[Finding] = []
    if not src.expect:
        msg = f"source {src.id!r} maps no value to an outcome; add its expect table"
        out.append(_error(Code.NO_EXPECTATION, f"{where}.expect", msg))
    by_value: dict[str, int] = {}
    for j, e in enumerate(src.expect):
        if e.outcome >= n_outcomes:
            msg = (
                f"source {src.id!r} maps {e.value!r} to outcome {e.outcome}, but the "
                f"market's outcomes are 0..{n_outcomes - 1}"
            )
            out.append(_error(Code.UNKNOWN_OUTCOME, f"{where}.expect[{j}]", msg))
        prior = by_value.setdefault(e.value, e.outcome)
        if prior != e.outcome:
            msg = (
                f"source {src.id!r} maps {e.value!r} to both outcome {prior} and "
                f"outcome {e.outcome}; each value must mean one outcome"
            )
            out.append(_error(Code.AMBIGUOUS_EXPECTATION, f"{where}.expect[{j}]", msg))
    return out


def _lint_url(src_id: str, url: str, where: str) -> list[Finding]:
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        parts, host = None, None
    if parts is None or parts.scheme not in ("http", "https") or not host:
        msg = f"source {src_id!r} has URL {url!r}; only http:// and https:// URLs with a host"
        return [_error(Code.BAD_URL, f"{where}.url", msg)]
    return []


def _lint_reader(src: AnySource, where: str) -> list[Finding]:
    out: list[Finding] = []
    if isinstance(src, HttpJsonSource):
        out += _lint_url(src.id, src.url, where)
        if not _JSON_PATH.match(src.path):
            msg = f"source {src.id!r} has JSON path {src.path!r}; write it as $.field[0].sub"
            out.append(_error(Code.BAD_JSON_PATH, f"{where}.path", msg))
    elif isinstance(src, HtmlSource):
        out += _lint_url(src.id, src.url, where)
        if (src.selector is None) == (src.regex is None):
            msg = f"source {src.id!r} must read the page by exactly one of selector or regex"
            out.append(_error(Code.BAD_HTML_READER, where, msg))
        problem = None if src.regex is None else pattern_problem(src.regex)
        if problem is not None:  # RE2 only: no creator pattern may backtrack
            code = Code.UNSUPPORTED_REGEX if problem.unsupported else Code.BAD_REGEX
            msg = f"source {src.id!r} has regex {src.regex!r}, which {problem}"
            out.append(_error(code, f"{where}.regex", msg))
    elif isinstance(src, CsvSource):
        out += _lint_url(src.id, src.url, where)
    elif isinstance(src, GeoJsonSource):
        out += _lint_url(src.id, src.url, where)
        lon, lat = src.at.lon, src.at.lat
        if not (-180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0):
            msg = (
                f"source {src.id!r} reads the map at lon={lon}, lat={lat}; longitude "
                "must be in -180..180 and latitude in -90..90 (is the order swapped?)"
            )
            out.append(_error(Code.BAD_COORDINATES, f"{where}.at", msg))
    else:
        assert isinstance(src, AttestationSource)
        if not _ED25519_HEX.match(src.public_key):
            msg = (
                f"attester {src.attester!r} of source {src.id!r} needs an Ed25519 public "
                "key as 64 hex characters"
            )
            out.append(_error(Code.BAD_PUBLIC_KEY, f"{where}.public_key", msg))
    return out


def _lint_coverage(spec: ResolutionSpec, market_outcomes: Sequence[str]) -> list[Finding]:
    out: list[Finding] = []
    n = len(spec.sources)
    if n == 0:
        msg = "the spec has no source; add at least two independent sources"
        return [_error(Code.NO_SOURCE, "$.sources", msg)]
    reachable = {e.outcome for s in spec.sources for e in s.expect}
    for i, name in enumerate(market_outcomes):
        if i not in reachable and spec.numeric is None:
            msg = (
                f"no source can ever answer outcome {i} ({name!r}); add the value that "
                "means it to the sources' expect tables"
            )
            out.append(_error(Code.UNREACHABLE_OUTCOME, "$.sources", msg))
    if not 1 <= spec.quorum <= n:
        msg = f"quorum is {spec.quorum} but there are {n} sources; it must be in 1..{n}"
        out.append(_error(Code.QUORUM_OUT_OF_RANGE, "$.quorum", msg))
    elif spec.quorum * 2 <= n:
        msg = (
            f"quorum {spec.quorum} of {n} is not a majority; two outcomes could both "
            "reach it (the market would then be held for arbiters)"
        )
        out.append(_warning(Code.QUORUM_NOT_MAJORITY, "$.quorum", msg))
    return out


def _lint_rules(spec: ResolutionSpec, close_at: int) -> list[Finding]:
    out: list[Finding] = []
    p = spec.persistence
    if spec.observation_at_us < close_at:
        msg = (
            f"the observation time ({spec.observation_at_us}) is before the market closes "
            f"({close_at}); traders could trade on a known answer. Observe at or after close"
        )
        out.append(_error(Code.OBSERVATION_BEFORE_CLOSE, "$.observation_at_us", msg))
    if p.through_next_update and p.update_interval_hours is None:
        msg = "through_next_update needs the source's update_interval_hours"
        out.append(_error(Code.UPDATE_INTERVAL_MISSING, "$.persistence", msg))
    if p.window_us == 0:
        if len(spec.sources) == 1:
            msg = (
                "one source and no persistence window: a single edit at the observation "
                "time would decide the market. Add sources or a persistence window"
            )
            out.append(_error(Code.SINGLE_SOURCE_NO_PERSISTENCE, "$.persistence", msg))
        elif spec.sources:
            msg = "no persistence window: a transient edit seen at the observation time counts"
            out.append(_warning(Code.NO_PERSISTENCE, "$.persistence", msg))
    if p.window_us > PERSISTENCE_HOURS_MAX * HOUR_US:
        msg = (
            f"the persistence window is {p.window_us // HOUR_US} hours; at most "
            f"{PERSISTENCE_HOURS_MAX} hours, or the market stays open long after its question"
        )
        out.append(_error(Code.PERSISTENCE_TOO_LONG, "$.persistence", msg))
    fb = spec.fallback
    if isinstance(fb, Extend) and not 1 <= fb.by_hours <= EXTEND_HOURS_MAX:
        msg = f"extend by {fb.by_hours} hours; it must be 1..{EXTEND_HOURS_MAX} hours"
        out.append(_error(Code.BAD_EXTENSION, "$.fallback.by_hours", msg))
    if spec.challenge_window_hours < CHALLENGE_HOURS_MIN:
        msg = (
            f"the challenge window is {spec.challenge_window_hours} hours; under "
            f"{CHALLENGE_HOURS_MIN} hours a wrong proposal can pass unwatched"
        )
        out.append(_warning(Code.SHORT_CHALLENGE_WINDOW, "$.challenge_window_hours", msg))
    return out


def _lint_independence(spec: ResolutionSpec) -> list[Finding]:
    """One source, or sources all of one owner (one editor decides): an error unless the
    spec says why in ``single_source_reason``; then a warning that shows the reason."""
    owners = {norm_org(s.owner) for s in spec.sources}
    if len(owners) != 1:
        return []
    n = len(spec.sources)
    what = (
        f"one source ({spec.sources[0].id!r})"
        if n == 1
        else f"{n} sources all owned by {spec.sources[0].owner!r}"
    )
    reason = (spec.single_source_reason or "").strip()
    if not reason:
        msg = (
            f"the market is decided by {what}: one editor could decide it. Add a source "
            "of another owner, or say why one must do in single_source_reason"
        )
        return [_error(Code.SINGLE_SOURCE, "$.sources", msg)]
    msg = (
        f"the market is decided by {what}, so one editor could decide it; "
        f"the creator's reason: {reason}"
    )
    return [_warning(Code.SINGLE_SOURCE, "$.single_source_reason", msg)]


def _lint_persistence(spec: ResolutionSpec) -> list[Finding]:
    """A window too short for the sources: under two updates of the fastest source (an
    edit can come and go between two captures), or under 6 hours for a live source."""
    out: list[Finding] = []
    window = spec.persistence.window_us
    intervals = [(u, s.id) for s in spec.sources if (u := update_interval_us(spec, s)) is not None]
    if intervals:
        fastest, sid = min(intervals)
        if window < 2 * fastest:
            msg = (
                f"the persistence window ({window // HOUR_US} hours) is shorter than twice "
                f"the update interval of source {sid!r} ({fastest // HOUR_US} hours): an "
                "answer could count after a single update. Make the window at least "
                f"{2 * fastest // HOUR_US} hours"
            )
            out.append(_warning(Code.PERSISTENCE_UNDER_TWO_UPDATES, "$.persistence", msg))
    live = [s.id for s in spec.sources if is_live(s)]
    if live and window < LIVE_PERSISTENCE_HOURS_MIN * HOUR_US:
        msg = (
            f"the persistence window ({window // HOUR_US} hours) is shorter than "
            f"{LIVE_PERSISTENCE_HOURS_MIN} hours, and source {live[0]!r} is a live map or "
            "dashboard that can be edited for a few hours. Make the window at least "
            f"{LIVE_PERSISTENCE_HOURS_MIN} hours"
        )
        out.append(_warning(Code.PERSISTENCE_SHORT_FOR_LIVE_SOURCE, "$.persistence", msg))
    return out


def lint_numeric(
    spec: ResolutionSpec, n_outcomes: int, scalar_range: ScalarRange | None
) -> list[Finding]:
    """A scalar market's range, step and units, and a numeric spec's units, tolerance
    and buckets (stable codes ``scalar_range``, ``scalar_step``, ``scalar_units``,
    ``scalar_tolerance``, ``numeric_spec_required``, ``bad_buckets``)."""
    out: list[Finding] = []
    numeric = spec.numeric
    if scalar_range is not None:
        found = scalar.problem(scalar_range)
        if found is not None:
            out.append(_error(Code(found[0]), "$", f"the market's {found[1]}"))
        if numeric is None:
            msg = (
                "a scalar market's sources read a number: add numeric with its units and tolerance"
            )
            return [*out, _error(Code.NUMERIC_SPEC_REQUIRED, "$.numeric", msg)]
    if numeric is None:
        return out
    units = numeric.units
    if not 0 < len(units) <= scalar.UNITS_MAX or units.strip() != units:
        msg = f"the units must be 1..{scalar.UNITS_MAX} characters with no outer spaces"
        out.append(_error(Code.SCALAR_UNITS, "$.numeric.units", msg))
    elif scalar_range is not None and units != scalar_range.units:
        msg = f"the spec reads {units!r} but the market's range is in {scalar_range.units!r}"
        out.append(_error(Code.SCALAR_UNITS, "$.numeric.units", msg))
    if scalar_range is not None:
        width = scalar_range.high - scalar_range.low
        if width > 0 and numeric.tolerance >= width:
            msg = (
                f"the tolerance ({numeric.tolerance} micros) must be less than the range's "
                f"width ({width} micros), or any two readings agree"
            )
            out.append(_error(Code.SCALAR_TOLERANCE, "$.numeric.tolerance", msg))
        if numeric.buckets:
            msg = "a scalar market has a range, not buckets; remove numeric.buckets"
            out.append(_error(Code.BAD_BUCKETS, "$.numeric.buckets", msg))
    else:
        b = numeric.buckets
        if len(b) != n_outcomes - 1 or any(x >= y for x, y in pairwise(b)):
            msg = (
                f"a bucketed market with {n_outcomes} outcomes needs {n_outcomes - 1} rising "
                "boundaries in numeric.buckets"
            )
            out.append(_error(Code.BAD_BUCKETS, "$.numeric.buckets", msg))
        elif any(abs(x) > scalar.VALUE_MAX for x in b):
            msg = f"bucket boundaries must be within +-{scalar.VALUE_MAX} micros"
            out.append(_error(Code.BAD_BUCKETS, "$.numeric.buckets", msg))
    for i, src in enumerate(spec.sources):
        if src.expect:
            msg = f"source {src.id!r} reads a number; its expect table is ignored"
            out.append(_warning(Code.NUMERIC_EXPECT_IGNORED, f"$.sources[{i}].expect", msg))
    return out
