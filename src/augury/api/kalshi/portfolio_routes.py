"""Portfolio and orders: balance, positions, fills, settlements, orders (signed).

Reads are Augury's own (``augury.api.live`` for what is live, ``augury.api.reads`` for
history after a barrier); writes go through ``augury.api.kalshi.orders``.
"""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from augury.api import live, reads
from augury.api.errors import ApiError
from augury.api.kalshi import mapping, orders
from augury.api.kalshi import models as km
from augury.api.kalshi.common import Shapes, answer, caller, decode, facade_of, services_of
from augury.api.kalshi.errors import KalshiError, KalshiRoute, from_api_error, not_found
from augury.domain import commands as dc
from augury.domain import fixed, yes_book
from augury.domain.exchange import Exchange
from augury.domain.units import ONE
from augury.roles.errors import ServiceError
from augury.roles.services import Services

router = APIRouter(route_class=KalshiRoute)
Limit = Annotated[int, Query(ge=1, le=1000)]
Cursor = Annotated[str | None, Query(max_length=200)]


def shapes_of(request: Request) -> Shapes:
    return facade_of(request).shapes


@router.get("/portfolio/balance")
async def balance(request: Request) -> Response:
    """``balance``: available credits in cents (rounded down); ``portfolio_value``: what
    the holdings are worth at their marks (Augury's positions view), in cents."""
    principal = await caller(request, "read")
    account = principal.account

    def run(ex: Exchange) -> tuple[dict[str, Any], list[live.Holding]]:
        return live.balances(ex, account), live.holdings(ex, account)

    balances, holdings = await services_of(request).query(run)
    available = mapping.micros(balances["available"])
    value = sum((h.qty + h.escrowed) * h.mark // ONE for h in holdings if h.mark is not None)
    return answer(
        {
            "balance": fixed.cents_down(available),
            "balance_dollars": fixed.dollars(available),
            "portfolio_value": fixed.cents_down(value),
            "updated_ts": services_of(request).now_us() // 1_000_000,
        }
    )


@router.get("/portfolio/positions")
async def positions(
    request: Request,
    ticker: Annotated[str | None, Query(max_length=80)] = None,
    event_ticker: Annotated[str | None, Query(max_length=80)] = None,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> Response:
    """One position per Kalshi market held: ``position_fp`` is YES held less NO held; in
    pages of ``limit`` in ticker order (``cursor``: the last ticker of the page before).
    ``event_positions`` are every event's, on each page."""
    principal = await caller(request, "read")
    services = services_of(request)
    account = principal.account
    holdings = await services.query(lambda ex: live.holdings(ex, account))
    await services.barrier()
    engine = services.projector.engine
    basis = await run_in_threadpool(reads.cost_basis, engine, account)
    profits = {
        p["market"]: p for p in await run_in_threadpool(reads.profit_by_market, engine, account)
    }
    shapes = shapes_of(request)
    nets: dict[tuple[str, int], list[int]] = {}
    for h in holdings:
        row = nets.setdefault((h.market, h.outcome), [0, 0, 0])
        shares = h.qty + h.escrowed
        row[0 if h.side == "yes" else 1] += shares
        row[2] += basis.get((h.market, h.token), 0)
    now = services.now_us()
    market_positions, events = [], {}
    for (market_id, outcome), (yes, no, cost) in sorted(nets.items()):
        shape = shapes.of(services, market_id)
        assert shape is not None
        # a binary market's NO holding is its outcome 1's token: the same YES book
        book_outcome = outcome if shape.categorical else 0
        name = mapping.market_ticker(market_id, shape.categorical, book_outcome)
        event = mapping.ticker_of(market_id)
        if (ticker and ticker != name) or (event_ticker and event_ticker != event):
            continue
        profit = profits.get(market_id)
        market_positions.append(
            km.MarketPosition(
                ticker=name,
                exchange_index=0,
                total_traded_dollars=fixed.dollars(mapping.micros(profit["paid"]) if profit else 0),
                position_fp=fixed.count(yes_book.net_position(yes, no)),
                market_exposure_dollars=fixed.dollars(cost),
                realized_pnl_dollars=fixed.dollars(0),
                fees_paid_dollars=fixed.dollars(0),
                last_updated_ts=_instant(now),
            )
        )
        if profit is not None and event not in events:
            events[event] = km.EventPosition(
                event_ticker=event,
                total_cost_dollars=fixed.dollars(mapping.micros(profit["paid"])),
                total_cost_shares_fp=fixed.count(0),
                event_exposure_dollars=fixed.dollars(mapping.micros(profit["held_at_cost"])),
                realized_pnl_dollars=fixed.dollars(mapping.micros(profit["realized_pnl"])),
                fees_paid_dollars=fixed.dollars(mapping.micros(profit["fees"])),
            )
    # pages in ticker order: the cursor is the last ticker of the page before
    market_positions.sort(key=lambda p: p.ticker)
    if cursor:
        market_positions = [p for p in market_positions if p.ticker > cursor]
    page = market_positions[:limit]
    next_cursor = page[-1].ticker if len(market_positions) > limit else ""
    return answer(
        {
            "market_positions": page,
            "event_positions": list(events.values()),
            "cursor": next_cursor,
        }
    )


def _instant(us: int) -> str:
    from augury.settings import format_instant

    return format_instant(us)


async def _orders_for_kalshi(
    request: Request, services: Services, found: list[dict[str, Any]], user_id: str
) -> list[km.Order]:
    """Kalshi's view of Augury orders, with their fills' totals (after a barrier)."""
    await services.barrier()
    ids = [int(o["id"]) for o in found]
    totals = await run_in_threadpool(reads.order_fill_totals, services.projector.engine, ids)
    out = []
    for order in found:
        shape = shapes_of(request).of(services, order["market"])
        assert shape is not None
        out.append(orders.kalshi_order(order, shape, user_id, totals.get(int(order["id"]), {})))
    return out


async def _market_id(request: Request, services: Services, ticker: str | None) -> str | None:
    """The Augury market of a ``ticker`` filter (None: no filter); 404 if none."""
    if not ticker:
        return None
    shape, _ = shapes_of(request).by_ticker(services, ticker)
    return shape.market


@router.get("/portfolio/fills")
async def fills(
    request: Request,
    ticker: Annotated[str | None, Query(max_length=80)] = None,
    order_id: Annotated[str | None, Query(max_length=20)] = None,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> Response:
    principal = await caller(request, "read")
    services = services_of(request)
    market = await _market_id(request, services, ticker)
    await services.barrier()
    engine = services.projector.engine
    items, next_cursor = await run_in_threadpool(
        partial(
            reads.list_fills,
            engine,
            principal.account,
            market=market,
            cursor=cursor or None,
            limit=limit,
        )
    )
    out = []
    order_views: dict[int, dict[str, Any] | None] = {}
    for item in items:
        oid = item["order_id"]
        if oid not in order_views:
            order_views[oid] = await run_in_threadpool(
                reads.get_order, engine, principal.account, oid
            )
        order = order_views[oid]
        if order is None or (order_id and str(oid) != order_id):
            continue
        fill_shape = shapes_of(request).of(services, item["market"])
        assert fill_shape is not None
        name = mapping.market_ticker(
            fill_shape.market,
            fill_shape.categorical,
            item["outcome"] if fill_shape.categorical else 0,
        )
        if ticker and name != ticker:
            continue
        yes = mapping.micros(item["price"])
        out.append(
            km.Fill(
                fill_id=item["id"],
                exchange_index=0,
                trade_id=item["id"],
                order_id=str(oid),
                ticker=name,
                market_ticker=name,
                outcome_side=order["token"],
                book_side=yes_book.yes_book_side(order["side"], order["token"]),
                side=order["token"],
                action=order["side"],
                count_fp=fixed.count(mapping.micros(item["qty"])),
                yes_price_dollars=fixed.dollars(yes),
                no_price_dollars=fixed.dollars(ONE - yes),
                is_taker=item["role"] == "taker",
                fee_cost=fixed.dollars(mapping.micros(item["fee"])),
                created_time=item["time"],
            )
        )
    return answer({"fills": out, "cursor": next_cursor or ""})


@router.get("/portfolio/settlements")
async def settlements(request: Request, limit: Limit = 100, cursor: Cursor = None) -> Response:
    """Payouts and void refunds. ``revenue`` is the payout in cents; the counts are the
    winning side's shares paid (one credit each), the losing side's are not kept."""
    principal = await caller(request, "read")
    services = services_of(request)
    await services.barrier()
    engine = services.projector.engine
    rows, next_cursor = await run_in_threadpool(
        reads.settlement_page, engine, principal.account, cursor or None, limit
    )
    profits = {
        p["market"]: p
        for p in await run_in_threadpool(reads.profit_by_market, engine, principal.account)
    }
    out = []
    for row in rows:
        view = await run_in_threadpool(reads.get_market, engine, row["market"])
        if view is None:
            continue
        amount = mapping.micros(row["amount"])
        outcome = 0
        if view["categorical"] and view["weights"]:
            weights = [mapping.micros(w) for w in view["weights"]]
            outcome = weights.index(max(weights))
        result = mapping.result(view, outcome) or "scalar"
        profit = profits.get(row["market"])
        out.append(
            km.Settlement(
                ticker=mapping.market_ticker(view["id"], view["categorical"], outcome),
                exchange_index=0,
                event_ticker=mapping.ticker_of(view["id"]),
                market_result=result,
                yes_count_fp=fixed.count(amount if result == "yes" else 0),
                yes_total_cost_dollars=fixed.dollars(0),
                no_count_fp=fixed.count(amount if result == "no" else 0),
                no_total_cost_dollars=fixed.dollars(0),
                revenue=fixed.cents_down(amount),
                settled_time=row["time"],
                fee_cost=fixed.dollars(mapping.micros(profit["fees"]) if profit else 0),
            )
        )
    return answer({"settlements": out, "cursor": next_cursor or ""})


@router.get("/portfolio/orders")
async def get_orders(
    request: Request,
    ticker: Annotated[str | None, Query(max_length=80)] = None,
    status: Annotated[str | None, Query(max_length=20)] = None,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> Response:
    principal = await caller(request, "read")
    services = services_of(request)
    market = await _market_id(request, services, ticker)
    if status is not None and status not in mapping.ORDER_STATUS_FILTER:
        raise KalshiError(400, "invalid_parameters", "status: resting, canceled or executed")
    wanted = None if status is None else mapping.ORDER_STATUS_FILTER[status]
    augury_status = (
        None if status is None else {"resting": "open", "executed": "filled"}.get(status, "closed")
    )
    await services.barrier()
    items, next_cursor = await run_in_threadpool(
        partial(
            reads.list_orders,
            services.projector.engine,
            principal.account,
            market=market,
            status=augury_status,
            cursor=cursor or None,
            limit=limit,
        )
    )
    user_id = str(principal.user.id)
    chosen = [o for o in items if wanted is None or o["status"] in wanted]
    out = await _orders_for_kalshi(request, services, chosen, user_id)
    if ticker:
        out = [o for o in out if o.ticker == ticker]
    return answer({"orders": out, "cursor": next_cursor or ""})


@router.get("/portfolio/orders/queue_positions")
async def queue_positions(
    request: Request,
    market_tickers: Annotated[str | None, Query(max_length=4000)] = None,
    event_ticker: Annotated[str | None, Query(max_length=80)] = None,
) -> Response:
    """Each resting order's place in its price's queue: ``queue_position_fp``, the
    contracts resting before it (what must trade before it can), for the markets named
    by ``market_tickers`` (comma-separated) or ``event_ticker``."""
    principal = await caller(request, "read")
    services = services_of(request)
    shapes = shapes_of(request)
    tickers = [t for t in (market_tickers or "").split(",") if t]
    if not tickers and not event_ticker:
        raise KalshiError(400, "invalid_parameters", "give market_tickers or event_ticker")
    markets = {shapes.by_ticker(services, t)[0].market for t in tickers}
    if event_ticker:
        market_id = mapping.market_id_of(event_ticker)
        if market_id is None or shapes.of(services, market_id) is None:
            raise not_found("event")
        markets.add(market_id)
    account = principal.account
    found = await services.query(lambda ex: live.queue_positions(ex, account, markets))
    wanted = set(tickers)
    out = []
    for order_id, market, outcome, ahead in found:
        shape = shapes.of(services, market)
        assert shape is not None
        ticker = mapping.market_ticker(market, shape.categorical, outcome)
        if tickers and not event_ticker and ticker not in wanted:
            continue  # another outcome of a categorical market named by one of its tickers
        out.append(
            {
                "order_id": str(order_id),
                "market_ticker": ticker,
                "queue_position_fp": fixed.count(ahead),
            }
        )
    return answer({"queue_positions": out})


@router.get("/portfolio/orders/{order_id}/queue_position")
async def queue_position(request: Request, order_id: str) -> Response:
    """One resting order's ``queue_position_fp`` (see ``queue_positions``)."""
    principal = await caller(request, "read")
    oid = orders.order_id_of(order_id)
    account = principal.account
    found = await services_of(request).query(
        lambda ex: live.queue_positions(ex, account, None, oid)
    )
    if not found:
        raise not_found("resting order")
    return answer({"queue_position_fp": fixed.count(found[0][3])})


@router.get("/portfolio/orders/{order_id}")
async def get_order(request: Request, order_id: str) -> Response:
    principal = await caller(request, "read")
    services = services_of(request)
    oid = orders.order_id_of(order_id)
    account = principal.account
    found = await services.query(lambda ex: live.open_order(ex, account, oid))
    if found is None:
        await services.barrier()
        found = await run_in_threadpool(reads.get_order, services.projector.engine, account, oid)
    if found is None:
        raise not_found("order")
    (order,) = await _orders_for_kalshi(request, services, [found], str(principal.user.id))
    return answer({"order": order})


# -- V2 order writes -------------------------------------------------------------------
async def placement(request: Request, body: bytes) -> dict[str, Any]:
    """Place the order of ``body`` for the signed caller: Kalshi's CreateOrderV2Response
    (also the hot route's, ``augury.api.kalshi.hot_route``)."""
    principal = await caller(request, "trade")
    order = decode(body, km.CreateOrder)
    return await orders.place(services_of(request), shapes_of(request), principal.account, order)


@router.post("/portfolio/events/orders", status_code=201)
async def create_order(request: Request) -> Response:
    """Shadowed by the hot route (``install``); kept for its declaration."""
    return answer(await placement(request, await request.body()), 201)


@router.post("/portfolio/events/orders/batched", status_code=201)
async def batch_create(request: Request) -> Response:
    """Each order on its own: one refused is an ``error`` in its place, the others stand."""
    principal = await caller(request, "trade")
    body = decode(await request.body(), km.BatchCreate)
    out: list[dict[str, Any]] = []
    for item in body.orders:
        try:
            out.append(
                await orders.place(
                    services_of(request), shapes_of(request), principal.account, item
                )
            )
        except KalshiError as error:
            out.append({"client_order_id": item.client_order_id, "error": _error(error)})
        except (ApiError, ServiceError) as error:
            out.append(
                {"client_order_id": item.client_order_id, "error": _error(from_api_error(error))}
            )
    return answer({"orders": out}, 201)


@router.delete("/portfolio/events/orders/batched")
async def batch_cancel(request: Request) -> Response:
    principal = await caller(request, "trade")
    body = decode(await request.body(), km.BatchCancel)
    out: list[dict[str, Any]] = []
    for item in body.orders:
        try:
            out.append(await orders.cancel(services_of(request), principal.account, item.order_id))
        except KalshiError as error:
            out.append(
                {"order_id": item.order_id, "reduced_by": fixed.count(0), "error": _error(error)}
            )
    return answer({"orders": out})


@router.delete("/portfolio/events/orders", status_code=204)
async def cancel_all(request: Request) -> Response:
    principal = await caller(request, "trade")
    account = principal.account
    await services_of(request).submit(dc.CancelAll(account, None), account, "")
    return Response(status_code=204)


@router.delete("/portfolio/events/orders/{order_id}")
async def cancel_order(request: Request, order_id: str) -> Response:
    principal = await caller(request, "trade")
    return answer(await orders.cancel(services_of(request), principal.account, order_id))


@router.post("/portfolio/events/orders/{order_id}/amend")
async def amend_order(request: Request, order_id: str) -> Response:
    principal = await caller(request, "trade")
    body = decode(await request.body(), km.AmendOrder)
    result = await orders.amend(
        services_of(request), shapes_of(request), principal.account, order_id, body
    )
    return answer(result)


@router.post("/portfolio/events/orders/{order_id}/decrease")
async def decrease_order(request: Request, order_id: str) -> Response:
    principal = await caller(request, "trade")
    body = decode(await request.body(), km.DecreaseOrder)
    result = await orders.decrease(services_of(request), principal.account, order_id, body)
    return answer(result)


def _error(error: KalshiError) -> dict[str, str]:
    return {"code": error.code, "message": error.message, "details": error.details}
