"""Response shapes, for the OpenAPI document (and the SDK and schema checks built on it).

Routes build plain dicts; FastAPI checks each against its model here before sending it.
Amounts are decimal strings, instants RFC 3339 strings, exactly as in the requests.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from augury.api.errors import PROBLEM_JSON

Amount = str
"""A decimal string such as "12.5" (micros as text, never a float)."""
Instant = str
"""An RFC 3339 UTC instant such as "2025-11-14T00:00:00Z"."""


class Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Problem(Out):
    """An RFC 9457 problem; ``code`` is stable (see docs/api.md)."""

    model_config = ConfigDict(extra="allow")
    type: str
    title: str
    status: int
    code: str
    detail: str
    instance: str | None = None


class UserOut(Out):
    username: str
    account: str
    roles: list[str]
    created_at: Instant


class UserPage(Out):
    items: list[UserOut]
    next_cursor: str | None


class NoticeOut(Out):
    kind: str
    detail: str
    created_at: Instant


class MeOut(UserOut):
    authenticated_by: str
    scopes: list[str]
    security_notices: list[NoticeOut]
    """The newest notices about the account (failed logins, password changes)."""


class LoginOut(Out):
    user: UserOut
    csrf_token: str


class ApiKeyOut(Out):
    id: str
    name: str
    prefix: str
    scopes: list[str]
    created_at: Instant
    revoked_at: Instant | None


class ApiKeyCreated(ApiKeyOut):
    key: str
    """The key itself: shown this once, never again."""
    key_type: str | None = None
    """With a public key: its type (rsa, ed25519); signed requests name this key's id."""


class ApiKeyList(Out):
    items: list[ApiKeyOut]


class ScalarOut(Out):
    """A scalar market's range, step and units; values in the question's units."""

    low: Amount
    high: Amount
    step: Amount
    units: str
    resolved_value: Amount | None
    """The value the market resolved to (None until it is)."""


class MarketOut(Out):
    id: str
    question: str
    description: str
    rules: str
    category: str
    outcomes: list[str]
    categorical: bool
    type: Literal["binary", "categorical", "scalar"]
    """A scalar market's outcomes are LONG (traded as YES) and SHORT (as NO)."""
    scalar: ScalarOut | None
    """A scalar market's range (None for the others)."""
    status: str
    status_reason: str
    close_time: Instant
    tick_size: Amount
    lot_size: Amount
    liquidity: Amount
    subsidy: Amount
    fee_bps: int
    creator: str
    resolution_spec: dict[str, Any]
    block_affiliated_trading: bool
    """Accounts affiliated with a source's owner or the creator's organization may not trade."""
    affiliated_trading_reason: str
    """The public reason the market allows them to (empty while it blocks them)."""
    weights: list[Amount] | None
    created_at: Instant


class MarketPage(Out):
    items: list[MarketOut]
    next_cursor: str | None


class Level(Out):
    price: Amount
    qty: Amount
    orders: int
    implied_value: Amount | None = None
    """A scalar market: the value this LONG price implies, in the question's units."""


class BookOut(Out):
    market: str
    outcome: int
    status: str
    bids: list[Level]
    asks: list[Level]


class MakerQuoteOut(Out):
    market: str
    status: str
    liquidity: Amount
    prices: list[Amount] | None
    implied_value: Amount | None = None
    """A scalar market: the value LONG's price implies, in the question's units."""


class TradeOut(Out):
    id: str
    time: Instant
    market: str
    outcome: int
    kind: str
    price: Amount
    qty: Amount
    rules_version: int
    """The version of the market's rules the trade was made under (1 + clarifications)."""


class TradePage(Out):
    items: list[TradeOut]
    next_cursor: str | None


class FillOut(TradeOut):
    role: str
    order_id: int | None
    fee: Amount


class FillPage(Out):
    items: list[FillOut]
    next_cursor: str | None


class ImpliedCandle(Out):
    """A scalar market's candle in the question's units (its LONG prices' implied values)."""

    open: Amount
    high: Amount
    low: Amount
    close: Amount


class Candle(Out):
    start: Instant
    open: Amount
    high: Amount
    low: Amount
    close: Amount
    volume: Amount
    trades: int
    implied: ImpliedCandle | None = None
    """A scalar market: the candle in the question's units."""


class CandlesOut(Out):
    market: str
    outcome: int
    interval: str
    items: list[Candle]


class OrderOut(Out):
    id: int
    market: str
    outcome: int
    side: str
    token: str
    price: Amount
    qty: Amount
    budget: Amount | None
    tif: str
    expires_at: Instant | None
    post_only: bool
    client_order_id: str | None
    self_trade: str
    status: str
    filled: Amount
    remaining: Amount
    escrow: Amount
    queue_ahead: Amount | None = None
    """While it rests: the shares resting before it at its price (price-time priority:
    what must trade before it can); null once closed."""
    created_at: Instant | None = None
    updated_at: Instant | None = None


