"""Trading: place, preview, cancel, cancel all, get and list my orders; complete sets.

Every command names the caller's own account: no route can act for another account.
Another account's order is answered exactly as a missing one (404 ``not_found``), so
order ids reveal nothing.
"""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from starlette.concurrency import run_in_threadpool

from augury.api import (
    convertors,  # noqa: F401  (registers the "{name:id}" path convertor)
    live,
    reads,
)
from augury.api import responses as r
from augury.api.deps import Reader, ServicesDep, Trader
from augury.api.errors import not_found, refused
from augury.api.routes.common import Cursor, IdempotencyKey, Limit, page
from augury.api.schemas import (
    AmendBody,
    CancelAllBody,
    ConvertBody,
    OrderBody,
    PreviewBody,
    SetsBody,
)
from augury.domain import commands as dc
from augury.domain import events as ev
from augury.domain import views
from augury.domain.exchange import Exchange, Result
from augury.domain.rejections import Rejected
from augury.domain.units import format_micros, notional
from augury.roles.services import Services
from augury.settings import format_instant

router = APIRouter(tags=["trading"])

# The routes say "{order_id:id}" so that "/orders/preview" and "/orders/cancel-all" never
# match them: a wrong method there is 405, not a 422 about the order id.
OrderId = Annotated[int, Path(ge=1, le=2**62)]
MarketPath = Annotated[str, Path(min_length=1, max_length=64)]


def tif_of(tif: str | None, order_type: str) -> dc.TimeInForce:
    """The order's time in force (the domain's default rule, ``time_in_force``)."""
    return dc.time_in_force(tif, order_type == "limit")


def _tif(body: OrderBody | PreviewBody) -> dc.TimeInForce:
    return tif_of(body.tif, body.type)


def _fill(venue: str, qty: int, own_price: int, fee: int) -> dict[str, Any]:
    return {
        "venue": venue,
        "qty": format_micros(qty),
        "price": format_micros(own_price),
        "fee": format_micros(fee),
    }


def _placement(result: Result, tick: int, order_type: str) -> dict[str, Any]:
    """The order as this command left it, read from the command's own events."""
    accepted = next(e for e in result.events if isinstance(e, ev.OrderAccepted))
    order_id = accepted.order_id
    yes = accepted.token == "yes"
    status = "open"
    filled = value = fees = 0
    fills: list[dict[str, Any]] = []
    for event in result.events:
        if isinstance(event, ev.BookFill) and order_id in (event.taker_order, event.resting_order):
            price, fee = (
                views.book_fill_price(event, tick, yes),
                views.book_fill_fee(event, order_id),
            )
            filled, value, fees = filled + event.qty, value + notional(event.qty, price), fees + fee
            fills.append(_fill("book", event.qty, price, fee))
        elif isinstance(event, ev.MakerFill) and event.order_id == order_id:
            filled, value, fees = filled + event.qty, value + abs(event.value), fees + event.fee
            fills.append(_fill("maker", event.qty, views.maker_fill_price(event), event.fee))
        elif isinstance(event, ev.OrderRested) and event.order_id == order_id:
            status = "resting"
        elif isinstance(event, ev.OrderClosed) and event.order_id == order_id:
            status = event.reason
    qty = accepted.qty
    average = views.average_price(value, filled)
    return {
        "id": order_id,
        "market": accepted.market,
        "outcome": accepted.outcome,
        "side": accepted.side,
        "token": accepted.token,
        "type": order_type,
        "price": format_micros(views.own_price(accepted.price, tick, yes)),
        "qty": format_micros(qty),
        "budget": format_micros(accepted.budget) if accepted.budget else None,
        "tif": accepted.tif,
        "expires_at": format_instant(accepted.expires_at) if accepted.expires_at else None,
        "post_only": accepted.post_only,
        "client_order_id": accepted.client_order_id or None,
        "self_trade": accepted.self_trade,
        "status": status,
        "filled": format_micros(filled),
        "remaining": format_micros(max(qty - filled, 0)),
        "value": format_micros(value),
        "fees": format_micros(fees),
        "average_price": None if average is None else format_micros(average),
        "fills": fills,
    }


