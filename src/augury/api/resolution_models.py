"""Request and response shapes of the resolution, evidence and surveillance routes."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints

from augury.api.responses import Amount, Instant, Out
from augury.api.schemas import (
    SPEC_BYTES_MAX,
    Body,
    InstantUs,
    Micros,
    OutcomeName,
    ShortText,
    Username,
)
from augury.api.text import MultiLineText, SingleLineText, TextTree, VerbatimText

Reason = Annotated[SingleLineText, StringConstraints(max_length=2_000)]
"""A public reason (one line, as the web forms take it)."""
RequiredReason = Annotated[SingleLineText, StringConstraints(min_length=3, max_length=2_000)]
OutcomeIndex = Annotated[int, Field(ge=-1, le=63, description="An outcome index; -1 is void.")]


# -- requests ---------------------------------------------------------------------------------
class SpecBody(Body):
    spec: TextTree = Field(description="A resolution spec (docs/resolution.md).")
    reason: Reason = ""


class LintBody(Body):
    spec: TextTree
    outcomes: list[OutcomeName] = Field(default=["Yes", "No"], min_length=2, max_length=64)
    close_time: InstantUs


class ProposalBody(Body):
    outcome: OutcomeIndex
    bond: Micros
    reason: Reason = ""


class DisputeBody(Body):
    bond: Micros
    reason: Reason = ""


class VoteBody(Body):
    outcome: OutcomeIndex
    reason: Reason = ""


class ClarificationBody(Body):
    text: Annotated[MultiLineText, StringConstraints(min_length=1, max_length=4_000)]
    cancel_orders: bool = False


class AttestationBody(Body):
    """Signed: ``statement`` and ``signed_at`` are kept exactly as sent (their
    characters are checked, but not normalized, or the signature would not verify)."""

    source_id: Annotated[SingleLineText, StringConstraints(min_length=1, max_length=100)]
    statement: Annotated[VerbatimText, StringConstraints(min_length=1, max_length=4_000)]
    signed_at: Annotated[VerbatimText, StringConstraints(min_length=1, max_length=40)]
    signature: Annotated[str, StringConstraints(pattern=r"^[0-9a-fA-F]{128}$")]


class AffiliationBody(Body):
    organization: Annotated[SingleLineText, StringConstraints(min_length=1, max_length=200)]
    affiliated: bool = True


class AdminAffiliationBody(AffiliationBody):
    account: Username


class OverrideBody(Body):
    """An admin's resolution: one outcome, or fractional ``weights`` summing to 1."""

    outcome: Annotated[int, Field(ge=0, le=63)] | None = None
    weights: list[Micros] | None = Field(default=None, min_length=2, max_length=64)
    reason: RequiredReason


class VoidBody(Body):
    reason: RequiredReason


class ReviewBody(Body):
    verdict: Literal["dismiss", "confirm"]
    note: ShortText = ""


assert SPEC_BYTES_MAX > 0


# -- responses --------------------------------------------------------------------------------
class FindingOut(Out):
    severity: Literal["error", "warning"]
    code: str
    message: str
    where: str


class LintOut(Out):
    acceptable: bool
    findings: list[FindingOut]


class StoryEntry(Out):
    seq: int
    at: Instant
    kind: str
    actor: str
    summary: str
    details: dict[str, Any]


class ProposalOut(Out):
    proposer: str
    outcome: int
    bond: Amount
    proposed_at: Instant
    challenge_ends_at: Instant
    evidence: list[str]
    reason: str


class DisputeOut(Out):
    disputer: str
    bond: Amount
    disputed_at: Instant
    reason: str


class VoteOut(Out):
    arbiter: str
    outcome: int


class ClarificationOut(Out):
    version: int
    author: str
    text: str
    at: Instant
    sha256: str
    prev_sha256: str


class ResolutionOut(Out):
    """A market's whole resolution story, and where it stands now."""

    market: str
    status: str
    market_status: str
    spec: dict[str, Any] | None
    spec_version: int
    spec_sha256: str
    rules_version: int
    proposal: ProposalOut | None
    dispute: DisputeOut | None
    votes: list[VoteOut]
    held_reason: str
    holding_alerts: list[int]
    clarifications: list[ClarificationOut]
    decision: str
    entries: list[StoryEntry]
    next_cursor: str | None


class ObservationOut(Out):
    source_id: str
    ok: bool
    value: str | None
    content_sha256: str
    http_status: int | None
    error_code: str
    error: str
    change: str | None
    headers: list[list[str]]
    """The HTTP headers kept with the capture (content type, length, dates, ETag)."""
    url: str
    fetched_at: Instant


class ObservationsOut(Out):
    items: list[ObservationOut]


class AlertOut(Out):
    id: int
    market: str
    detector: str
    severity: str
    accounts: list[str]
    seqs: list[int]
    reason: str
    score_bp: int
    holds: bool
    raised_at: Instant
    verdict: str
    reviewer: str


class AlertPage(Out):
    items: list[AlertOut]
    next_before: int | None = None


class AffiliationsOut(Out):
    account: str
    organizations: list[str]
