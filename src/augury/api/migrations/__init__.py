"""Alembic migrations of the API's own tables; run by ``augury.api.migrate.upgrade``."""
