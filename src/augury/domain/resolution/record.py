"""A market's resolution record: spec versions, evidence, proposal, dispute, votes, holds.

Immutable msgspec structs, replaced (never mutated) by the appliers in this module, so
a snapshot encodes them as they are and two equal records compare equal. Only the
event appliers here change a record; the handlers in :mod:`.process` decide.
"""

from __future__ import annotations

from enum import StrEnum

import msgspec
from msgspec.structs import replace

from augury.domain import events as ev
from augury.domain.resolution.evaluate import Observation
from augury.domain.resolution.spec import norm_org


class Phase(StrEnum):
    COLLECTING = "collecting"  # trading or observing; no proposal yet
    PROPOSED = "proposed"  # an outcome is proposed; the challenge window runs
    DISPUTED = "disputed"  # a proposal was disputed; the arbiters vote
    HELD = "held"  # no rule-based answer (or an alert was confirmed); the arbiters vote
    FINAL = "final"  # settled or voided


class Proposal(msgspec.Struct, frozen=True):
    proposer: str  # "" when the rules proposed
    outcome: int  # -1: void
    bond: int
    at_us: int
    challenge_ends_at: int
    evidence: tuple[str, ...]
    reason: str


class Dispute(msgspec.Struct, frozen=True, omit_defaults=True):
    disputer: str
    bond: int
    at_us: int
    reason: str
    value: int | None = None  # a scalar market: the disputer's number


class Clarification(msgspec.Struct, frozen=True):
    version: int
    author: str
    text: str
    at_us: int
    sha256: str
    prev_sha256: str


class Alert(msgspec.Struct, frozen=True):
    id: int
    market: str
    detector: str
    severity: str
    accounts: tuple[str, ...]
    seqs: tuple[int, ...]
    reason: str
    score: int
    key: str
    holds: bool
    at_us: int
    verdict: str = ""  # "" until reviewed: dismiss | confirm
    reviewer: str = ""


class MarketResolution(msgspec.Struct, frozen=True):
    """Everything about how one market resolves; ``spec`` is canonical JSON or ""."""

    market: str
    spec: str = ""
    spec_version: int = 0
    spec_sha256: str = ""
    observations: list[Observation] = msgspec.field(default_factory=list)
    """Appended in place (one per recorded observation): copying a tuple each time would
    make a market's observations cost quadratic time."""
    phase: Phase = Phase.COLLECTING
    proposal: Proposal | None = None
    dispute: Dispute | None = None
    votes: tuple[tuple[str, int], ...] = ()
    held_reason: str = ""
    clarifications: tuple[Clarification, ...] = ()
    holding_alerts: tuple[int, ...] = ()
    alerts: int = 0  # alerts raised on this market (a limit counts them)

    @property
    def rules_version(self) -> int:
        """1 for the original rules, +1 per clarification."""
        return 1 + len(self.clarifications)


def blocked_orgs(r: MarketResolution) -> frozenset[str]:
    """The (normalized) owners of the market's sources, if its spec blocks their
    affiliates from trading it; else empty."""
    if not r.spec:
        return frozenset()
    spec = msgspec.json.decode(r.spec)
    if not spec.get("block_affiliated_trading"):
        return frozenset()
    return frozenset(norm_org(s["owner"]) for s in spec.get("sources", ()))


def spec_set(r: MarketResolution, e: ev.ResolutionSpecSet) -> MarketResolution:
    return replace(r, spec=e.spec, spec_version=e.version, spec_sha256=e.spec_sha256)


def observed(r: MarketResolution, e: ev.ObservationRecorded) -> MarketResolution:
    o = Observation(e.source_id, e.fetched_at_us, e.ok, e.value, e.content_sha256)
    r.observations.append(o)
    return r


def proposed(r: MarketResolution, e: ev.OutcomeProposed) -> MarketResolution:
    p = Proposal(e.proposer, e.outcome, e.bond, e.at_us, e.challenge_ends_at, e.evidence, e.reason)
    return replace(r, phase=Phase.PROPOSED, proposal=p)


def disputed(r: MarketResolution, e: ev.ProposalDisputed) -> MarketResolution:
    d = Dispute(e.disputer, e.bond, e.at_us, e.reason, e.value)
    return replace(r, phase=Phase.DISPUTED, dispute=d)


def held(r: MarketResolution, e: ev.ResolutionHeld) -> MarketResolution:
    return replace(r, phase=Phase.HELD, held_reason=e.reason)


def voted(r: MarketResolution, e: ev.VoteCast) -> MarketResolution:
    return replace(r, votes=(*r.votes, (e.arbiter, e.outcome)))


def finalized(r: MarketResolution) -> MarketResolution:
    return replace(r, phase=Phase.FINAL, holding_alerts=())


def clarified(r: MarketResolution, e: ev.ClarificationPosted) -> MarketResolution:
    c = Clarification(e.version, e.author, e.text, e.at_us, e.sha256, e.prev_sha256)
    return replace(r, clarifications=(*r.clarifications, c))


def alert_raised(r: MarketResolution, e: ev.AlertRaised) -> MarketResolution:
    holding = (*r.holding_alerts, e.alert_id) if e.holds else r.holding_alerts
    return replace(r, holding_alerts=holding, alerts=r.alerts + 1)


def alert_reviewed(r: MarketResolution, e: ev.AlertReviewed) -> MarketResolution:
    holding = tuple(a for a in r.holding_alerts if a != e.alert_id)
    return replace(r, holding_alerts=holding)
