"""Events: what happened, in enough detail that replaying them rebuilds the state.

Each event that moves money carries its ledger ``postings`` (account, signed micros;
they always sum to zero), each event that moves shares carries ``shares`` (account,
token, signed micro-shares of available holdings) and each that changes what an
account has put into a market carries ``contrib`` (used to refund a voided market).
Events are tagged msgspec structs: their JSON encoding is deterministic, which the
hash-chained journal relies on. Prices in events are in ticks of the YES side of the
outcome's book.
"""

from __future__ import annotations

import msgspec

from augury.domain.scalar import ScalarRange

Posting = tuple[str, int]
ShareMove = tuple[str, int, int]
Contribution = tuple[str, int]


class Event(msgspec.Struct, frozen=True, tag_field="type", gc=False):
    """Base of every event.

    ``gc=False``: an event holds only strings, ints, bools and tuples of them, so it can
    never be part of a reference cycle; leaving it out of the cycle collector saves the
    hot path the tracking (msgspec's documented use of the option). Encoding is the same.
    """


class AccountOpened(Event, frozen=True, tag="account_opened"):
    account: str


class CreditsGranted(Event, frozen=True, tag="credits_granted"):
    account: str
    amount: int
    memo: str
    postings: tuple[Posting, ...]


class MarketCreated(Event, frozen=True, tag="market_created", omit_defaults=True):
    """``omit_defaults``: the two trading-block fields are written only when trading by
    affiliates is allowed, so a default market encodes as it did before they existed
    (and a journal written before them replays with the default: blocked)."""

    market: str
    creator: str
    question: str
    outcomes: tuple[str, ...]
    categorical: bool
    close_at: int
    liquidity: int
    tick: int
    lot: int
    fee_bps: int
    subsidy: int
    postings: tuple[Posting, ...]
    contrib: tuple[Contribution, ...]
    block_affiliated_trading: bool = True
    affiliated_trading_reason: str = ""
    scalar: ScalarRange | None = None  # written only for a scalar market


class MarketStatusChanged(Event, frozen=True, tag="market_status_changed"):
    market: str
    status: str
    reason: str


class OrderAccepted(Event, frozen=True, tag="order_accepted"):
    order_id: int
    account: str
    market: str
    outcome: int
    side: str
    token: str
    price: int  # YES ticks; the worst acceptable price for a market order
    qty: int  # 0 for a market order sized by budget
    budget: int  # 0 unless sized by budget
    tif: str
    expires_at: int  # 0 when it never expires
    post_only: bool
    client_order_id: str
    self_trade: str
    escrow: int  # micro-credits for buys, micro-shares for sells
    postings: tuple[Posting, ...]
    shares: tuple[ShareMove, ...]


class OrderRested(Event, frozen=True, tag="order_rested"):
    order_id: int


class BookFill(Event, frozen=True, tag="book_fill"):
    market: str
    outcome: int
    price: int
    qty: int
    taker_order: int
    resting_order: int
    taker_escrow_used: int
    resting_escrow_used: int
    fee: int
    postings: tuple[Posting, ...]
    shares: tuple[ShareMove, ...]
    contrib: tuple[Contribution, ...]


class MakerFill(Event, frozen=True, tag="maker_fill"):
    """A trade between an order (taking, or resting and crossed) and the LMSR maker."""

    market: str
    outcome: int
    order_id: int
    account: str
    delta: tuple[int, ...]  # change of the maker's sold-shares vector q
    qty: int
    charge: int  # signed: paid by the account (>0) or paid to it (<0), before fees
    value: int  # what the order paid (buy) or received (sell) at its price; maker keeps any edge
    escrow_used: int
    fee: int
    sets_delta: int  # complete sets the maker minted (+) or redeemed (-) to stay covered
    postings: tuple[Posting, ...]
    shares: tuple[ShareMove, ...]
    contrib: tuple[Contribution, ...]


class OrderClosed(Event, frozen=True, tag="order_closed"):
    order_id: int
    reason: str  # filled | cancelled | expired | unfilled | self_trade | market_closed
    released: int
    postings: tuple[Posting, ...]
    shares: tuple[ShareMove, ...]


class OrderReduced(Event, frozen=True, tag="order_reduced"):
    """A resting order made smaller in place (an amendment that only lowers its size): it
    keeps its id, price and place in the queue; ``remaining`` is its new unfilled size
    (its ``qty`` falls by as much) and ``released`` what it reserved for the rest."""

    order_id: int
    remaining: int
    released: int
    postings: tuple[Posting, ...]
    shares: tuple[ShareMove, ...]


class SetsMinted(Event, frozen=True, tag="sets_minted"):
    market: str
    account: str
    qty: int
    postings: tuple[Posting, ...]
    shares: tuple[ShareMove, ...]
    contrib: tuple[Contribution, ...]


