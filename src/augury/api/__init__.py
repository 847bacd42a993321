"""The HTTP API (FastAPI): accounts and auth, markets, trading, market data, portfolio.

``create_app(settings, services=... | start=... | node=...)`` builds the application
around services its composer started or says how to start (the CLI, a test): the API
never starts the engine or a process itself. See docs/api.md.

This package adapts the exchange to HTTP: it must never decide what the core decides
(prices, fills, balances), only ask the engine and report its answers. What starts and
connects the engine, the followers and the identity stores is the wiring's
(``augury.roles.services``, ``augury.roles.observer``, ``augury.identity``); their
errors carry no HTTP status, ``errors.as_api_error`` maps them.
"""

from augury.api.app import create_app

__all__ = ["create_app"]
