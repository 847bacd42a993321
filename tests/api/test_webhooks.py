"""Webhooks over the API: create (the secret shown once), list, delete, the delivery log,
bad input as problems; a real delivery to a local receiver the operator allow-listed,
and the SSRF guard refusing the same receiver where it is not allow-listed."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from augury.api.webhooks import SIGNATURE_HEADER, WEBHOOKS_PER_ACCOUNT_MAX, verify
from tests.api.conftest import PASSWORD, Server, assert_problem
from tests.api.helpers import create_market, observer_server, ok, place
from tests.api.webhook_receiver import receiver


@pytest.fixture(scope="module")
def allowing_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server whose operator allow-listed 127.0.0.1 (the receiver), quick to retry."""
    yield from observer_server(
        tmp_path_factory, "webhooks",
        AUGURY_WEBHOOK_INTERVAL_S="0.1", AUGURY_WEBHOOK_RETRY_BASE_S="0.2",
    )  # fmt: skip


def log_of(
    client: httpx.Client, hook: str, count: int, timeout_s: float = 30, settled: bool = True
) -> list[Any]:
    """The webhook's deliveries once ``count`` of them are settled (or, ``settled``
    False, tried at least once)."""
    deadline = time.monotonic() + timeout_s
    while True:
        items: list[Any] = ok(client.get(f"/webhooks/{hook}/deliveries"))["items"]
        done = (i["status"] != "pending" if settled else i["log"] for i in items)
        if len(items) >= count and all(done):
            return items
        assert time.monotonic() < deadline, items
        time.sleep(0.1)


def new_place(server: Server, name: str) -> None:
    """Log ``name`` in from another user agent: a new_login notice."""
    other = server.client(headers={"User-Agent": f"elsewhere {time.monotonic()}"})
    ok(other.post("/auth/login", json={"username": name, "password": PASSWORD}))


def test_create_list_delete_and_bad_input(any_server: Server) -> None:
    server = any_server
    _, bob = server.user("whb")
    _, carol = server.user("whc")
    made = ok(bob.post("/webhooks", json={"url": "https://hooks.example.org/a"}), 201)
    assert made["secret"].startswith("whsec_") and made["kinds"] == []
    chosen = {"url": "https://hooks.example.org/b", "kinds": ["fill", "new_login"],
              "secret": "my own secret, long enough"}  # fmt: skip
    mine = ok(bob.post("/webhooks", json=chosen), 201)
    assert "secret" not in mine or mine["secret"] is None  # the caller knows it
    listed = ok(bob.get("/webhooks"))["items"]
    assert [w["id"] for w in listed] == [made["id"], mine["id"]]
    assert all(w.get("secret") is None for w in listed)  # never shown again
    assert ok(carol.get("/webhooks"))["items"] == []
    assert ok(bob.get(f"/webhooks/{made['id']}/deliveries")) == {"items": [], "next_cursor": None}

    for url in ("http://10.0.0.7/x", "http://169.254.169.254/latest/meta-data", "file:///etc/x"):
        assert_problem(bob.post("/webhooks", json={"url": url}), 422, "invalid_webhook_url")
    unknown = bob.post("/webhooks", json={"url": "https://a.example/x", "kinds": ["fills"]})
    assert_problem(unknown, 422, "validation_error")
    short = bob.post("/webhooks", json={"url": "https://a.example/x", "secret": "short"})
    assert_problem(short, 422, "validation_error")
    assert_problem(carol.delete(f"/webhooks/{made['id']}"), 404, "not_found")
    assert_problem(carol.get(f"/webhooks/{made['id']}/deliveries"), 404, "not_found")
    assert bob.delete(f"/webhooks/{made['id']}").status_code == 204
    assert [w["id"] for w in ok(bob.get("/webhooks"))["items"]] == [mine["id"]]
    for _ in range(WEBHOOKS_PER_ACCOUNT_MAX - 1):
        ok(bob.post("/webhooks", json={"url": "https://hooks.example.org/n"}), 201)
    too_many = bob.post("/webhooks", json={"url": "https://hooks.example.org/n"})
    assert_problem(too_many, 409, "too_many_webhooks")
    assert_problem(server.client().get("/webhooks"), 401, "unauthorized")


def test_a_receiver_not_allow_listed_is_refused(any_server: Server) -> None:
    server = any_server  # its operator allow-listed nothing
    name, bob = server.user("whs")
    with receiver() as got:
        literal = bob.post("/webhooks", json={"url": got.url})  # 127.0.0.1: refused at once
        assert_problem(literal, 422, "invalid_webhook_url")
        named = got.url.replace("127.0.0.1", "localhost")  # a name: checked at each delivery
        hook = ok(bob.post("/webhooks", json={"url": named}), 201)
        new_place(server, name)
        (item,) = log_of(bob, hook["id"], 1, timeout_s=60, settled=False)
        assert item["status"] == "pending" and item["next_attempt_at"]  # to be tried again
        assert item["log"][0]["error"].startswith("forbidden_address")
        assert item["log"][0]["status"] is None and got.received == []
        bob.delete(f"/webhooks/{hook['id']}")


def test_a_fill_is_delivered_signed_and_retried(allowing_server: Server) -> None:
    server = allowing_server
    mid = create_market(server.admin())["id"]
    _, bob = server.user("whd")
    _, carol = server.user("whe")
    with receiver(statuses=[502, 200]) as got:
        hook = ok(bob.post("/webhooks", json={"url": got.url, "kinds": ["fill"]}), 201)
        place(bob, market=mid, side="buy", price="0.5", qty="2")
        place(carol, market=mid, side="buy", token="no", price="0.5", qty="2")
        (item,) = log_of(bob, hook["id"], 1)
        first, second = got.wait_for(2)
    assert (item["status"], item["attempts"], item["kind"]) == ("delivered", 2, "fill")
    assert [entry["status"] for entry in item["log"]] == [502, 200]
    assert first.body == second.body  # the same body, signed anew
    for request in (first, second):
        assert verify(hook["secret"], request.headers[SIGNATURE_HEADER], request.body,
                      int(time.time()))  # fmt: skip
    body = httpx.Response(200, content=second.body).json()
    assert body["notification"]["kind"] == "fill" and body["notification"]["market"] == mid
    assert "filled 2 at 0.5" in body["notification"]["text"]
