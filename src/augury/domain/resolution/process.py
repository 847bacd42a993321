"""The resolution process: specs, observations, proposals, disputes, votes, holds.

Command handlers in the style of :mod:`augury.domain.exchange`: each validates
everything first and raises :class:`Rejected` before it emits anything. The flow
(docs/resolution.md, "Process"):

- A market carries a spec (version 1 at creation, new versions until a proposal). The
  fetcher's observations are journaled with their content hash; after each one, and on
  every clock tick, the rules are evaluated (:func:`..evaluate.evaluate`).
- When the rules are met the exchange proposes the outcome itself (no bond); a resolver
  may propose earlier, with a bond, once trading has closed. During the challenge
  window anyone may dispute with a bond; a dispute goes to the arbiters.
- No quorum, conflicting evidence, or a confirmed surveillance alert hold the market for
  the arbiters. An outcome is decided when ``arbiters // 2 + 1`` arbiters voted for it.
- The side proved right gets its bond back plus ``winner_share_bps`` of the other
  side's; the rest goes to the arbiters who voted for the decided outcome.
- Conflict of interest is checked here, not trusted: an account that holds a position
  or open orders in the market, or is affiliated with an organization that owns one of
  its sources, may not propose or vote, nor review the market's alerts.
- A high-severity alert holds the market's finalization until an arbiter or an admin
  reviews it (dismiss: proceed; confirm: the arbiters decide).
"""

from __future__ import annotations

import hashlib
import re
from typing import TYPE_CHECKING

from msgspec.structs import replace

from augury.domain import commands as cmd
from augury.domain import events as ev
from augury.domain import ledger, settlement, trading
from augury.domain.market import TERMINAL, Market, Status
from augury.domain.rejections import Code, Rejected
from augury.domain.resolution._wording import vote_reason, wrong_phase
from augury.domain.resolution.bonds import bond_payouts
from augury.domain.resolution.evaluate import Decision, evaluate
from augury.domain.resolution.evaluate import Status as Verdict
from augury.domain.resolution.incremental import Evaluator
from augury.domain.resolution.lint import Severity, lint
from augury.domain.resolution.numeric import evaluate_numeric
from augury.domain.resolution.outcomes import VOID, named_value, outcome_of, weights_of
from augury.domain.resolution.record import MarketResolution, Phase
from augury.domain.resolution.spec import (
    HOUR_US,
    Bonds,
    ResolutionSpec,
    SpecError,
    decode_spec,
    encode_spec,
    norm_org,
    spec_hash,
)
from augury.domain.resolution.timing import not_before, require_time_has_come, require_void_reason
from augury.domain.scalar import ScalarRange
from augury.domain.units import ONE, format_micros

if TYPE_CHECKING:
    from augury.domain.state import State

FRACTIONAL = -2
"""The outcome recorded when an admin resolves with fractional weights."""
DEFAULT_BONDS = Bonds()
DEFAULT_CHALLENGE_HOURS = 48
DEFAULT_ARBITERS = 3
SEVERITIES = ("low", "medium", "high")
VERDICTS = ("dismiss", "confirm")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_DETECTOR = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_ALERT_ACCOUNTS_MAX = 100
_ALERT_SEQS_MAX = 1_000
_SIZE_MAX = 2**53  # a capture's byte size (JSON-safe)
_HEADERS_MAX = 20

_specs: dict[str, ResolutionSpec] = {}  # a decode cache by spec hash, not state


def spec_of(r: MarketResolution) -> ResolutionSpec | None:
    """The market's current spec, decoded once per version."""
    if not r.spec:
        return None
    spec = _specs.get(r.spec_sha256)
    if spec is None:
        if len(_specs) > 10_000:
            _specs.clear()
        spec = _specs[r.spec_sha256] = decode_spec(r.spec)
    return spec


# -- specs ---------------------------------------------------------------------------------
def checked_spec(
    ex: State,
    text: str,
    outcomes: tuple[str, ...],
    close_at: int,
    creator: str,
    scalar_range: ScalarRange | None = None,
) -> tuple[ResolutionSpec, tuple[str, ...]]:
    """Decode and lint ``text``; refuse on any lint error, return the warnings."""
    if len(text.encode()) > ex.limits.spec_bytes_max:
        raise Rejected(Code.INVALID_SPEC, f"a spec may be at most {ex.limits.spec_bytes_max} bytes")
    try:
        spec = decode_spec(text)
    except SpecError as exc:
        raise Rejected(Code.INVALID_SPEC, str(exc)) from None
    findings = lint(spec, outcomes, close_at, ex.affiliations.get(creator, ()), scalar_range)
    errors = [f for f in findings if f.severity is Severity.ERROR]
    if errors:
        told = "; ".join(f"{f.where}: {f.message} [{f.code.value}]" for f in errors)
        raise Rejected(Code.INVALID_SPEC, f"the resolution spec has errors: {told}")
    warnings = tuple(f"{f.where}: {f.message} [{f.code.value}]" for f in findings)
    return spec, warnings


