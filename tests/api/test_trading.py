"""Markets and trading end to end: create, trade between two users, balances, positions."""

from __future__ import annotations

import pytest

from tests.api.conftest import Server, assert_problem
from tests.api.helpers import balance, create_market, place

EXPECT = [{"outcome": 0, "value": "taken"}, {"outcome": 1, "value": "held"}]
SPEC = {
    "sources": [
        {"kind": "http_json", "id": "isw", "owner": "ISW", "expect": EXPECT,
         "url": "https://isw.example/towns.json", "path": "$.myrnohrad"},
        {"kind": "http_json", "id": "deepstate", "owner": "DeepState", "expect": EXPECT,
         "url": "https://deepstate.example/towns.json", "path": "$.myrnohrad"},
    ],
    "observation_at_us": 1_782_777_600_000_000,  # 2026-06-30T00:00:00Z, the close
    "persistence": {"hours": 12},
    "quorum": 2,
}  # fmt: skip


def test_a_fill_between_two_users(any_server: Server) -> None:
    server = any_server
    admin = server.admin()
    market = create_market(
        admin,
        question="Will Myrnohrad be taken by 2026?",
        description="d",
        rules="r",
        category="conflict",
        resolution_spec=SPEC,
    )
    assert market["status"] == "open" and market["outcomes"] == ["Yes", "No"]
    assert market["resolution_spec"] == SPEC
    assert market["close_time"] == "2026-06-30T00:00:00Z"
    assert market["tick_size"] == "0.001"
    mid = market["id"]

    bob_name, bob = server.user("bob")
    carol_name, carol = server.user("carol")

    resting = place(bob, market=mid, side="buy", price="0.6", qty="10", client_order_id="b-1")
    assert resting["status"] == "resting" and resting["filled"] == "0"
    assert balance(bob) == {
        "account": bob_name,
        "available": "994",
        "escrow": "6",
        "total": "1000",
    }
    book = bob.get(f"/markets/{mid}/book").json()
    bid = {"price": "0.6", "qty": "10", "orders": 1, "implied_value": None}  # None: not scalar
    assert book["bids"] == [bid] and book["asks"] == []

    # carol buys NO at 0.4: with bob's YES bid at 0.6 the two payments mint 10 sets
    taken = place(carol, market=mid, side="buy", token="no", price="0.4", qty="10")
    assert taken["status"] == "filled" and taken["filled"] == "10"
    assert taken["fills"] == [{"venue": "book", "qty": "10", "price": "0.4", "fee": "0"}]
    assert taken["fees"] == "0" and taken["value"] == "4" and taken["average_price"] == "0.4"

    assert balance(bob)["available"] == "994" and balance(bob)["escrow"] == "0"
    assert balance(carol)["available"] == "996"
    bob_positions = bob.get("/portfolio/positions").json()["items"]
    assert bob_positions == [
        {
            "market": mid,
            "outcome": 0,
            "outcome_name": "Yes",
            "token": "yes",
            "qty": "10",
            "escrowed": "0",
            "cost_basis": "6",
            "average_cost": "0.6",
            "mark_price": None,  # no maker, and the book is empty
            "market_value": None,
            "unrealized_pnl": None,
        }
    ]
    carol_positions = carol.get("/portfolio/positions").json()["items"]
    assert [(p["outcome_name"], p["qty"], p["average_cost"]) for p in carol_positions] == [
        ("No", "10", "0.4")
    ]

    bob_order = bob.get(f"/orders/{resting['id']}").json()
    assert bob_order["status"] == "filled" and bob_order["client_order_id"] == "b-1"
    assert [o["id"] for o in bob.get("/orders").json()["items"]] == [resting["id"]]
    fills = bob.get("/portfolio/fills").json()["items"]
    assert [(f["role"], f["qty"], f["price"], f["order_id"]) for f in fills] == [
        ("maker", "10", "0.6", resting["id"])
    ]
    carol_fills = carol.get("/portfolio/fills").json()["items"]
    assert [(f["role"], f["order_id"]) for f in carol_fills] == [("taker", taken["id"])]
    trades = admin.get(f"/markets/{mid}/trades").json()["items"]
    assert [(t["price"], t["qty"]) for t in trades] == [("0.6", "10")]
    candles = admin.get(f"/markets/{mid}/candles", params={"interval": "1m"}).json()["items"]
    assert len(candles) == 1 and candles[0]["close"] == "0.6" and candles[0]["volume"] == "10"
    assert candles[0]["start"] == "2025-11-14T00:00:00Z"

    # object-level authorization: carol can neither see nor cancel bob's orders
    assert_problem(carol.get(f"/orders/{resting['id']}"), 404, "not_found")
    assert carol_name != bob_name


