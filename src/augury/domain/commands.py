"""Commands: the only way to ask the exchange to change.

Every command is a plain serializable message (a tagged msgspec struct), so the
engine can journal it and, later, receive it over a message bus. Amounts are micros,
prices are micro-credits per share in the order's own terms (a NO price for a NO
order), times are UTC microseconds. No command carries a float.
"""

from __future__ import annotations

from enum import StrEnum

import msgspec

from augury.domain.scalar import ScalarRange


class Side(StrEnum):
    BUY = "buy"
    SELL = "sell"


class Token(StrEnum):
    YES = "yes"
    NO = "no"


class TimeInForce(StrEnum):
    GTC = "gtc"  # good till cancelled (or the market closes)
    GTD = "gtd"  # good till a date (expires_at)
    IOC = "ioc"  # immediate or cancel: fill what can be filled, drop the rest
    FOK = "fok"  # fill or kill: fill completely at once or be refused


def time_in_force(tif: str | None, limit: bool) -> TimeInForce:
    """An order's time in force: as given, else GTC for a limit order and IOC for a market
    order (a market order never rests: the placement turns any other into IOC, FOK stays)."""
    if tif is not None:
        return TimeInForce(tif)
    return TimeInForce.GTC if limit else TimeInForce.IOC


class SelfTrade(StrEnum):
    CANCEL_RESTING = "cancel_resting"
    CANCEL_INCOMING = "cancel_incoming"
    ALLOW = "allow"


class Command(msgspec.Struct, frozen=True, tag_field="type", forbid_unknown_fields=True, gc=False):
    """Base of every command."""


class OpenAccount(Command, frozen=True, tag="open_account"):
    account: str


class GrantCredits(Command, frozen=True, tag="grant_credits"):
    account: str
    amount: int
    memo: str = ""


class CreateMarket(Command, frozen=True, tag="create_market"):
    market: str
    creator: str
    question: str
    outcomes: tuple[str, ...]
    close_at: int
    liquidity: int = 0  # LMSR b in micro-shares; 0 means no market maker
    tick: int = 1_000  # tick size in micro-credits
    fee_bps: int = 0  # taker fee in basis points of notional
    categorical: bool = False
    spec: str = ""  # the resolution spec as JSON (docs/resolution.md); "" for none
    # conflicts of interest (docs/domain.md): affiliates of the sources' owners and of the
    # creator's organizations may not trade; off only with a public reason
    block_affiliated_trading: bool = True
    affiliated_trading_reason: str = ""
    # a scalar market (docs/domain.md, "Scalar markets"): outcomes LONG and SHORT
    scalar: ScalarRange | None = None


class HaltMarket(Command, frozen=True, tag="halt_market"):
    market: str
    reason: str = ""


class ResumeMarket(Command, frozen=True, tag="resume_market"):
    market: str
    reason: str = ""


class CloseMarket(Command, frozen=True, tag="close_market"):
    market: str
    reason: str = ""


class PlaceOrder(Command, frozen=True, tag="place_order"):
    """A limit order (``price`` set) or a market order (``price`` None).

    Market orders are immediate-or-cancel and size by ``qty`` or, for buys, by
    ``budget`` (the most the order may spend, fees included).
    """

    account: str
    market: str
    outcome: int
    side: Side
    token: Token = Token.YES
    qty: int | None = None
    price: int | None = None
    budget: int | None = None
    tif: TimeInForce = TimeInForce.GTC
    expires_at: int | None = None
    post_only: bool = False
    client_order_id: str | None = None
    self_trade: SelfTrade = SelfTrade.CANCEL_RESTING


class CancelOrder(Command, frozen=True, tag="cancel_order"):
    account: str
    order_id: int


class AmendOrder(Command, frozen=True, tag="amend_order"):
    """Change a resting order's price and size in one step that cannot half-happen.

    ``price`` is the new limit in the order's own token (as ``PlaceOrder.price``) and
    ``qty`` its new unfilled size. The same price with a smaller size reduces the order in
    place (same id, same place in the queue); anything else closes it (reason
    ``replaced``) and places its replacement (a new id, at the back of the queue, trading
    on arrival if it crosses) with the same side, token, time in force, expiry, post-only
    and self-trade settings, and ``client_order_id`` if given, else the order's own.
    Refused, changing nothing, if the replacement could not be placed.
    """

    account: str
    order_id: int
    price: int
    qty: int
    client_order_id: str | None = None


class CancelAll(Command, frozen=True, tag="cancel_all"):
    account: str
    market: str | None = None


