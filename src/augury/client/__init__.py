"""Augury's Python SDK: a typed sync and async client for the HTTP and WebSocket API.

::

    from augury.client import Client

    with Client("http://127.0.0.1:8000", api_key="aug_...") as client:
        market = client.create_market("Will it rain?", "2026-06-30T00:00:00Z")
        order = client.place_order(market.id, "buy", qty="5", price="0.4")
        for fill in client.iter_fills(market=market.id):
            print(fill.price, fill.qty)

Every API operation is one method (docs/sdk.md); answers are msgspec Structs with
amounts as :class:`~decimal.Decimal` (never a float). A non-2xx answer raises the typed
error of its problem ``code``::

    AuguryError(status, code, detail)   every error; .problem is the problem+json body
    ├── TransportError                  no answer (connection refused, broken)
    ├── InvalidResponse                 an answer without the documented shape
    ├── Unauthorized                    401 unauthorized, invalid_credentials
    ├── Forbidden                       403 forbidden, csrf_failed
    ├── NotFound                        404 not_found, unknown_market, unknown_order, ...
    ├── Conflict                        409 market_halted, username_taken, market_exists,
    │                                       idempotency_key_in_flight, ...
    ├── PayloadTooLarge                 413 body_too_large
    ├── ValidationError                 422 validation_error, invalid_cursor,
    │                                       idempotency_key_reused, ... (.errors)
    ├── Rejected                        422 the exchange's refusals: insufficient_funds,
    │                                       price_not_on_tick, post_only_would_cross, ...
    ├── RateLimited                     429 rate_limited (.retry_after, seconds)
    └── ServerError                     5xx internal_error
        └── Unavailable                 503 overloaded, unavailable (.retry_after)

This package only talks to a server: it never imports the exchange itself.
"""

from augury.client._async import AsyncClient
from augury.client._client import Client
from augury.client._errors import (
    AuguryError,
    Conflict,
    Forbidden,
    InvalidResponse,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    Rejected,
    ServerError,
    TransportError,
    Unauthorized,
    Unavailable,
    ValidationError,
)
from augury.client._models import (
    ApiKey,
    ApiKeyCreated,
    Balances,
    Book,
    Cancelled,
    CancelledAll,
    Candle,
    Candles,
    ClockAdvanced,
    Converted,
    Fill,
    Grant,
    Health,
    JournalHead,
    Level,
    Login,
    MakerQuote,
    Market,
    Me,
    Minted,
    Order,
    Page,
    PlacedFill,
    Placement,
    Position,
    Preview,
    Redeemed,
    Trade,
    User,
    WsMessage,
)
from augury.client._ws import AsyncSubscription, Subscription

__all__ = [
    "ApiKey",
    "ApiKeyCreated",
    "AsyncClient",
    "AsyncSubscription",
    "AuguryError",
    "Balances",
    "Book",
    "Cancelled",
    "CancelledAll",
    "Candle",
    "Candles",
    "Client",
    "ClockAdvanced",
    "Conflict",
    "Converted",
    "Fill",
    "Forbidden",
    "Grant",
    "Health",
    "InvalidResponse",
    "JournalHead",
    "Level",
    "Login",
    "MakerQuote",
    "Market",
    "Me",
    "Minted",
    "NotFound",
    "Order",
    "Page",
    "PayloadTooLarge",
    "PlacedFill",
    "Placement",
    "Position",
    "Preview",
    "RateLimited",
    "Redeemed",
    "Rejected",
    "ServerError",
    "Subscription",
    "Trade",
    "TransportError",
    "Unauthorized",
    "Unavailable",
    "User",
    "ValidationError",
    "WsMessage",
]
