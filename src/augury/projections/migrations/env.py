"""Alembic environment: runs only on a connection handed in by ``migrate.upgrade``.

There is no ini file and no offline (SQL script) mode: the application migrates its own
database on startup, inside the transaction it opened.
"""

from __future__ import annotations

from alembic import context

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run projection migrations through augury.projections.migrate.upgrade()")

context.configure(connection=connection, target_metadata=None)
with context.begin_transaction():
    context.run_migrations()
