"""Issue 14's multi-process test: one ``augury engine``, two ``augury api`` nodes and the
projector on PostgreSQL and NATS, as separate processes. Orders through node A are read
through node B with ``Augury-Min-Seq``; node A killed under load; the NATS server
restarted under load. Afterwards every acknowledged order is in the journal exactly once
and the ledger conserves."""

from __future__ import annotations

import collections
import json
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from augury.engine.entry import decode_entry
from tests.api.conftest import _pg_dsn
from tests.roles.cluster import Cluster, Role
from tests.transport.helpers import NatsServerProcess


@pytest.fixture
def nats(tmp_path: Path) -> Iterator[NatsServerProcess]:
    server = NatsServerProcess(tmp_path / "nats")
    server.start()
    yield server
    server.kill()


@pytest.fixture
def cluster(tmp_path: Path, nats: NatsServerProcess) -> Iterator[Cluster]:
    made = Cluster(tmp_path, _pg_dsn(), nats.url)
    try:
        made.engine()
        made.projector()
        yield made
    finally:
        made.stop()


def _client(node: Role, key: str) -> httpx.Client:
    return httpx.Client(base_url=node.url, headers={"X-API-Key": key}, timeout=30)


def _market(client: httpx.Client) -> str:
    market = f"m-{uuid.uuid4().hex[:8]}"
    body = {"id": market, "question": "Split?", "close_time": "2099-01-01T00:00:00Z"}
    response = client.post("/markets", json=body)
    assert response.status_code == 201, response.text
    return market


def _order(market: str, i: int) -> dict[str, str]:
    return {"market": market, "side": "buy", "qty": "1", "price": f"0.{1 + i % 40:02d}"}


def _placed_keys(cluster: Cluster) -> collections.Counter[str]:
    """How many times each Idempotency-Key's order is in the journal (the API journals
    a client's key as ``h:<key>``)."""
    counts: collections.Counter[str] = collections.Counter()
    for _seq, body in cluster.journal():
        entry = decode_entry(body)
        if type(entry.command).__name__ == "PlaceOrder":
            counts[entry.key.removeprefix("h:")] += 1
    return counts


def _conserved(node: Role, key: str) -> dict[str, object]:
    with _client(node, key) as client:
        ledger = client.get("/ledger").json()
    assert ledger["conserved"] is True, ledger
    return dict(ledger)


def test_writes_through_one_node_are_read_through_another_with_min_seq(cluster: Cluster) -> None:
    a, b = cluster.api("node-a"), cluster.api("node-b")
    key = cluster.admin_key(a)
    with _client(a, key) as via_a, _client(b, key) as via_b:
        market = _market(via_a)
        for i in range(15):
            placed = via_a.post("/orders", json=_order(market, i))
            assert placed.status_code == 201, placed.text
            seq = placed.headers["Augury-Seq"]
            fence = {"Augury-Min-Seq": seq}
            live = via_b.get("/orders", params={"market": market, "status": "open"}, headers=fence)
            assert live.status_code == 200, live.text
            assert placed.json()["id"] in [o["id"] for o in live.json()["items"]]
            book = via_b.get(f"/markets/{market}/book", headers=fence).json()
            assert sum(int(level["orders"]) for level in book["bids"]) == i + 1
        # a seq no node has reached: a clear 503 after the bounded wait, nothing changed
        ahead = via_b.get("/portfolio/balances", headers={"Augury-Min-Seq": "999999999"})
        assert ahead.status_code == 503 and ahead.json()["code"] == "replica_behind"
        assert ahead.headers["Retry-After"] == "1"
    health = httpx.get(b.url + "/health").json()
    assert health["role"] == "api" and health["node"]["node"] == "node-b"
    _conserved(b, key)


def test_websocket_streams_on_one_node_follow_writes_through_another(cluster: Cluster) -> None:
    from websockets.sync.client import connect

    a, b = cluster.api("node-a"), cluster.api("node-b")
    key = cluster.admin_key(a)
    with _client(a, key) as via_a:
        market = _market(via_a)
        url = f"ws://127.0.0.1:{b.port}/api/v1/ws"
        with connect(url, additional_headers={"X-API-Key": key}, open_timeout=30) as ws:
            ws.send(json.dumps({"op": "subscribe", "channel": f"book:{market}"}))
            assert json.loads(ws.recv(timeout=10))["type"] == "subscribed"
            ws.send(json.dumps({"op": "subscribe", "channel": "orders"}))
            assert json.loads(ws.recv(timeout=10))["type"] == "subscribed"
            placed = via_a.post("/orders", json=_order(market, 4)).json()
            got = [json.loads(ws.recv(timeout=10)) for _ in range(3)]
    delta = next(m for m in got if m["type"] == "book_delta")
    assert delta["bids"] == [{"price": "0.05", "qty": "1", "orders": 1}]
    accepted = next(m for m in got if m.get("event") == "accepted")
    assert accepted["order_id"] == placed["id"]


