"""The SDK's public surface and its pure parts (no server)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import httpx
import msgspec
import pytest

import augury.client
from augury.client import (
    AsyncClient,
    AuguryError,
    Client,
    Conflict,
    Forbidden,
    NotFound,
    RateLimited,
    Rejected,
    ServerError,
    Unauthorized,
    Unavailable,
    ValidationError,
)
from augury.client._base import ENDPOINTS, amount, base_url, instant, ws_url
from augury.client._ws import Tracker

EXPORTED = {
    # clients and subscriptions
    "Client", "AsyncClient", "Subscription", "AsyncSubscription",
    # errors
    "AuguryError", "TransportError", "InvalidResponse", "Unauthorized", "Forbidden",
    "NotFound", "Conflict", "PayloadTooLarge", "ValidationError", "Rejected",
    "RateLimited", "ServerError", "Unavailable",
    # models
    "Page", "User", "Me", "Login", "ApiKey", "ApiKeyCreated", "Market", "Level", "Book",
    "MakerQuote", "Trade", "Fill", "Candle", "Candles", "Order", "PlacedFill", "Placement",
    "Preview", "Cancelled", "CancelledAll", "Minted", "Redeemed", "Converted", "Balances",
    "Position", "Grant", "ClockAdvanced", "Health", "JournalHead", "WsMessage",
}  # fmt: skip


def test_the_exported_names_are_exactly_the_intended_ones() -> None:
    assert set(augury.client.__all__) == EXPORTED
    assert len(augury.client.__all__) == len(EXPORTED)
    public = {n for n in vars(augury.client) if not n.startswith("_")}
    assert public - {"annotations"} == EXPORTED
    for name in EXPORTED:
        assert getattr(augury.client, name).__module__.startswith("augury.client._")


def test_the_hierarchy_is_drawn_in_the_docstring() -> None:
    doc = augury.client.__doc__ or ""
    for name in EXPORTED:
        value = getattr(augury.client, name)
        if isinstance(value, type) and issubclass(value, AuguryError):
            assert name in doc, name
    assert issubclass(Unavailable, ServerError) and issubclass(Rejected, AuguryError)


def test_both_clients_have_a_method_per_endpoint() -> None:
    for name in ENDPOINTS:
        assert callable(getattr(Client, name)) and callable(getattr(AsyncClient, name))
    for name in ("iter_markets", "iter_orders", "iter_trades", "iter_fills", "subscribe"):
        assert callable(getattr(Client, name)) and callable(getattr(AsyncClient, name))


def _answer(status: int, body: dict[str, object], headers: dict[str, str] | None = None) -> Client:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, json=body, headers=headers)

    return Client("http://test", transport=httpx.MockTransport(handler))


@pytest.mark.parametrize(
    ("status", "code", "kind"),
    [
        (401, "unauthorized", Unauthorized),
        (403, "csrf_failed", Forbidden),
        (404, "unknown_order", NotFound),
        (409, "market_closed", Conflict),
        (422, "validation_error", ValidationError),
        (422, "idempotency_key_reused", ValidationError),
        (422, "post_only_would_cross", Rejected),
        (429, "rate_limited", RateLimited),
        (500, "internal_error", ServerError),
        (503, "unavailable", Unavailable),
    ],
)
def test_problem_codes_map_to_types(status: int, code: str, kind: type[AuguryError]) -> None:
    problem = {"type": "t", "title": "x", "status": status, "code": code, "detail": "why"}
    with _answer(status, problem, {"Retry-After": "3"}) as client, pytest.raises(kind) as caught:
        client.me()
    error = caught.value
    assert type(error) is kind and (error.status, error.code, error.detail) == (status, code, "why")
    if isinstance(error, RateLimited | Unavailable):
        assert error.retry_after == 3.0


def test_overloaded_is_retried_for_safe_requests() -> None:
    answers = iter([503, 503, 200])
    seen: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("Idempotency-Key"))
        status = next(answers)
        if status == 503:
            body = {"type": "t", "title": "x", "status": 503, "code": "overloaded", "detail": ""}
            return httpx.Response(503, json=body, headers={"Retry-After": "0"})
        return httpx.Response(200, json={"cancelled": [7]})

    with Client("http://test", transport=httpx.MockTransport(handler)) as client:
        assert client.cancel_all().cancelled == [7]
    assert len(seen) == 3 and seen[0] and len(set(seen)) == 1  # one key for every retry


def test_amounts_and_instants() -> None:
    assert [amount(Decimal("12.50")), amount("0.003"), amount(7)] == ["12.50", "0.003", "7"]
    assert amount(Decimal("1E+1")) == "10"
    with pytest.raises(TypeError):
        amount(0.1)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        amount(True)
    east = timezone(timedelta(hours=2))
    assert instant(datetime(2025, 11, 14, 2, tzinfo=east)) == "2025-11-14T00:00:00Z"
    with pytest.raises(ValueError):
        instant(datetime(2025, 11, 14))
    assert base_url("http://h:1/") == "http://h:1/api/v1" == base_url("http://h:1/api/v1")
    assert ws_url("https://h/api/v1") == "wss://h/api/v1/ws"
    market = msgspec.json.decode(
        b'{"price": "0.5", "qty": "2", "orders": 1}', type=augury.client.Level
    )
    assert market.price == Decimal("0.5") and market.to_dict() == {
        "price": "0.5",
        "qty": "2",
        "orders": 1,
    }


def _frame(**fields: object) -> str:
    return json.dumps(fields)


def test_tracker_yields_in_order_and_resubscribes_after_a_gap() -> None:
    tracker = Tracker(["book:m", "orders"])
    assert [json.loads(f)["channel"] for f in tracker.opening()] == ["book:m", "orders"]
    first, _ = tracker.on_message(_frame(type="subscribed", channel="book:m", seq=4, snapshot={}))
    assert first is not None and first.seq == 4
    tracker.on_message(_frame(type="subscribed", channel="orders:me", seq=0, snapshot={}))
    stale, _ = tracker.on_message(_frame(type="book_delta", channel="book:m", seq=4))
    assert stale is None  # covered by the snapshot
    ok, replies = tracker.on_message(_frame(type="book_delta", channel="book:m", seq=5))
    assert ok is not None and ok.seq == 5 and replies == []
    lost, replies = tracker.on_message(_frame(type="fill", channel="orders:me", seq=2))
    assert lost is None and tracker.gaps == 1
    assert [json.loads(f) for f in replies] == [
        {"op": "unsubscribe", "channel": "orders:me"},
        {"op": "subscribe", "channel": "orders"},
    ]
    dropped, _ = tracker.on_message(_frame(type="fill", channel="orders:me", seq=3))
    assert dropped is None  # until the fresh snapshot
    again, _ = tracker.on_message(_frame(type="subscribed", channel="orders:me", seq=3))
    assert again is not None and again.type == "subscribed"
    with pytest.raises(NotFound):
        tracker.on_message(_frame(type="error", channel="book:x", code="unknown_market", detail=""))
