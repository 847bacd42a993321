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
    ├── Forbidden                       403 forbidden, csrf_failed, conflict_of_interest
    ├── NotFound                        404 not_found, unknown_market, unknown_order,
    │                                       unknown_alert, ...
    ├── Conflict                        409 market_halted, username_taken, market_exists,
    │                                       idempotency_key_in_flight, market_not_closed,
    │                                       wrong_resolution_phase, already_voted,
    │                                       market_not_resolved, ...
    ├── PayloadTooLarge                 413 body_too_large
    ├── ValidationError                 422 validation_error, invalid_cursor,
    │                                       idempotency_key_reused, ... (.errors)
    ├── Rejected                        422 the exchange's refusals: insufficient_funds,
    │                                       price_not_on_tick, post_only_would_cross,
    │                                       invalid_spec, bond_too_small, ...
    ├── RateLimited                     429 rate_limited (.retry_after, seconds)
    └── ServerError                     5xx internal_error
        └── Unavailable                 503 overloaded, unavailable (.retry_after)

This package only talks to a server: it never imports the exchange itself.
"""

from augury.client._async import AsyncClient
from augury.client._base import ScalarRange
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
    Affiliations,
    Alert,
    Amended,
    ApiKey,
    ApiKeyCreated,
    Balances,
    Book,
    Cancelled,
    CancelledAll,
    Candle,
    Candles,
    Clarification,
    ClockAdvanced,
    Converted,
    Dispute,
    Fill,
    Grant,
    Health,
    ImpliedCandle,
    JournalHead,
    Ledger,
    Level,
    LintFinding,
    LintResult,
    Login,
    MakerQuote,
    Market,
    MarketProfit,
    Me,
    Minted,
    Observation,
    Order,
    Page,
    PlacedFill,
    Placement,
    Position,
    Preview,
    Proposal,
    Redeemed,
    Resolution,
    ResolutionChange,
    Scalar,
    Settlement,
    StoryEntry,
    Trade,
    User,
    Vote,
    WsMessage,
)
from augury.client._notification_models import (
    Delivery,
    DeliveryAttempt,
    Notification,
    NotificationPage,
    NotificationSettings,
    Webhook,
)
from augury.client._scoring_models import (
    Calibration,
    CalibrationBucket,
    Leaderboard,
    LeaderboardEntry,
    MarketScore,
    NumericScore,
    ProbabilityPoint,
    TraderScore,
    TraderStats,
)
from augury.client._sync import Client
from augury.client._trail import JobCapture, ObservationRun, ObserveJob
from augury.client._ws import AsyncSubscription, Subscription

__all__ = [
    "Affiliations",
    "Alert",
    "Amended",
    "ApiKey",
    "ApiKeyCreated",
    "AsyncClient",
    "AsyncSubscription",
    "AuguryError",
    "Balances",
    "Book",
    "Calibration",
    "CalibrationBucket",
    "Cancelled",
    "CancelledAll",
    "Candle",
    "Candles",
    "Clarification",
    "Client",
    "ClockAdvanced",
    "Conflict",
    "Converted",
    "Delivery",
    "DeliveryAttempt",
    "Dispute",
    "Fill",
    "Forbidden",
    "Grant",
    "Health",
    "ImpliedCandle",
    "InvalidResponse",
    "JobCapture",
    "JournalHead",
    "Leaderboard",
    "LeaderboardEntry",
    "Ledger",
    "Level",
    "LintFinding",
    "LintResult",
    "Login",
    "MakerQuote",
    "Market",
    "MarketProfit",
    "MarketScore",
    "Me",
    "Minted",
    "NotFound",
    "Notification",
    "NotificationPage",
    "NotificationSettings",
    "NumericScore",
    "Observation",
    "ObservationRun",
    "ObserveJob",
    "Order",
    "Page",
    "PayloadTooLarge",
    "PlacedFill",
    "Placement",
    "Position",
    "Preview",
    "ProbabilityPoint",
    "Proposal",
    "RateLimited",
    "Redeemed",
    "Rejected",
    "Resolution",
    "ResolutionChange",
    "Scalar",
    "ScalarRange",
    "ServerError",
    "Settlement",
    "StoryEntry",
    "Subscription",
    "Trade",
    "TraderScore",
    "TraderStats",
    "TransportError",
    "Unauthorized",
    "Unavailable",
    "User",
    "ValidationError",
    "Vote",
    "Webhook",
    "WsMessage",
]
