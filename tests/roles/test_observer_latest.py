"""The observer's one rule for "the previous capture" of a source."""

from __future__ import annotations

from augury.domain.resolution.evaluate import Observation
from augury.roles.observer import latest_by_source


def o(source: str, at: int, sha: str, ok: bool = True) -> Observation:
    return Observation(source, at, ok, "A" if ok else None, sha)


def test_a_failed_fetch_counts_as_tried_but_keeps_the_last_content() -> None:
    seen = latest_by_source([o("map", 10, "aa"), o("map", 20, "", ok=False), o("wire", 5, "cc")])
    assert seen == {"map": (20, "aa"), "wire": (5, "cc")}


def test_latest_by_instant_then_by_journal_order() -> None:
    seen = latest_by_source([o("map", 30, "late"), o("map", 10, "early"), o("map", 30, "tie")])
    assert seen == {"map": (30, "tie")}


def test_a_source_never_captured_has_no_previous_hash() -> None:
    assert latest_by_source([o("map", 7, "", ok=False)]) == {"map": (7, None)}
    assert latest_by_source([]) == {}
