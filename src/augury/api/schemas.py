"""Request bodies: strict shapes and types, bounded clean strings, amounts as decimal strings.

Every model is strict (``Body``): a JSON number is never taken for a boolean or a
string, nor a string for a number (``"outcome": "1"``, ``"post_only": 0`` and
``"affiliated": 1`` are refused with ``validation_error``). Free text is checked and
normalized by ``augury.api.text`` (``invalid_characters``). Amounts (credits, shares,
prices) are JSON strings such as ``"12.5"``, parsed to integer micros by
``augury.domain.units.parse_micros``: a JSON number is refused, so no float ever
reaches the exchange. Instants are RFC 3339 strings with a time zone.
Unknown fields are refused (``extra="forbid"``), so a typo is an error, not a no-op.
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
    model_validator,
)

from augury.api.text import MultiLineText, SingleLineText, TextTree
from augury.domain.units import parse_micros
from augury.identity.store import ROLES, SCOPES, USERNAME_RE
from augury.settings import parse_instant_us

AMOUNT_RE = re.compile(r"\d{1,16}(\.\d{1,6})?")
DESCRIPTION_MAX = 10_000
SPEC_BYTES_MAX = 16_384


def _amount(value: object) -> int:
    if not isinstance(value, str) or not AMOUNT_RE.fullmatch(value):
        raise ValueError(
            'must be a non-negative decimal string such as "12.5" (at most 6 decimals)'
        )
    return parse_micros(value)


def _instant(value: object) -> int:
    if not isinstance(value, str) or len(value) > 40:
        raise ValueError('must be an RFC 3339 instant such as "2025-11-14T00:00:00Z"')
    return parse_instant_us(value)


Micros = Annotated[
    int,
    BeforeValidator(_amount),
    WithJsonSchema({"type": "string", "pattern": r"^\d{1,16}(\.\d{1,6})?$", "examples": ["12.5"]}),
]
"""A decimal string in the JSON, integer micros in Python."""

VALUE_RE = re.compile(r"-?\d{1,13}(\.\d{1,6})?")


def _value(value: object) -> int:
    if not isinstance(value, str) or not VALUE_RE.fullmatch(value):
        raise ValueError('must be a decimal string such as "-12.5" (at most 6 decimals)')
    return parse_micros(value)


Value = Annotated[
    int,
    BeforeValidator(_value),
    WithJsonSchema(
        {"type": "string", "pattern": r"^-?\d{1,13}(\.\d{1,6})?$", "examples": ["1250"]}
    ),
]
"""A signed decimal string in the question's units (a scalar market's number), micros in
Python."""

InstantUs = Annotated[
    int,
    BeforeValidator(_instant),
    WithJsonSchema({"type": "string", "format": "date-time", "examples": ["2025-11-14T00:00:00Z"]}),
]
"""An RFC 3339 string in the JSON, UTC microseconds in Python."""

Username = Annotated[
    SingleLineText,
    StringConstraints(min_length=3, max_length=32, pattern=f"^{USERNAME_RE.pattern}$"),
]
Password = Annotated[str, StringConstraints(min_length=10, max_length=256)]
MarketId = Annotated[
    SingleLineText,
    StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$"),
]
ShortText = Annotated[SingleLineText, StringConstraints(max_length=200)]
"""One line of at most 200 characters (a memo, a note, a halt reason)."""
LongText = Annotated[MultiLineText, StringConstraints(max_length=DESCRIPTION_MAX)]
"""A description or rules: newlines and tabs allowed."""
OutcomeName = Annotated[SingleLineText, StringConstraints(min_length=1, max_length=200)]
Role = Literal["trader", "market_creator", "resolver", "arbiter", "admin"]
ScopeName = Literal["read", "trade", "admin"]

assert set(Role.__args__) == set(ROLES) and set(ScopeName.__args__) == set(SCOPES)  # type: ignore[attr-defined]


class Body(BaseModel):
    """A request body: unknown fields refused, and no type coercion (strict)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class Credentials(Body):
    username: Username
    password: Password


class LoginBody(Body):
    username: Annotated[SingleLineText, StringConstraints(min_length=1, max_length=64)]
    password: Annotated[str, StringConstraints(min_length=1, max_length=256)]


class ApiKeyBody(Body):
    name: Annotated[SingleLineText, StringConstraints(min_length=1, max_length=100)]
    scopes: list[ScopeName] = Field(default=["read"], min_length=1, max_length=3)
    public_key: (
        Annotated[MultiLineText, StringConstraints(min_length=1, max_length=4_096)] | None
    ) = None
    """An RSA or Ed25519 public key (PEM) for signed requests (docs/kalshi.md)."""


class ScalarBody(Body):
    """A scalar market's range: ``low`` < ``high`` and ``step`` in the question's units
    (the step divides ``high - low``), ``units`` for humans ("ships")."""

    low: Value
    high: Value
    step: Micros
    units: Annotated[SingleLineText, StringConstraints(min_length=1, max_length=40)]


