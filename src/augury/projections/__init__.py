"""Read models of the exchange, projected from the journal into SQL (SQLite or PostgreSQL).

The journal is the source of truth; these tables are a convenience for queries (an
account's orders, a market's candles) and can always be rebuilt from it. Modules:
``tables`` (the schema, SQLAlchemy Core), ``db`` (engines and Alembic migrations,
shipped in ``migrations/``), ``projector`` (events in, rows out).

Nothing here may change the journal or the exchange's state.
"""

from augury.projections.db import DEFAULT_NAMESPACE, projection_engine, upgrade
from augury.projections.projector import BATCH_RECORDS_DEFAULT, INTERVALS_US, Projector

__all__ = [
    "BATCH_RECORDS_DEFAULT",
    "DEFAULT_NAMESPACE",
    "INTERVALS_US",
    "Projector",
    "projection_engine",
    "upgrade",
]