def test_cancel_and_cancel_all(server: Server) -> None:
    mid = create_market(server.admin())["id"]
    _, dan = server.user("dan")
    _, eve = server.user("eve")
    first = place(dan, market=mid, side="buy", price="0.2", qty="5")
    second = place(dan, market=mid, side="buy", price="0.3", qty="5")
    third = place(dan, market=mid, side="buy", price="0.25", qty="4", tif="gtd",
                  expires_at="2026-01-01T00:00:00Z")  # fmt: skip
    assert third["expires_at"] == "2026-01-01T00:00:00Z" and third["tif"] == "gtd"
    assert balance(dan)["escrow"] == "3.5"

    # eve cannot touch dan's order: 404, exactly as for a missing order
    assert_problem(eve.delete(f"/orders/{first['id']}"), 404, "not_found")
    assert_problem(eve.delete("/orders/999999999"), 404, "not_found")
    assert dan.get(f"/orders/{first['id']}").json()["status"] == "resting"

    cancelled = dan.delete(f"/orders/{first['id']}")
    assert cancelled.status_code == 200 and cancelled.json()["released"] == "1"
    assert_problem(dan.delete(f"/orders/{first['id']}"), 404, "not_found")  # already closed
    assert dan.get(f"/orders/{first['id']}").json()["status"] == "cancelled"

    # eve's cancel-all never touches dan's orders
    assert eve.post("/orders/cancel-all").json() == {"cancelled": []}
    assert dan.get(f"/orders/{second['id']}").json()["status"] == "resting"
    everything = dan.post("/orders/cancel-all", json={"market": mid}).json()
    assert sorted(everything["cancelled"]) == sorted([second["id"], third["id"]])
    assert balance(dan) == {**balance(dan), "available": "1000", "escrow": "0"}

    open_orders = dan.get("/orders", params={"status": "open"}).json()["items"]
    assert open_orders == []
    closed = dan.get("/orders", params={"status": "closed", "limit": 2}).json()
    assert [o["id"] for o in closed["items"]] == [third["id"], second["id"]]
    rest = dan.get("/orders", params={"status": "closed", "cursor": closed["next_cursor"]}).json()
    assert [o["id"] for o in rest["items"]] == [first["id"]] and rest["next_cursor"] is None


