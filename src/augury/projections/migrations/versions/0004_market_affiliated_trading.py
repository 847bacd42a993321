"""markets: whether a market blocks trading by affiliated accounts, and why not.

``block_affiliated_trading`` (default true) and ``affiliated_trading_reason`` (the
public reason a market allows such trading; empty while it blocks) come from the
``MarketCreated`` event. Markets projected before this migration were all created
before the setting existed, when the journal's default (blocking) applies: the server
defaults give them exactly what a replay would, so nothing is replayed.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("markets") as batch:
        batch.add_column(
            sa.Column(
                "block_affiliated_trading", sa.Boolean(), nullable=False, server_default=sa.true()
            )
        )
        batch.add_column(
            sa.Column("affiliated_trading_reason", sa.Text(), nullable=False, server_default="")
        )


def downgrade() -> None:
    with op.batch_alter_table("markets") as batch:
        batch.drop_column("affiliated_trading_reason")
        batch.drop_column("block_affiliated_trading")
