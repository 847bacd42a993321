"""Request and response shapes of the resolution, evidence and surveillance routes."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints, model_validator

from augury.api.responses import Amount, Instant, Out
from augury.api.schemas import (
    SPEC_BYTES_MAX,
    Body,
    InstantUs,
    Micros,
    OutcomeName,
    ScalarBody,
    ShortText,
    Username,
    Value,
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
    scalar: ScalarBody | None = None
    """A scalar market's range (its outcomes are then LONG and SHORT)."""


def _one_of(outcome: int | None, value: int | None) -> None:
    if (outcome is None) == (value is None):
        raise ValueError("give exactly one of outcome and value (a scalar market's number)")


class ProposalBody(Body):
    """An outcome, or in a scalar market a ``value`` in its units."""

    outcome: OutcomeIndex | None = None
    bond: Micros
    reason: Reason = ""
    value: Value | None = None

    @model_validator(mode="after")
    def _either(self) -> ProposalBody:
        _one_of(self.outcome, self.value)
        return self


class DisputeBody(Body):
    """``value``: in a scalar market, the number the disputer says is right."""

    bond: Micros
    reason: Reason = ""
    value: Value | None = None


class VoteBody(Body):
    """An outcome, or in a scalar market a ``value`` in its units."""

    outcome: OutcomeIndex | None = None
    reason: Reason = ""
    value: Value | None = None

    @model_validator(mode="after")
    def _either(self) -> VoteBody:
        _one_of(self.outcome, self.value)
        return self


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
    value: Value | None = None
    """A scalar market: the value it resolves to, in its units (instead of the others)."""


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
    """A scalar market: the grid index of ``value``; -1 proposes void."""
    value: Amount | None = None
    """A scalar market: the proposed value, in its units."""
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
    value: Amount | None = None
    """A scalar market: the number the disputer says is right."""


class VoteOut(Out):
    arbiter: str
    outcome: int
    value: Amount | None = None
    """A scalar market: the value voted for, in its units."""


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
    spec_warnings: list[FindingOut]
    """The linter's warnings on the current spec (e.g. a single source and its reason)."""
    earliest_resolution_at: Instant | None
    """The observation time plus the persistence window: nothing is decided before."""
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
    id: int
    """The journal seq of the record that holds this capture (its stable id)."""
    source_id: str
    ok: bool
    value: str | None
    content_sha256: str
    size: int | None
    """The raw body's length in bytes (0 without a body; None if no longer known)."""
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
    next_after: int | None = None
    """Pass as ``after`` for the next page; None on the last page."""


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


# -- the evidence trail: runs of identical captures, observation jobs -------------------------
class RunOut(Out):
    """Consecutive identical captures of one source (same hash, value and status)."""

    source_id: str
    ok: bool
    value: str | None
    content_sha256: str
    size: int | None
    http_status: int | None
    error_code: str
    error: str
    change: str | None
    """The change the run's first capture showed against the capture before it."""
    count: int
    first_id: int
    last_id: int
    first_sha256: str
    last_sha256: str
    first_at: Instant
    last_at: Instant
    summary: str
    """E.g. "unchanged, 120 captures from 2025-11-14T00:00:00Z to 2025-11-19T00:00:00Z"."""
    captures: str
    """The URL listing this run's captures (paged)."""


class RunsOut(Out):
    items: list[RunOut]
    next_cursor: str | None


class JobCapture(Out):
    id: int | None
    """The observation's id (journal seq); None if it was not journaled."""
    source_id: str
    ok: bool
    value: str | None
    content_sha256: str
    size: int
    error_code: str
    error: str
    fetched_at: Instant


class ObserveJobOut(Out):
    """An on-demand observation of a market's sources, run in the background."""

    id: str
    market: str
    status: Literal["pending", "running", "done", "failed"]
    created_at: Instant
    """On the exchange's clock."""
    finished_at: Instant | None
    observations: list[JobCapture]
    error: str
    location: str


# -- the answers to mutations: the changed resource, not the whole story ------------------------
class ChangedOut(Out):
    market: str
    status: str
    """The resolution's phase after the change (collecting, proposed, disputed, held, final)."""
    market_status: str


class SpecChangedOut(ChangedOut):
    spec: dict[str, Any] | None
    spec_version: int
    spec_sha256: str


class ProposalChangedOut(ChangedOut):
    proposal: ProposalOut | None
    """None when the proposal was decided at once (e.g. finalized)."""


class DisputeChangedOut(ChangedOut):
    dispute: DisputeOut | None


class VoteChangedOut(ChangedOut):
    vote: VoteOut
    votes: list[VoteOut]
    """Every vote cast so far (empty once a decision cleared them)."""


class ClarificationChangedOut(ChangedOut):
    rules_version: int
    clarification: ClarificationOut


class OverrideOut(ChangedOut):
    reason: str