def test_every_order_type(server: Server) -> None:
    mid = create_market(server.admin(), liquidity="100")["id"]
    _, fay = server.user("fay")
    _, gus = server.user("gus")
    quote = fay.get(f"/markets/{mid}/quote").json()
    assert quote["prices"] == ["0.5", "0.5"]

    # market order by budget, against the LMSR maker
    bought = place(fay, market=mid, side="buy", type="market", budget="10")
    assert bought["status"] == "filled" and bought["fills"][0]["venue"] == "maker"
    assert float(bought["filled"]) > 0  # a test-side float is fine; the API sent a string
    # market order by qty, fill-or-kill
    fok = place(fay, market=mid, side="buy", type="market", qty="1", tif="fok")
    assert fok["status"] == "filled" and fok["filled"] == "1"
    # IOC limit below the maker's price: nothing fills, nothing rests
    ioc = place(gus, market=mid, side="buy", price="0.01", qty="1", tif="ioc")
    assert ioc["status"] == "unfilled"
    # post-only that would cross is refused, one that would not rests
    assert_problem(
        gus.post("/orders", json={"market": mid, "side": "buy", "price": "0.99", "qty": "1",
                                  "post_only": True}),
        422, "post_only_would_cross",
    )  # fmt: skip
    post = place(gus, market=mid, side="buy", price="0.05", qty="1", post_only=True)
    assert post["status"] == "resting" and post["post_only"] is True
    # FOK larger than any liquidity at the limit is refused
    assert_problem(
        gus.post("/orders", json={"market": mid, "side": "buy", "price": "0.06", "qty": "50",
                                  "tif": "fok"}),
        422, "fok_not_fillable",
    )  # fmt: skip
    # positions are marked at the maker's price
    from decimal import Decimal

    (held,) = fay.get("/portfolio/positions").json()["items"]
    assert held["mark_price"] == fay.get(f"/markets/{mid}/quote").json()["prices"][0]
    value = Decimal(held["qty"]) * Decimal(held["mark_price"])
    assert Decimal(held["market_value"]) == value.quantize(Decimal("0.000001"), "ROUND_DOWN")
    assert Decimal(held["unrealized_pnl"]) == Decimal(held["market_value"]) - Decimal(
        held["cost_basis"]
    )
    # sell YES from a position; sell NO needs NO shares
    sold = place(fay, market=mid, side="sell", type="market", qty="1")
    assert sold["status"] == "filled"
    assert_problem(
        gus.post("/orders", json={"market": mid, "side": "sell", "token": "no", "price": "0.5",
                                  "qty": "1"}),
        422, "insufficient_shares",
    )  # fmt: skip
    # duplicate client order ids are refused
    place(gus, market=mid, side="buy", price="0.04", qty="1", client_order_id="same")
    assert_problem(
        gus.post("/orders", json={"market": mid, "side": "buy", "price": "0.04", "qty": "1",
                                  "client_order_id": "same"}),
        409, "duplicate_client_order_id",
    )  # fmt: skip


def test_self_trade_prevention(server: Server) -> None:
    mid = create_market(server.admin())["id"]
    _, hal = server.user("hal")
    assert hal.post(f"/markets/{mid}/mint", json={"qty": "5"}).status_code == 200
    ask = place(hal, market=mid, side="sell", price="0.5", qty="2")
    assert ask["status"] == "resting"
    bid = place(hal, market=mid, side="buy", price="0.5", qty="2")  # cancel_resting default
    assert bid["status"] == "resting" and bid["filled"] == "0"
    assert hal.get(f"/orders/{ask['id']}").json()["status"] == "self_trade"
    ask2 = place(hal, market=mid, side="sell", price="0.5", qty="1")
    stopped = place(hal, market=mid, side="buy", price="0.6", qty="1",
                    self_trade="cancel_incoming")  # fmt: skip
    assert stopped["status"] == "self_trade"
    assert hal.get(f"/orders/{ask2['id']}").json()["status"] == "resting"


def test_sets_mint_redeem_convert(server: Server) -> None:
    admin = server.admin()
    binary = create_market(admin)["id"]
    categorical = create_market(admin, type="categorical", outcomes=["A", "B", "C"])["id"]
    _, ivy = server.user("ivy")
    assert ivy.post(f"/markets/{binary}/mint", json={"qty": "3"}).json()["minted"] == "3"
    assert balance(ivy)["available"] == "997"
    assert ivy.post(f"/markets/{binary}/redeem", json={"qty": "1"}).status_code == 200
    assert balance(ivy)["available"] == "998"
    assert_problem(
        ivy.post(f"/markets/{binary}/redeem", json={"qty": "5"}), 422, "insufficient_shares"
    )
    assert_problem(
        ivy.post(f"/markets/{binary}/convert", json={"outcome": 0, "qty": "1"}),
        422,
        "not_categorical",
    )
    # categorical: buy NO on A from the book needs a counterparty; mint and sell instead
    ivy.post(f"/markets/{categorical}/mint", json={"qty": "2"})
    positions = {
        (p["market"], p["outcome_name"], p["token"]): p["qty"]
        for p in ivy.get("/portfolio/positions").json()["items"]
    }
    assert positions[(categorical, "A", "yes")] == "2"
    assert_problem(
        ivy.post(f"/markets/{categorical}/convert", json={"outcome": 0, "qty": "1"}),
        422,
        "insufficient_shares",
    )
    back = ivy.post(
        f"/markets/{categorical}/convert", json={"outcome": 0, "qty": "1", "to_yes": False}
    )
    assert back.status_code == 200, back.text
    positions = {
        (p["outcome_name"], p["token"]): p["qty"]
        for p in ivy.get("/portfolio/positions").json()["items"]
        if p["market"] == categorical
    }
    assert positions[("A", "no")] == "1" and positions[("B", "yes")] == "1"
    forward = ivy.post(f"/markets/{categorical}/convert", json={"outcome": 0, "qty": "1"})
    assert forward.status_code == 200


