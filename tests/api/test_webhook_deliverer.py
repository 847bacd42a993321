"""The webhook deliverer against a real local HTTP receiver, on SQLite and PostgreSQL:
signed bodies, retries with backoff, the log, the SSRF guard's refusals, the timeout and
size limit, and two deliverers (two API nodes) sharing one database."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import insert

from augury.api.errors import ApiError
from augury.api.notifications import NotificationStore
from augury.api.webhook_deliverer import WebhookDeliverer
from augury.api.webhooks import SIGNATURE_HEADER, WebhookStore, check_url, sign, verify
from augury.evidence.fetch import FetchPolicy
from augury.identity import migrate
from augury.projections import Projector
from augury.projections import tables as t
from tests.api.webhook_receiver import receiver
from tests.projections.conftest import fresh_namespace, pg_dsn, pg_namespaces

__all__ = ["pg_dsn", "pg_namespaces"]  # the fixtures, for these tests

SECRET_KEY = "a server secret key for the webhook tests, long enough"
LOOPBACK = FetchPolicy(allow_hosts=frozenset({"127.0.0.1"}), timeout_s=2, max_bytes=1_024,
                       max_redirects=0)  # fmt: skip


@pytest.fixture(params=["sqlite", "postgres"])
def stores(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[WebhookStore]:
    """A webhook store on a fresh read-model database of each backend."""
    if request.param == "sqlite":
        projector = Projector(tmp_path / "projections.db")
    else:
        dsn = request.getfixturevalue("pg_dsn")
        names = request.getfixturevalue("pg_namespaces")
        names.append(fresh_namespace())
        projector = Projector(dsn, namespace=names[-1])
    with projector:
        migrate.upgrade(projector.engine)  # the API's tables, as a server makes them
        notifications = NotificationStore(projector.engine, SECRET_KEY)
        yield WebhookStore(notifications, SECRET_KEY)


def journal_notice(store: WebhookStore, seq: int, account: str, kind: str = "fill") -> None:
    """A notice as the projector writes it (its rule is tested in tests/projections)."""
    with store.engine.begin() as conn:
        conn.execute(
            insert(t.notifications).values(
                seq=seq, idx=0, sub=0, ts_us=seq * 1_000, account=account, kind=kind,
                market="m", text=f"notice {seq}", details="{}",
            )
        )  # fmt: skip


def deliver(deliverer: WebhookDeliverer, rounds: int = 1) -> None:
    for _ in range(rounds):
        asyncio.run(deliverer.run_once())


def until_settled(store: WebhookStore, deliverer: WebhookDeliverer, hook: str, n: int) -> list:  # type: ignore[type-arg]
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        deliver(deliverer)
        items, _ = store.deliveries(hook, before=None, limit=100)
        if len(items) >= n and all(i["status"] != "pending" for i in items):
            return items
        time.sleep(0.05)
    raise AssertionError(f"not settled: {items}")


def test_a_signed_delivery_reaches_the_receiver(stores: WebhookStore) -> None:
    store = stores
    with receiver() as got:
        hook, secret = store.create("ana", got.url, (), None)
        assert secret.startswith("whsec_")
        journal_notice(store, 1, "ana")
        journal_notice(store, 2, "ben")  # not ana's
        store.notifications.login_seen("ana", "10.1.1.1", "first")
        store.notifications.login_seen("ana", "10.9.9.9", "second")  # a new place
        deliverer = WebhookDeliverer(store, LOOPBACK)
        items = until_settled(store, deliverer, hook.id, 2)
        assert [i["status"] for i in items] == ["delivered", "delivered"]
        assert sorted(i["kind"] for i in items) == ["fill", "new_login"]
        received = got.wait_for(2)
    for request in received:
        header = request.headers[SIGNATURE_HEADER]
        assert verify(secret, header, request.body, int(time.time()))
        assert not verify(secret, header, request.body + b" ", int(time.time()))  # tampered
        assert not verify("another secret", header, request.body, int(time.time()))
        assert not verify(secret, header, request.body, int(time.time()) + 3_600)  # replayed late
        body = json.loads(request.body)
        assert body["account"] == "ana" and body["webhook"] == hook.id
    texts = sorted(json.loads(r.body)["notification"]["text"] for r in received)
    assert texts[1] == "notice 1" and "new place" in texts[0]
    assert sign(secret, 1, b"{}") == sign(secret, 1, b"{}") != sign(secret, 2, b"{}")
    # nothing new: nothing sent again
    deliver(WebhookDeliverer(store, LOOPBACK), rounds=2)
    assert len(got.received) == 2


def test_failures_are_retried_with_backoff_then_delivered(stores: WebhookStore) -> None:
    store = stores
    with receiver(statuses=[500, 503, 200]) as got:
        hook, _ = store.create("ana", got.url, ("fill",), "a secret the user chose, long")
        journal_notice(store, 1, "ana", "market_closed")  # not a kind it wants
        journal_notice(store, 2, "ana")
        deliverer = WebhookDeliverer(store, LOOPBACK, retry_base_s=0.2)
        deliver(deliverer)
        (first,) = store.deliveries(hook.id, before=None, limit=10)[0]
        assert (first["status"], first["attempts"], first["last_status"]) == ("pending", 1, 500)
        deliver(deliverer)  # too early: the first retry waits retry_base_s
        assert len(got.received) == 1
        (item,) = until_settled(store, deliverer, hook.id, 1)
    assert (item["status"], item["attempts"]) == ("delivered", 3)
    assert [entry["status"] for entry in item["log"]] == [500, 503, 200]
    assert "http_status" in item["log"][0]["error"] and item["log"][2]["error"] == ""
    assert deliverer.backoff_us(1) == 200_000 and deliverer.backoff_us(3) == 800_000
    assert WebhookDeliverer(store, LOOPBACK, retry_max_s=1).backoff_us(30) == 1_000_000


def test_a_delivery_fails_after_the_last_try(stores: WebhookStore) -> None:
    store = stores
    with receiver(statuses=[500]) as got:
        hook, _ = store.create("ana", got.url, (), None)
        journal_notice(store, 1, "ana")
        deliverer = WebhookDeliverer(store, LOOPBACK, retry_base_s=0.05, attempts_max=3)
        (item,) = until_settled(store, deliverer, hook.id, 1)
        assert (item["status"], item["attempts"], len(got.received)) == ("failed", 3, 3)


def test_the_ssrf_guard_refuses_private_targets(stores: WebhookStore) -> None:
    store = stores
    for url in ("http://10.0.0.7/hook", "http://169.254.169.254/latest", "http://[::1]:8080/x",
                "ftp://example.org/x", "http:///nohost"):  # fmt: skip
        with pytest.raises(ApiError) as refused:
            check_url(url, FetchPolicy())
        assert refused.value.code == "invalid_webhook_url"
    check_url("http://127.0.0.1:9/allowed", LOOPBACK)  # the operator's allow-list
    check_url("https://hooks.example.org/x", FetchPolicy())
    with receiver() as got:
        # a host name is checked when it resolves, at every delivery: localhost is loopback
        hook, _ = store.create("ana", got.url.replace("127.0.0.1", "localhost"), (), None)
        journal_notice(store, 1, "ana")
        guarded = WebhookDeliverer(store, FetchPolicy(timeout_s=2), attempts_max=1)
        (item,) = until_settled(store, guarded, hook.id, 1)
        assert item["status"] == "failed" and item["last_status"] is None
        assert item["last_error"].startswith("forbidden_address")
        assert "127.0.0.1" not in item["last_error"]  # no addresses in what the owner reads
        assert got.received == []


def test_the_timeout_and_the_size_limit(stores: WebhookStore) -> None:
    store = stores
    with receiver(answer_bytes=5_000) as big, receiver(delay_s=3) as slow:
        large, _ = store.create("ana", big.url, (), None)
        stuck, _ = store.create("ana", slow.url, (), None)
        journal_notice(store, 1, "ana")
        policy = FetchPolicy(allow_hosts=frozenset({"127.0.0.1"}), timeout_s=0.5,
                             max_bytes=1_024, max_redirects=0)  # fmt: skip
        deliverer = WebhookDeliverer(store, policy, attempts_max=1)
        (too_large,) = until_settled(store, deliverer, large.id, 1)
        (timed_out,) = until_settled(store, deliverer, stuck.id, 1)
    assert too_large["last_error"].startswith("too_large")
    assert timed_out["last_error"].startswith("timeout")


def test_several_nodes_deliver_each_notice_once(stores: WebhookStore) -> None:
    store = stores
    with receiver() as got:
        hook, _ = store.create("ana", got.url, (), None)
        for seq in range(1, 13):
            journal_notice(store, seq, "ana")

        nodes = [WebhookDeliverer(store, LOOPBACK, batch=3, interval_s=0.01) for _ in range(3)]
        for node in nodes:  # three threads, each with its own event loop, like three nodes
            node.start()
        received = got.wait_for(12)
        time.sleep(0.3)  # time for any duplicate to arrive

        async def stop() -> None:
            await asyncio.gather(*(node.stop() for node in nodes))

        asyncio.run(stop())
    ids = [json.loads(r.body)["notification"]["id"] for r in got.received]
    assert sorted(ids) == sorted(f"j{seq}.0.0" for seq in range(1, 13)) and len(received) == 12
    items, _ = store.deliveries(hook.id, before=None, limit=100)
    assert len(items) == 12 and all(i["attempts"] == 1 for i in items)


def test_deleting_a_webhook_deletes_its_log(stores: WebhookStore) -> None:
    store = stores
    with receiver() as got:
        hook, _ = store.create("ana", got.url, (), None)
        journal_notice(store, 1, "ana")
        until_settled(store, WebhookDeliverer(store, LOOPBACK), hook.id, 1)
    assert not store.delete("ben", hook.id)  # not ben's
    assert store.delete("ana", hook.id)
    assert store.deliveries(hook.id, before=None, limit=10) == ([], None)
    assert store.of("ana") == []
