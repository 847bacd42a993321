"""Notifications and webhooks: the API's own notices (a login from a new place), read
marks, muted kinds, webhooks, their deliveries and attempts (``augury.api.notifications``,
``augury.api.webhooks``). The journal's notices are a read model (the projections'
migration 0007); these are not: nothing rebuilds them.

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

TABLES = (
    "api_webhook_attempts",
    "api_webhook_deliveries",
    "api_webhooks",
    "api_notification_settings",
    "api_notification_reads",
    "api_notification_marks",
    "api_notices",
    "api_login_places",
)


def upgrade() -> None:
    op.create_table(
        "api_login_places",
        sa.Column("account", sa.String(32), primary_key=True),
        sa.Column("place", sa.String(64), primary_key=True),
        sa.Column("first_us", sa.BigInteger(), nullable=False),
        sa.Column("last_us", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "api_notices",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("account", sa.String(32), nullable=False),
        sa.Column("ts_us", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("market", sa.String(64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
    )
    op.create_table(
        "api_notification_marks",
        sa.Column("account", sa.String(32), primary_key=True),
        sa.Column("read_seq", sa.BigInteger(), nullable=False),
        sa.Column("read_api", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "api_notification_reads",
        sa.Column("account", sa.String(32), primary_key=True),
        sa.Column("src", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("a", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("b", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("c", sa.Integer(), primary_key=True, autoincrement=False),
    )
    op.create_table(
        "api_notification_settings",
        sa.Column("account", sa.String(32), primary_key=True),
        sa.Column("kind", sa.String(32), primary_key=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
    )
    op.create_table(
        "api_webhook_attempts",
        sa.Column("delivery", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("n", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("at_us", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("duration_us", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "api_webhook_deliveries",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("webhook", sa.String(32), nullable=False),
        sa.Column("notification", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_us", sa.BigInteger(), nullable=False),
        sa.Column("claim", sa.String(32), nullable=True),
        sa.Column("claimed_until_us", sa.BigInteger(), nullable=True),
        sa.Column("last_status", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("created_us", sa.BigInteger(), nullable=False),
        sa.Column("delivered_us", sa.BigInteger(), nullable=True),
        sa.UniqueConstraint("webhook", "notification", name="uq_api_webhook_deliveries_notice"),
    )
    op.create_index(
        "ix_api_webhook_deliveries_due",
        "api_webhook_deliveries",
        ["status", "next_attempt_us"],
        unique=False,
    )
    op.create_table(
        "api_webhooks",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("account", sa.String(32), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("kinds", sa.Text(), nullable=False),
        sa.Column("sealed_secret", sa.Text(), nullable=False),
        sa.Column("created_us", sa.BigInteger(), nullable=False),
        sa.Column("cursor_seq", sa.BigInteger(), nullable=False),
        sa.Column("cursor_api", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_api_webhooks_account", "api_webhooks", ["account"], unique=False)


def downgrade() -> None:
    for table in TABLES:
        op.drop_table(table)
