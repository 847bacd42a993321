"""The HTTP API (FastAPI): accounts and auth, markets, trading, market data, portfolio.

``create_app(settings)`` builds the application; the engine runs in-process, opened when
the app starts and closed when it stops. See docs/api.md.

This package adapts the exchange to HTTP: it must never decide what the core decides
(prices, fills, balances), only ask the engine and report its answers. What starts and
connects the engine, the followers and the identity stores is the wiring's
(``augury.roles.services``, ``augury.roles.observer``, ``augury.identity``); their
errors carry no HTTP status, ``errors.as_api_error`` maps them.
"""

from augury.api.app import create_app

__all__ = ["create_app"]
