"""Why a command was refused: stable reason codes and the exception that carries them.

A handler validates everything before it changes anything; the first failed check
raises :class:`Rejected`, so a refused command leaves the state exactly as it was.
The codes are part of the public API (problem+json ``code``): never rename one.
"""

from __future__ import annotations

from enum import StrEnum


class Code(StrEnum):
    """Stable machine-readable reasons a command can be refused."""

    UNKNOWN_ACCOUNT = "unknown_account"
    ACCOUNT_EXISTS = "account_exists"
    INVALID_ACCOUNT_ID = "invalid_account_id"
    INVALID_AMOUNT = "invalid_amount"
    UNKNOWN_MARKET = "unknown_market"
    MARKET_EXISTS = "market_exists"
    INVALID_MARKET = "invalid_market"
    CLOSE_TIME_PASSED = "close_time_passed"
    MARKET_HALTED = "market_halted"
    MARKET_CLOSED = "market_closed"
    MARKET_RESOLVED = "market_resolved"
    MARKET_VOIDED = "market_voided"
    MARKET_NOT_HALTED = "market_not_halted"
    NOT_CATEGORICAL = "not_categorical"
    INVALID_OUTCOME = "invalid_outcome"
    INVALID_WEIGHTS = "invalid_weights"
    INVALID_ORDER = "invalid_order"
    PRICE_OUT_OF_RANGE = "price_out_of_range"
    PRICE_NOT_ON_TICK = "price_not_on_tick"
    QTY_NOT_ON_LOT = "qty_not_on_lot"
    QTY_TOO_SMALL = "qty_too_small"
    QTY_TOO_LARGE = "qty_too_large"
    INVALID_EXPIRY = "invalid_expiry"
    INSUFFICIENT_FUNDS = "insufficient_funds"
    INSUFFICIENT_SHARES = "insufficient_shares"
    TOO_MANY_OPEN_ORDERS = "too_many_open_orders"
    DUPLICATE_CLIENT_ORDER_ID = "duplicate_client_order_id"
    UNKNOWN_ORDER = "unknown_order"
    POST_ONLY_WOULD_CROSS = "post_only_would_cross"
    FOK_NOT_FILLABLE = "fok_not_fillable"
    NO_LIQUIDITY = "no_liquidity"
    TIME_WENT_BACKWARDS = "time_went_backwards"
    INVALID_SPEC = "invalid_spec"
    NO_SPEC = "no_spec"
    UNKNOWN_SOURCE = "unknown_source"
    INVALID_OBSERVATION = "invalid_observation"
    MARKET_NOT_CLOSED = "market_not_closed"
    WRONG_RESOLUTION_PHASE = "wrong_resolution_phase"
    CONFLICT_OF_INTEREST = "conflict_of_interest"
    BOND_TOO_SMALL = "bond_too_small"
    CHALLENGE_WINDOW_CLOSED = "challenge_window_closed"
    ALREADY_VOTED = "already_voted"
    INVALID_TEXT = "invalid_text"
    UNKNOWN_ALERT = "unknown_alert"
    ALERT_ALREADY_REVIEWED = "alert_already_reviewed"
    INVALID_ALERT = "invalid_alert"
    AFFILIATED_ACCOUNT = "affiliated_account"
    RESOLUTION_TOO_EARLY = "resolution_too_early"


class Rejected(Exception):
    """A command was refused; ``code`` is stable, ``message`` is for people."""

    def __init__(self, code: Code, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
