"""The SDK's public surface and its pure parts (no server)."""

from __future__ import annotations

import inspect
import json
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

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
    InvalidResponse,
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
    "Preview", "Amended", "Cancelled", "CancelledAll", "Minted", "Redeemed", "Converted",
    "Balances",
    "Position", "MarketProfit", "Settlement", "Grant", "ClockAdvanced", "Health",
    "JournalHead", "Ledger", "WsMessage",
    "LintFinding", "LintResult", "Proposal", "Dispute", "Vote", "Clarification",
    "StoryEntry", "Resolution", "Observation", "Affiliations", "Alert",
    "ObservationRun", "ObserveJob", "JobCapture", "ResolutionChange",
    "ProbabilityPoint", "MarketScore", "CalibrationBucket", "Calibration", "TraderStats",
    "LeaderboardEntry", "Leaderboard", "TraderScore",
    # scalar markets
    "Scalar", "ScalarRange", "ImpliedCandle", "NumericScore",
    "Notification", "NotificationPage", "NotificationSettings", "Webhook", "Delivery",
    "DeliveryAttempt",
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
    for name in ("iter_markets", "iter_orders", "iter_trades", "iter_fills", "iter_resolution"):
        assert callable(getattr(Client, name)) and callable(getattr(AsyncClient, name))
    assert callable(Client.subscribe) and callable(AsyncClient.subscribe)


def test_the_sync_client_is_the_one_generated_from_the_async_one() -> None:
    """Every module of ``_sync/`` is ``scripts/unasync.py``'s output for its namesake in
    ``_async/`` (``make unasync``), and no other module is in ``_sync/``."""
    root = Path(__file__).resolve().parents[2]
    client = root / "src" / "augury" / "client"
    sources = sorted(p.name for p in (client / "_async").glob("*.py"))
    assert sorted(p.name for p in (client / "_sync").glob("*.py")) == sources
    assert {"__init__.py", "base.py", "client.py"} < set(sources)
    for name in sources:
        header = f"# generated from _async/{name} by scripts/unasync.py; do not edit\n"
        assert (client / "_sync" / name).read_text().startswith(header), name
    check = [sys.executable, str(root / "scripts" / "unasync.py"), "--check"]
    done = subprocess.run(check, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_both_clients_have_the_same_methods_and_parameters() -> None:
    def methods(cls: type) -> dict[str, list[tuple[str, object, object, object]]]:
        return {
            name: [
                (p.name, p.kind, p.default, p.annotation)
                for p in inspect.signature(value).parameters.values()
            ]
            for name, value in inspect.getmembers(cls)
            if callable(value) and not name.startswith("_")
        }

    # the methods live in the clients' bases (one per part of the API): all of them count
    assert methods(Client) == methods(AsyncClient)
    assert set(ENDPOINTS) | {"close", "subscribe", "iter_fills"} <= set(methods(Client))
    for name in ENDPOINTS:
        assert inspect.iscoroutinefunction(getattr(AsyncClient, name)), name


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
        # the resolution process's refusals (their status is the server's)
        (422, "invalid_spec", Rejected),
        (422, "no_spec", Rejected),
        (422, "unknown_source", Rejected),
        (422, "invalid_observation", Rejected),
        (409, "market_not_closed", Conflict),
        (409, "wrong_resolution_phase", Conflict),
        (403, "conflict_of_interest", Forbidden),
        (422, "bond_too_small", Rejected),
        (409, "challenge_window_closed", Conflict),
        (409, "resolution_too_early", Conflict),
        (409, "already_voted", Conflict),
        (422, "invalid_text", Rejected),
        (404, "unknown_alert", NotFound),
        (409, "alert_already_reviewed", Conflict),
        (422, "invalid_alert", Rejected),
        (409, "market_not_resolved", Conflict),
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


RESOLUTION_CODES = {
    "invalid_spec": 422, "no_spec": 422, "unknown_source": 422, "invalid_observation": 422,
    "market_not_closed": 409, "wrong_resolution_phase": 409, "conflict_of_interest": 403,
    "bond_too_small": 422, "challenge_window_closed": 409, "already_voted": 409,
    "invalid_text": 422, "unknown_alert": 404, "alert_already_reviewed": 409,
    "invalid_alert": 422, "resolution_too_early": 409,
}  # fmt: skip


def test_the_resolution_codes_have_the_statuses_assumed_above() -> None:
    """The server's status of each code (so the cases above stay true to it)."""
    from augury.api.errors import status_for_code
    from augury.api.routes.scoring import MARKET_NOT_RESOLVED
    from augury.domain.rejections import Code

    assert {code: status_for_code(code) for code in RESOLUTION_CODES} == RESOLUTION_CODES
    assert set(RESOLUTION_CODES) <= {c.value for c in Code}
    assert MARKET_NOT_RESOLVED == "market_not_resolved"  # answered as 409


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


def test_the_resolution_commands_send_the_documented_bodies() -> None:
    sent: list[tuple[str, str, object, str | None]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content) if request.content else None
        sent.append(
            (request.method, request.url.path, body, request.headers.get("Idempotency-Key"))
        )
        if request.url.path.startswith("/api/v1/evidence/"):
            return httpx.Response(200, content=b"\x00raw", headers={"Content-Type": "x/y"})
        return httpx.Response(200, json={"account": "a", "organizations": ["Org"]})

    with Client("http://test", transport=httpx.MockTransport(handler)) as client:
        with pytest.raises(InvalidResponse):  # not a Resolution: the answer is checked
            client.resolve_market("m", "why", weights=["0.5", Decimal("0.5")], idempotency_key="k")
        with pytest.raises(TypeError):
            client.propose("m", 0, 1.5)  # type: ignore[arg-type]
        assert client.evidence("ab" * 32) == b"\x00raw"
        assert client.declare_affiliation("Org").organizations == ["Org"]
    assert sent[0] == (
        "POST", "/api/v1/markets/m/resolve", {"weights": ["0.5", "0.5"], "reason": "why"}, "k"
    )  # fmt: skip
    assert sent[1][:3] == ("GET", "/api/v1/evidence/" + "ab" * 32, None)
    assert sent[2][2] == {"organization": "Org", "affiliated": True} and sent[2][3]


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
        "implied_value": None,  # a scalar market's only
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