@router.post("/orders", status_code=201, summary="Place an order", response_model=r.PlacementOut)
async def place_order(
    body: OrderBody, principal: Trader, services: ServicesDep, key: IdempotencyKey
) -> dict[str, Any]:
    """Limit or market; GTC, GTD (``expires_at``), IOC, FOK; post-only; by qty or budget.

    ``outcome`` and ``token`` say what is bought or sold (in a binary market, outcome 1
    is the NO side of outcome 0's book, and the order is reported that way). A market
    order is IOC unless ``tif`` is ``fok``; a buy may be sized by ``budget`` instead of
    ``qty``.
    """
    command = dc.PlaceOrder(
        account=principal.account,
        market=body.market,
        outcome=body.outcome,
        side=dc.Side(body.side),
        token=dc.Token(body.token),
        qty=body.qty,
        price=body.price,
        budget=body.budget,
        tif=_tif(body),
        expires_at=body.expires_at,
        post_only=body.post_only,
        client_order_id=body.client_order_id,
        self_trade=dc.SelfTrade(body.self_trade),
    )
    return await placed(services, command, body.type, key)


async def placed(
    services: Services, command: dc.PlaceOrder, order_type: str, key: str
) -> dict[str, Any]:
    """Submit the order and answer what it did (also the hot path's, fast_orders.py)."""
    result = await services.submit(command, command.account, key)
    tick = await services.tick_of(command.market)
    return _placement(result, tick, order_type)


@router.post(
    "/orders/preview",
    summary="Preview an order's cost without placing it",
    response_model=r.PreviewOut,
)
async def preview_order(
    body: PreviewBody, principal: Reader, services: ServicesDep
) -> dict[str, Any]:
    """The router's plan for this order now (book and maker), summed up; nothing changes.

    Balances are not checked. ``total`` is what a buy would pay (fees included) or a
    sell would receive (fees deducted).
    """
    fields = body.model_dump(exclude={"type"})
    return await previewed(services, principal.account, body.type, fields)


async def previewed(
    services: Services, account: str, order_type: str, fields: dict[str, Any]
) -> dict[str, Any]:
    """Preview ``fields`` (``PreviewBody``'s but ``type``) for ``account`` now (also the
    hot path's, fast_reads.py)."""
    now = services.now_us()
    tif = fields["tif"]
    command = dc.PlaceOrder(
        account=account,
        market=fields["market"],
        outcome=fields["outcome"],
        side=dc.Side(fields["side"]),
        token=dc.Token(fields["token"]),
        qty=fields["qty"],
        price=fields["price"] if order_type == "limit" else None,
        budget=fields["budget"],
        tif=tif_of(tif, order_type),
        # previewed as if its expiry lay ahead (it cannot change the plan)
        expires_at=now + 1 if tif == "gtd" else None,
        self_trade=dc.SelfTrade(fields["self_trade"]),
    )

    def run(ex: Exchange) -> dict[str, Any]:
        return live.preview(ex, command, now)

    try:
        result: dict[str, Any] = await services.query(run)
    except Rejected as rejection:
        raise refused(rejection.code.value, rejection.message) from None
    return result


