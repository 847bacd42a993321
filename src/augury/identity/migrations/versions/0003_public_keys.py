"""Public keys attached to API keys (``augury.api.public_keys``: requests signed with the
private half, as Kalshi's clients do).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_key_public_keys",
        sa.Column("key_id", sa.String(32), primary_key=True),
        sa.Column("key_type", sa.String(16), nullable=False),
        sa.Column("pem", sa.Text(), nullable=False),
        sa.Column("created_us", sa.BigInteger(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("api_key_public_keys")
