"""The resolution process's sentences: why a phase refuses an action, and why the
arbiters' vote decided (counted against the whole panel, not the votes cast). Pure."""

from __future__ import annotations

from augury.domain.rejections import Code, Rejected
from augury.domain.resolution.record import Phase


def vote_reason(for_it: int, cast: int, panel: int, outcome: int) -> str:
    """Why the arbiters' vote decided, counted against the whole panel (not the votes
    cast): "2 of 3 arbiters voted for outcome 0 (a majority of the panel of 3; 1 arbiter
    did not vote)"."""
    text = f"{for_it} of {panel} arbiters voted for outcome {outcome} (a majority of the panel"
    text += f" of {panel}"
    others = cast - for_it
    if others:
        text += f"; {others} voted for another outcome"
    silent = max(panel - cast, 0)
    if silent:
        who = "arbiter" if silent == 1 else "arbiters"
        text += f"; {silent} {who} did not vote, not needed once the majority was reached"
    return text + ")"


_PHASE_WORDS = {
    Phase.COLLECTING: "the resolution is still collecting evidence and nothing is proposed",
    Phase.PROPOSED: "an outcome is proposed and its challenge window runs",
    Phase.DISPUTED: "the proposal is disputed and the arbiters decide",
    Phase.HELD: "the resolution is held for the arbiters",
    Phase.FINAL: "the resolution is final",
}


def phase_words(phase: Phase) -> str:
    """Where the resolution stands, as the end of a refusal's sentence."""
    return _PHASE_WORDS.get(phase, f"the resolution is {phase.value}")


def wrong_phase(what: str, phase: Phase) -> Rejected:
    """``wrong_resolution_phase``: "<what>: <where the resolution stands>."."""
    return Rejected(Code.WRONG_RESOLUTION_PHASE, f"{what}: {phase_words(phase)}.")
