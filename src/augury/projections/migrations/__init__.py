"""Alembic migrations of the projection tables; run by ``augury.projections.migrate``."""
