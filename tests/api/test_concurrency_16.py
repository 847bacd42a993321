"""Sixteen clients trading at random at once over HTTP: no credit is created or lost.

A server of its own per backend (SQLite and PostgreSQL; rate limits off), so every
account on it is known: the admin and the sixteen traders, each opened with the
starting grant. The traders place limit and market orders (buy and sell, YES and NO,
GTC/IOC/FOK, post-only, by quantity or budget), cancel, cancel all, mint and redeem
sets, on a market with an LMSR maker and fees and on a book-only one, for a bounded
time and number of actions each. Afterwards a separate reader replays the journal and:

- what was issued is exactly the 17 starting grants;
- every credit is somewhere: the sum of all cash balances, escrow, market collateral,
  the makers' pools (the creator's subsidy plus what the maker took in), fees and
  rounding equals what was issued, and no other ledger account exists;
- each trader's balances as the API reports them equal its ledger accounts;
- every core invariant holds (``augury.domain.invariants.violations``).
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import psycopg
import pytest

from augury.domain import ledger
from augury.domain.invariants import violations
from augury.domain.units import parse_micros
from augury.engine import replay
from augury.journal import PostgresJournalStore, SqliteJournalStore
from tests.api.conftest import START, Server, _pg_dsn, start_server
from tests.api.helpers import create_market

CLIENTS = 16
ACTIONS_MAX = 120
"""Actions per client at most; each client also stops after DURATION_S."""
DURATION_S = 8.0
STARTING_GRANT = "1000"
NO_RATE_LIMITS = {
    "AUGURY_RATE_LIMIT_IP_PER_S": "0",
    "AUGURY_RATE_LIMIT_KEY_PER_S": "0",
    "AUGURY_RATE_LIMIT_PASSWORD_PER_S": "0",
    "AUGURY_STARTING_GRANT": STARTING_GRANT,
}
# What a random action may be refused with (never a 5xx): an order the book or the
# account cannot take (422: funds, shares, FOK, post-only, no liquidity), a cancel of
# an order that has meanwhile filled (404).
REFUSALS = {404, 422}


@dataclass
class Trader:
    username: str
    client: httpx.Client
    placed: set[int] = field(default_factory=set)
    statuses: dict[int, int] = field(default_factory=dict)
    actions: int = 0


def _server(tmp: pytest.TempPathFactory, backend: str) -> Iterator[Server]:
    data_dir = tmp.mktemp(f"api-c16-{backend}") / "data"
    args = ["--clock", "simulated", "--start", START]
    if backend == "sqlite":
        running = start_server(data_dir, *args, env=NO_RATE_LIMITS)
        try:
            yield running
        finally:
            running.stop()
        return
    dsn = _pg_dsn()
    suffix = uuid.uuid4().hex[:12]
    journal_ns, projections_ns = f"t_c16_j_{suffix}", f"t_c16_p_{suffix}"
    env = {
        **NO_RATE_LIMITS,
        "AUGURY_JOURNAL_NAMESPACE": journal_ns,
        "AUGURY_PROJECTIONS_NAMESPACE": projections_ns,
    }
    running = start_server(data_dir, "--database-url", dsn, *args, env=env)
    running.pg = (dsn, journal_ns, projections_ns)
    try:
        yield running
    finally:
        running.stop()
        with psycopg.connect(dsn, autocommit=True) as conn:
            for namespace in (journal_ns, projections_ns):
                conn.execute(f"DROP SCHEMA IF EXISTS {namespace} CASCADE")


@pytest.fixture(params=["sqlite", "postgres"])
def own_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Any:
    yield from _server(tmp_path_factory, request.param)


def _order(rng: random.Random, market: str) -> dict[str, Any]:
    body: dict[str, Any] = {
        "market": market,
        "side": rng.choice(["buy", "sell"]),
        "token": rng.choice(["yes", "no"]),
        "client_order_id": uuid.uuid4().hex,
    }
    if rng.random() < 0.7:
        body["price"] = f"0.{rng.randint(5, 95):02d}"
        body["qty"] = str(rng.randint(1, 8))
        body["tif"] = rng.choice(["gtc", "gtc", "gtc", "ioc", "fok"])
        body["post_only"] = body["tif"] == "gtc" and rng.random() < 0.2
    else:
        body["type"] = "market"
        if body["side"] == "buy" and rng.random() < 0.5:
            body["budget"] = f"{rng.randint(1, 5)}.5"
        else:
            body["qty"] = str(rng.randint(1, 4))
        if rng.random() < 0.2:
            body["tif"] = "fok"
    return body


def _act(trader: Trader, rng: random.Random, markets: list[str]) -> httpx.Response:
    client = trader.client
    market = rng.choice(markets)
    roll = rng.random()
    if roll < 0.65:
        response = client.post("/orders", json=_order(rng, market))
        if response.status_code == 201:
            trader.placed.add(response.json()["id"])
        return response
    if roll < 0.8 and trader.placed:
        return client.delete(f"/orders/{rng.choice(sorted(trader.placed))}")
    if roll < 0.88:
        return client.post(f"/markets/{market}/mint", json={"qty": str(rng.randint(1, 5))})
    if roll < 0.93:
        return client.post(f"/markets/{market}/redeem", json={"qty": str(rng.randint(1, 3))})
    if roll < 0.96:
        return client.post("/orders/cancel-all", json={"market": market})
    return client.get("/portfolio/balances")


def _trade(trader: Trader, seed: int, markets: list[str], errors: list[BaseException]) -> None:
    rng = random.Random(seed)
    deadline = time.monotonic() + DURATION_S
    try:
        for _ in range(ACTIONS_MAX):
            if time.monotonic() > deadline:
                break
            code = _act(trader, rng, markets).status_code
            trader.statuses[code] = trader.statuses.get(code, 0) + 1
            trader.actions += 1
    except BaseException as exc:  # reported by the test, not lost in the thread
        errors.append(exc)


def test_sixteen_clients_conserve_every_credit(own_server: Server) -> None:
    server = own_server
    admin = server.admin()
    markets = [
        create_market(admin, liquidity="200", fee_bps=20)["id"],
        create_market(admin, fee_bps=10)["id"],
    ]
    traders = [Trader(*server.user("c16")) for _ in range(CLIENTS)]
    errors: list[BaseException] = []
    threads = [
        threading.Thread(target=_trade, args=(trader, seed, markets, errors))
        for seed, trader in enumerate(traders)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(DURATION_S + 60)
    assert not any(thread.is_alive() for thread in threads)
    assert not errors, errors

    for trader in traders:
        assert set(trader.statuses) <= {200, 201} | REFUSALS, trader.statuses
        assert trader.statuses.get(201, 0) > 0, trader.statuses  # each got orders in
    assert sum(t.statuses.get(201, 0) for t in traders) >= CLIENTS * 10

    # every resting order can be cancelled; no escrow is left behind
    for trader in traders:
        assert trader.client.post("/orders/cancel-all").status_code == 200
        assert trader.client.get("/portfolio/balances").json()["escrow"] == "0"
    live = {t.username: t.client.get("/portfolio/balances").json() for t in traders}

    # a separate reader replays the journal
    store = (
        SqliteJournalStore(server.data_dir / "journal.db")
        if server.pg is None
        else PostgresJournalStore(server.pg[0], server.pg[1])
    )
    with store:
        exchange = replay(store).exchange
    book = exchange.ledger
    grant = parse_micros(STARTING_GRANT)

    # issued: exactly one starting grant per account (the admin and the 16 traders)
    assert exchange.accounts == {"admin"} | {t.username for t in traders}
    assert book.issued() == (CLIENTS + 1) * grant

    # every credit is in a balance, an escrow, a market's collateral, a maker's pool
    # (its subsidy and what it took in), fees or rounding; nowhere else
    kinds = {"cash": 0, "escrow": 0, "collateral": 0, "maker": 0, ledger.FEES: 0}
    kinds[ledger.ROUNDING] = 0
    for key, balance in book.balances.items():
        if key == ledger.ISSUANCE:
            continue
        kind = key.split(":", 1)[0]
        assert kind in kinds, f"credits in an unexpected ledger account {key}"
        kinds[kind] += balance
    assert sum(kinds.values()) == book.issued(), kinds
    assert kinds["escrow"] == 0  # everything was cancelled
    # the admin only created the markets: its grant less the maker's subsidy
    subsidy = parse_micros(admin.get(f"/markets/{markets[0]}").json()["subsidy"])
    assert subsidy > 0
    assert book.balance(ledger.cash("admin")) == grant - subsidy

    # the API's balances are the ledger's
    for username, balances in live.items():
        assert parse_micros(balances["available"]) == book.balance(ledger.cash(username))
        assert parse_micros(balances["escrow"]) == book.balance(ledger.escrow(username))

    # and every invariant of the core holds on the replayed state
    assert violations(exchange) == []
