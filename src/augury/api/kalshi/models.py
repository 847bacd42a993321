"""The facade's answers and request bodies, as msgspec structs named like Kalshi's.

Each answer carries every field the Kalshi client's models mark required (the client
refuses an answer missing one, or with an enum value it does not know); optional fields
left None are omitted. Amounts are fixed-point strings (``*_dollars``, ``*_fp``),
instants RFC 3339, exactly as Kalshi's Trade API v2 sends them.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec


class Out(msgspec.Struct, omit_defaults=True):
    """Base of the answers."""


class PriceRange(Out):
    start: str
    end: str
    step: str


class Market(Out):
    ticker: str
    event_ticker: str
    market_type: str
    yes_sub_title: str
    no_sub_title: str
    created_time: str
    updated_time: str
    open_time: str
    close_time: str
    latest_expiration_time: str
    settlement_timer_seconds: int
    status: str
    yes_bid_dollars: str
    yes_bid_size_fp: str
    yes_ask_dollars: str
    yes_ask_size_fp: str
    no_bid_dollars: str
    no_ask_dollars: str
    last_price_dollars: str
    volume_fp: str
    volume_24h_fp: str
    result: str
    can_close_early: bool
    open_interest_fp: str
    notional_value_dollars: str
    previous_yes_bid_dollars: str
    previous_yes_ask_dollars: str
    previous_price_dollars: str
    settlement_bounds_type: str
    expiration_value: str
    rules_primary: str
    rules_secondary: str
    price_level_structure: str
    price_ranges: list[PriceRange]
    title: str | None = None
    subtitle: str | None = None
    expected_expiration_time: str | None = None
    settlement_value_dollars: str | None = None
    settlement_ts: str | None = None


class SettlementSource(Out):
    name: str | None = None
    url: str | None = None


class Event(Out):
    event_ticker: str
    series_ticker: str
    sub_title: str
    title: str
    collateral_return_type: str
    mutually_exclusive: bool
    settlement_sources: list[SettlementSource]
    category: str | None = None
    markets: list[Market] | None = None
    last_updated_ts: str | None = None


class Series(Out):
    ticker: str
    frequency: str
    title: str
    category: str
    categories: list[str]
    tags: list[str]
    settlement_sources: list[SettlementSource]
    contract_url: str
    contract_terms_url: str
    fee_type: str
    fee_multiplier: int
    additional_prohibitions: list[str]


class OrderbookFp(Out):
    yes_dollars: list[list[str]]
    no_dollars: list[list[str]]


class MarketOrderbook(Out):
    ticker: str
    orderbook_fp: OrderbookFp


class Trade(Out):
    trade_id: str
    ticker: str
    count_fp: str
    yes_price_dollars: str
    no_price_dollars: str
    taker_outcome_side: str
    taker_book_side: str
    created_time: str
    is_block_trade: bool
    taker_side: str | None = None


class BidAsk(Out):
    open_dollars: str
    low_dollars: str
    high_dollars: str
    close_dollars: str


class PriceStats(Out):
    open_dollars: str | None = None
    low_dollars: str | None = None
    high_dollars: str | None = None
    close_dollars: str | None = None
    previous_dollars: str | None = None


class Candlestick(Out):
    end_period_ts: int
    yes_bid: BidAsk
    yes_ask: BidAsk
    price: PriceStats
    volume_fp: str
    open_interest_fp: str


class Order(Out):
    order_id: str
    user_id: str
    client_order_id: str
    ticker: str
    outcome_side: str
    book_side: str
    type: str
    status: str
    yes_price_dollars: str
    no_price_dollars: str
    fill_count_fp: str
    remaining_count_fp: str
    initial_count_fp: str
    taker_fill_cost_dollars: str
    maker_fill_cost_dollars: str
    taker_fees_dollars: str
    maker_fees_dollars: str
    side: str | None = None
    action: str | None = None
    expiration_time: str | None = None
    created_time: str | None = None
    last_update_time: str | None = None
    self_trade_prevention_type: str | None = None


class Fill(Out):
    fill_id: str
    exchange_index: int
    trade_id: str
    order_id: str
    ticker: str
    market_ticker: str
    outcome_side: str
    book_side: str
    count_fp: str
    yes_price_dollars: str
    no_price_dollars: str
    is_taker: bool
    fee_cost: str
    side: str | None = None
    action: str | None = None
    created_time: str | None = None
    ts: int | None = None


class Settlement(Out):
    ticker: str
    exchange_index: int
    event_ticker: str
    market_result: str
    yes_count_fp: str
    yes_total_cost_dollars: str
    no_count_fp: str
    no_total_cost_dollars: str
    revenue: int
    settled_time: str
    fee_cost: str


class MarketPosition(Out):
    ticker: str
    exchange_index: int
    total_traded_dollars: str
    position_fp: str
    market_exposure_dollars: str
    realized_pnl_dollars: str
    fees_paid_dollars: str
    last_updated_ts: str


class EventPosition(Out):
    event_ticker: str
    total_cost_dollars: str
    total_cost_shares_fp: str
    event_exposure_dollars: str
    realized_pnl_dollars: str
    fees_paid_dollars: str


class ApiKey(Out):
    api_key_id: str
    name: str
    scopes: list[str]


# -- request bodies ----------------------------------------------------------------------
class In(msgspec.Struct, forbid_unknown_fields=False):
    """Base of the request bodies (unknown fields are ignored, as Kalshi does)."""


Text64 = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
Fixed = Annotated[str, msgspec.Meta(min_length=1, max_length=32)]


class CreateOrder(In):
    ticker: Text64
    side: Literal["bid", "ask"]
    count: Fixed
    price: Fixed
    time_in_force: Literal["fill_or_kill", "good_till_canceled", "immediate_or_cancel"]
    self_trade_prevention_type: Literal["taker_at_cross", "maker"]
    client_order_id: Annotated[str, msgspec.Meta(max_length=64)] | None = None
    expiration_time: int | None = None
    post_only: bool | None = None
    reduce_only: bool | None = None
    cancel_order_on_pause: bool | None = None
    subaccount: int | None = None
    order_group_id: str | None = None
    exchange_index: int | None = None


class BatchCreate(In):
    orders: Annotated[list[CreateOrder], msgspec.Meta(min_length=1, max_length=20)]


class AmendOrder(In):
    ticker: Text64
    side: Literal["bid", "ask"]
    price: Fixed
    count: Fixed
    client_order_id: Annotated[str, msgspec.Meta(max_length=64)] | None = None
    updated_client_order_id: Annotated[str, msgspec.Meta(max_length=64)] | None = None
    expiration_time: int | None = None


class DecreaseOrder(In):
    reduce_by: Fixed | None = None
    reduce_to: Fixed | None = None
    market_ticker: str | None = None


class CancelItem(In):
    order_id: Annotated[str, msgspec.Meta(min_length=1, max_length=32)]
    market_ticker: str | None = None


class BatchCancel(In):
    orders: Annotated[list[CancelItem], msgspec.Meta(min_length=1, max_length=20)]


Scope = Literal[
    "read", "write", "read::portfolio_balance", "write::trade", "read::block_trade_accept"
]


class CreateApiKey(In):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    public_key: Annotated[str, msgspec.Meta(min_length=1, max_length=4_096)]
    scopes: list[str] | None = None


class GenerateApiKey(In):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    key_type: Literal["rsa", "ed25519"] | None = None
    scopes: list[str] | None = None