def spec_event(
    market: str, version: int, spec: ResolutionSpec, by: str, reason: str, warnings: tuple[str, ...]
) -> ev.ResolutionSpecSet:
    return ev.ResolutionSpecSet(
        market=market,
        version=version,
        spec=encode_spec(spec).decode(),
        spec_sha256=spec_hash(spec),
        deadline_us=spec.deadline_us,
        by=by,
        reason=reason,
        warnings=warnings,
    )


def handle_set_spec(ex: State, c: cmd.SetResolutionSpec, now: int, out: list[ev.Event]) -> None:
    market = ex.require_market(c.market)
    ex.require_account(c.account)
    r = _live_record(ex, market)
    if r.phase is not Phase.COLLECTING:
        raise wrong_phase("The spec can no longer change", r.phase)
    _require_text(c.reason, ex.limits.text_length_max, "reason", allow_empty=True)
    spec, warnings = checked_spec(
        ex, c.spec, market.outcomes, market.close_at, market.creator, market.scalar
    )
    if spec.observation_at_us < now:
        raise Rejected(Code.INVALID_SPEC, "The new observation time has already passed.")
    ex.emit(spec_event(market.id, r.spec_version + 1, spec, c.account, c.reason, warnings), out)


def handle_affiliation(ex: State, c: cmd.DeclareAffiliation, now: int, out: list[ev.Event]) -> None:
    ex.require_account(c.account)
    org = " ".join(c.organization.split())
    if not 0 < len(org) <= 200:
        raise Rejected(Code.INVALID_TEXT, "the organization must be 1..200 characters")
    orgs = ex.affiliations.get(c.account, ())
    if c.affiliated and org not in orgs and len(orgs) >= ex.limits.organizations_per_account_max:
        raise Rejected(Code.INVALID_TEXT, "too many affiliations for one account")
    ex.emit(ev.AffiliationDeclared(c.account, org, c.affiliated), out)


# -- evidence ------------------------------------------------------------------------------
def handle_observation(ex: State, c: cmd.RecordObservation, now: int, out: list[ev.Event]) -> None:
    market = ex.require_market(c.market)
    r = _live_record(ex, market)
    spec = spec_of(r)
    if spec is None:
        raise Rejected(Code.NO_SPEC, f"Market {market.id!r} has no resolution spec.")
    source = next((s for s in spec.sources if s.id == c.source_id), None)
    if source is None:
        raise Rejected(Code.UNKNOWN_SOURCE, f"The spec has no source {c.source_id!r}.")
    if not 0 < c.fetched_at_us <= now:
        raise Rejected(Code.INVALID_OBSERVATION, "fetched_at_us must be in the past")
    if c.content_sha256 and not _SHA256.fullmatch(c.content_sha256):
        raise Rejected(Code.INVALID_OBSERVATION, "content_sha256 must be 64 lowercase hex")
    if c.ok and (c.value is None or not c.content_sha256):
        raise Rejected(Code.INVALID_OBSERVATION, "a successful observation has a value and hash")
    if not c.ok and c.value is not None:
        raise Rejected(Code.INVALID_OBSERVATION, "a failed observation is never an answer")
    cap = ex.limits.observation_text_max
    texts = (c.value or "", c.error, c.change or "", c.url, c.error_code)
    if any(len(t) > cap for t in texts):
        raise Rejected(Code.INVALID_OBSERVATION, f"observation texts are at most {cap} characters")
    if len(c.headers) > _HEADERS_MAX or any(len(k) + len(v) > cap for k, v in c.headers):
        raise Rejected(Code.INVALID_OBSERVATION, f"at most {_HEADERS_MAX} short headers")
    if c.size is not None and not 0 <= c.size <= _SIZE_MAX:
        raise Rejected(Code.INVALID_OBSERVATION, f"The size must be 0 to {_SIZE_MAX} bytes.")
    if len(r.observations) >= ex.limits.observations_per_market_max:
        raise Rejected(Code.INVALID_OBSERVATION, "too many observations for this market")
    ex.emit(
        ev.ObservationRecorded(
            market.id,
            c.source_id,
            c.fetched_at_us,
            c.ok,
            c.value,
            c.content_sha256,
            c.http_status,
            c.error_code,
            c.error,
            c.change,
            c.url,
            tuple(c.headers),
            c.size,
        ),
        out,
    )
    advance(ex, market, now, out)


