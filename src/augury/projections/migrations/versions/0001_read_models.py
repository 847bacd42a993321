"""The first read models: markets, orders, fills, positions, balances, candles.

Revision ID: 0001
Revises:
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _big(name: str, nullable: bool = False) -> sa.Column[int]:
    return sa.Column(name, sa.BigInteger(), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "markets",
        sa.Column("market", sa.String(), primary_key=True),
        sa.Column("creator", sa.String(), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("outcomes", sa.Text(), nullable=False),
        sa.Column("outcome_count", sa.Integer(), nullable=False),
        sa.Column("categorical", sa.Boolean(), nullable=False),
        _big("close_at"),
        _big("liquidity"),
        _big("tick"),
        _big("lot"),
        sa.Column("fee_bps", sa.Integer(), nullable=False),
        _big("subsidy"),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("status_reason", sa.Text(), nullable=False),
        sa.Column("weights", sa.Text(), nullable=True),
        _big("created_seq"),
        _big("created_us"),
        _big("updated_seq"),
        _big("updated_us"),
    )
    op.create_table(
        "orders",
        sa.Column("order_id", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("account", sa.String(), nullable=False),
        sa.Column("market", sa.String(), nullable=False),
        sa.Column("outcome", sa.Integer(), nullable=False),
        sa.Column("side", sa.String(), nullable=False),
        sa.Column("token", sa.String(), nullable=False),
        sa.Column("held_token", sa.Integer(), nullable=False),
        _big("price"),
        _big("qty"),
        _big("budget"),
        sa.Column("tif", sa.String(), nullable=False),
        _big("expires_at"),
        sa.Column("post_only", sa.Boolean(), nullable=False),
        sa.Column("client_order_id", sa.String(), nullable=False),
        sa.Column("self_trade", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        _big("remaining"),
        _big("filled"),
        _big("escrow"),
        _big("created_seq"),
        _big("created_us"),
        _big("updated_seq"),
        _big("updated_us"),
    )
    op.create_index("ix_orders_account_status", "orders", ["account", "status"])
    op.create_index("ix_orders_market_status", "orders", ["market", "status"])
    op.create_table(
        "fills",
        sa.Column("seq", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("idx", sa.Integer(), primary_key=True, autoincrement=False),
        _big("ts_us"),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("market", sa.String(), nullable=False),
        sa.Column("outcome", sa.Integer(), nullable=False),
        _big("price"),
        _big("qty"),
        _big("fee"),
        _big("taker_order"),
        sa.Column("taker_account", sa.String(), nullable=False),
        _big("resting_order", nullable=True),
        sa.Column("resting_account", sa.String(), nullable=True),
    )
    op.create_index("ix_fills_market_outcome_seq", "fills", ["market", "outcome", "seq"])
    op.create_index("ix_fills_taker_account", "fills", ["taker_account"])
    op.create_index("ix_fills_resting_account", "fills", ["resting_account"])
    op.create_table(
        "positions",
        sa.Column("account", sa.String(), primary_key=True),
        sa.Column("market", sa.String(), primary_key=True),
        sa.Column("token", sa.Integer(), primary_key=True, autoincrement=False),
        _big("qty"),
        _big("escrowed"),
        _big("cost_basis"),
        _big("updated_seq"),
    )
    op.create_index("ix_positions_market", "positions", ["market"])
    op.create_table(
        "balances",
        sa.Column("account", sa.String(), primary_key=True),
        _big("available"),
        _big("escrow"),
        _big("updated_seq"),
    )
    op.create_table(
        "candles",
        sa.Column("market", sa.String(), primary_key=True),
        sa.Column("outcome", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("interval", sa.String(), primary_key=True),
        sa.Column("bucket_us", sa.BigInteger(), primary_key=True, autoincrement=False),
        _big("open"),
        _big("high"),
        _big("low"),
        _big("close"),
        _big("volume"),
        sa.Column("trades", sa.Integer(), nullable=False),
    )
    state = op.create_table(
        "projection_state",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        _big("last_seq"),
        _big("last_ts_us"),
    )
    op.bulk_insert(state, [{"id": 1, "last_seq": 0, "last_ts_us": 0}])


def downgrade() -> None:
    for table in ("projection_state", "candles", "balances", "positions", "fills", "orders"):
        op.drop_table(table)
    op.drop_table("markets")
