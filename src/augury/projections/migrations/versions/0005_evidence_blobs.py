"""evidence_blobs: raw source captures by SHA-256, in the shared database.

With the roles on several machines (docs/architecture.md) the observer that fetches a
capture and the API node that serves it differ, so on PostgreSQL the bytes live here
(``augury.evidence.sql_store``) instead of in the data directory. Nothing to backfill:
captures already on disk stay readable where they are (see docs/evidence.md).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "evidence_blobs",
        sa.Column("sha256", sa.String(64), primary_key=True),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("evidence_blobs")