# -- the rules' own progress ---------------------------------------------------------------
def next_timer(ex: State, market: Market) -> int | None:
    """When the market's resolution next needs a tick (a deadline or a challenge end)."""
    r = ex.resolutions[market.id]
    if market.status in TERMINAL:
        return None
    if r.phase is Phase.COLLECTING:
        spec = spec_of(r)
        return None if spec is None else max(spec.deadline_us, market.close_at)
    if r.phase is Phase.PROPOSED and r.proposal is not None and not r.holding_alerts:
        return not_before(spec_of(r), r.proposal.challenge_ends_at)
    return None


def advance(ex: State, market: Market, now: int, out: list[ev.Event]) -> None:
    """Do what the rules say at ``now``: propose, hold, void, extend, or finalize."""
    r = ex.resolutions[market.id]
    if market.status in TERMINAL:
        return
    if r.phase is Phase.PROPOSED and r.proposal is not None:
        p = r.proposal
        if now >= not_before(spec_of(r), p.challenge_ends_at) and not r.holding_alerts:
            by = "rules" if not p.proposer else "proposal"
            why = f"unchallenged proposal of outcome {p.outcome}: {p.reason}"
            _finalize(ex, market, p.outcome, by, why[:4_000], (), out)
        return
    spec = spec_of(r)
    if r.phase is not Phase.COLLECTING or spec is None or now < market.close_at:
        return
    decision = _decision(ex, market.id, r, spec, now)
    if decision.status is Verdict.PENDING:
        return
    ex.evaluators.pop(market.id, None)  # decided: it leaves COLLECTING (rebuilt if it returns)
    if market.status in (Status.OPEN, Status.HALTED):
        trading.close_market(ex, market, "close time reached", out)
    why = decision.explanation[:4_000]
    if decision.status is Verdict.PROPOSE:
        assert decision.outcome is not None
        evidence = decision.evidence or tuple(
            h for v in decision.sources if v.outcome == decision.outcome for h in v.evidence
        )
        ends = now + spec.challenge_window_hours * HOUR_US
        ex.emit(
            ev.OutcomeProposed(market.id, "", decision.outcome, 0, now, ends, evidence, why, ()),
            out,
        )
        if ends <= now:  # a zero challenge window: final at once
            advance(ex, market, now, out)
    elif decision.status is Verdict.HOLD:
        ex.emit(ev.ResolutionHeld(market.id, why), out)
    elif decision.status is Verdict.VOID:
        _finalize(ex, market, VOID, "rules", why, (), out)
    else:
        assert decision.extend_to_us is not None
        extended = replace(spec, observation_at_us=decision.extend_to_us)
        ex.emit(spec_event(market.id, r.spec_version + 1, extended, "", why, ()), out)


# -- people: proposals, disputes, votes ------------------------------------------------------
def _decision(
    ex: State, market: str, r: MarketResolution, spec: ResolutionSpec, now: int
) -> Decision:
    """``evaluate(spec, r.observations, now)``, incrementally: the market's Evaluator is
    fed the observations recorded since it last looked (rebuilt for a new spec). A
    numeric spec is evaluated in full (:mod:`.numeric` has no incremental evaluator)."""
    if spec.numeric is not None:
        return evaluate_numeric(spec, r.observations, now, ex.markets[market].scalar)
    evaluator: Evaluator | None = ex.evaluators.get(market)
    observations = r.observations
    if (
        evaluator is None
        or evaluator.spec_version != r.spec_version
        or evaluator.spec is not spec
        or evaluator.count > len(observations)
    ):
        evaluator = ex.evaluators[market] = Evaluator(spec, r.spec_version)
    for i in range(evaluator.count, len(observations)):
        evaluator.add(observations[i])
    if now < evaluator.latest_us:  # an instant before some observation: evaluate() skips it
        return evaluate(spec, observations, now)
    return evaluator.decide(now)