class SetsRedeemed(Event, frozen=True, tag="sets_redeemed"):
    market: str
    account: str
    qty: int
    outcome: int  # -1 for full sets, else the outcome whose YES+NO pair was redeemed
    postings: tuple[Posting, ...]
    shares: tuple[ShareMove, ...]
    contrib: tuple[Contribution, ...]


class NoConverted(Event, frozen=True, tag="no_converted"):
    market: str
    account: str
    outcome: int
    qty: int
    to_yes: bool
    shares: tuple[ShareMove, ...]


class MarketSettled(Event, frozen=True, tag="market_settled"):
    """Final payouts: every holder paid by the weights, the maker's remainder to the creator."""

    market: str
    weights: tuple[int, ...]
    reason: str
    payouts: tuple[Contribution, ...]
    residue: int
    postings: tuple[Posting, ...]


class MarketVoided(Event, frozen=True, tag="market_voided"):
    """Void/N-A: every account gets back its net cash contribution (pro rata if short)."""

    market: str
    reason: str
    refunds: tuple[Contribution, ...]
    residue: int
    postings: tuple[Posting, ...]


class ResolutionSpecSet(Event, frozen=True, tag="resolution_spec_set"):
    """A spec version (canonical JSON) with the linter's warnings; version 1 at creation."""

    market: str
    version: int
    spec: str
    spec_sha256: str
    deadline_us: int  # when the fallback applies if the rules have not decided
    by: str  # "" when the rules themselves extended the observation time
    reason: str
    warnings: tuple[str, ...]


class AffiliationDeclared(Event, frozen=True, tag="affiliation_declared"):
    account: str
    organization: str
    affiliated: bool


class ObservationRecorded(Event, frozen=True, tag="observation_recorded"):
    market: str
    source_id: str
    fetched_at_us: int
    ok: bool
    value: str | None
    content_sha256: str
    http_status: int | None
    error_code: str
    error: str
    change: str | None
    url: str
    headers: tuple[tuple[str, str], ...]
    size: int | None = None  # the raw body's length in bytes; None in records before it


class OutcomeProposed(Event, frozen=True, tag="outcome_proposed"):
    """``proposer`` "" is the rules themselves; ``outcome`` -1 proposes void."""

    market: str
    proposer: str
    outcome: int
    bond: int
    at_us: int
    challenge_ends_at: int
    evidence: tuple[str, ...]
    reason: str
    postings: tuple[Posting, ...]


class ProposalDisputed(Event, frozen=True, tag="proposal_disputed", omit_defaults=True):
    """``value``: in a scalar market, the disputer's number (written only when given)."""

    market: str
    disputer: str
    bond: int
    at_us: int
    reason: str
    postings: tuple[Posting, ...]
    value: int | None = None


class ResolutionHeld(Event, frozen=True, tag="resolution_held"):
    """The market waits for the arbiters (no quorum, conflicting evidence, an alert)."""

    market: str
    reason: str


class VoteCast(Event, frozen=True, tag="vote_cast"):
    market: str
    arbiter: str
    outcome: int
    reason: str


class ResolutionFinalized(Event, frozen=True, tag="resolution_finalized"):
    """The outcome is final (``by`` rules | arbiters | admin); bonds are paid out here and
    the settlement (MarketSettled or MarketVoided) follows in the same record."""

    market: str
    outcome: int  # -1 void, -2 fractional weights (admin)
    by: str
    reason: str
    voters: tuple[str, ...]
    postings: tuple[Posting, ...]


class ClarificationPosted(Event, frozen=True, tag="clarification_posted"):
    """Rules version ``version`` (1 is the original rules); hash-chained to the previous."""

    market: str
    version: int
    author: str
    text: str
    at_us: int
    sha256: str
    prev_sha256: str
    cancel_orders: bool


class AlertRaised(Event, frozen=True, tag="alert_raised"):
    alert_id: int
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


class AlertReviewed(Event, frozen=True, tag="alert_reviewed"):
    alert_id: int
    market: str
    reviewer: str
    verdict: str
    note: str


ALL_EVENTS: tuple[type[Event], ...] = (
    AccountOpened,
    CreditsGranted,
    MarketCreated,
    MarketStatusChanged,
    OrderAccepted,
    OrderRested,
    BookFill,
    MakerFill,
    OrderClosed,
    SetsMinted,
    SetsRedeemed,
    NoConverted,
    MarketSettled,
    MarketVoided,
    ResolutionSpecSet,
    AffiliationDeclared,
    ObservationRecorded,
    OutcomeProposed,
    ProposalDisputed,
    ResolutionHeld,
    VoteCast,
    ResolutionFinalized,
    ClarificationPosted,
    AlertRaised,
    AlertReviewed,
)
