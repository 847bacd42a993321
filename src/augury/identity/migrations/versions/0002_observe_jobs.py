"""On-demand observation jobs, shared by the API nodes (``augury.roles.observe_job_rows``).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_observe_jobs",
        sa.Column("id", sa.String(24), primary_key=True),
        sa.Column("market", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_us", sa.BigInteger(), nullable=False),
        sa.Column("finished_us", sa.BigInteger(), nullable=True),
        sa.Column("observations", sa.Text(), nullable=False),  # JSON list
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("written_us", sa.BigInteger(), nullable=False),  # wall clock
    )
    op.create_index("ix_api_observe_jobs_written", "api_observe_jobs", ["written_us"])


def downgrade() -> None:
    op.drop_table("api_observe_jobs")
