"""notifications: each account's feed of notices derived from the journal.

One row per notice (``augury.projections.notices``): fills, orders the system closed,
markets held that closed, were halted or held, resolved or voided, clarifications and
disputes on them, decisions on proposals and votes. A database that already holds
records is emptied and replayed from the journal, so that the feed covers its history.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_READ_MODELS_0004 = (
    "markets",
    "orders",
    "fills",
    "positions",
    "balances",
    "candles",
    "account_flows",
    "resolution_log",
)


def upgrade() -> None:
    op.create_table(
        "notifications",
        sa.Column("seq", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("idx", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("sub", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("ts_us", sa.BigInteger(), nullable=False),
        sa.Column("account", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("market", sa.String(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
    )
    op.create_index("ix_notifications_account_seq", "notifications", ["account", "seq"])
    conn = op.get_bind()
    last_seq = conn.execute(sa.text("SELECT last_seq FROM projection_state WHERE id = 1")).scalar()
    if last_seq:
        for table in _READ_MODELS_0004:
            op.execute(sa.text(f"DELETE FROM {table}"))
        op.execute(sa.text("UPDATE projection_state SET last_seq = 0, last_ts_us = 0 WHERE id = 1"))


def downgrade() -> None:
    op.drop_index("ix_notifications_account_seq", "notifications")
    op.drop_table("notifications")