_CANNOT = "so it cannot judge its resolution."


def conflict(ex: State, market: Market, account: str) -> str | None:
    """Why ``account`` may not judge ``market``, or None."""
    held = market.positions.get(account)
    if held is not None and any(held):
        return f"The account {account} holds a position in market {market.id}, {_CANNOT}"
    if any(o.market == market.id for o in ex.open_orders.get(account, {}).values()):
        return f"The account {account} has open orders in market {market.id}, {_CANNOT}"
    spec = spec_of(ex.resolutions[market.id])
    orgs = {norm_org(o) for o in ex.affiliations.get(account, ())}
    if spec is not None and orgs:
        for source in spec.sources:
            if norm_org(source.owner) in orgs:
                return (
                    f"The account {account} is affiliated with {source.owner}, which owns "
                    f"the source {source.id!r} of market {market.id}, {_CANNOT}"
                )
    return None


def _require_no_conflict(ex: State, market: Market, account: str) -> None:
    why = conflict(ex, market, account)
    if why is not None:
        raise Rejected(Code.CONFLICT_OF_INTEREST, why)


def _params(r: MarketResolution) -> tuple[Bonds, int, int]:
    spec = spec_of(r)
    if spec is None:
        return DEFAULT_BONDS, DEFAULT_CHALLENGE_HOURS, DEFAULT_ARBITERS
    return spec.bonds, spec.challenge_window_hours, spec.arbiters


def handle_propose(ex: State, c: cmd.ProposeOutcome, now: int, out: list[ev.Event]) -> None:
    market = ex.require_market(c.market)
    ex.require_account(c.account)
    r = _live_record(ex, market)
    if now < market.close_at:
        raise Rejected(
            Code.MARKET_NOT_CLOSED, "An outcome can be proposed once trading has closed."
        )
    require_time_has_come(spec_of(r), market.id, "a proposal", now)
    if r.phase is not Phase.COLLECTING:
        raise wrong_phase("An outcome can no longer be proposed", r.phase)
    outcome = outcome_of(market, c.outcome, c.value)
    _require_text(c.reason, ex.limits.text_length_max, "reason", allow_empty=True)
    bonds, hours, _ = _params(r)
    _require_bond(ex, c.account, c.bond, bonds.proposal)
    _require_no_conflict(ex, market, c.account)
    if market.status in (Status.OPEN, Status.HALTED):
        trading.close_market(ex, market, "close time reached", out)
    postings = ((ledger.cash(c.account), -c.bond), (ledger.bonds(market.id), c.bond))
    ends = now + hours * HOUR_US
    ex.emit(
        ev.OutcomeProposed(
            market.id, c.account, outcome, c.bond, now, ends, (), c.reason, postings
        ),
        out,
    )


def handle_dispute(ex: State, c: cmd.DisputeProposal, now: int, out: list[ev.Event]) -> None:
    market = ex.require_market(c.market)
    ex.require_account(c.account)
    r = _live_record(ex, market)
    if r.phase is not Phase.PROPOSED or r.proposal is None:
        raise wrong_phase("There is no proposal to dispute", r.phase)
    if now >= r.proposal.challenge_ends_at:
        raise Rejected(
            Code.CHALLENGE_WINDOW_CLOSED,
            "The challenge window has ended, so the proposal can no longer be disputed.",
        )
    if c.account == r.proposal.proposer:
        raise Rejected(Code.CONFLICT_OF_INTEREST, "You cannot dispute your own proposal.")
    _require_text(c.reason, ex.limits.text_length_max, "reason", allow_empty=True)
    value = None if c.value is None else named_value(market, c.value)  # the disputer's
    bonds, _, _ = _params(r)
    _require_bond(ex, c.account, c.bond, bonds.dispute)
    postings = ((ledger.cash(c.account), -c.bond), (ledger.bonds(market.id), c.bond))
    ex.emit(ev.ProposalDisputed(market.id, c.account, c.bond, now, c.reason, postings, value), out)


