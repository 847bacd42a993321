"""The API's own tables under Alembic: ``upgrade(engine)`` before a store opens them.

Users, sessions, API keys, market metadata, login failures, security notices and stored
responses live in the database every API node shares (the read models' database: one
SQLite file, or the projections schema on PostgreSQL). Their migrations are in
``augury/identity/migrations`` and nothing else creates them (no ``metadata.create_all``).

A chain of its own, with its own version table (``api_alembic_version``), rather than
revisions in the read models' chain (``augury.projections``), because the two have
different owners and lives:

- the read models are a cache of the journal: a rebuild may drop every one of them and
  replay; these tables are the only copy of who may log in, and must outlive a rebuild;
- the projections package imports neither these stores nor the API that declare the
  tables (import-linter contracts), so its chain cannot hold them without the layers
  inverting, and API nodes
  migrate their tables whichever role migrates the read models, in whatever order;
- each chain can then be read, tested and stamped alone.

Both chains run through ``augury.projections.db.run_serialized``: one transaction per
upgrade, and processes starting at once on one database (several API nodes on an empty
PostgreSQL) take turns on a lock instead of racing to create the same tables. A
database whose tables ``create_all`` made before this chain existed is adopted by the
first revision (kept, rows and all; see it for the one table replaced).
"""

from __future__ import annotations

from pathlib import Path

from alembic.config import Config
from sqlalchemy import Engine

from augury.projections.db import run_serialized

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
VERSION_TABLE = "api_alembic_version"
"""Alembic's version table of this chain (the read models' keeps the default name)."""


def alembic_config() -> Config:
    """Alembic's configuration for the API's migrations (no ini file)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["version_table"] = VERSION_TABLE
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate the API's tables in ``engine``'s database to ``revision``."""
    run_serialized(engine, alembic_config(), revision)