class MintSets(Command, frozen=True, tag="mint_sets"):
    account: str
    market: str
    qty: int


class RedeemSets(Command, frozen=True, tag="redeem_sets"):
    """Redeem complete sets; with ``outcome`` set, redeem YES+NO pairs of that outcome."""

    account: str
    market: str
    qty: int
    outcome: int | None = None


class ConvertNo(Command, frozen=True, tag="convert_no"):
    """Categorical only: NO on ``outcome`` <-> YES on every other outcome."""

    account: str
    market: str
    outcome: int
    qty: int
    to_yes: bool = True


class ResolveMarket(Command, frozen=True, tag="resolve_market"):
    """Settle a market: ``weights`` gives each outcome's payout per share in micros.

    A plain resolution is one-hot (ONE on the winner); a fractional one sums to ONE.
    """

    market: str
    weights: tuple[int, ...]
    reason: str = ""
    value: int | None = None  # a scalar market: the value (micros of its unit); weights ()


class VoidMarket(Command, frozen=True, tag="void_market"):
    market: str
    reason: str = ""


class SetResolutionSpec(Command, frozen=True, tag="set_resolution_spec"):
    """Attach or replace a market's resolution spec (a new version), before any proposal."""

    market: str
    account: str
    spec: str
    reason: str = ""


class DeclareAffiliation(Command, frozen=True, tag="declare_affiliation"):
    """Record (or end) an account's affiliation with an organization."""

    account: str
    organization: str
    affiliated: bool = True


class RecordObservation(Command, frozen=True, tag="record_observation"):
    """The fetcher's capture of one source: the raw bytes are stored by their hash."""

    market: str
    source_id: str
    fetched_at_us: int
    ok: bool
    value: str | None
    content_sha256: str
    http_status: int | None = None
    error_code: str = ""
    error: str = ""
    change: str | None = None
    url: str = ""
    headers: tuple[tuple[str, str], ...] = ()  # the HTTP headers kept (content type, dates)
    size: int | None = None  # the raw body's length in bytes (None: not recorded)


class ProposeOutcome(Command, frozen=True, tag="propose_outcome"):
    """A resolver proposes an outcome (-1: void) with a bond; in a scalar market a
    ``value`` (micros of its unit) instead of an outcome."""

    market: str
    account: str
    outcome: int
    bond: int
    reason: str = ""
    value: int | None = None


class DisputeProposal(Command, frozen=True, tag="dispute_proposal"):
    """``value``: in a scalar market, the number the disputer says is right."""

    market: str
    account: str
    bond: int
    reason: str = ""
    value: int | None = None


class CastVote(Command, frozen=True, tag="cast_vote"):
    """An arbiter's vote on a disputed or held market (outcome -1: void); in a scalar
    market a ``value`` (micros of its unit) instead of an outcome."""

    market: str
    account: str
    outcome: int
    reason: str = ""
    value: int | None = None


class PostClarification(Command, frozen=True, tag="post_clarification"):
    market: str
    account: str
    text: str
    cancel_orders: bool = False


class RaiseAlert(Command, frozen=True, tag="raise_alert"):
    """A surveillance alert; a high one holds the market's resolution until reviewed."""

    market: str
    detector: str
    severity: str
    accounts: tuple[str, ...]
    seqs: tuple[int, ...]
    reason: str
    score: int = 0
    key: str = ""  # the detector's identity of the finding, so it is raised once


class ReviewAlert(Command, frozen=True, tag="review_alert"):
    """An arbiter or admin reviews an alert: ``dismiss`` releases its hold, ``confirm``
    sends the market's resolution to the arbiters."""

    alert_id: int
    account: str
    verdict: str
    note: str = ""


class Tick(Command, frozen=True, tag="tick"):
    """Let time pass: expire due GTD orders and close markets past their close time."""


ALL_COMMANDS: tuple[type[Command], ...] = (
    OpenAccount,
    GrantCredits,
    CreateMarket,
    HaltMarket,
    ResumeMarket,
    CloseMarket,
    PlaceOrder,
    CancelOrder,
    CancelAll,
    MintSets,
    RedeemSets,
    ConvertNo,
    ResolveMarket,
    VoidMarket,
    SetResolutionSpec,
    DeclareAffiliation,
    RecordObservation,
    ProposeOutcome,
    DisputeProposal,
    CastVote,
    PostClarification,
    RaiseAlert,
    ReviewAlert,
    Tick,
)
