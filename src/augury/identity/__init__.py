"""Who people are, and the other state the API nodes share in one database.

- ``store``: users, password hashes, sessions, API keys, roles, market metadata;
- ``login_guard``: failed logins per account (backoff) and security notices;
- ``stored_responses``: the answers kept for ``Idempotency-Key`` on the routes that are
  not one engine command;
- ``migrate`` and ``migrations/``: the Alembic chain of every ``api_*`` table (version
  table ``api_alembic_version``), run before any of these stores opens its tables.

Below the roles (``augury.roles.services`` opens these stores for a server) and the
HTTP layer; it imports nothing of ours but the projections' database helpers
(``.importlinter``).
"""
