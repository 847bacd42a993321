"""The API's tables as ``metadata.create_all`` made them, adopted where they exist.

Users, sessions, API keys, market metadata (``augury.identity.store``), login failures and
security notices (``augury.identity.login_guard``), stored responses
(``augury.identity.stored_responses``). Before this chain, each store created its tables on
startup, so a database may hold any of them already: a table that exists is kept with
its rows (its columns checked), one that does not is created, and so is each missing
index. One exception: ``api_login_failures`` in its first shape (keyed by ``user_id``,
before device cookies), which ``create_all`` never altered, is dropped and made anew;
it only held counts of failed logins in a row.

Revision ID: 0001
Revises:
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _tables() -> list[tuple[sa.Table, list[sa.Index]]]:
    """The tables (each with its indexes) in the order they are created."""
    m = sa.MetaData()
    users = sa.Table(
        "api_users",
        m,
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("username", sa.String(32), nullable=False, unique=True),
        sa.Column("password_hash", sa.String(200), nullable=False),
        sa.Column("roles", sa.String(200), nullable=False),
        sa.Column("created_us", sa.BigInteger(), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False),
    )
    sessions = sa.Table(
        "api_sessions",
        m,
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("api_users.id"), nullable=False),
        sa.Column("created_us", sa.BigInteger(), nullable=False),
        sa.Column("expires_us", sa.BigInteger(), nullable=False),
    )
    keys = sa.Table(
        "api_keys",
        m,
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("api_users.id"), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("prefix", sa.String(16), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("scopes", sa.String(100), nullable=False),
        sa.Column("created_us", sa.BigInteger(), nullable=False),
        sa.Column("revoked_us", sa.BigInteger(), nullable=True),
    )
    meta = sa.Table(
        "api_market_meta",
        m,
        sa.Column("market", sa.String(64), primary_key=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("rules", sa.Text(), nullable=False),
        sa.Column("category", sa.String(64), nullable=False),
        sa.Column("resolution_spec", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(32), nullable=False),
    )
    failures = sa.Table(
        "api_login_failures",
        m,
        sa.Column("subject", sa.String(100), primary_key=True),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failure_us", sa.BigInteger(), nullable=False),
        sa.Column("locked_until_us", sa.BigInteger(), nullable=False),
    )
    notices = sa.Table(
        "api_security_notices",
        m,
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("created_us", sa.BigInteger(), nullable=False),
    )
    stored = sa.Table(
        "api_stored_responses",
        m,
        sa.Column("scope", sa.String(100), primary_key=True),
        sa.Column("key", sa.String(100), primary_key=True),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("created_us", sa.BigInteger(), nullable=False),
    )
    return [
        (users, []),
        (sessions, [sa.Index("ix_api_sessions_user", sessions.c.user_id)]),
        (keys, [sa.Index("ix_api_keys_user", keys.c.user_id)]),
        (meta, [sa.Index("ix_api_market_meta_category", meta.c.category)]),
        (failures, [sa.Index("ix_api_login_failures_user", failures.c.user_id)]),
        (notices, [sa.Index("ix_api_security_notices_user", notices.c.user_id, notices.c.id)]),
        (stored, [sa.Index("ix_api_stored_responses_created", stored.c.created_us)]),
    ]


def upgrade() -> None:
    bind = op.get_bind()
    for table, indexes in _tables():
        inspector = sa.inspect(bind)
        if inspector.has_table(table.name):
            present = {column["name"] for column in inspector.get_columns(table.name)}
            missing = sorted(set(table.columns.keys()) - present)
            if table.name == "api_login_failures" and missing == ["subject"]:
                op.drop_table(table.name)  # the first shape: transient counts only
            elif missing:
                raise RuntimeError(
                    f"table {table.name} exists without the columns {', '.join(missing)}: "
                    "not a table Augury made; move it away and start again"
                )
        inspector = sa.inspect(bind)
        if not inspector.has_table(table.name):
            table.create(bind)
            continue
        named = {index["name"] for index in inspector.get_indexes(table.name)}
        for index in indexes:
            if index.name not in named:
                index.create(bind)


def downgrade() -> None:
    for table, _ in reversed(_tables()):
        op.drop_table(table.name)
