"""The linter: one test per finding code, each with its message."""

from __future__ import annotations

from pathlib import Path

import msgspec

from augury.domain.resolution import (
    HOUR_US,
    AttestationSource,
    Code,
    Extend,
    HtmlSource,
    Numeric,
    Persistence,
    ResolutionSpec,
    Severity,
    is_acceptable,
    lint,
)
from augury.domain.resolution.lint import Finding
from augury.domain.resolution.spec import Expect, Location
from augury.domain.scalar import ScalarRange

from .helpers import CLOSE, OUTCOMES, T_OBS, expect_ab, war_map_spec


def run(spec: ResolutionSpec, orgs: tuple[str, ...] = ("Augury Newsroom",)) -> list[Finding]:
    return lint(spec, OUTCOMES, CLOSE, orgs)


def only(findings: list[Finding], code: Code) -> Finding:
    hits = [f for f in findings if f.code is code]
    assert len(hits) == 1, findings
    return hits[0]


def test_war_map_spec_is_clean() -> None:
    assert run(war_map_spec()) == []


def test_no_source() -> None:
    f = only(run(msgspec.structs.replace(war_map_spec(), sources=(), quorum=1)), Code.NO_SOURCE)
    assert f.severity is Severity.ERROR and "add at least two independent sources" in f.message


def test_single_source_without_persistence() -> None:
    base = war_map_spec(quorum=1, hours=0)
    f = only(
        run(msgspec.structs.replace(base, sources=base.sources[:1])),
        Code.SINGLE_SOURCE_NO_PERSISTENCE,
    )
    assert f.severity is Severity.ERROR and "single edit" in f.message
    w = only(run(war_map_spec(hours=0)), Code.NO_PERSISTENCE)
    assert w.severity is Severity.WARNING


def test_observation_before_close() -> None:
    f = only(lint(war_map_spec(), OUTCOMES, T_OBS + 1, ()), Code.OBSERVATION_BEFORE_CLOSE)
    assert f.where == "$.observation_at_us" and "Observe at or after close" in f.message


def test_unreachable_and_unknown_outcome() -> None:
    base = war_map_spec()
    only_a = tuple(
        msgspec.structs.replace(s, expect=(Expect(0, "A"), Expect(5, "Z"))) for s in base.sources
    )
    findings = run(msgspec.structs.replace(base, sources=only_a))
    unreachable = [f for f in findings if f.code is Code.UNREACHABLE_OUTCOME]
    assert [f.message for f in unreachable] == [
        "no source can ever answer outcome 1 ('B holds the town'); add the value that "
        "means it to the sources' expect tables"
    ]
    unknown = [f for f in findings if f.code is Code.UNKNOWN_OUTCOME]
    assert len(unknown) == 2 and "market's outcomes are 0..1" in unknown[0].message


def test_ambiguous_and_missing_expectation() -> None:
    base = war_map_spec()
    bad = (
        msgspec.structs.replace(base.sources[0], expect=(Expect(0, "A"), Expect(1, "A"))),
        msgspec.structs.replace(base.sources[1], expect=()),
    )
    findings = run(msgspec.structs.replace(base, sources=bad))
    assert (
        "maps 'A' to both outcome 0 and outcome 1"
        in only(findings, Code.AMBIGUOUS_EXPECTATION).message
    )
    assert only(findings, Code.NO_EXPECTATION).where == "$.sources[1].expect"


def test_creator_owned_source() -> None:
    f = only(run(war_map_spec(), ("  institute FOR maps",)), Code.CREATOR_OWNS_SOURCE)
    assert f.where == "$.sources[0].owner"
    assert "the creator's own organization" in f.message


def test_duplicate_ids_and_same_owner() -> None:
    base = war_map_spec()
    twin = msgspec.structs.replace(base.sources[1], id="map", owner="Institute for Maps")
    findings = run(msgspec.structs.replace(base, sources=(base.sources[0], twin)))
    assert only(findings, Code.DUPLICATE_SOURCE_ID).severity is Severity.ERROR
    w = only(findings, Code.SAME_OWNER)
    assert w.severity is Severity.WARNING and "one editor can change both" in w.message
    assert findings[-1] is w  # errors first, then warnings


def test_quorum_bounds_and_majority() -> None:
    for k in (0, 3):
        f = only(run(war_map_spec(quorum=k)), Code.QUORUM_OUT_OF_RANGE)
        assert f.message == f"quorum is {k} but there are 2 sources; it must be in 1..2"
    assert only(run(war_map_spec(quorum=1)), Code.QUORUM_NOT_MAJORITY).severity is (
        Severity.WARNING
    )