def handle_vote(ex: State, c: cmd.CastVote, now: int, out: list[ev.Event]) -> None:
    market = ex.require_market(c.market)
    ex.require_account(c.account)
    r = _live_record(ex, market)
    if now < market.close_at:  # e.g. an alert confirmed while trading still runs
        raise Rejected(Code.MARKET_NOT_CLOSED, "Arbiters vote once trading has closed.")
    require_time_has_come(spec_of(r), market.id, "a vote", now)
    if r.phase not in (Phase.DISPUTED, Phase.HELD):
        raise wrong_phase("No vote is open", r.phase)
    outcome = outcome_of(market, c.outcome, c.value)
    _require_text(c.reason, ex.limits.text_length_max, "reason", allow_empty=True)
    parties = {r.proposal.proposer if r.proposal else "", r.dispute.disputer if r.dispute else ""}
    if c.account in parties:
        raise Rejected(
            Code.CONFLICT_OF_INTEREST,
            "A party to the dispute (its proposer or disputer) cannot arbitrate it.",
        )
    if any(a == c.account for a, _ in r.votes):
        raise Rejected(
            Code.ALREADY_VOTED, f"The account {c.account} has already voted on this market."
        )
    _require_no_conflict(ex, market, c.account)
    ex.emit(ev.VoteCast(market.id, c.account, outcome, c.reason), out)
    _, _, arbiters = _params(r)
    votes = ex.resolutions[market.id].votes
    voters = tuple(a for a, o in votes if o == outcome)
    if len(voters) >= arbiters // 2 + 1:
        why = vote_reason(len(voters), len(votes), arbiters, outcome)
        _finalize(ex, market, outcome, "arbiters", why, voters, out)


# -- clarifications ----------------------------------------------------------------------------
def clarification_hash(prev: str, market: str, version: int, author: str, text: str) -> str:
    """SHA-256 chaining a clarification to the previous one (docs/resolution.md)."""
    data = f"{prev}\n{market}\n{version}\n{author}\n{text}".encode()
    return hashlib.sha256(data).hexdigest()


def handle_clarify(ex: State, c: cmd.PostClarification, now: int, out: list[ev.Event]) -> None:
    market = ex.require_market(c.market)
    ex.require_account(c.account)
    r = _live_record(ex, market)
    _require_text(c.text, ex.limits.text_length_max, "clarification", allow_empty=False)
    if len(r.clarifications) >= ex.limits.clarifications_per_market_max:
        raise Rejected(Code.INVALID_TEXT, "too many clarifications for this market")
    prev = r.clarifications[-1].sha256 if r.clarifications else r.spec_sha256
    version = r.rules_version + 1
    text = c.text.strip()
    digest = clarification_hash(prev, market.id, version, c.account, text)
    if c.cancel_orders:
        trading.cancel_market_orders(ex, market, "cancelled", out)
    ex.emit(
        ev.ClarificationPosted(
            market.id, version, c.account, text, now, digest, prev, c.cancel_orders
        ),
        out,
    )


# -- surveillance holds ------------------------------------------------------------------------
def handle_alert(ex: State, c: cmd.RaiseAlert, now: int, out: list[ev.Event]) -> None:
    market = ex.require_market(c.market)
    r = ex.resolutions[market.id]
    if not _DETECTOR.fullmatch(c.detector):
        raise Rejected(Code.INVALID_ALERT, "detector must be 1..64 of a-z, 0-9, '_'")
    if c.severity not in SEVERITIES:
        raise Rejected(Code.INVALID_ALERT, f"severity must be one of {', '.join(SEVERITIES)}")
    if len(c.accounts) > _ALERT_ACCOUNTS_MAX or len(c.seqs) > _ALERT_SEQS_MAX:
        raise Rejected(Code.INVALID_ALERT, "too many accounts or sequence numbers")
    if any(len(a) > ex.limits.id_length_max for a in c.accounts) or len(c.key) > 200:
        raise Rejected(Code.INVALID_ALERT, "account ids or key too long")
    _require_text(c.reason, ex.limits.text_length_max, "reason", allow_empty=False)
    if c.key and (market.id, c.detector, c.key) in ex.alert_keys:
        raise Rejected(Code.INVALID_ALERT, "this finding was already raised")
    if r.alerts >= ex.limits.alerts_per_market_max:
        raise Rejected(Code.INVALID_ALERT, "too many alerts for this market")
    holds = c.severity == "high" and market.status not in TERMINAL
    alert_id = len(ex.alerts) + 1
    ex.emit(
        ev.AlertRaised(
            alert_id,
            market.id,
            c.detector,
            c.severity,
            tuple(c.accounts),
            tuple(c.seqs),
            c.reason,
            c.score,
            c.key,
            holds,
            now,
        ),
        out,
    )


