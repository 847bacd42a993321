"""Migration scripts of the API's tables, one per revision, applied in order by Alembic."""
