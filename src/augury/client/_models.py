"""The API's JSON answers as typed msgspec Structs.

Amounts are :class:`~decimal.Decimal` (decoded from the API's decimal strings, never a
float); instants are timezone-aware :class:`~datetime.datetime`. Unknown fields are
ignored, so a newer server with more fields still decodes.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Generic, TypeVar

import msgspec

T = TypeVar("T")


class Model(msgspec.Struct, kw_only=True):
    """Base of every answer."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready builtins (amounts as strings, instants as RFC 3339 strings)."""
        result: dict[str, Any] = msgspec.to_builtins(self)
        return result


class Page(Model, Generic[T]):
    """One page of a list; pass ``next_cursor`` as ``cursor`` for the next (None: last)."""

    items: list[T]
    next_cursor: str | None


# -- accounts ---------------------------------------------------------------------------
class User(Model):
    username: str
    account: str
    roles: list[str]
    created_at: datetime


class SecurityNotice(Model):
    kind: str
    detail: str
    created_at: datetime


class Me(User):
    authenticated_by: str
    scopes: list[str]
    security_notices: list[SecurityNotice] = []


class Login(Model):
    user: User
    csrf_token: str


class ApiKey(Model):
    id: str
    name: str
    prefix: str
    scopes: list[str]
    created_at: datetime
    revoked_at: datetime | None


class ApiKeyCreated(ApiKey):
    key: str
    """The key itself: shown this once, never again."""
    key_type: str | None = None
    """With a public key: rsa or ed25519 (signed requests name the key's ``id``)."""


class ApiKeyList(Model):
    items: list[ApiKey]


# -- markets and market data ------------------------------------------------------------
class Scalar(Model):
    """A scalar market's range, step and units; values in the question's units."""

    low: Decimal
    high: Decimal
    step: Decimal
    units: str
    resolved_value: Decimal | None = None


class Market(Model):
    id: str
    question: str
    description: str
    rules: str
    category: str
    outcomes: list[str]
    categorical: bool
    status: str
    status_reason: str
    close_time: datetime
    tick_size: Decimal
    lot_size: Decimal
    liquidity: Decimal
    subsidy: Decimal
    fee_bps: int
    creator: str
    resolution_spec: dict[str, Any]
    weights: list[Decimal] | None
    created_at: datetime
    type: str = "binary"
    """binary, categorical or scalar (LONG traded as YES, SHORT as NO)."""
    scalar: Scalar | None = None
    """A scalar market's range (None for the others)."""


class Level(Model):
    price: Decimal
    qty: Decimal
    orders: int
    implied_value: Decimal | None = None
    """A scalar market: the value this LONG price implies, in the question's units."""


class Book(Model):
    market: str
    outcome: int
    status: str
    bids: list[Level]
    asks: list[Level]


class MakerQuote(Model):
    market: str
    status: str
    liquidity: Decimal
    prices: list[Decimal] | None
    implied_value: Decimal | None = None
    """A scalar market: the value LONG's price implies, in the question's units."""


class Trade(Model):
    id: str
    time: datetime
    market: str
    outcome: int
    kind: str
    price: Decimal
    qty: Decimal
    rules_version: int
    """The version of the market's rules the trade was made under (1 + clarifications)."""


class Fill(Trade):
    role: str
    order_id: int | None
    fee: Decimal


class ImpliedCandle(Model):
    """A scalar market's candle in the question's units."""

    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal


class Candle(Model):
    start: datetime
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal
    trades: int
    implied: ImpliedCandle | None = None
    """A scalar market: the candle in the question's units."""


class Candles(Model):
    market: str
    outcome: int
    interval: str
    items: list[Candle]


# -- trading ----------------------------------------------------------------------------
class Order(Model):
    id: int
    market: str
    outcome: int
    side: str
    token: str
    price: Decimal
    qty: Decimal
    budget: Decimal | None
    tif: str
    expires_at: datetime | None
    post_only: bool
    client_order_id: str | None
    self_trade: str
    status: str
    filled: Decimal
    remaining: Decimal
    escrow: Decimal
    created_at: datetime | None
    updated_at: datetime | None
    queue_ahead: Decimal | None = None
    """While it rests: the shares resting before it at its price; None once closed."""


class PlacedFill(Model):
    venue: str
    qty: Decimal
    price: Decimal
    fee: Decimal | None = None
    """The fee the order paid on this fill (in an order's answer; None in a preview)."""


