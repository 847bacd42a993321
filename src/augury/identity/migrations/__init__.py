"""Alembic migrations of the API's own tables; run by ``augury.identity.migrate.upgrade``."""