class RoundRobin(httpx.BaseTransport):
    """A load balancer in the client: request i goes to node i mod N; it remembers the
    ``Augury-Min-Seq`` each request carried."""

    def __init__(self, nodes: list[Role]) -> None:
        self.ports = [node.port for node in nodes]
        self.inner = httpx.HTTPTransport()
        self.sent: list[tuple[int, str, str | None]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        port = self.ports[len(self.sent) % len(self.ports)]
        self.sent.append((port, request.method, request.headers.get("Augury-Min-Seq")))
        request.url = request.url.copy_with(port=port)
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


def test_the_sdk_reads_its_own_writes_through_any_node(cluster: Cluster) -> None:
    from augury.client import Client

    a, b = cluster.api("node-a"), cluster.api("node-b")
    key = cluster.admin_key(a)
    balancer = RoundRobin([a, b])
    with Client(f"http://127.0.0.1:{a.port}", api_key=key, transport=balancer) as client:
        with _client(a, key) as plain:
            market = _market(plain)
        for i in range(6):
            order = client.place_order(market, "buy", qty="1", price=f"0.{10 + i}")
            seen = [o.id for o in client.list_orders(market=market, status="open").items]
            assert order.id in seen
            assert client.last_seq > 0
        ports = {port for port, _method, _seq in balancer.sent}
        assert ports == {a.port, b.port}  # both nodes served
        reads = [seq for _port, method, seq in balancer.sent if method == "GET"]
        assert reads and all(seq is not None and int(seq) > 0 for seq in reads)


OPEN_MAX = 20
"""Orders a client keeps open; beyond, it cancels each new one (1,000 is the account's
limit, and every client trades as the admin)."""


class Load:
    """Clients placing keyed orders through one node, logging what was acknowledged;
    past ``OPEN_MAX`` each acknowledged order is cancelled again (a keyed cancel)."""

    def __init__(self, node: Role, api_key: str, market: str, name: str, retry: bool) -> None:
        self.node, self.api_key, self.market, self.name = node, api_key, market, name
        self.retry = retry
        self.acked: dict[str, int] = {}
        self.sent: list[str] = []
        self.failed = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with _client(self.node, self.api_key) as client:
            i = 0
            while not self.stop.is_set():
                key = f"{self.name}-{i}"
                self.sent.append(key)
                if not self._place(client, key, i) and not self.retry:
                    return  # the node is gone: this client stops
                i += 1

    def _cancel(self, client: httpx.Client, order_id: int, key: str) -> None:
        deadline = time.monotonic() + 30
        while not _cancel_once(client, order_id, key) and self.retry:
            if time.monotonic() > deadline:
                return
            time.sleep(0.2)

    def _place(self, client: httpx.Client, key: str, i: int) -> bool:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                answer = client.post(
                    "/orders", json=_order(self.market, i), headers={"Idempotency-Key": key}
                )
            except httpx.TransportError:
                self.failed += 1
                if not self.retry:
                    return False
                time.sleep(0.2)
                continue
            if answer.status_code == 201:
                order_id = self.acked[key] = int(answer.json()["id"])
                if len(self.acked) > OPEN_MAX:  # stay under the account's open-order limit
                    self._cancel(client, order_id, key)
                return True
            assert answer.status_code == 503, answer.text  # only "retry later" is allowed
            self.failed += 1
            time.sleep(0.2)
        return False


def _cancel_once(client: httpx.Client, order_id: int, key: str) -> bool:
    try:
        answer = client.delete(f"/orders/{order_id}", headers={"Idempotency-Key": key + "-c"})
    except httpx.TransportError:
        return False
    return answer.status_code in (200, 404)  # cancelled, or already closed


def _run_load(loads: list[Load], seconds: float, during: object) -> None:
    for load in loads:
        load.thread.start()
    time.sleep(seconds / 3)
    during()  # type: ignore[operator]
    time.sleep(seconds * 2 / 3)
    for load in loads:
        load.stop.set()
    for load in loads:
        load.thread.join(60)


def _check_exactly_once(cluster: Cluster, loads: list[Load]) -> int:
    counts = _placed_keys(cluster)
    acked = {key: oid for load in loads for key, oid in load.acked.items()}
    assert acked, "no order was acknowledged"
    missing = [key for key in acked if counts[key] != 1]
    assert not missing, f"acknowledged orders not in the journal exactly once: {missing[:5]}"
    twice = [key for key, n in counts.items() if n > 1]
    assert not twice, f"orders executed twice: {twice[:5]}"
    assert len(set(acked.values())) == len(acked)  # one order id per acknowledged key
    return len(acked)


def test_killing_a_node_under_load_loses_nothing_acknowledged(cluster: Cluster) -> None:
    a, b = cluster.api("node-a"), cluster.api("node-b")
    key = cluster.admin_key(a)
    with _client(a, key) as client:
        market = _market(client)
    loads = [Load(a, key, market, f"a{i}", retry=False) for i in range(3)]
    loads += [Load(b, key, market, f"b{i}", retry=True) for i in range(3)]
    _run_load(loads, 4.5, lambda: a.kill())
    assert a.process.poll() is not None
    after_kill = sum(len(load.acked) for load in loads[3:])
    assert after_kill > 0 and httpx.get(b.url + "/health").json()["status"] == "ok"
    _check_exactly_once(cluster, loads)
    _conserved(b, key)


def test_restarting_nats_under_load_loses_nothing_acknowledged(
    cluster: Cluster, nats: NatsServerProcess
) -> None:
    a, b = cluster.api("node-a"), cluster.api("node-b")
    key = cluster.admin_key(a)
    with _client(a, key) as client:
        market = _market(client)
    loads = [
        Load(node, key, market, f"{node.name}-{i}", retry=True) for node in (a, b) for i in range(3)
    ]

    def restart() -> None:
        nats.kill()
        time.sleep(1.0)
        nats.start()

    _run_load(loads, 6.0, restart)
    assert all(load.acked for load in loads)
    total = _check_exactly_once(cluster, loads)
    assert total >= 6
    # both replicas reach the journal's head and agree with each other
    head = max(seq for seq, _ in cluster.journal())
    for node in (a, b):
        deadline = time.monotonic() + 20
        while httpx.get(node.url + "/health").json()["journal_head"] < head:
            assert time.monotonic() < deadline, f"{node.name} stayed behind seq {head}"
            time.sleep(0.1)
    ledgers = [_conserved(node, key) for node in (a, b)]
    assert ledgers[0] == ledgers[1]