@router.get("/orders", summary="List my orders", response_model=r.OrderPage)
async def list_orders(
    principal: Reader,
    services: ServicesDep,
    market: Annotated[str | None, Query(max_length=64)] = None,
    status: Literal[
        "open",
        "closed",
        "resting",
        "filled",
        "cancelled",
        "expired",
        "unfilled",
        "self_trade",
        "market_closed",
        "replaced",
    ]
    | None = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> dict[str, Any]:
    """Newest first. ``open`` means accepted and not yet closed; ``closed`` the rest."""
    await services.barrier()
    items, next_cursor = await run_in_threadpool(
        partial(
            reads.list_orders,
            services.projector.engine,
            principal.account,
            market=market,
            status=status,
            cursor=cursor,
            limit=limit,
        )
    )
    return page(items, next_cursor)


@router.get("/orders/{order_id:id}", summary="Get one of my orders", response_model=r.OrderOut)
async def get_order(order_id: OrderId, principal: Reader, services: ServicesDep) -> dict[str, Any]:
    account = principal.account
    found: dict[str, Any] | None = await services.query(
        lambda ex: live.open_order(ex, account, order_id)
    )
    if found is None:
        await services.barrier()
        found = await run_in_threadpool(
            reads.get_order, services.projector.engine, account, order_id
        )
    if found is None:
        raise not_found("order")
    return found


@router.delete(
    "/orders/{order_id:id}", summary="Cancel one of my orders", response_model=r.CancelledOut
)
async def cancel_order(
    order_id: OrderId, principal: Trader, services: ServicesDep, key: IdempotencyKey
) -> dict[str, Any]:
    return await cancelled(services, principal.account, order_id, key)


async def cancelled(services: Services, account: str, order_id: int, key: str) -> dict[str, Any]:
    """Cancel one of ``account``'s orders and answer (also the hot path's, fast_orders.py)."""
    result = await services.submit_raw(dc.CancelOrder(account, order_id), account, key)
    if not result.ok:
        if result.code == "unknown_order":  # missing, closed or another account's
            raise not_found("open order")
        raise refused(result.code, result.message)
    released = sum(e.released for e in result.events if isinstance(e, ev.OrderClosed))
    return {"id": order_id, "status": "cancelled", "released": format_micros(released)}


@router.post(
    "/orders/{order_id:id}/amend",
    summary="Amend one of my resting orders: its price and unfilled size",
    response_model=r.AmendedOut,
)
async def amend_order(
    order_id: OrderId,
    body: AmendBody,
    principal: Trader,
    services: ServicesDep,
    key: IdempotencyKey,
) -> dict[str, Any]:
    """``price`` is the new limit in the order's own token, ``qty`` its new unfilled size.

    The same price and a smaller size reduce the order in place: it keeps its id and its
    place in the queue, and what it reserved for the part taken off comes back. Anything
    else (a new price, a larger size, a new ``client_order_id``) closes it (status
    ``replaced``) and places its replacement in the same command: a new id at the back of
    the queue, trading on arrival if it crosses, with the order's side, token, time in
    force, expiry, post-only and self-trade settings. If the replacement would be refused
    (funds, post-only, price or size), the amendment is refused and the order stays.
    """
    command = dc.AmendOrder(principal.account, order_id, body.price, body.qty, body.client_order_id)
    return await amended(services, command, key)


async def amended(services: Services, command: dc.AmendOrder, key: str) -> dict[str, Any]:
    """Amend and answer ``AmendedOut`` (also the Kalshi facade's amend and decrease)."""
    account, order_id = command.account, command.order_id
    result = await services.submit_raw(command, account, key)
    if not result.ok:
        if result.code == "unknown_order":  # missing, closed or another account's
            raise not_found("open order")
        raise refused(result.code, result.message)
    accepted = next((e for e in result.events if isinstance(e, ev.OrderAccepted)), None)
    if accepted is None:  # reduced in place: the order as it rests now
        order = await services.query(lambda ex: live.open_order(ex, account, order_id))
        return {"previous_id": order_id, "replaced": False, "order": order, "placement": None}
    tick = await services.tick_of(accepted.market)
    placement = _placement(result, tick, "limit")
    return {"previous_id": order_id, "replaced": True, "order": None, "placement": placement}


@router.post(
    "/orders/cancel-all",
    summary="Cancel all my open orders (optionally in a market)",
    response_model=r.CancelAllOut,
)
async def cancel_all(
    principal: Trader,
    services: ServicesDep,
    key: IdempotencyKey,
    body: CancelAllBody | None = None,
) -> dict[str, Any]:
    market = body.market if body else None
    result = await services.submit(dc.CancelAll(principal.account, market), principal.account, key)
    cancelled = [e.order_id for e in result.events if isinstance(e, ev.OrderClosed)]
    return {"cancelled": cancelled}


@router.post(
    "/markets/{market}/mint",
    summary="Mint complete sets (1 credit each)",
    response_model=r.MintedOut,
)
async def mint_sets(
    market: MarketPath,
    body: SetsBody,
    principal: Trader,
    services: ServicesDep,
    key: IdempotencyKey,
) -> dict[str, Any]:
    await services.submit(dc.MintSets(principal.account, market, body.qty), principal.account, key)
    return {"market": market, "minted": format_micros(body.qty)}


@router.post(
    "/markets/{market}/redeem",
    summary="Redeem complete sets (or a YES+NO pair)",
    response_model=r.RedeemedOut,
)
async def redeem_sets(
    market: MarketPath,
    body: SetsBody,
    principal: Trader,
    services: ServicesDep,
    key: IdempotencyKey,
) -> dict[str, Any]:
    command = dc.RedeemSets(principal.account, market, body.qty, body.outcome)
    await services.submit(command, principal.account, key)
    return {"market": market, "redeemed": format_micros(body.qty), "outcome": body.outcome}


@router.post(
    "/markets/{market}/convert",
    summary="Convert NO on one outcome to YES on the others",
    response_model=r.ConvertedOut,
)
async def convert_no(
    market: MarketPath,
    body: ConvertBody,
    principal: Trader,
    services: ServicesDep,
    key: IdempotencyKey,
) -> dict[str, Any]:
    command = dc.ConvertNo(principal.account, market, body.outcome, body.qty, body.to_yes)
    await services.submit(command, principal.account, key)
    return {
        "market": market,
        "outcome": body.outcome,
        "qty": format_micros(body.qty),
        "to_yes": body.to_yes,
    }
