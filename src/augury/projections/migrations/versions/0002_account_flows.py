"""account_flows: the cash flows between each account and each market.

A new read model must hold the whole history, which only the journal has: when the
read models already hold records (``projection_state.last_seq > 0``), this migration
empties them and sets ``last_seq`` back to 0, so the projector replays the journal
from the start (``augury serve`` catches up on start; ``rebuild-projections`` does the
same). Only the read models are touched, never the API's own tables.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_READ_MODELS_0001 = ("markets", "orders", "fills", "positions", "balances", "candles")


def upgrade() -> None:
    op.create_table(
        "account_flows",
        sa.Column("seq", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("idx", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("sub", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("ts_us", sa.BigInteger(), nullable=False),
        sa.Column("account", sa.String(), nullable=False),
        sa.Column("market", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_account_flows_account_market", "account_flows", ["account", "market"])
    op.create_index("ix_account_flows_market", "account_flows", ["market"])
    conn = op.get_bind()
    last_seq = conn.execute(sa.text("SELECT last_seq FROM projection_state WHERE id = 1")).scalar()
    if last_seq:
        for table in _READ_MODELS_0001:
            op.execute(sa.text(f"DELETE FROM {table}"))
        op.execute(sa.text("UPDATE projection_state SET last_seq = 0, last_ts_us = 0 WHERE id = 1"))


def downgrade() -> None:
    op.drop_index("ix_account_flows_market", "account_flows")
    op.drop_index("ix_account_flows_account_market", "account_flows")
    op.drop_table("account_flows")
