"""``POST /orders/{id}/amend`` end to end: smaller in place (same id, same place in the
queue), replaced at a new price, and refused whole (the order, balances and book as
they were), on both backends; the read models follow."""

from __future__ import annotations

from typing import Any

import httpx

from tests.api.conftest import Server, assert_problem
from tests.api.helpers import balance, create_market, place


def amend(client: httpx.Client, order_id: int, **body: Any) -> dict[str, Any]:
    response = client.post(f"/orders/{order_id}/amend", json=body)
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def bids(client: httpx.Client, market: str) -> list[tuple[str, str, int]]:
    book = client.get(f"/markets/{market}/book").json()
    return [(b["price"], b["qty"], b["orders"]) for b in book["bids"]]


def test_reduce_in_place_replace_and_refuse(any_server: Server) -> None:
    server = any_server
    mid = create_market(server.admin())["id"]
    _, ann = server.user("ann")
    _, ben = server.user("ben")
    _, cat = server.user("cat")
    first = place(ann, market=mid, side="buy", price="0.4", qty="10", client_order_id="a-1")
    behind = place(ben, market=mid, side="buy", price="0.4", qty="1")
    assert balance(ann)["escrow"] == "4"
    assert ben.get(f"/orders/{behind['id']}").json()["queue_ahead"] == "10"
    assert ann.get(f"/orders/{first['id']}").json()["queue_ahead"] == "0"

    # smaller at the same price: same id, still first in the queue, 2.4 credits back
    reduced = amend(ann, first["id"], price="0.4", qty="4")
    assert reduced["replaced"] is False and reduced["placement"] is None
    order = reduced["order"]
    assert order["id"] == first["id"] == reduced["previous_id"]
    assert (order["qty"], order["remaining"], order["escrow"]) == ("4", "4", "1.6")
    assert order["client_order_id"] == "a-1"
    assert balance(ann)["escrow"] == "1.6" and balance(ann)["available"] == "998.4"
    assert bids(ann, mid) == [("0.4", "5", 2)]
    assert ben.get(f"/orders/{behind['id']}").json()["queue_ahead"] == "4"  # shorter wait
    sold = place(cat, market=mid, side="buy", token="no", price="0.6", qty="4")
    assert [f["qty"] for f in sold["fills"]] == ["4"]  # ann's 4, ahead of ben
    got = ann.get(f"/orders/{first['id']}").json()  # from the read models now
    assert (got["status"], got["qty"], got["filled"], got["remaining"]) == ("filled", "4", "4", "0")
    assert (
        got["queue_ahead"] is None
        and ben.get(f"/orders/{behind['id']}").json()["queue_ahead"] == "0"
    )
    assert bids(ann, mid) == [("0.4", "1", 1)]

    # a new price: the order is replaced (new id, back of the queue), atomically
    second = place(ann, market=mid, side="buy", price="0.3", qty="2")
    replaced = amend(ann, second["id"], price="0.4", qty="3")
    assert replaced["replaced"] is True and replaced["order"] is None
    new = replaced["placement"]
    assert new["id"] != second["id"] and new["status"] == "resting" and new["remaining"] == "3"
    assert ann.get(f"/orders/{second['id']}").json()["status"] == "replaced"
    assert bids(ann, mid) == [("0.4", "4", 2)]  # behind ben's order at 0.4
    assert balance(ann)["escrow"] == "1.2"

    # refused: too dear, off the tick, nothing to change, another's order, bad body;
    # each changes nothing
    before = (balance(ann), bids(ann, mid))
    too_dear = ann.post(f"/orders/{new['id']}/amend", json={"price": "0.9", "qty": "5000"})
    assert_problem(too_dear, 422, "insufficient_funds")
    assert_problem(
        ann.post(f"/orders/{new['id']}/amend", json={"price": "0.4001", "qty": "3"}),
        422,
        "price_not_on_tick",
    )
    same = ann.post(f"/orders/{new['id']}/amend", json={"price": "0.4", "qty": "3"})
    assert_problem(same, 422, "invalid_order")
    assert_problem(
        ben.post(f"/orders/{new['id']}/amend", json={"price": "0.4", "qty": "1"}), 404, "not_found"
    )
    assert_problem(
        ann.post(f"/orders/{new['id']}/amend", json={"price": "0.4"}), 422, "validation_error"
    )
    assert (balance(ann), bids(ann, mid)) == before
    assert ann.get(f"/orders/{new['id']}").json()["status"] == "resting"
    assert behind["status"] == "resting"