class MarketBody(Body):
    id: MarketId | None = None
    type: Literal["binary", "categorical", "scalar"] = "binary"
    question: Annotated[SingleLineText, StringConstraints(min_length=1, max_length=4_000)]
    description: LongText = ""
    rules: LongText = ""
    category: Annotated[SingleLineText, StringConstraints(max_length=64)] = ""
    outcomes: list[OutcomeName] | None = Field(default=None, max_length=64)
    close_time: InstantUs
    tick_size: Micros = 1_000
    liquidity: Micros = 0
    fee_bps: int = Field(default=0, ge=0, le=1_000)
    resolution_spec: TextTree = Field(default_factory=dict)
    block_affiliated_trading: bool = True  # off only with a public reason (the domain checks)
    affiliated_trading_reason: ShortText = ""
    scalar: ScalarBody | None = None
    """A scalar market's range, step and units (``type`` scalar), or with ``buckets`` the
    range a bucketed categorical market cuts into ``buckets`` ranges."""
    buckets: int | None = Field(default=None, ge=3, le=64)
    """A bucketed market (``type`` categorical): its outcomes are ``buckets`` ranges of
    ``scalar``, and its numeric spec's ``buckets`` their boundaries."""

    @model_validator(mode="after")
    def _outcomes(self) -> MarketBody:
        bucketed = self.type == "categorical" and self.buckets is not None
        if (self.type == "scalar" or bucketed) != (self.scalar is not None):
            raise ValueError("a scalar or bucketed market (and only one) gives a scalar range")
        if self.buckets is not None and self.type != "categorical":
            raise ValueError("only a categorical market is bucketed")
        if self.scalar is not None and self.outcomes is not None:
            raise ValueError("a scalar or bucketed market's outcomes come from its range")
        if self.type == "binary" and self.outcomes is not None and len(self.outcomes) != 2:
            raise ValueError("a binary market has exactly two outcomes (default: Yes, No)")
        if (
            self.type == "categorical"
            and not bucketed
            and (self.outcomes is None or len(self.outcomes) < 3)
        ):
            raise ValueError("a categorical market needs 3..64 outcomes")
        if len(json.dumps(self.resolution_spec)) > SPEC_BYTES_MAX:
            raise ValueError(f"resolution_spec may be at most {SPEC_BYTES_MAX} bytes of JSON")
        return self


class ReasonBody(Body):
    reason: ShortText = ""


ClientOrderId = Annotated[
    SingleLineText,
    StringConstraints(min_length=1, max_length=64, pattern=r"^[\x21-\x7e]+$"),
]
"""1..64 printable ASCII characters, no space: an order's name chosen by its client."""


class OrderBody(Body):
    market: MarketId
    outcome: int = Field(default=0, ge=0, le=63)
    side: Literal["buy", "sell"]
    token: Literal["yes", "no"] = "yes"
    type: Literal["limit", "market"] = "limit"
    price: Micros | None = None
    qty: Micros | None = None
    budget: Micros | None = None
    tif: Literal["gtc", "gtd", "ioc", "fok"] | None = None
    expires_at: InstantUs | None = None
    post_only: bool = False
    client_order_id: ClientOrderId | None = None
    self_trade: Literal["cancel_resting", "cancel_incoming", "allow"] = "cancel_resting"

    @model_validator(mode="after")
    def _shape(self) -> OrderBody:
        if self.type == "limit" and self.price is None:
            raise ValueError("a limit order needs a price")
        if self.type == "market" and self.price is not None:
            raise ValueError("a market order takes no price (use type=limit)")
        return self


class PreviewBody(Body):
    market: MarketId
    outcome: int = Field(default=0, ge=0, le=63)
    side: Literal["buy", "sell"]
    token: Literal["yes", "no"] = "yes"
    type: Literal["limit", "market"] = "market"
    price: Micros | None = None
    qty: Micros | None = None
    budget: Micros | None = None
    tif: Literal["gtc", "gtd", "ioc", "fok"] | None = None
    self_trade: Literal["cancel_resting", "cancel_incoming", "allow"] = "cancel_resting"


class CancelAllBody(Body):
    market: MarketId | None = None


class AmendBody(Body):
    """A resting order's new limit (in its own token, as when placed) and unfilled size."""

    price: Micros
    qty: Micros
    client_order_id: ClientOrderId | None = None


class SetsBody(Body):
    qty: Micros
    outcome: int | None = Field(default=None, ge=0, le=63)


class ConvertBody(Body):
    outcome: int = Field(ge=0, le=63)
    qty: Micros
    to_yes: bool = True


class GrantBody(Body):
    account: Username
    amount: Micros
    memo: ShortText = ""


class RolesBody(Body):
    roles: list[Role] = Field(min_length=1, max_length=5)


class ClockBody(Body):
    to: InstantUs | None = None
    seconds: int | None = Field(default=None, ge=0, le=10 * 366 * 86_400)

    @model_validator(mode="after")
    def _one(self) -> ClockBody:
        if (self.to is None) == (self.seconds is None):
            raise ValueError("give exactly one of 'to' (RFC 3339) or 'seconds'")
        return self
