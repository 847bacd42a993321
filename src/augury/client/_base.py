"""What the sync and async clients share: the endpoint table, request building, answers.

No I/O here: it turns arguments into a :class:`Request` and an HTTP answer into a model
or a typed error, so both clients behave identically.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Final, NamedTuple, TypeVar
from urllib.parse import quote

import httpx
import msgspec

from augury.client._errors import AuguryError, InvalidResponse, error_for, parse_retry_after

T = TypeVar("T")

API_PREFIX: Final = "/api/v1"
TIMEOUT_S: Final = 30.0
RETRIES_MAX: Final = 2
"""Retries of a retry-safe request (a GET, or one with an Idempotency-Key) after a
connection error or 503 ``overloaded``."""
RETRY_CODES: Final = ("overloaded", "replica_behind", "unavailable")
"""503s worth retrying: busy, an API node's replica behind the client's writes, no
sequencer for a moment (a failover); each only for a GET or a request with a key."""
RETRY_WAIT_S_MAX: Final = 2.0
PAGES_MAX: Final = 100_000
"""A bound on the pages one ``iter_*`` helper walks (a guard against a looping cursor)."""
JOB_POLL_S: Final = 0.1
"""How often ``observe_now(wait=True)`` polls its job."""

Amount = Decimal | str | int
"""An amount as given to the SDK: a Decimal, a decimal string or an int (never a float)."""
Instant = datetime | str


class Endpoint(NamedTuple):
    method: str
    path: str
    idempotent: bool = False
    """Accepts an ``Idempotency-Key`` (a state-changing command)."""


ENDPOINTS: Final[dict[str, Endpoint]] = {
    # accounts
    "register": Endpoint("POST", "/auth/register", True),
    "login": Endpoint("POST", "/auth/login", True),
    "logout": Endpoint("POST", "/auth/logout", True),
    "me": Endpoint("GET", "/auth/me"),
    "change_password": Endpoint("POST", "/auth/password"),
    "create_api_key": Endpoint("POST", "/auth/api-keys", True),
    "list_api_keys": Endpoint("GET", "/auth/api-keys"),
    "revoke_api_key": Endpoint("DELETE", "/auth/api-keys/{key_id}"),
    # markets and market data
    "create_market": Endpoint("POST", "/markets", True),
    "list_markets": Endpoint("GET", "/markets"),
    "get_market": Endpoint("GET", "/markets/{market}"),
    "halt_market": Endpoint("POST", "/markets/{market}/halt", True),
    "resume_market": Endpoint("POST", "/markets/{market}/resume", True),
    "book": Endpoint("GET", "/markets/{market}/book"),
    "quote": Endpoint("GET", "/markets/{market}/quote"),
    "trades": Endpoint("GET", "/markets/{market}/trades"),
    "candles": Endpoint("GET", "/markets/{market}/candles"),
    # trading
    "place_order": Endpoint("POST", "/orders", True),
    "preview_order": Endpoint("POST", "/orders/preview"),
    "list_orders": Endpoint("GET", "/orders"),
    "get_order": Endpoint("GET", "/orders/{order_id}"),
    "cancel_order": Endpoint("DELETE", "/orders/{order_id}", True),
    "amend_order": Endpoint("POST", "/orders/{order_id}/amend", True),
    "cancel_all": Endpoint("POST", "/orders/cancel-all", True),
    "mint": Endpoint("POST", "/markets/{market}/mint", True),
    "redeem": Endpoint("POST", "/markets/{market}/redeem", True),
    "convert": Endpoint("POST", "/markets/{market}/convert", True),
    # portfolio
    "balances": Endpoint("GET", "/portfolio/balances"),
    "positions": Endpoint("GET", "/portfolio/positions"),
    "fills": Endpoint("GET", "/portfolio/fills"),
    "pnl": Endpoint("GET", "/portfolio/pnl"),
    "settlements": Endpoint("GET", "/portfolio/settlements"),
    # resolution: specs, evidence, proposals, disputes, votes, clarifications
    "lint_spec": Endpoint("POST", "/resolution/lint"),
    "set_spec": Endpoint("POST", "/markets/{market}/spec", True),
    "market_resolution": Endpoint("GET", "/markets/{market}/resolution"),
    "observations": Endpoint("GET", "/markets/{market}/observations"),
    "observation_runs": Endpoint("GET", "/markets/{market}/observations/runs"),
    "observation": Endpoint("GET", "/markets/{market}/observations/{obs_id}"),
    "evidence": Endpoint("GET", "/evidence/{sha256}"),
    "observe_now": Endpoint("POST", "/markets/{market}/observe", True),
    "observe_job": Endpoint("GET", "/observe-jobs/{job_id}"),
    "attest": Endpoint("POST", "/markets/{market}/attestations", idempotent=True),
    "propose": Endpoint("POST", "/markets/{market}/proposals", True),
    "dispute": Endpoint("POST", "/markets/{market}/disputes", True),
    "vote": Endpoint("POST", "/markets/{market}/votes", True),
    "clarify": Endpoint("POST", "/markets/{market}/clarifications", True),
    "declare_affiliation": Endpoint("POST", "/me/affiliations", True),
    "link_affiliation": Endpoint("POST", "/admin/affiliations", True),
    "resolve_market": Endpoint("POST", "/markets/{market}/resolve", True),
    "void_market": Endpoint("POST", "/markets/{market}/void", True),
    "alerts": Endpoint("GET", "/alerts"),
    "review_alert": Endpoint("POST", "/alerts/{alert_id}/review", True),
    # scoring
    "market_score": Endpoint("GET", "/scoring/markets/{market}"),
    "calibration": Endpoint("GET", "/scoring/calibration"),
    "leaderboard": Endpoint("GET", "/leaderboard"),
    "trader_score": Endpoint("GET", "/scoring/traders/{account}"),
    # notifications
    "notifications": Endpoint("GET", "/notifications"),
    "unread_notifications": Endpoint("GET", "/notifications/unread"),
    "mark_notification_read": Endpoint("POST", "/notifications/{notification}/read"),
    "mark_all_notifications_read": Endpoint("POST", "/notifications/read"),
    "notification_settings": Endpoint("GET", "/notifications/settings"),
    "set_notification_settings": Endpoint("PUT", "/notifications/settings"),
    "create_webhook": Endpoint("POST", "/webhooks"),
    "list_webhooks": Endpoint("GET", "/webhooks"),
    "delete_webhook": Endpoint("DELETE", "/webhooks/{webhook}"),
    "webhook_deliveries": Endpoint("GET", "/webhooks/{webhook}/deliveries"),
    # admin and health
    "grant": Endpoint("POST", "/admin/grants", True),
    "list_users": Endpoint("GET", "/admin/users"),
    "set_roles": Endpoint("PUT", "/admin/users/{username}/roles"),
    "advance_clock": Endpoint("POST", "/admin/clock", True),
    "health": Endpoint("GET", "/health"),
    "journal": Endpoint("GET", "/journal"),
    "ledger": Endpoint("GET", "/ledger"),
}
"""Every operation of the API by SDK method name (a test compares it with /openapi.json)."""


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    params: dict[str, Any] = field(default_factory=dict)
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def retry_safe(self) -> bool:
        return self.method == "GET" or "Idempotency-Key" in self.headers


def request(
    name: str,
    *,
    path: dict[str, str | int] | None = None,
    params: dict[str, Any] | None = None,
    body: Any = None,
    idempotency_key: str | None = None,
    auto_idempotency: bool = True,
) -> Request:
    """The request of endpoint ``name``; ``None`` params are dropped."""
    endpoint = ENDPOINTS[name]
    url = endpoint.path.format(**{k: quote(str(v), safe="") for k, v in (path or {}).items()})
    headers: dict[str, str] = {}
    if endpoint.idempotent:
        key = idempotency_key or (uuid.uuid4().hex if auto_idempotency else None)
        if key:
            headers["Idempotency-Key"] = key
    elif idempotency_key is not None:
        raise TypeError(f"{name} takes no Idempotency-Key")
    query = {k: v for k, v in (params or {}).items() if v is not None}
    return Request(endpoint.method, url, query, body, headers)


def body(**fields: Any) -> dict[str, Any]:
    """A request body without the fields left ``None``."""
    return {k: v for k, v in fields.items() if v is not None}


def amount(value: Amount | None) -> str | None:
    """An amount as the API's decimal string; a float is refused (it would round)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, Decimal | str | int):
        raise TypeError(f"amounts are Decimal, str or int, not {type(value).__name__}")
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


