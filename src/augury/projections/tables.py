"""The read models' tables (SQLAlchemy Core), as the migrations in ``migrations/`` create them.

Every amount is an integer in micros (credits or shares), every instant UTC
microseconds, every price micro-credits per YES share: no float anywhere. Rows are
derived from the journal only; ``Projector.rebuild`` can always recreate them.

This module must stay in step with the newest migration: a test compares the two.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    true,
)

from augury.evidence.sql_store import evidence_blobs

metadata = MetaData()

markets = Table(
    "markets",
    metadata,
    Column("market", String, primary_key=True),
    Column("creator", String, nullable=False),
    Column("question", Text, nullable=False),
    Column("outcomes", Text, nullable=False),  # JSON array of names
    Column("outcome_count", Integer, nullable=False),
    Column("categorical", Boolean, nullable=False),
    Column("close_at", BigInteger, nullable=False),
    Column("liquidity", BigInteger, nullable=False),
    Column("tick", BigInteger, nullable=False),
    Column("lot", BigInteger, nullable=False),
    Column("fee_bps", Integer, nullable=False),
    Column("subsidy", BigInteger, nullable=False),
    Column("status", String, nullable=False),
    Column("status_reason", Text, nullable=False),
    Column("weights", Text, nullable=True),  # JSON array of micros once resolved
    Column("rules_version", Integer, nullable=False, server_default="1"),  # +1 per clarification
    # trading by affiliates of the sources' owners and the creator's organizations
    Column("block_affiliated_trading", Boolean, nullable=False, server_default=true()),
    Column("affiliated_trading_reason", Text, nullable=False, server_default=""),  # if allowed
    # a scalar market's range: JSON {"low", "high", "step" (micros of the unit), "units"}
    Column("scalar", Text, nullable=True),
    Column("created_seq", BigInteger, nullable=False),
    Column("created_us", BigInteger, nullable=False),
    Column("updated_seq", BigInteger, nullable=False),
    Column("updated_us", BigInteger, nullable=False),
)

orders = Table(
    "orders",
    metadata,
    Column("order_id", BigInteger, primary_key=True, autoincrement=False),
    Column("account", String, nullable=False),
    Column("market", String, nullable=False),
    Column("outcome", Integer, nullable=False),
    Column("side", String, nullable=False),  # buy | sell
    Column("token", String, nullable=False),  # yes | no
    Column("held_token", Integer, nullable=False),  # token index bought or sold
    Column("price", BigInteger, nullable=False),  # YES ticks (worst price of a market order)
    Column("qty", BigInteger, nullable=False),  # 0 when sized by budget
    Column("budget", BigInteger, nullable=False),
    Column("tif", String, nullable=False),
    Column("expires_at", BigInteger, nullable=False),
    Column("post_only", Boolean, nullable=False),
    Column("client_order_id", String, nullable=False),
    Column("self_trade", String, nullable=False),
    # open | resting | filled | cancelled | expired | unfilled | self_trade | market_closed
    # | replaced (by an amendment)
    Column("status", String, nullable=False),
    Column("remaining", BigInteger, nullable=False),  # qty - filled (0 for budget orders)
    Column("filled", BigInteger, nullable=False),
    Column("escrow", BigInteger, nullable=False),  # still reserved: credits (buy), shares (sell)
    Column("created_seq", BigInteger, nullable=False),
    Column("created_us", BigInteger, nullable=False),
    Column("updated_seq", BigInteger, nullable=False),
    Column("updated_us", BigInteger, nullable=False),
    Index("ix_orders_account_status", "account", "status"),
    Index("ix_orders_market_status", "market", "status"),
)

fills = Table(
    "fills",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("idx", Integer, primary_key=True, autoincrement=False),  # event index in the record
    Column("ts_us", BigInteger, nullable=False),
    Column("kind", String, nullable=False),  # book | maker (the LMSR maker was the other side)
    Column("market", String, nullable=False),
    Column("outcome", Integer, nullable=False),
    Column("price", BigInteger, nullable=False),  # micro-credits per YES share
    Column("qty", BigInteger, nullable=False),  # micro-shares
    Column("fee", BigInteger, nullable=False),
    Column("taker_order", BigInteger, nullable=False),
    Column("taker_account", String, nullable=False),
    Column("resting_order", BigInteger, nullable=True),  # NULL for a maker fill
    Column("resting_account", String, nullable=True),
    Column("rules_version", Integer, nullable=False, server_default="1"),  # traded under
    Index("ix_fills_market_outcome_seq", "market", "outcome", "seq"),
    Index("ix_fills_taker_account", "taker_account"),
    Index("ix_fills_resting_account", "resting_account"),
)

positions = Table(
    "positions",
    metadata,
    Column("account", String, primary_key=True),
    Column("market", String, primary_key=True),
    Column("token", Integer, primary_key=True, autoincrement=False),
    Column("qty", BigInteger, nullable=False),  # available micro-shares
    Column("escrowed", BigInteger, nullable=False),  # reserved by open sell orders
    Column("cost_basis", BigInteger, nullable=False),  # micro-credits, average cost
    Column("updated_seq", BigInteger, nullable=False),
    Index("ix_positions_market", "market"),
)

balances = Table(
    "balances",
    metadata,
    Column("account", String, primary_key=True),
    Column("available", BigInteger, nullable=False),  # ledger cash:<account>
    Column("escrow", BigInteger, nullable=False),  # ledger escrow:<account>
    Column("updated_seq", BigInteger, nullable=False),
)

candles = Table(
    "candles",
    metadata,
    Column("market", String, primary_key=True),
    Column("outcome", Integer, primary_key=True, autoincrement=False),
    Column("interval", String, primary_key=True),  # 1m | 1h | 1d
    Column("bucket_us", BigInteger, primary_key=True, autoincrement=False),
    Column("open", BigInteger, nullable=False),
    Column("high", BigInteger, nullable=False),
    Column("low", BigInteger, nullable=False),
    Column("close", BigInteger, nullable=False),
    Column("volume", BigInteger, nullable=False),
    Column("trades", Integer, nullable=False),
)

account_flows = Table(
    "account_flows",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("idx", Integer, primary_key=True, autoincrement=False),  # event index in the record
    Column("sub", Integer, primary_key=True, autoincrement=False),  # flow index in the event
    Column("ts_us", BigInteger, nullable=False),
    Column("account", String, nullable=False),
    Column("market", String, nullable=False),
    Column("kind", String, nullable=False),  # trade | fee | payout | refund | subsidy | residue
    Column("amount", BigInteger, nullable=False),  # signed micro-credits: + credits the account
    Index("ix_account_flows_account_market", "account", "market"),
    Index("ix_account_flows_market", "market"),
)

resolution_log = Table(
    "resolution_log",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("idx", Integer, primary_key=True, autoincrement=False),  # event index in the record
    Column("ts_us", BigInteger, nullable=False),
    Column("market", String, nullable=False),
    Column("kind", String, nullable=False),  # spec | observation | change | proposal | ...
    Column("actor", String, nullable=False),  # the account that acted, "" for the system
    Column("summary", Text, nullable=False),
    Column("details", Text, nullable=False),  # JSON: the event's fields (no postings)
    Index("ix_resolution_log_market_seq", "market", "seq"),
)

notifications = Table(
    "notifications",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("idx", Integer, primary_key=True, autoincrement=False),  # event index in the record
    Column("sub", Integer, primary_key=True, autoincrement=False),  # notice index in the event
    Column("ts_us", BigInteger, nullable=False),
    Column("account", String, nullable=False),
    Column("kind", String, nullable=False),  # augury.projections.notices.KINDS
    Column("market", String, nullable=False),
    Column("text", Text, nullable=False),
    Column("details", Text, nullable=False),  # JSON object
    Index("ix_notifications_account_seq", "account", "seq"),
)

projection_state = Table(
    "projection_state",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),  # always 1
    Column("last_seq", BigInteger, nullable=False),
    Column("last_ts_us", BigInteger, nullable=False),
)

READ_MODELS = (
    markets,
    orders,
    fills,
    positions,
    balances,
    candles,
    account_flows,
    resolution_log,
    notifications,
)
"""The tables rebuilt from the journal (projection_state is the bookkeeping row)."""

# Raw evidence captures share the database and its migrations (0005) but are NOT a read
# model: they cannot be rebuilt from the journal, so ``reset`` never touches them.
evidence_blobs.to_metadata(metadata)