class OrderPage(Out):
    items: list[OrderOut]
    next_cursor: str | None


class PlacedFill(Out):
    venue: str
    qty: Amount
    price: Amount
    fee: Amount | None = None
    """The fee this order paid on the fill (in an order's answer; a preview shows one total)."""


class PlacementOut(Out):
    id: int
    market: str
    outcome: int
    side: str
    token: str
    type: str
    price: Amount
    qty: Amount
    budget: Amount | None
    tif: str
    expires_at: Instant | None
    post_only: bool
    client_order_id: str | None
    self_trade: str
    status: str
    filled: Amount
    remaining: Amount
    value: Amount
    """What the filled shares cost (a buy) or fetched (a sell), before fees."""
    fees: Amount
    """The fees this order paid (the taker of a fill pays its fee)."""
    average_price: Amount | None
    """``value`` / ``filled``, rounded down (None when nothing filled)."""
    fills: list[PlacedFill]


class PreviewOut(Out):
    market: str
    outcome: int
    side: str
    token: str
    filled_qty: Amount
    unfilled_qty: Amount | None
    value: Amount
    fee: Amount
    total: Amount
    average_price: Amount | None
    fills: list[PlacedFill]
    would_rest: bool
    fok_refused: bool
    self_trade_cancels: int
    self_trade_stopped: bool
    as_of: Instant


class CancelledOut(Out):
    id: int
    status: str
    released: Amount


class AmendedOut(Out):
    previous_id: int
    """The amended order's id."""
    replaced: bool
    """False: reduced in place (same id, same place in the queue); True: closed
    (``replaced``) and placed again, ``placement`` telling what the replacement did."""
    order: OrderOut | None
    """The order as it now rests (when reduced in place)."""
    placement: PlacementOut | None
    """The replacement's placement (when replaced): its id, fills on arrival, status."""


class CancelAllOut(Out):
    cancelled: list[int]


class MintedOut(Out):
    market: str
    minted: Amount


class RedeemedOut(Out):
    market: str
    redeemed: Amount
    outcome: int | None


class ConvertedOut(Out):
    market: str
    outcome: int
    qty: Amount
    to_yes: bool


class BalancesOut(Out):
    account: str
    available: Amount
    escrow: Amount
    total: Amount


class PositionOut(Out):
    market: str
    outcome: int
    outcome_name: str
    token: str
    qty: Amount
    escrowed: Amount
    cost_basis: Amount | None
    average_cost: Amount | None
    mark_price: Amount | None
    market_value: Amount | None
    unrealized_pnl: Amount | None


class PositionList(Out):
    items: list[PositionOut]


class MarketProfitOut(Out):
    market: str
    status: str
    paid: Amount
    received: Amount
    fees: Amount
    settlement: Amount
    held_at_cost: Amount
    realized_pnl: Amount


class ProfitList(Out):
    items: list[MarketProfitOut]


class SettlementOut(Out):
    seq: int
    time: Instant
    market: str
    kind: str
    amount: Amount


class SettlementList(Out):
    items: list[SettlementOut]
    next_cursor: str | None = None


class GrantOut(Out):
    account: str
    amount: Amount
    memo: str


class ClockOut(Out):
    time: Instant
    events: int


class NodeStatusOut(Out):
    node: str
    replica_seq: int
    replica_age_s: float
    feed_errors: int
    resent: int


class ClusterOut(Out):
    leader: str
    """The lease's holder (the engine that leads, if ``leader_live``)."""
    epoch: int
    leader_live: bool
    """False while no engine leads (a failover): writes wait, then answer 503."""


class HealthOut(Out):
    status: str
    """``ok``; on an API node ``behind`` when its replica has heard nothing for 5 s."""
    mode: str
    clock: str
    time: Instant
    journal_head: int
    """The journal head this process's state holds (an API node: its replica's)."""
    role: str = "serve"
    """``serve`` (one process) or ``api`` (an API node of ``augury api``)."""
    node: NodeStatusOut | None = None
    cluster: ClusterOut | None = None
    """An API node on PostgreSQL: the leader as its last heartbeat (1 s) saw it."""


class JournalOut(Out):
    head_seq: int
    head_hash: str
    public_key: str
    signature_algorithm: str


def _problem(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }


PROBLEMS: dict[int | str, dict[str, Any]] = {
    401: _problem("Not authenticated (unauthorized, invalid_credentials)"),
    403: _problem("Not allowed (forbidden, csrf_failed)"),
    404: _problem("Not found (not_found, unknown_market, ...)"),
    409: _problem("Conflict with the current state (market_halted, ...)"),
    413: _problem("Request body too large"),
    422: _problem(
        "Invalid request or refused by the exchange (validation_error, invalid_characters, ...)"
    ),
    429: _problem("Rate limited (see Retry-After)"),
    503: _problem("The exchange is busy or not running"),
}
"""The error responses every route may give, for the OpenAPI document."""
