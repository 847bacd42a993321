"""markets: a scalar market's range (docs/domain.md, "Scalar markets").

``scalar`` is JSON ``{"low", "high", "step", "units"}`` (values in micros of the unit)
from the ``MarketCreated`` event, NULL for a binary or categorical market. Every market
projected before this migration was created before scalar markets existed, so NULL is
exactly what a replay would give: nothing is replayed.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("markets") as batch:
        batch.add_column(sa.Column("scalar", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("markets") as batch:
        batch.drop_column("scalar")