def test_urls_and_readers() -> None:
    base = war_map_spec()
    geo = msgspec.structs.replace(
        base.sources[0], url="file:///etc/passwd", at=Location(48.3, 137.2)
    )
    json_src = msgspec.structs.replace(base.sources[1], url="https://", path="control.side")
    html = HtmlSource(
        id="page", owner="Paper", expect=expect_ab(), url="gopher://x.example", regex="("
    )
    html2 = HtmlSource(id="page2", owner="Paper2", expect=expect_ab(), url="https://x.example")
    att = AttestationSource(
        id="att", owner="Notary", expect=expect_ab(), attester="J. Doe", public_key="nothex"
    )
    spec = msgspec.structs.replace(base, sources=(geo, json_src, html, html2, att), quorum=3)
    findings = run(spec)
    assert len([f for f in findings if f.code is Code.BAD_URL]) == 3
    assert "$.field[0].sub" in only(findings, Code.BAD_JSON_PATH).message
    assert "does not compile" in only(findings, Code.BAD_REGEX).message
    assert only(findings, Code.BAD_HTML_READER).where == "$.sources[3]"
    assert "is the order swapped?" in only(findings, Code.BAD_COORDINATES).message
    assert "64 hex characters" in only(findings, Code.BAD_PUBLIC_KEY).message
    assert not is_acceptable(findings)


def test_a_regex_that_needs_backtracking() -> None:
    """Only RE2 runs a creator's regex (linear time): what needs backtracking is refused."""
    base = war_map_spec()
    for regex in (r"(a+)+\1$", r"(?<=side )(\w)", r"(?=(a+))\1"):
        html = HtmlSource(
            id="page", owner="Paper", expect=expect_ab(), url="https://x.example", regex=regex
        )
        findings = run(msgspec.structs.replace(base, sources=(*base.sources, html)))
        f = only(findings, Code.UNSUPPORTED_REGEX)
        assert f.severity is Severity.ERROR and f.where == "$.sources[2].regex"
        assert "linear-time engine" in f.message


def test_persistence_extension_and_challenge() -> None:
    base = war_map_spec()
    p = Persistence(hours=0, through_next_update=True)
    assert (
        only(
            run(msgspec.structs.replace(base, persistence=p)), Code.UPDATE_INTERVAL_MISSING
        ).severity
        is Severity.ERROR
    )
    long = msgspec.structs.replace(
        base,
        persistence=Persistence(hours=24, through_next_update=True, update_interval_hours=1000),
    )
    assert "1000 hours" in only(run(long), Code.PERSISTENCE_TOO_LONG).message
    assert long.persistence.window_us == 1000 * HOUR_US
    ext = msgspec.structs.replace(base, fallback=Extend(by_hours=0))
    assert only(run(ext), Code.BAD_EXTENSION).where == "$.fallback.by_hours"
    short = msgspec.structs.replace(base, challenge_window_hours=2)
    findings = run(short)
    assert only(findings, Code.SHORT_CHALLENGE_WINDOW).severity is Severity.WARNING
    assert is_acceptable(findings)


def one_source(spec: ResolutionSpec, reason: str | None = None) -> ResolutionSpec:
    return msgspec.structs.replace(
        spec, sources=spec.sources[:1], quorum=1, single_source_reason=reason
    )


def test_one_source_needs_a_stated_reason() -> None:
    f = only(run(one_source(war_map_spec())), Code.SINGLE_SOURCE)
    assert f.severity is Severity.ERROR and f.where == "$.sources"
    assert "one source ('map')" in f.message and "single_source_reason" in f.message
    for blank in ("", "   \n"):
        assert not is_acceptable(run(one_source(war_map_spec(), blank)))
    reason = "the institute's map is the only published front line"
    findings = run(one_source(war_map_spec(), reason))
    w = only(findings, Code.SINGLE_SOURCE)
    assert w.severity is Severity.WARNING and w.where == "$.single_source_reason"
    assert reason in w.message and is_acceptable(findings)


def test_sources_of_one_owner_are_one_source() -> None:
    base = war_map_spec(quorum=1)
    spelled = msgspec.structs.replace(base.sources[1], owner="  INSTITUTE   for\tmaps ")
    spec = msgspec.structs.replace(base, sources=(base.sources[0], spelled))
    f = only(run(spec), Code.SINGLE_SOURCE)
    assert f.severity is Severity.ERROR and "2 sources all owned by" in f.message
    ok = run(msgspec.structs.replace(spec, single_source_reason="one registry exists"))
    assert only(ok, Code.SINGLE_SOURCE).severity is Severity.WARNING and is_acceptable(ok)
    assert not [f for f in run(war_map_spec()) if f.code is Code.SINGLE_SOURCE]  # 2 owners