class ScalarRange(NamedTuple):
    """A scalar market's range, step and units (values in the question's units)."""

    low: Amount
    high: Amount
    step: Amount
    units: str


def scalar_body(r: ScalarRange) -> dict[str, Any]:
    return {
        "low": amount(r.low),
        "high": amount(r.high),
        "step": amount(r.step),
        "units": r.units,
    }


def instant(value: Instant | None) -> str | None:
    """An RFC 3339 string (a naive datetime is refused: it names no instant)."""
    if value is None or isinstance(value, str):
        return value
    if value.tzinfo is None:
        raise ValueError("a datetime must carry a time zone")
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def with_min_seq(headers: dict[str, str], last_seq: int) -> dict[str, str]:
    """A request's headers, with ``Augury-Min-Seq`` once the client has written."""
    return {**headers, "Augury-Min-Seq": str(last_seq)} if last_seq else headers


def seen_seq(response: httpx.Response, last_seq: int) -> int:
    """The client's highest seq after ``response`` (its ``Augury-Seq``, if any)."""
    found = response.headers.get("Augury-Seq", "")
    return max(last_seq, int(found)) if found.isdigit() else last_seq


def base_url(url: str) -> str:
    """``http://host:port`` (or with ``/api/v1``) -> ``http://host:port/api/v1``."""
    url = url.rstrip("/")
    return url if url.endswith(API_PREFIX) else url + API_PREFIX


