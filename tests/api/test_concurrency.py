"""Many clients trading at once over HTTP: nothing breaks, nothing is lost or created.

Afterwards the journal is replayed by a separate reader and every invariant of the
core holds (credits held equal credits issued, collateral covers every share, ...),
the read models agree with the live balances, and every client's order list is
exactly the orders it placed.
"""

from __future__ import annotations

import random
import sqlite3
import threading
from typing import Any

import psycopg

from augury.domain.invariants import violations
from augury.domain.units import parse_micros
from augury.engine import replay
from augury.journal import PostgresJournalStore, SqliteJournalStore
from tests.api.conftest import Server
from tests.api.helpers import create_market

CLIENTS = 8
ACTIONS = 25


def _trade(server: Server, market: str, seed: int, out: dict[str, Any]) -> None:
    rng = random.Random(seed)
    username, client = server.user("cc")
    client.post(f"/markets/{market}/mint", json={"qty": "20"})
    placed: set[int] = set()
    statuses: list[int] = []
    for _ in range(ACTIONS):
        roll = rng.random()
        if roll < 0.6:
            body: dict[str, Any] = {
                "market": market,
                "side": rng.choice(["buy", "sell"]),
                "token": rng.choice(["yes", "no"]),
                "price": f"0.{rng.randint(30, 70)}",
                "qty": str(rng.randint(1, 5)),
                "tif": rng.choice(["gtc", "gtc", "ioc"]),
            }
            response = client.post("/orders", json=body)
        elif roll < 0.75:
            body = {"market": market, "side": "buy", "type": "market", "budget": "1.5"}
            response = client.post("/orders", json=body)
        elif roll < 0.9 and placed:
            response = client.delete(f"/orders/{rng.choice(sorted(placed))}")
        else:
            response = client.get("/portfolio/balances")
        statuses.append(response.status_code)
        if response.status_code == 201:
            placed.add(response.json()["id"])
    out[username] = (client, placed, statuses)


def test_concurrent_trading_conserves_everything(any_server: Server) -> None:
    server = any_server
    market = create_market(server.admin(), liquidity="20")["id"]
    results: dict[str, Any] = {}
    threads = [
        threading.Thread(target=_trade, args=(server, market, seed, results))
        for seed in range(CLIENTS)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(results) == CLIENTS
    for _, (_, placed, statuses) in results.items():
        assert all(code < 500 for code in statuses), statuses
        assert placed  # every client got some orders in

    # each client sees exactly its own orders
    for _, (client, placed, _) in results.items():
        seen = {o["id"] for o in client.get("/orders", params={"limit": 200}).json()["items"]}
        assert seen == placed
        client.post("/orders/cancel-all")
        assert client.get("/portfolio/balances").json()["escrow"] == "0"

    # the read models agree with the live ledger
    server.client().get("/markets")  # a barrier: everything so far is projected
    projected = _projected_balances(server)
    for username, (client, _, _) in results.items():
        live = client.get("/portfolio/balances").json()
        assert projected[username] == parse_micros(live["available"])

    # a separate reader replays the journal: every invariant holds
    store = (
        SqliteJournalStore(server.data_dir / "journal.db")
        if server.pg is None
        else PostgresJournalStore(server.pg[0], server.pg[1])
    )
    with store:
        exchange = replay(store).exchange
    assert violations(exchange) == []


def _projected_balances(server: Server) -> dict[str, int]:
    query = "SELECT account, available FROM balances"
    if server.pg is None:
        with sqlite3.connect(server.data_dir / "projections.db") as db:
            return dict(db.execute(query).fetchall())
    dsn, _, schema = server.pg
    with psycopg.connect(dsn) as conn:
        conn.execute(f"SET search_path TO {schema}")
        return dict(conn.execute(query).fetchall())