class Placement(Model):
    id: int
    market: str
    outcome: int
    side: str
    token: str
    type: str
    price: Decimal
    qty: Decimal
    budget: Decimal | None
    tif: str
    expires_at: datetime | None
    post_only: bool
    client_order_id: str | None
    self_trade: str
    status: str
    filled: Decimal
    remaining: Decimal
    value: Decimal
    """What the filled shares cost (a buy) or fetched (a sell), before fees."""
    fees: Decimal
    average_price: Decimal | None
    fills: list[PlacedFill]


class Preview(Model):
    market: str
    outcome: int
    side: str
    token: str
    filled_qty: Decimal
    unfilled_qty: Decimal | None
    value: Decimal
    fee: Decimal
    total: Decimal
    average_price: Decimal | None
    fills: list[PlacedFill]
    would_rest: bool
    fok_refused: bool
    self_trade_cancels: int
    self_trade_stopped: bool
    as_of: datetime


class Cancelled(Model):
    id: int
    status: str
    released: Decimal


class Amended(Model):
    """An amendment's outcome: ``replaced`` False, the ``order`` reduced in place (same
    id, same place in the queue); True, the ``placement`` of its replacement."""

    previous_id: int
    replaced: bool
    order: Order | None
    placement: Placement | None


class CancelledAll(Model):
    cancelled: list[int]


class Minted(Model):
    market: str
    minted: Decimal


class Redeemed(Model):
    market: str
    redeemed: Decimal
    outcome: int | None


class Converted(Model):
    market: str
    outcome: int
    qty: Decimal
    to_yes: bool


# -- portfolio --------------------------------------------------------------------------
class Balances(Model):
    account: str
    available: Decimal
    escrow: Decimal
    total: Decimal


class Position(Model):
    market: str
    outcome: int
    outcome_name: str
    token: str
    qty: Decimal
    escrowed: Decimal
    cost_basis: Decimal | None
    average_cost: Decimal | None
    mark_price: Decimal | None
    market_value: Decimal | None
    unrealized_pnl: Decimal | None


class PositionList(Model):
    items: list[Position]


class MarketProfit(Model):
    """What the account paid into a market and got out of it; ``realized_pnl`` leaves
    out the cost of shares still held (``held_at_cost``)."""

    market: str
    status: str
    paid: Decimal
    received: Decimal
    fees: Decimal
    settlement: Decimal
    held_at_cost: Decimal
    realized_pnl: Decimal


class ProfitList(Model):
    items: list[MarketProfit]


class Settlement(Model):
    """A payout (resolved market) or refund (voided market) to the account."""

    seq: int
    time: datetime
    market: str
    kind: str
    amount: Decimal


# -- resolution -------------------------------------------------------------------------
class LintFinding(Model):
    severity: str
    """``error`` (the spec is refused) or ``warning``."""
    code: str
    message: str
    where: str
    """The spec field it is about (``$.quorum``, ``$.sources[0].url``, ...)."""


class LintResult(Model):
    acceptable: bool
    """No finding is an error: creating the market or setting this spec would pass."""
    findings: list[LintFinding]


class Proposal(Model):
    proposer: str
    """The resolver's account; empty when the rules proposed the outcome themselves."""
    outcome: int
    """The outcome index; -1 proposes to void the market."""
    bond: Decimal
    proposed_at: datetime
    challenge_ends_at: datetime
    evidence: list[str]
    """The SHA-256 of the observations the proposal rests on."""
    reason: str
    value: Decimal | None = None
    """A scalar market: the proposed value (``outcome`` is its step index)."""


class Dispute(Model):
    disputer: str
    bond: Decimal
    disputed_at: datetime
    reason: str
    value: Decimal | None = None
    """A scalar market: the number the disputer says is right."""


class Vote(Model):
    arbiter: str
    outcome: int
    value: Decimal | None = None
    """A scalar market: the value voted for."""


class Clarification(Model):
    version: int
    author: str
    text: str
    at: datetime
    sha256: str
    prev_sha256: str
    """The previous clarification's hash (the spec's for the first): a hash chain."""


class StoryEntry(Model):
    """One journaled step of a market's resolution.

    ``kind`` is ``spec``, ``clarification``, ``observation``, ``change`` (an
    observation that differs from the previous one), ``proposal``, ``dispute``,
    ``hold``, ``vote``, ``alert``, ``alert_review``, ``status``, ``final`` or
    ``settlement``; ``details`` is the step as journaled (amounts there are integer
    micro-credits, as in the journal, not decimal strings)."""

    seq: int
    at: datetime
    kind: str
    actor: str
    summary: str
    details: dict[str, Any]