def handle_review(ex: State, c: cmd.ReviewAlert, now: int, out: list[ev.Event]) -> None:
    ex.require_account(c.account)
    alert = ex.alerts.get(c.alert_id)
    if alert is None:
        raise Rejected(Code.UNKNOWN_ALERT, f"no alert {c.alert_id}")
    if alert.verdict:
        raise Rejected(Code.ALERT_ALREADY_REVIEWED, f"alert {c.alert_id} was {alert.verdict}ed")
    if c.verdict not in VERDICTS:
        raise Rejected(Code.INVALID_ALERT, "verdict must be dismiss or confirm")
    _require_text(c.note, ex.limits.text_length_max, "note", allow_empty=True)
    market = ex.markets[alert.market]
    if c.account in alert.accounts:
        raise Rejected(Code.CONFLICT_OF_INTEREST, "An account named in an alert cannot review it.")
    _require_no_conflict(ex, market, c.account)
    ex.emit(ev.AlertReviewed(alert.id, market.id, c.account, c.verdict, c.note), out)
    r = ex.resolutions[market.id]
    if market.status in TERMINAL or r.phase in (Phase.FINAL, Phase.HELD, Phase.DISPUTED):
        return
    if c.verdict == "confirm" and alert.holds:
        why = f"surveillance alert {alert.id} ({alert.detector}) confirmed by {c.account}"
        ex.emit(ev.ResolutionHeld(market.id, why), out)
    else:
        advance(ex, market, now, out)


# -- the end: bonds and settlement -------------------------------------------------------------
def _finalize(
    ex: State,
    market: Market,
    outcome: int,
    by: str,
    reason: str,
    voters: tuple[str, ...],
    out: list[ev.Event],
) -> None:
    postings = bond_payouts(ex, market, _params(ex.resolutions[market.id])[0], outcome, voters)
    ex.emit(ev.ResolutionFinalized(market.id, outcome, by, reason, voters, postings), out)
    if outcome == VOID:
        settlement.void(ex, market, reason, out)
    else:
        settlement.settle(ex, market, weights_of(market, outcome), reason, out)


def finalize_by_admin(
    ex: State,
    market: Market,
    weights: tuple[int, ...] | None,
    reason: str,
    now: int,
    out: list[ev.Event],
    grid: int | None = None,
) -> None:
    """An operator's override (or void when ``weights`` is None): bonds go back as posted.
    Refused before the earliest resolution time, except a void with a public reason.
    ``grid``: a scalar market's resolved value's grid index (recorded as the outcome)."""
    spec = spec_of(ex.resolutions[market.id])
    if weights is None:
        require_void_reason(spec, reason, now)
        outcome = VOID
    else:
        require_time_has_come(spec, market.id, "an operator's resolve", now)
        winners = [j for j, w in enumerate(weights) if w == ONE]
        outcome = winners[0] if winners else FRACTIONAL
        if grid is not None:
            outcome = grid
    postings = bond_payouts(ex, market, _params(ex.resolutions[market.id])[0], None, ())
    ex.emit(ev.ResolutionFinalized(market.id, outcome, "admin", reason, (), postings), out)


# -- checks ------------------------------------------------------------------------------------
def _live_record(ex: State, market: Market) -> MarketResolution:
    if market.status is Status.RESOLVED:
        raise Rejected(Code.MARKET_RESOLVED, "The market is already resolved.")
    if market.status is Status.VOIDED:
        raise Rejected(Code.MARKET_VOIDED, "The market is already voided.")
    return ex.resolutions[market.id]


def _require_bond(ex: State, account: str, bond: int, minimum: int) -> None:
    if bond < minimum:
        raise Rejected(
            Code.BOND_TOO_SMALL, f"The bond must be at least {format_micros(minimum)} credits."
        )
    if bond > ex.limits.grant_max:
        raise Rejected(Code.INVALID_AMOUNT, "The bond is larger than any account can hold.")
    available = ex.ledger.balance(ledger.cash(account))
    if available < bond:
        raise Rejected(
            Code.INSUFFICIENT_FUNDS,
            f"The bond needs {format_micros(bond)} credits and only "
            f"{format_micros(available)} are available.",
        )


def _require_text(text: str, cap: int, what: str, *, allow_empty: bool) -> None:
    if len(text) > cap or (not allow_empty and not text.strip()):
        lo = 0 if allow_empty else 1
        raise Rejected(Code.INVALID_TEXT, f"The {what} must be {lo} to {cap} characters long.")
