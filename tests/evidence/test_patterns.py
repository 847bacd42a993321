"""Creator regexes: RE2 only (linear time), and the linter refuses what RE2 cannot run."""

from __future__ import annotations

import time

import msgspec
import pytest

from augury.domain.resolution import Code, HtmlSource, Severity, lint
from augury.domain.resolution.patterns import (
    PATTERN_CHARS_MAX,
    PatternError,
    compile_pattern,
    first_group_or_match,
    pattern_problem,
)
from augury.domain.resolution.spec import ResolutionSpec
from augury.evidence.readers import ReadError, read_html
from tests.domain.resolution.helpers import CLOSE, OUTCOMES, expect_ab, war_map_spec

# Each needs backtracking: Python's re runs them (some in exponential time), RE2 refuses.
BACKTRACKING = [
    r"(a+)+\1$",  # the nested quantifier of the issue, with a backreference
    r"^(a|aa)+\1$",
    r"(?P<x>a+)+(?P=x)",
    r"(?=(a+))a*b\1",  # lookahead
    r"(?!x)(a+)+$",
    r"(?<=Held by side )\w",  # lookbehind
    r"(?<!x)a",
    r"(?>a+)+$",  # atomic group
    r"(a++)+$",  # possessive quantifier
    r"side (\w)\Z",
]


def html_spec(regex: str) -> ResolutionSpec:
    """The war-map spec with a third source, a page read by ``regex``."""
    base = war_map_spec()
    page = HtmlSource(
        id="page", owner="Paper", expect=expect_ab(), url="https://a.example/", regex=regex
    )
    return msgspec.structs.replace(base, sources=(page, *base.sources))


@pytest.mark.parametrize("regex", BACKTRACKING)
def test_the_linter_refuses_a_pattern_that_needs_backtracking(regex: str) -> None:
    findings = lint(html_spec(regex), OUTCOMES, CLOSE, ())
    hits = [f for f in findings if f.code is Code.UNSUPPORTED_REGEX]
    assert len(hits) == 1, findings
    f = hits[0]
    assert f.severity is Severity.ERROR and f.where == "$.sources[0].regex"
    assert "linear-time engine" in f.message and repr(regex) in f.message
    problem = pattern_problem(regex)
    assert problem is not None and problem.unsupported


@pytest.mark.parametrize("regex", ["(", "a{2,1}", "[z-a]", "*a", "a)"])
def test_a_pattern_that_does_not_compile_is_bad_regex(regex: str) -> None:
    findings = lint(html_spec(regex), OUTCOMES, CLOSE, ())
    assert [f.code for f in findings if f.severity is Severity.ERROR] == [Code.BAD_REGEX]
    assert "does not compile" in findings[0].message


def test_a_pattern_too_long_or_too_large_is_bad_regex() -> None:
    too_long = "a" * (PATTERN_CHARS_MAX + 1)
    too_large = r"[^<]{1000}" * 20  # compiles in Python; over RE2's memory budget
    for regex, words in ((too_long, "characters long"), (too_large, "too large")):
        findings = lint(html_spec(regex), OUTCOMES, CLOSE, ())
        assert [f.code for f in findings if f.severity is Severity.ERROR] == [Code.BAD_REGEX]
        assert words in findings[0].message


def test_compiling_any_refused_pattern_is_quick() -> None:
    """The linter runs on the engine thread: a refusal costs milliseconds at most."""
    started = time.perf_counter()
    for regex in [*BACKTRACKING, r"[^<]{1000}" * 20, r"(\w{1000})" * 60, "\\pL{1000}"]:
        assert pattern_problem(regex) is not None
    assert time.perf_counter() - started < 2.0


@pytest.mark.parametrize(
    ("regex", "found"),
    [
        (r"Held by side (\w)", "B"),
        (r"side\s+(?P<side>[AB])\b", "B"),
        (r"(?i)HELD BY", "Held by"),
        (r"(x)?side", "side"),  # a group that took no part: the whole match
        (r"\pL+ (\d+)$", "42"),
    ],
)
def test_supported_patterns_read_as_before(regex: str, found: str) -> None:
    assert pattern_problem(regex) is None
    assert first_group_or_match(regex, "Today: Held by side B\ncount 42") == found


def test_a_nested_quantifier_runs_in_linear_time() -> None:
    """``(a+)+$`` is exponential in Python's re; RE2 runs it in linear time, so the linter
    has no reason to refuse it and the reader answers at once, even over megabytes."""
    assert pattern_problem(r"(a+)+$") is None
    page = b"<p>" + b"a" * 2_000_000 + b"!</p>"
    started = time.perf_counter()
    with pytest.raises(ReadError) as caught:
        read_html(page, None, r"^(a+)+$")
    assert caught.value.code == "no_match"
    assert read_html(b"a" * 50 + b"!", None, r"(a+)+!") == "a" * 50
    assert time.perf_counter() - started < 2.0


def test_the_reader_refuses_what_the_linter_refuses() -> None:
    """A spec stored before the linter knew RE2 (a lookbehind) reads as a failure."""
    with pytest.raises(ReadError) as caught:
        read_html(b"Held by side B", None, r"(?<=side )\w")
    assert caught.value.code == "bad_regex" and "linear-time engine" in caught.value.message
    with pytest.raises(PatternError):
        compile_pattern(r"(a)\1")


def test_unicode_classes() -> None:
    """RE2's ``\\d``/``\\w`` are ASCII; ``\\pN``/``\\pL`` are the Unicode classes."""
    assert first_group_or_match(r"(\d+)", "٤٢ and 42") == "42"
    assert first_group_or_match(r"(\pN+)", "٤٢ and 42") == "٤٢"
    assert first_group_or_match(r"(\pL+)", "Мирноград") == "Мирноград"