class Resolution(Model):
    """A market's resolution: where it stands now and (a page of) its whole story."""

    market: str
    status: str
    """The resolution's phase: ``collecting``, ``proposed``, ``disputed``, ``held``,
    ``final``."""
    market_status: str
    spec: dict[str, Any] | None
    spec_version: int
    spec_sha256: str
    rules_version: int
    """1 for the original rules, +1 per clarification."""
    proposal: Proposal | None
    dispute: Dispute | None
    votes: list[Vote]
    held_reason: str
    holding_alerts: list[int]
    clarifications: list[Clarification]
    decision: str
    """While collecting: what the rules would decide now, in words."""
    entries: list[StoryEntry]
    next_cursor: str | None
    """Pass as ``cursor`` for the next page of ``entries`` (None: the last)."""


class Observation(Model):
    source_id: str
    ok: bool
    value: str | None
    """The value read from the source (None when the observation failed)."""
    content_sha256: str
    """The SHA-256 of the raw bytes (``evidence(sha256)`` fetches them); may be empty."""
    http_status: int | None
    error_code: str
    error: str
    change: str | None
    """What changed since the source's previous observation, in words."""
    fetched_at: datetime
    headers: list[list[str]] = []
    """The HTTP headers kept with the capture (content type, length, dates, ETag)."""
    url: str = ""
    id: int = 0
    """The journal seq of the record holding the capture (``observation(market, id)``)."""
    size: int | None = None
    """The raw body's length in bytes (0 without a body; None if no longer known)."""


class ObservationList(Model):
    items: list[Observation]
    next_after: int | None = None


class ResolutionChange(Model):
    """The answer to a resolution action: where the resolution stands after it, and
    the resource it changed (the other fields stay None)."""

    market: str
    status: str
    """The resolution's phase: collecting, proposed, disputed, held, final."""
    market_status: str
    spec: dict[str, Any] | None = None
    spec_version: int | None = None
    spec_sha256: str | None = None
    proposal: Proposal | None = None
    dispute: Dispute | None = None
    vote: Vote | None = None
    votes: list[Vote] | None = None
    rules_version: int | None = None
    clarification: Clarification | None = None
    reason: str | None = None


class Affiliations(Model):
    account: str
    organizations: list[str]


class Alert(Model):
    id: int
    market: str
    detector: str
    severity: str
    accounts: list[str]
    seqs: list[int]
    reason: str
    score_bp: int
    holds: bool
    """A high-severity alert holds the market's finalization until it is reviewed."""
    raised_at: datetime
    verdict: str
    """Empty while open, else ``dismiss`` or ``confirm``."""
    reviewer: str


class AlertList(Model):
    items: list[Alert]


# -- admin and health -------------------------------------------------------------------
class Grant(Model):
    account: str
    amount: Decimal
    memo: str


class ClockAdvanced(Model):
    time: datetime
    events: int


class Health(Model):
    status: str
    mode: str
    clock: str
    time: datetime
    journal_head: int


class Ledger(Model):
    """Where every credit is (``GET /ledger``): integer micro-credits, not decimal strings;
    ``credits_minted = balances + order_escrow + share_collateral + dispute_bonds +
    maker_cash + fees + rounding``, and ``conserved`` says it holds at journal ``seq``."""

    seq: int
    conserved: bool
    unit: str
    credits_minted: int
    balances: int
    order_escrow: int
    share_collateral: int
    dispute_bonds: int
    maker_cash: int
    maker_subsidy: int
    maker_result: int
    fees: int
    rounding: int


class JournalHead(Model):
    """The journal's head and the operator's public key that signs its checkpoints."""

    head_seq: int
    head_hash: str
    public_key: str
    signature_algorithm: str


# -- WebSocket --------------------------------------------------------------------------
class WsMessage(Model):
    """One message of a subscribed channel.

    ``type`` is ``subscribed`` (``data["snapshot"]`` holds the snapshot), ``book_delta``,
    ``trade``, ``prices``, ``order`` or ``fill``; ``seq`` counts per channel; ``data`` is
    the whole message as sent (amounts there are decimal strings)."""

    type: str
    channel: str
    seq: int
    data: dict[str, Any]

    @property
    def snapshot(self) -> dict[str, Any] | None:
        found = self.data.get("snapshot")
        return found if isinstance(found, dict) else None
