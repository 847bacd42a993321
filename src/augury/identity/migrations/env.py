"""Alembic environment of the API's tables: runs only on a connection handed in by
``augury.identity.migrate.upgrade``, with a version table of its own (``api_alembic_version``).

There is no ini file and no offline (SQL script) mode: the application migrates its own
database on startup, inside the transaction it opened.
"""

from __future__ import annotations

from alembic import context

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run the API's migrations through augury.identity.migrate.upgrade()")

context.configure(
    connection=connection,
    target_metadata=None,
    version_table=context.config.attributes["version_table"],
)
with context.begin_transaction():
    context.run_migrations()
