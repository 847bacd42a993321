"""The WebSocket API: snapshots, then numbered updates; public and private channels."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from websockets.sync.client import ClientConnection, connect

from tests.api.conftest import Server
from tests.api.helpers import create_market, place


@contextmanager
def socket(server: Server, headers: dict[str, str] | None = None) -> Iterator[ClientConnection]:
    url = server.base_url.replace("http://", "ws://") + "/api/v1/ws"
    with connect(url, additional_headers=headers or {}, open_timeout=10) as ws:
        yield ws


def send(ws: ClientConnection, op: str, channel: str) -> None:
    ws.send(json.dumps({"op": op, "channel": channel}))


def recv(ws: ClientConnection) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(ws.recv(timeout=10))
    return message


def subscribe(ws: ClientConnection, channel: str) -> dict[str, Any]:
    send(ws, "subscribe", channel)
    answer = recv(ws)
    assert answer["type"] == "subscribed", answer
    return answer


def test_public_and_private_channels(any_server: Server) -> None:
    server = any_server
    mid = create_market(server.admin())["id"]
    bob_name, bob = server.user("wsb")
    _, carol = server.user("wsc")
    key = bob.post("/auth/api-keys", json={"name": "ws", "scopes": ["read"]}).json()["key"]
    carol.post(f"/markets/{mid}/mint", json={"qty": "5"})

    with socket(server) as public, socket(server, {"X-API-Key": key}) as private:
        book = subscribe(public, f"book:{mid}")
        assert book["seq"] == 0 and book["snapshot"]["bids"] == []
        trades = subscribe(public, f"trades:{mid}")
        assert trades["channel"] == f"trades:{mid}"
        orders = subscribe(private, "orders")
        assert orders["channel"] == f"orders:{bob_name}"
        assert orders["snapshot"] == {"open_orders": []}

        bid = place(bob, market=mid, side="buy", price="0.3", qty="2")
        delta = recv(public)
        assert delta["type"] == "book_delta" and delta["seq"] == 1
        assert delta["bids"] == [{"price": "0.3", "qty": "2", "orders": 1}]
        accepted, rested = recv(private), recv(private)
        assert (accepted["event"], accepted["order_id"], accepted["seq"]) == (
            "accepted",
            bid["id"],
            1,
        )
        assert (rested["event"], rested["seq"]) == ("rested", 2)

        place(carol, market=mid, side="sell", price="0.3", qty="2")
        got = [recv(public), recv(public)]
        trade = next(m for m in got if m["type"] == "trade")
        assert (trade["price"], trade["qty"], trade["kind"]) == ("0.3", "2", "book")
        assert trade["seq"] == 1
        emptied = next(m for m in got if m["type"] == "book_delta")
        assert emptied["seq"] == 2
        assert emptied["bids"] == [{"price": "0.3", "qty": "0", "orders": 0}]
        fill, closed = recv(private), recv(private)
        assert (fill["type"], fill["qty"], fill["price"], fill["seq"]) == ("fill", "2", "0.3", 3)
        assert (closed["event"], closed["reason"], closed["seq"]) == ("closed", "filled", 4)

        # a second subscriber gets the current state and the same numbering
        with socket(server) as late:
            again = subscribe(late, f"book:{mid}")
            assert again["seq"] == 2 and again["snapshot"]["bids"] == []

        send(public, "unsubscribe", f"trades:{mid}")
        assert recv(public) == {"type": "unsubscribed", "channel": f"trades:{mid}"}


def test_maker_prices_channel(server: Server) -> None:
    mid = create_market(server.admin(), liquidity="10")["id"]
    _, dee = server.user("wsd")
    with socket(server) as ws:
        prices = subscribe(ws, f"prices:{mid}")
        assert prices["snapshot"]["prices"] == ["0.5", "0.5"]
        place(dee, market=mid, side="buy", type="market", qty="1")
        moved = recv(ws)
        assert moved["type"] == "prices" and moved["seq"] == 1
        assert moved["prices"][0] > "0.5"  # compared as text: "0.52..." > "0.5"


def test_refusals(server: Server) -> None:
    with socket(server) as ws:
        send(ws, "subscribe", "orders")
        assert recv(ws)["code"] == "unauthorized"
        send(ws, "subscribe", "book:no-such-market")
        assert recv(ws)["code"] == "unknown_market"
        send(ws, "subscribe", "weather:today")
        assert recv(ws)["code"] == "validation_error"
        ws.send("not json")
        assert recv(ws)["code"] == "validation_error"
        mid = create_market(server.admin())["id"]
        subscribe(ws, f"trades:{mid}")
        send(ws, "subscribe", f"trades:{mid}")
        assert recv(ws)["code"] == "already_subscribed"


def test_a_connection_drops_what_its_snapshot_covers_and_closes_when_too_slow() -> None:
    from augury.api.ws import QUEUE_MAX, Connection

    connection = Connection(None, None)  # type: ignore[arg-type]
    connection.hold("c")
    for seq in (1, 2, 3):
        connection.deliver("c", {"seq": seq})
    assert connection.queue.empty()  # held until the snapshot is out
    connection.release("c", 2)
    assert connection.queue.get_nowait() == {"seq": 3}
    connection.deliver("c", {"seq": 4})
    assert connection.queue.get_nowait() == {"seq": 4}

    for seq in range(QUEUE_MAX):
        connection.deliver("c", {"seq": 5 + seq})
    assert not connection.overflowed
    connection.deliver("c", {"seq": 5 + QUEUE_MAX})
    assert connection.overflowed  # the writer will close it: the client resubscribes
    assert connection.queue.qsize() == QUEUE_MAX


def test_updates_rebuild_the_book_under_concurrent_trading(server: Server) -> None:
    import random
    import threading

    mid = create_market(server.admin(), liquidity="5")["id"]
    with socket(server) as ws:
        book = subscribe(ws, f"book:{mid}")["snapshot"]
        trades_seq = subscribe(ws, f"trades:{mid}")["seq"]
        levels = {
            "bids": {lv["price"]: lv for lv in book["bids"]},
            "asks": {lv["price"]: lv for lv in book["asks"]},
        }

        def trade(seed: int) -> None:
            rng = random.Random(seed)
            _, client = server.user("wsx")
            client.post(f"/markets/{mid}/mint", json={"qty": "10"})
            for _ in range(15):
                client.post(
                    "/orders",
                    json={
                        "market": mid,
                        "side": rng.choice(["buy", "sell"]),
                        "token": rng.choice(["yes", "no"]),
                        "price": f"0.{rng.randint(35, 65)}",
                        "qty": str(rng.randint(1, 3)),
                    },
                )

        threads = [threading.Thread(target=trade, args=(seed,)) for seed in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)

        tape = server.client().get(f"/markets/{mid}/trades", params={"limit": 200}).json()
        expected_trades = len(tape["items"])
        assert 0 < expected_trades < 200 and tape["next_cursor"] is None
        final = server.client().get(f"/markets/{mid}/book").json()
        seqs: dict[str, int] = {f"book:{mid}": 0, f"trades:{mid}": trades_seq}
        trades = 0
        while True:
            want = {  # the REST levels' implied_value (scalar markets only) is not streamed
                side: [{k: v for k, v in lv.items() if k != "implied_value"} for lv in final[side]]
                for side in ("bids", "asks")
            }
            have = {
                side: sorted(
                    (lv for lv in levels[side].values() if lv["qty"] != "0"),
                    key=lambda lv: float(lv["price"]),
                    reverse=side == "bids",
                )
                for side in ("bids", "asks")
            }
            if have == want and trades == expected_trades:
                break
            message = recv(ws)  # fails with a timeout if the stream stops short
            channel = message["channel"]
            assert message["seq"] == seqs[channel] + 1, (message, seqs)  # no gap
            seqs[channel] = message["seq"]
            if message["type"] == "trade":
                trades += 1
            else:
                for side in ("bids", "asks"):
                    for level in message[side]:
                        levels[side][level["price"]] = level


def test_an_amendment_on_the_book_and_orders_channels(server: Server) -> None:
    mid = create_market(server.admin())["id"]
    name, eve = server.user("wse")
    key = eve.post("/auth/api-keys", json={"name": "ws", "scopes": ["read"]}).json()["key"]
    bid = place(eve, market=mid, side="buy", price="0.3", qty="5")
    with socket(server) as public, socket(server, {"X-API-Key": key}) as private:
        subscribe(public, f"book:{mid}")
        assert subscribe(private, "orders")["channel"] == f"orders:{name}"
        amended = eve.post(f"/orders/{bid['id']}/amend", json={"price": "0.3", "qty": "2"})
        assert amended.status_code == 200 and amended.json()["replaced"] is False
        delta = recv(public)
        assert delta["bids"] == [{"price": "0.3", "qty": "2", "orders": 1}], delta
        reduced = recv(private)
        assert (reduced["event"], reduced["order_id"], reduced["remaining"]) == (
            "reduced",
            bid["id"],
            "2",
        )
        moved = eve.post(f"/orders/{bid['id']}/amend", json={"price": "0.4", "qty": "2"})
        new_id = moved.json()["placement"]["id"]
        got = [recv(private) for _ in range(3)]
        assert [(m["event"], m["order_id"]) for m in got] == [
            ("closed", bid["id"]),
            ("accepted", new_id),
            ("rested", new_id),
        ]
        assert got[0]["reason"] == "replaced"
        delta = recv(public)
        assert {"price": "0.4", "qty": "2", "orders": 1} in delta["bids"], delta
