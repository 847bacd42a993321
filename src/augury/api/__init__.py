"""The HTTP API (FastAPI): accounts and auth, markets, trading, market data, portfolio.

``create_app(settings)`` builds the application; the engine runs in-process, opened when
the app starts and closed when it stops. See docs/api.md.

This package adapts the exchange to HTTP: it must never decide what the core decides
(prices, fills, balances), only ask the engine and report its answers.
"""

from augury.api.app import create_app

__all__ = ["create_app"]