def test_a_window_under_two_updates_of_the_fastest_source() -> None:
    slow_fast = war_map_spec(hours=12, map_interval=24, wire_interval=7)
    f = only(run(slow_fast), Code.PERSISTENCE_UNDER_TWO_UPDATES)
    assert f.severity is Severity.WARNING and f.where == "$.persistence"
    assert "source 'wire' (7 hours)" in f.message and "at least 14 hours" in f.message
    assert not run(war_map_spec(hours=14, map_interval=24, wire_interval=7))
    spec_wide = msgspec.structs.replace(
        war_map_spec(), persistence=Persistence(hours=0, through_next_update=True,
                                                update_interval_hours=8)
    )  # fmt: skip
    assert "(8 hours)" in only(run(spec_wide), Code.PERSISTENCE_UNDER_TWO_UPDATES).message


def test_a_short_window_for_a_live_map_or_dashboard() -> None:
    f = only(run(war_map_spec(hours=5)), Code.PERSISTENCE_SHORT_FOR_LIVE_SOURCE)
    assert f.severity is Severity.WARNING and "source 'map'" in f.message  # geojson: live
    assert not run(war_map_spec(hours=6))
    base = war_map_spec(hours=2)
    document = msgspec.structs.replace(base.sources[0], medium="document")
    assert not run(msgspec.structs.replace(base, sources=(document, base.sources[1])))
    dashboard = msgspec.structs.replace(base.sources[1], medium="dashboard")
    findings = run(msgspec.structs.replace(base, sources=(document, dashboard)))
    assert "source 'wire'" in only(findings, Code.PERSISTENCE_SHORT_FOR_LIVE_SOURCE).message


def test_every_code_is_exercised() -> None:
    # Guard: a new code must come with a test above (names appear in this file).
    source = Path(__file__).read_text(encoding="utf-8")
    missing = [c.name for c in Code if f"Code.{c.name}" not in source]
    assert missing == []


# -- numeric specs (scalar and bucketed markets) ---------------------------------------------
SHIPS = ScalarRange(low=0, high=2_000_000_000, step=1_000_000, units="ships")


def numeric_spec(numeric: Numeric | None = None) -> ResolutionSpec:
    """The war-map sources, reading numbers (expect tables dropped)."""
    base = war_map_spec()
    sources = tuple(msgspec.structs.replace(s, expect=()) for s in base.sources)
    given = numeric if numeric is not None else Numeric(units="ships", tolerance=5_000_000)
    return msgspec.structs.replace(base, sources=sources, numeric=given)


def scalar_lint(spec: ResolutionSpec, rng: ScalarRange = SHIPS) -> list[Finding]:
    return lint(spec, ("LONG", "SHORT"), CLOSE, (), rng)


def test_a_numeric_scalar_spec_is_clean() -> None:
    assert scalar_lint(numeric_spec()) == []


def test_scalar_range_step_and_units() -> None:
    f = only(scalar_lint(numeric_spec(), ScalarRange(5, 5, 1, "ships")), Code.SCALAR_RANGE)
    assert f.severity is Severity.ERROR and "low < high" in f.message
    f = only(scalar_lint(numeric_spec(), ScalarRange(0, 10, 3, "ships")), Code.SCALAR_STEP)
    assert "divide high - low" in f.message
    f = only(scalar_lint(numeric_spec(Numeric(units="km"))), Code.SCALAR_UNITS)
    assert f.where == "$.numeric.units" and "'ships'" in f.message


def test_scalar_tolerance() -> None:
    wide = Numeric(units="ships", tolerance=2_000_000_000)
    f = only(scalar_lint(numeric_spec(wide)), Code.SCALAR_TOLERANCE)
    assert f.severity is Severity.ERROR and "less than the range's width" in f.message


def test_a_scalar_market_needs_a_numeric_spec() -> None:
    f = only(scalar_lint(war_map_spec()), Code.NUMERIC_SPEC_REQUIRED)
    assert f.where == "$.numeric"


def test_bad_buckets() -> None:
    buckets = Numeric(units="ships", buckets=(10, 5))
    f = only(lint(numeric_spec(buckets), ("a", "b", "c"), CLOSE, ()), Code.BAD_BUCKETS)
    assert "2 rising boundaries" in f.message
    ok = Numeric(units="ships", buckets=(5, 10))
    assert lint(numeric_spec(ok), ("a", "b", "c"), CLOSE, ()) == []
    f = only(scalar_lint(numeric_spec(ok)), Code.BAD_BUCKETS)
    assert "not buckets" in f.message


def test_numeric_expect_ignored() -> None:
    spec = msgspec.structs.replace(war_map_spec(), numeric=Numeric(units="ships"))
    found = [f for f in scalar_lint(spec) if f.code is Code.NUMERIC_EXPECT_IGNORED]
    assert [f.where for f in found] == ["$.sources[0].expect", "$.sources[1].expect"]
    assert all(f.severity is Severity.WARNING for f in found)