def test_quote_preview_changes_nothing(server: Server) -> None:
    mid = create_market(server.admin(), liquidity="5")["id"]
    _, jo = server.user("jo")
    _, kim = server.user("kim")
    kim.post(f"/markets/{mid}/mint", json={"qty": "5"})
    ask = place(kim, market=mid, side="sell", price="0.55", qty="2")
    assert ask["status"] == "resting"
    book_before = jo.get(f"/markets/{mid}/book").json()
    balance_before = balance(jo)

    order = {"market": mid, "side": "buy", "type": "market", "qty": "3"}
    preview = jo.post("/orders/preview", json=order)
    assert preview.status_code == 200, preview.text
    quoted = preview.json()
    assert quoted["filled_qty"] == "3" and quoted["unfilled_qty"] == "0"
    assert {f["venue"] for f in quoted["fills"]} == {"book", "maker"}
    assert [f["price"] for f in quoted["fills"] if f["venue"] == "book"] == ["0.55"]
    assert 0.5 < float(quoted["average_price"]) < 0.6  # test-side arithmetic only
    assert quoted["would_rest"] is False

    # nothing changed
    assert jo.get(f"/markets/{mid}/book").json() == book_before
    assert balance(jo) == balance_before
    assert jo.get("/orders").json()["items"] == []

    # placing the same order now costs exactly what the preview said
    placed = place(jo, **order)
    assert placed["filled"] == "3"
    spent = jo.get("/portfolio/balances").json()
    assert spent["escrow"] == "0"
    from decimal import Decimal

    assert Decimal(balance_before["available"]) - Decimal(spent["available"]) == Decimal(
        quoted["total"]
    )

    limit = jo.post(
        "/orders/preview",
        json={"market": mid, "side": "buy", "type": "limit", "price": "0.01", "qty": "1"},
    ).json()
    assert limit["filled_qty"] == "0" and limit["would_rest"] is True
    assert_problem(
        jo.post("/orders/preview", json={**order, "market": "no-such-market"}),
        404,
        "unknown_market",
    )
    assert_problem(
        jo.post(
            "/orders/preview",
            json={"market": mid, "side": "buy", "type": "limit", "price": "0.5005", "qty": "1"},
        ),
        422,
        "price_not_on_tick",
    )


@pytest.mark.parametrize("sort", ["newest", "oldest", "close_time"])
def test_market_list_search_and_pages(server: Server, sort: str) -> None:
    admin = server.admin()
    tag = f"cat{sort.replace('_', '')}"
    made = [
        create_market(admin, question=f"Question {i} about zebras?", category=tag,
                      close_time=f"2026-0{9 - i}-01T00:00:00Z")["id"]
        for i in range(5)
    ]  # fmt: skip
    seen: list[str] = []
    cursor = None
    for _ in range(10):
        params = {"category": tag, "sort": sort, "limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = admin.get("/markets", params=params).json()
        seen.extend(m["id"] for m in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    expected = {"newest": made[::-1], "oldest": made, "close_time": made[::-1]}[sort]
    assert seen == expected
    found = admin.get("/markets", params={"q": "ZEBRAS", "category": tag}).json()["items"]
    assert len(found) == 5
    assert admin.get("/markets", params={"q": "unicorns", "category": tag}).json()["items"] == []
    assert admin.get(f"/markets/{made[0]}").json()["category"] == tag
    assert_problem(admin.get("/markets/no-such-market"), 404, "unknown_market")
