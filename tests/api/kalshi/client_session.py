"""A whole trading session through the real, unchanged ``kalshi_python_sync`` client.

Run by ``test_client_session.py`` with the Python 3.13 venv's interpreter (not
collected by pytest: it imports the client, which the test venv lacks). It reads its
setup as JSON on stdin, asserts at every step, and prints one JSON line of what it saw.
Phase ``trade`` runs everything up to the market's resolution; phase ``settled`` checks
what the resolution paid.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from kalshi_python_sync import Configuration, KalshiClient  # type: ignore[import-not-found]
from kalshi_python_sync.exceptions import ApiException  # type: ignore[import-not-found]
from kalshi_python_sync.models import (  # type: ignore[import-not-found]
    BatchCancelOrdersV2RequestOrdersInner,
    CreateOrderV2Request,
)


def client(host: str, key_id: str, private_pem: str) -> KalshiClient:
    config = Configuration(host=host)
    config.api_key_id = key_id
    config.private_key_pem = private_pem
    return KalshiClient(config)


def order(
    ticker: str,
    side: str,
    count: str,
    price: str,
    coid: str | None = None,
    tif: str = "good_till_canceled",
) -> dict[str, Any]:
    """The fields of a CreateOrderV2Request (the client's methods take them as keywords)."""
    fields = {
        "ticker": ticker,
        "side": side,
        "count": count,
        "price": price,
        "time_in_force": tif,
        "self_trade_prevention_type": "taker_at_cross",
    }
    return fields if coid is None else {**fields, "client_order_id": coid}


def refused(call: Any, status: int) -> str:
    """Call it; it must raise ApiException with ``status``; the error's code."""
    try:
        call()
    except ApiException as error:
        assert error.status == status, (error.status, error.body)
        body = json.loads(error.body)
        assert set(body["error"]) == {"code", "message", "details"}, body
        return str(body["error"]["code"])
    raise AssertionError(f"expected {status}")


def trade_phase(s: dict[str, Any]) -> dict[str, Any]:
    host, m1, m2 = s["host"], s["binary"][0], s["binary"][1]
    k = client(host, s["key_id"], s["private_pem"])
    seen: dict[str, Any] = {}
    assert k.get_exchange_status().trading_active is True
    assert k.get_exchange_schedule().schedule.standard_hours
    # markets across pages
    tickers, cursor, pages = [], None, 0
    while True:
        page = k.get_markets(series_ticker=s["series"], limit=2, cursor=cursor)
        tickers += [m.ticker for m in page.markets]
        pages += 1
        cursor = page.cursor
        if not cursor:
            break
    assert sorted(tickers) == sorted(s["binary"] + s["categorical"]), tickers
    seen["pages"] = pages
    market = k.get_market(m1).market
    assert market.status == "active" and market.market_type == "binary", market
    assert market.event_ticker == m1 and market.yes_ask_dollars == "0.6000", market
    event = k.get_event(s["event"], with_nested_markets=True)
    assert sorted(m.ticker for m in event.markets) == sorted(s["categorical"])
    assert event.event.mutually_exclusive is True
    assert k.get_series(s["series"]).series.ticker == s["series"]
    assert len(k.get_events(series_ticker=s["series"], limit=100).events) == len(s["binary"]) + 1
    assert s["series"] in [x.ticker for x in k.get_series_list().series]
    book = k.get_market_orderbook(m1).orderbook_fp
    assert book.no_dollars == [["0.4000", "10.00"]] and book.yes_dollars == [], book
    start = k.get_balance()
    assert start.balance == 100_000 and start.balance_dollars == "1000.0000", start
    # a resting order: place, amend, decrease, cancel
    placed = k.create_order_v2(**order(m1, "bid", "5", "0.30", "rest-1"))
    assert placed.fill_count == "0.00" and placed.remaining_count == "5.00", placed
    got = k.get_order(placed.order_id).order
    assert got.status == "resting" and got.book_side == "bid" and got.yes_price_dollars == "0.3000"
    assert got.client_order_id == "rest-1"
    assert ["0.3000", "5.00"] in k.get_market_orderbook(m1).orderbook_fp.yes_dollars
    amended = k.amend_order_v2(placed.order_id, ticker=m1, side="bid", price="0.32", count="6")
    assert amended.remaining_count == "6.00", amended
    assert amended.order_id != placed.order_id  # a new price: replaced, in one command
    assert k.get_order(placed.order_id).order.status == "canceled"
    assert k.get_order(amended.order_id).order.client_order_id == "rest-1"  # kept
    assert k.get_market_orderbook(m1).orderbook_fp.yes_dollars == [["0.3200", "6.00"]]
    # an amendment that cannot be placed changes nothing (2,000 at 0.99: too dear)
    refused(
        lambda: k.amend_order_v2(
            amended.order_id, ticker=m1, side="bid", price="0.99", count="2000"
        ),
        400,
    )
    assert k.get_market_orderbook(m1).orderbook_fp.yes_dollars == [["0.3200", "6.00"]]
    # a decrease is in place: the same order, its client_order_id and queue place kept
    decreased = k.decrease_order_v2(amended.order_id, reduce_by="2")
    assert decreased.remaining_count == "4.00", decreased
    assert decreased.order_id == amended.order_id, decreased
    assert k.get_order(amended.order_id).order.remaining_count_fp == "4.00"
    assert k.get_market_orderbook(m1).orderbook_fp.yes_dollars == [["0.3200", "4.00"]]
    assert k.get_order_queue_position(decreased.order_id).queue_position_fp == "0.00"
    queue = k.get_order_queue_positions(market_tickers=m1).queue_positions
    assert [(q.order_id, q.market_ticker, q.queue_position_fp) for q in queue] == [
        (decreased.order_id, m1, "0.00")
    ], queue
    cancelled = k.cancel_order_v2(decreased.order_id)
    assert cancelled.reduced_by == "4.00", cancelled
    assert k.get_market_orderbook(m1).orderbook_fp.yes_dollars == []
    canceled = k.get_orders(ticker=m1, status="canceled").orders
    assert decreased.order_id in [o.order_id for o in canceled]
    # a filled order, and its client_order_id sent again
    filled = k.create_order_v2(**order(m1, "bid", "3", "0.60", "fill-1"))
    assert filled.fill_count == "3.00" and filled.average_fill_price == "0.6000", filled
    assert filled.average_fee_paid == "0.0060", filled  # 1% of 0.60 a contract
    again = k.create_order_v2(**order(m1, "bid", "3", "0.60", "fill-1"))
    assert again.order_id == filled.order_id, (again, filled)
    executed = k.get_order(filled.order_id).order
    assert executed.status == "executed" and executed.fill_count_fp == "3.00", executed
    assert (
        executed.taker_fill_cost_dollars == "1.8000"
        and executed.maker_fill_cost_dollars == "0.0000"
    )
    assert executed.taker_fees_dollars == "0.0180"
    after = k.get_balance()
    # 1.80 and a 0.018 fee: 998.182 credits, 99818 whole cents
    assert after.balance == start.balance - 182 and after.balance_dollars == "998.1820", after
    fills = k.get_fills(ticker=m1).fills
    assert len(fills) == 1 and fills[0].order_id == filled.order_id, fills
    assert fills[0].count_fp == "3.00" and fills[0].yes_price_dollars == "0.6000"
    assert fills[0].is_taker is True and fills[0].book_side == "bid"
    assert fills[0].fee_cost == "0.0180"
    positions = k.get_positions().market_positions
    assert [(p.ticker, p.position_fp) for p in positions] == [(m1, "3.00")], positions
    trades = k.get_trades(ticker=m1).trades
    assert [(t.count_fp, t.yes_price_dollars, t.taker_book_side) for t in trades] == [
        ("3.00", "0.6000", "bid")
    ], trades
    candles = k.get_market_candlesticks(
        s["series"],
        m1,
        start_ts=s["start_ts"] - 3600,
        end_ts=s["start_ts"] + 86_400,
        period_interval=60,
    ).candlesticks
    assert candles and candles[-1].price.close_dollars == "0.6000", candles
    assert candles[-1].volume_fp == "3.00"
    batch_candles = k.batch_get_market_candlesticks(
        market_tickers=f"{m1},{m2}",
        start_ts=s["start_ts"] - 3600,
        end_ts=s["start_ts"] + 86_400,
        period_interval=60,
    )
    assert [len(x.candlesticks) > 0 for x in batch_candles.markets] == [True, False]
    # batch create (one refused in place) and batch cancel
    batch = k.batch_create_orders_v2(
        orders=[
            CreateOrderV2Request(**order(m2, "bid", "1", "0.10")),
            CreateOrderV2Request(**order(m2, "bid", "1", "0.11")),
            CreateOrderV2Request(**order(m2, "bid", "1", "1.50")),
        ]
    )
    ids = [o.order_id for o in batch.orders if o.error is None]
    assert len(ids) == 2 and batch.orders[2].error is not None, batch
    books = k.get_market_orderbooks(tickers=[m2]).orderbooks
    assert books[0].orderbook_fp.yes_dollars == [["0.1000", "1.00"], ["0.1100", "1.00"]]
    undone = k.batch_cancel_orders_v2(
        orders=[BatchCancelOrdersV2RequestOrdersInner(order_id=i) for i in ids]
    )
    assert [o.reduced_by for o in undone.orders] == ["1.00", "1.00"], undone
    # bad inputs and a wrong signature change nothing
    before = k.get_balance().balance
    count_before = len(k.get_orders().orders)
    codes = [
        refused(lambda: k.create_order_v2(**order(m1, "bid", "1", "0")), 400),
        refused(lambda: k.create_order_v2(**order(m1, "bid", "1", "1.00")), 400),
        refused(lambda: k.create_order_v2(**order(m1, "bid", "1", "0.333")), 400),
        refused(lambda: k.create_order_v2(**order(m1, "bid", "0", "0.30")), 400),
        refused(lambda: k.create_order_v2(**order(m1, "bid", "abc", "0.30")), 400),
        refused(lambda: k.create_order_v2(**order("NO-SUCH-MARKET", "bid", "1", "0.30")), 404),
        refused(lambda: k.cancel_order_v2("999999999"), 404),
    ]
    seen["codes"] = codes
    wrong = client(host, s["key_id"], s["other_private_pem"])
    seen["wrong_signature"] = refused(
        lambda: wrong.create_order_v2(**order(m1, "bid", "1", "0.30")), 401
    )
    refused(lambda: wrong.get_balance(), 401)
    assert k.get_balance().balance == before and len(k.get_orders().orders) == count_before
    # an Ed25519 key, and Kalshi's key endpoints
    ed = client(host, s["ed_key_id"], s["ed_private_pem"])
    assert ed.get_balance().balance == before
    made = k.generate_api_key(name="generated", scopes=["read"])
    generated = client(host, made.api_key_id, made.private_key)
    assert generated.get_balance().balance == before
    refused(lambda: generated.create_order_v2(**order(m1, "bid", "1", "0.30")), 403)
    registered = k.create_api_key(
        name="registered", public_key=s["spare_public_pem"], scopes=["read", "write"]
    )
    listed = {x.api_key_id: x.scopes for x in k.get_api_keys().api_keys}
    assert made.api_key_id in listed and registered.api_key_id in listed, listed
    k.delete_api_key(made.api_key_id)
    refused(lambda: generated.get_balance(), 401)
    # cancel all
    k.create_order_v2(**order(m2, "bid", "1", "0.05"))
    k.cancel_all_orders()
    assert [o for o in k.get_orders(status="resting").orders] == []
    seen["balance"] = k.get_balance().balance
    return seen


def settled_phase(s: dict[str, Any]) -> dict[str, Any]:
    k = client(s["host"], s["key_id"], s["private_pem"])
    m1 = s["binary"][0]
    settlements = k.get_settlements().settlements
    assert [(x.ticker, x.market_result, x.revenue) for x in settlements] == [(m1, "yes", 300)], (
        settlements
    )
    market = k.get_market(m1).market
    assert market.status == "finalized" and market.result == "yes", market
    assert k.get_balance().balance == s["balance"] + 300
    return {"settlements": len(settlements)}


if __name__ == "__main__":
    setup = json.loads(sys.stdin.read())
    phase = trade_phase if sys.argv[1] == "trade" else settled_phase
    print(json.dumps(phase(setup)))
