"""A market's resolution story, one row per event: what the ``resolution_log`` read model holds.

``story_row(event, outcomes)`` turns an event that belongs to a market's resolution
(spec versions, observations with their content hash, proposals, disputes, votes,
holds, clarifications, alerts, halts and closes, the final outcome and the payouts)
into ``(market, kind, actor, summary, details)``: a sentence for people and the
event's own fields for programs. Other events give None. Pure: no I/O.
"""

from __future__ import annotations

from typing import Any

import msgspec

from augury.domain import events as ev
from augury.domain.units import format_micros
from augury.settings import format_instant

Story = tuple[str, str, str, str, dict[str, Any]]
"""(market, kind, actor, summary, details)."""


def _outcome(outcomes: tuple[str, ...], index: int) -> str:
    if index == -1:
        return "void"
    if index == -2:
        return "fractional weights"
    if 0 <= index < len(outcomes):
        return f"{outcomes[index]!r}"
    return f"outcome {index}"


def _details(event: ev.Event) -> dict[str, Any]:
    data: dict[str, Any] = msgspec.to_builtins(event)
    data.pop("postings", None)
    return data


def story_row(event: ev.Event, outcomes: tuple[str, ...]) -> Story | None:
    """The story row of ``event``, or None if it is not part of a resolution story."""
    e = event
    if isinstance(e, ev.ResolutionSpecSet):
        spec = msgspec.json.decode(e.spec)
        n, k = len(spec.get("sources", ())), spec.get("quorum")
        who = e.by or "the rules (fallback: extend)"
        text = f"resolution spec v{e.version} ({n} sources, quorum {k}) set by {who}"
        if e.reason:
            text += f": {e.reason}"
        if e.warnings:
            text += f"; {len(e.warnings)} linter warning(s)"
        return e.market, "spec", e.by, text, _details(e)
    if isinstance(e, ev.ObservationRecorded):
        when = format_instant(e.fetched_at_us)
        if e.ok:
            text = f"{e.source_id} read {e.value!r} at {when} (sha256 {e.content_sha256[:12]}…)"
        else:
            text = f"{e.source_id} failed at {when}: {e.error_code} {e.error}".rstrip()
        if e.change:
            text += f"; changed: {e.change}"
        kind = "observation" if not e.change else "change"
        return e.market, kind, "", text, _details(e)
    if isinstance(e, ev.OutcomeProposed):
        who = e.proposer or "the rules"
        bond = f" with a bond of {format_micros(e.bond)}" if e.bond else ""
        text = (
            f"{who} proposed {_outcome(outcomes, e.outcome)}{bond}; challenge window until "
            f"{format_instant(e.challenge_ends_at)}"
        )
        return e.market, "proposal", e.proposer, text, _details(e)
    if isinstance(e, ev.ProposalDisputed):
        text = f"{e.disputer} disputed the proposal with a bond of {format_micros(e.bond)}"
        if e.reason:
            text += f": {e.reason}"
        return e.market, "dispute", e.disputer, text, _details(e)
    if isinstance(e, ev.ResolutionHeld):
        return e.market, "hold", "", f"held for the arbiters: {e.reason}", _details(e)
    if isinstance(e, ev.VoteCast):
        text = f"arbiter {e.arbiter} voted {_outcome(outcomes, e.outcome)}"
        if e.reason:
            text += f": {e.reason}"
        return e.market, "vote", e.arbiter, text, _details(e)
    if isinstance(e, ev.ResolutionFinalized):
        text = f"final: {_outcome(outcomes, e.outcome)}, decided by {e.by}"
        if e.reason:
            text += f" ({e.reason})"
        details = _details(e)
        details["bond_payouts"] = [[a, p] for a, p in e.postings if a.startswith("cash:")]
        return e.market, "final", "", text, details
    if isinstance(e, ev.ClarificationPosted):
        text = f"clarification v{e.version} by {e.author}: {e.text}"
        if e.cancel_orders:
            text += " (resting orders cancelled)"
        return e.market, "clarification", e.author, text, _details(e)
    if isinstance(e, ev.AlertRaised):
        held = "; holds the resolution until reviewed" if e.holds else ""
        text = f"{e.severity} {e.detector} alert #{e.alert_id}: {e.reason}{held}"
        return e.market, "alert", "", text, _details(e)
    if isinstance(e, ev.AlertReviewed):
        text = f"alert #{e.alert_id} {e.verdict}ed by {e.reviewer}"
        if e.note:
            text += f": {e.note}"
        return e.market, "alert_review", e.reviewer, text, _details(e)
    if isinstance(e, ev.MarketStatusChanged):
        text = f"market {e.status}" + (f": {e.reason}" if e.reason else "")
        return e.market, "status", "", text, _details(e)
    if isinstance(e, ev.MarketSettled):
        total = sum(amount for _, amount in e.payouts)
        text = f"settled: {format_micros(total)} paid to {len(e.payouts)} account(s)"
        return e.market, "settlement", "", text, _details(e)
    if isinstance(e, ev.MarketVoided):
        total = sum(amount for _, amount in e.refunds)
        text = f"voided: {format_micros(total)} refunded to {len(e.refunds)} account(s)"
        if e.reason:
            text += f" ({e.reason})"
        return e.market, "settlement", "", text, _details(e)
    return None
