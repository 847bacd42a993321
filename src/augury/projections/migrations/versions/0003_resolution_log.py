"""resolution_log, and the rules version of markets and fills.

``resolution_log`` holds each market's resolution story (spec versions, observations,
proposals, disputes, votes, holds, clarifications, alerts, the outcome, the payouts);
``markets.rules_version`` counts clarifications (1: the original rules) and
``fills.rules_version`` says under which version each trade was made. Like 0002, a
database that already holds records is emptied and replayed from the journal.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_READ_MODELS_0002 = (
    "markets",
    "orders",
    "fills",
    "positions",
    "balances",
    "candles",
    "account_flows",
)


def upgrade() -> None:
    op.create_table(
        "resolution_log",
        sa.Column("seq", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("idx", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("ts_us", sa.BigInteger(), nullable=False),
        sa.Column("market", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("actor", sa.String(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
    )
    op.create_index("ix_resolution_log_market_seq", "resolution_log", ["market", "seq"])
    with op.batch_alter_table("markets") as batch:
        batch.add_column(
            sa.Column("rules_version", sa.Integer(), nullable=False, server_default="1")
        )
    with op.batch_alter_table("fills") as batch:
        batch.add_column(
            sa.Column("rules_version", sa.Integer(), nullable=False, server_default="1")
        )
    conn = op.get_bind()
    last_seq = conn.execute(sa.text("SELECT last_seq FROM projection_state WHERE id = 1")).scalar()
    if last_seq:
        for table in _READ_MODELS_0002:
            op.execute(sa.text(f"DELETE FROM {table}"))
        op.execute(sa.text("UPDATE projection_state SET last_seq = 0, last_ts_us = 0 WHERE id = 1"))


def downgrade() -> None:
    with op.batch_alter_table("fills") as batch:
        batch.drop_column("rules_version")
    with op.batch_alter_table("markets") as batch:
        batch.drop_column("rules_version")
    op.drop_index("ix_resolution_log_market_seq", "resolution_log")
    op.drop_table("resolution_log")
