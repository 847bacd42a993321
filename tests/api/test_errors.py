"""Errors: problem+json with stable codes, limits, and bad input that changes nothing."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
from fastapi import Request

from augury.api import create_app
from augury.api.errors import ApiError, refused
from augury.api.kalshi.errors import from_api_error, response
from augury.roles.errors import Overloaded, Refused, ServiceError, Unavailable
from augury.roles.services import Services
from augury.settings import Settings
from tests.api.conftest import Server, assert_problem
from tests.api.helpers import balance, create_market


def test_unknown_route_and_method(server: Server) -> None:
    client = server.client()
    assert_problem(client.get("/no/such/route"), 404, "not_found")
    assert_problem(client.put("/health"), 405, "method_not_allowed")


def test_bad_input_changes_nothing(server: Server) -> None:
    mid = create_market(server.admin())["id"]
    username, lee = server.user("lee")
    before = balance(lee)
    bad_bodies = [
        {"market": mid, "side": "buy", "price": 0.5, "qty": "1"},  # a JSON number
        {"market": mid, "side": "buy", "price": "0.5", "qty": "1e3"},
        {"market": mid, "side": "buy", "price": "0.5", "qty": "-1"},
        {"market": mid, "side": "buy", "price": "0.5", "qty": "1.0000001"},
        {"market": mid, "side": "buy", "price": "0.5", "qty": "1", "colour": "red"},
        {"market": mid, "side": "hold", "price": "0.5", "qty": "1"},
        {"market": mid, "side": "buy", "qty": "1"},  # a limit order without a price
        {"market": mid, "side": "buy", "type": "market", "price": "0.5", "qty": "1"},
        {"market": mid, "side": "buy", "price": "0.5", "qty": "1", "client_order_id": "x" * 65},
        {"market": "x" * 65, "side": "buy", "price": "0.5", "qty": "1"},
        {"market": mid, "side": "buy", "price": "0.5", "qty": "1", "expires_at": "tomorrow"},
    ]
    for body in bad_bodies:
        body_problem = assert_problem(lee.post("/orders", json=body), 422, "validation_error")
        assert body_problem["errors"], body_problem
    json_type = {"content-type": "application/json"}
    malformed = lee.post("/orders", content=b"{not json", headers=json_type)
    assert_problem(malformed, 422, "validation_error")

    # refusals by the core keep their own codes
    refusals = [
        ({"market": mid, "side": "buy", "price": "0.5", "qty": "5000"}, 422, "insufficient_funds"),
        ({"market": mid, "side": "buy", "price": "1", "qty": "1"}, 422, "price_out_of_range"),
        ({"market": mid, "side": "buy", "price": "0.5005", "qty": "1"}, 422, "price_not_on_tick"),
        ({"market": mid, "side": "buy", "price": "0.5", "qty": "0.0001"}, 422, "qty_not_on_lot"),
        ({"market": mid, "side": "sell", "price": "0.5", "qty": "1"}, 422, "insufficient_shares"),
        ({"market": mid, "side": "buy", "price": "0.5", "qty": "1", "outcome": 2}, 422,
         "invalid_outcome"),
        ({"market": mid, "side": "buy", "price": "0.5", "qty": "1", "tif": "gtd"}, 422,
         "invalid_expiry"),
        ({"market": "nope", "side": "buy", "price": "0.5", "qty": "1"}, 404, "unknown_market"),
    ]  # fmt: skip
    for body, status, code in refusals:
        assert_problem(lee.post("/orders", json=body), status, code)

    assert balance(lee) == before
    assert lee.get("/orders").json()["items"] == []
    assert lee.get("/portfolio/positions").json()["items"] == []
    assert username


def test_limits(server: Server) -> None:
    _, mo = server.user("mo")
    huge = {"question": "x" * 70_000, "close_time": "2026-01-01T00:00:00Z"}
    assert_problem(mo.post("/markets", json=huge), 413, "body_too_large")
    # a chunked body with no Content-Length is cut off as well
    chunks = iter([b'{"question": "', b"y" * 70_000, b'"}'])
    json_type = {"content-type": "application/json"}
    streamed = mo.post("/auth/api-keys", content=chunks, headers=json_type)
    assert_problem(streamed, 413, "body_too_large")
    assert_problem(mo.get("/orders", params={"limit": 201}), 422, "validation_error")
    assert_problem(mo.get("/orders", params={"limit": 0}), 422, "validation_error")
    assert_problem(mo.get("/orders", params={"cursor": "garbage!"}), 422, "invalid_cursor")
    assert_problem(mo.get("/markets", params={"cursor": "WzFd"}), 422, "invalid_cursor")
    assert_problem(mo.get("/markets", params={"q": "z" * 201}), 422, "validation_error")
    assert_problem(mo.get("/orders/0"), 422, "validation_error")
    assert_problem(
        mo.post("/orders", json={"market": "m", "side": "buy", "price": "0.5", "qty": "1"},
                headers={"Idempotency-Key": "k" * 101}),
        422, "validation_error",
    )  # fmt: skip


def test_idempotency_key(server: Server) -> None:
    mid = create_market(server.admin())["id"]
    _, ned = server.user("ned")
    body = {"market": mid, "side": "buy", "price": "0.3", "qty": "2"}
    headers = {"Idempotency-Key": "order-7f3a"}
    first = ned.post("/orders", json=body, headers=headers)
    again = ned.post("/orders", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert len(ned.get("/orders").json()["items"]) == 1
    other = ned.post("/orders", json={**body, "qty": "3"}, headers=headers)
    assert_problem(other, 422, "idempotency_key_reused")
    # keys are per account: another user may use the same key
    _, ola = server.user("ola")
    assert ola.post("/orders", json=body, headers=headers).json()["id"] != first.json()["id"]


def test_unexpected_errors_are_problems_without_internals(tmp_path: Path) -> None:
    app = create_app(Settings(data_dir=tmp_path), start=Services.start)

    @app.get("/api/v1/boom")
    async def boom() -> None:
        raise RuntimeError("secret internals /etc/passwd")

    async def call() -> httpx.Response:
        # ASGITransport runs no lifespan, so no engine is opened
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.get("/api/v1/boom")

    response = asyncio.run(call())
    body = assert_problem(response, 500, "internal_error")
    assert "secret" not in response.text and "RuntimeError" not in response.text
    assert body["detail"] == "internal error"


def test_idempotent_market_creation(server: Server) -> None:
    admin = server.admin()
    body = {"question": "Retry-safe?", "close_time": "2026-01-01T00:00:00Z"}
    headers = {"Idempotency-Key": "create-1"}
    first = admin.post("/markets", json=body, headers=headers)
    again = admin.post("/markets", json=body, headers=headers)
    assert first.status_code == again.status_code == 201, again.text
    assert first.json() == again.json()
    changed = admin.post("/markets", json={**body, "question": "Other?"}, headers=headers)
    assert_problem(changed, 422, "idempotency_key_reused")
    assert admin.get(f"/markets/{first.json()['id']}").json()["question"] == "Retry-safe?"
    clash = admin.post("/markets", json={**body, "id": first.json()["id"]})
    assert_problem(clash, 409, "market_exists")


def test_a_retry_while_the_first_runs_is_409() -> None:
    from types import SimpleNamespace

    import pytest

    from augury.api.errors import ApiError
    from augury.api.routes.common import idempotency_key

    services = SimpleNamespace(in_flight=set())
    ann, bob = SimpleNamespace(account="ann"), SimpleNamespace(account="bob")

    async def run() -> None:
        first = idempotency_key(ann, services, "k1")  # type: ignore[arg-type]
        assert await anext(first) == "h:k1"
        with pytest.raises(ApiError) as caught:
            await anext(idempotency_key(ann, services, "k1"))  # type: ignore[arg-type]
        assert (caught.value.status, caught.value.code) == (409, "idempotency_key_in_flight")
        other = idempotency_key(bob, services, "k1")  # type: ignore[arg-type]
        assert await anext(other) == "h:k1"  # keys are per account
        await first.aclose()
        assert services.in_flight == {("bob", "k1")}
        again = idempotency_key(ann, services, "k1")  # type: ignore[arg-type]
        assert await anext(again) == "h:k1"
        await again.aclose()
        await other.aclose()
        assert await anext(idempotency_key(ann, services, None)) == ""  # type: ignore[arg-type]

    asyncio.run(run())


BUSY, STOPPED = "the exchange is busy; retry shortly", "the exchange is not running"
BEHIND = "the read models are behind; retry shortly"
JOBS = "8 observation jobs are already waiting or running; retry in 5 seconds."
AFTER_1, AFTER_5 = {"Retry-After": "1"}, {"Retry-After": "5"}
SERVICE_ERRORS: list[tuple[ServiceError, ApiError]] = [
    (Overloaded(BUSY, retry_after_s=1), ApiError(503, "overloaded", BUSY, headers=AFTER_1)),
    (Unavailable(STOPPED, retry_after_s=1), ApiError(503, "unavailable", STOPPED, headers=AFTER_1)),
    (Unavailable(STOPPED), ApiError(503, "unavailable", STOPPED)),
    (Unavailable(BEHIND), ApiError(503, "unavailable", BEHIND)),
    (Overloaded(JOBS, retry_after_s=5), ApiError(503, "overloaded", JOBS, headers=AFTER_5)),
    (Refused("unknown_market", "no market 'm'"), refused("unknown_market", "no market 'm'")),
    (Refused("market_halted", "halted"), refused("market_halted", "halted")),
    (Refused("insufficient_funds", "short"), refused("insufficient_funds", "short")),
    (Refused("idempotency_key_reused", "other"), refused("idempotency_key_reused", "other")),
]
"""Each error the services raise now, and the ApiError they raised before in its place."""


def test_service_errors_answer_as_the_api_errors_they_replaced(tmp_path: Path) -> None:
    """The services raise augury.roles.errors, not HTTP errors; the HTTP layer answers
    each byte for byte as the ApiError the services raised before (problem+json and
    Kalshi's shape alike)."""
    app = create_app(Settings(data_dir=tmp_path), start=Services.start)

    @app.get("/api/v1/raise/{index}")
    async def raise_one(index: int, request: Request) -> None:
        new, old = SERVICE_ERRORS[index]
        raise new if request.query_params.get("as") == "service" else old

    async def call(index: int, kind: str) -> httpx.Response:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.get(f"/api/v1/raise/{index}", params={"as": kind})

    for index, (new, old) in enumerate(SERVICE_ERRORS):
        answered, before = asyncio.run(call(index, "service")), asyncio.run(call(index, "api"))
        assert answered.status_code == before.status_code == old.status
        assert answered.headers.multi_items() == before.headers.multi_items()
        assert answered.content == before.content
        body = assert_problem(answered, old.status, old.code)
        assert body["detail"] == old.detail
        assert answered.headers.get("retry-after") == (old.headers or {}).get("Retry-After")
        kalshi, kalshi_before = response(from_api_error(new)), response(from_api_error(old))
        assert kalshi.status_code == kalshi_before.status_code
        assert kalshi.body == kalshi_before.body
        assert kalshi.headers.items() == kalshi_before.headers.items()