def ws_url(api_base: str) -> str:
    scheme, sep, rest = api_base.partition("://")
    ws_scheme = {"http": "ws", "https": "wss"}.get(scheme, scheme)
    return f"{ws_scheme}{sep}{rest}/ws"


def auth_headers(api_key: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key}"} if api_key else {}


def decode(response: httpx.Response, model: type[T]) -> T:
    """The answer as ``model``, or the typed error it stands for."""
    if response.status_code >= 400:
        raise error_of(response)
    try:
        return msgspec.json.decode(response.content, type=model)
    except msgspec.DecodeError as exc:  # ValidationError is a DecodeError
        raise InvalidResponse(response.status_code, "invalid_response", str(exc)) from None


def check(response: httpx.Response) -> None:
    """For answers without a body (204)."""
    if response.status_code >= 400:
        raise error_of(response)


def error_of(response: httpx.Response) -> AuguryError:
    status = response.status_code
    retry_after = parse_retry_after(response.headers.get("Retry-After"))
    try:
        problem = response.json()
    except ValueError:
        problem = None
    if not isinstance(problem, dict) or not isinstance(problem.get("code"), str):
        text = " ".join(response.text.split())[:200]
        return error_for(status, f"http_{status}", text, None, retry_after)
    detail = problem.get("detail")
    return error_for(
        status, problem["code"], detail if isinstance(detail, str) else "", problem, retry_after
    )


def should_retry(req: Request, error: AuguryError | None, attempt: int) -> float | None:
    """Seconds to wait before retrying, or None to give up."""
    if attempt >= RETRIES_MAX or not req.retry_safe:
        return None
    if error is None:  # a connection error
        return min(0.1 * 2.0**attempt, RETRY_WAIT_S_MAX)
    if error.status == 503 and error.code in RETRY_CODES:
        retry_after: float | None = getattr(error, "retry_after", None)
        wait = retry_after or 0.2
        return min(wait, RETRY_WAIT_S_MAX)
    return None


def order_body(
    market: str,
    side: str,
    qty: Amount | None,
    price: Amount | None,
    budget: Amount | None,
    outcome: int,
    token: str,
    type: str | None,
    tif: str | None,
    self_trade: str | None,
) -> dict[str, Any]:
    kind = type or ("limit" if price is not None else "market")
    return body(
        market=market,
        outcome=outcome,
        side=side,
        token=token,
        type=kind,
        price=amount(price),
        qty=amount(qty),
        budget=amount(budget),
        tif=tif,
        self_trade=self_trade,
    )


def market_body(
    question: str,
    close_time: Instant,
    id: str | None,
    type: str,
    outcomes: Sequence[str] | None,
    description: str | None,
    rules: str | None,
    category: str | None,
    tick_size: Amount | None,
    liquidity: Amount | None,
    fee_bps: int | None,
    resolution_spec: dict[str, Any] | None,
    scalar: ScalarRange | None = None,
    buckets: int | None = None,
) -> dict[str, Any]:
    return body(
        id=id,
        type=type,
        question=question,
        description=description,
        rules=rules,
        category=category,
        outcomes=list(outcomes) if outcomes is not None else None,
        close_time=instant(close_time),
        tick_size=amount(tick_size),
        liquidity=amount(liquidity),
        fee_bps=fee_bps,
        resolution_spec=resolution_spec,
        scalar=None if scalar is None else scalar_body(scalar),
        buckets=buckets,
    )
