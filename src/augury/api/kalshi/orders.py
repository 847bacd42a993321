"""Kalshi's V2 order endpoints, as Augury's own commands.

Placing is ``PlaceOrder`` through the same path as ``POST /api/v1/orders``
(``routes.trading.placed``), cancelling is ``CancelOrder`` (``routes.trading.cancelled``),
cancelling all is ``CancelAll``. A ``client_order_id`` becomes the command's idempotency
key, so sending it again answers the first order and never places a second (within the
engine's idempotency window). Amend and decrease are ``AmendOrder``
(``routes.trading.amended``): a smaller size at the same price is reduced in place (same
id, same place in the queue), anything else replaces the order in one command that is
refused whole if the replacement would be (a new id at the back of the queue, keeping
the client_order_id unless ``updated_client_order_id`` names another); decreasing to
zero is a cancel. A bid or an ask is named in Augury's terms by
``augury.domain.yes_book`` from what the account holds now.
"""

from __future__ import annotations

from typing import Any

import msgspec

from augury.api import live
from augury.api.errors import ApiError, as_api_error
from augury.api.kalshi import mapping
from augury.api.kalshi import models as km
from augury.api.kalshi.common import Shape, Shapes, now_ms, peek
from augury.api.kalshi.errors import KalshiError, bad_request, not_found
from augury.api.routes.trading import amended, cancelled, placed
from augury.domain import commands as dc
from augury.domain import fixed, views, yes_book
from augury.domain.units import ONE
from augury.roles.errors import ServiceError
from augury.roles.services import Services

KEY_PREFIX = "kalshi-order:"


def parse_amount(text: str, name: str) -> int:
    try:
        return fixed.parse_fixed(text)
    except ValueError:
        raise bad_request(f"{name}: a decimal string such as '0.56'", "invalid_" + name) from None


async def place(
    services: Services,
    shapes: Shapes,
    account: str,
    body: km.CreateOrder,
    key: str | None = None,
) -> dict[str, Any]:
    """Place ``body`` for ``account``; Kalshi's CreateOrderV2Response. The idempotency
    key is ``key``, else the client_order_id's (none without one)."""
    shape, outcome = shapes.by_ticker(services, body.ticker)
    price = parse_amount(body.price, "price")
    qty = parse_amount(body.count, "count")
    # what the account holds now names the order; the engine checks the order itself
    # against the state it executes it on (a query would be just as racy, and dearer)
    held_yes, held_no = peek(
        services, lambda ex: live.held_pair(ex, account, shape.market, outcome)
    )
    side, token, own = yes_book.from_yes_book(body.side, price, qty, held_yes, held_no)
    if body.reduce_only and side != dc.Side.SELL:
        raise bad_request(
            "reduce_only: the account holds no position this order reduces",
            "reduce_only_would_increase",
        )
    tif = mapping.TIME_IN_FORCE[body.time_in_force]
    expires_at = None
    if body.expiration_time is not None:
        if tif != dc.TimeInForce.GTC:
            raise bad_request("expiration_time: only for good_till_canceled orders")
        tif, expires_at = dc.TimeInForce.GTD, body.expiration_time * 1_000_000
    command = dc.PlaceOrder(
        account=account,
        market=shape.market,
        outcome=outcome,
        side=side,
        token=token,
        qty=qty,
        price=own,
        tif=tif,
        expires_at=expires_at,
        post_only=bool(body.post_only),
        client_order_id=body.client_order_id or None,
        self_trade=mapping.SELF_TRADE[body.self_trade_prevention_type],
    )
    if key is None:
        key = KEY_PREFIX + body.client_order_id if body.client_order_id else ""
    try:
        order = await placed(services, command, "limit", key)
    except (ApiError, ServiceError) as error:
        if error.code != "idempotency_key_reused":
            raise
        order = await _named_otherwise(services, command, body, (price, qty), key)
    return _placement_answer(order)


async def _named_otherwise(
    services: Services,
    command: dc.PlaceOrder,
    body: km.CreateOrder,
    terms: tuple[int, int],
    key: str,
) -> dict[str, Any]:
    """The first order of ``key`` when it is this Kalshi order named the other way.

    Holdings name a bid or an ask, and they move: a bid sent again after its first
    sending sold the NO it held (now escrowed) is named a YES buy, which the engine
    takes for other terms under the same key. Sent under the other name, the engine
    answers the first order if that is it (a keyed command never executes twice), and
    refuses it again otherwise (409)."""
    price, qty = terms
    held = 0 if command.side == dc.Side.SELL else qty  # what picks the other branch
    side, token, own = yes_book.from_yes_book(body.side, price, qty, held, held)
    other_name = (side, token) != (command.side, command.token)
    if qty > 0 and other_name and not (body.reduce_only and side != dc.Side.SELL):
        other = msgspec.structs.replace(command, side=side, token=token, price=own)
        try:
            return await placed(services, other, "limit", key)
        except (ApiError, ServiceError) as error:
            if error.code != "idempotency_key_reused":
                raise
    raise KalshiError(
        409, "duplicate_client_order_id", "client_order_id names an order with other terms"
    )


def _placement_answer(order: dict[str, Any]) -> dict[str, Any]:
    filled = mapping.micros(order["filled"])
    average = order["average_price"]
    fee_each = views.average_price(mapping.micros(order["fees"]), filled)
    return {
        "order_id": str(order["id"]),
        "client_order_id": order["client_order_id"] or "",
        "fill_count": fixed.count(filled),
        "remaining_count": fixed.count(mapping.micros(order["remaining"])),
        "average_fill_price": (
            None
            if average is None
            else fixed.dollars(yes_book.yes_price(mapping.micros(average), order["token"]))
        ),
        "average_fee_paid": None if fee_each is None else fixed.dollars(fee_each),
        "ts_ms": now_ms(),
    }


def order_id_of(text: str) -> int:
    if not text.isdigit() or len(text) > 18 or int(text) < 1:
        raise not_found("order")
    return int(text)


async def open_order(services: Services, account: str, order_id: int) -> dict[str, Any]:
    found = await services.query(lambda ex: live.open_order(ex, account, order_id))
    if found is None:
        raise not_found("open order")
    result: dict[str, Any] = found
    return result


async def cancel(services: Services, account: str, order_text: str) -> dict[str, Any]:
    """Cancel one open order; Kalshi's CancelOrderV2Response (``reduced_by``: what was left)."""
    order_id = order_id_of(order_text)
    order = await open_order(services, account, order_id)
    try:
        await cancelled(services, account, order_id, "")
    except (ApiError, ServiceError) as error:
        if as_api_error(error).status == 404:
            raise not_found("open order") from None
        raise
    return {
        "order_id": order_text,
        "client_order_id": order["client_order_id"] or "",
        "reduced_by": fixed.count(mapping.micros(order["remaining"])),
        "ts_ms": now_ms(),
    }


def _own_price(order: dict[str, Any], yes_price: int) -> int:
    """A YES price as the order's own (its token's) price."""
    return yes_book.yes_price(yes_price, order["token"])  # the same map both ways


async def _amended(
    services: Services, account: str, order: dict[str, Any], price: int, remaining: int,
    client_order_id: str | None,
) -> dict[str, Any]:  # fmt: skip
    """``AmendOrder`` (the domain's one rule: smaller in place, else an atomic replacement)
    answered as CreateOrderV2Response: what this request placed and filled."""
    command = dc.AmendOrder(account, order["id"], price, remaining, client_order_id)
    try:
        done = await amended(services, command, "")
    except (ApiError, ServiceError) as error:
        if as_api_error(error).status == 404:
            raise not_found("open order") from None
        raise
    if done["replaced"]:
        return _placement_answer(done["placement"])
    kept = done["order"]
    return {
        "order_id": str(kept["id"]),
        "client_order_id": kept["client_order_id"] or "",
        "fill_count": fixed.count(0),
        "remaining_count": fixed.count(mapping.micros(kept["remaining"])),
        "average_fill_price": None,
        "average_fee_paid": None,
        "ts_ms": now_ms(),
    }


async def amend(
    services: Services, shapes: Shapes, account: str, order_text: str, body: km.AmendOrder
) -> dict[str, Any]:
    """Kalshi's amend: ``count`` is the order's new total (filled + resting)."""
    order = await open_order(services, account, order_id_of(order_text))
    shape = shapes.of(services, order["market"])
    assert shape is not None
    ticker = mapping.market_ticker(shape.market, shape.categorical, order["outcome"])
    if body.ticker != ticker or body.side != yes_book.yes_book_side(order["side"], order["token"]):
        raise bad_request("ticker and side must be the order's", "order_mismatch")
    total = parse_amount(body.count, "count")
    filled = mapping.micros(order["filled"])
    if total <= filled:
        raise bad_request("count: more than the order has filled already", "invalid_count")
    price = _own_price(order, parse_amount(body.price, "price"))
    new_id = body.updated_client_order_id or None
    return await _amended(services, account, order, price, total - filled, new_id)


async def decrease(
    services: Services, account: str, order_text: str, body: km.DecreaseOrder
) -> dict[str, Any]:
    """Kalshi's decrease: in place (same id, same place in the queue); to zero cancels."""
    order = await open_order(services, account, order_id_of(order_text))
    remaining = mapping.micros(order["remaining"])
    if (body.reduce_by is None) == (body.reduce_to is None):
        raise bad_request("give one of reduce_by and reduce_to")
    if body.reduce_by is not None:
        left = remaining - parse_amount(body.reduce_by, "reduce_by")
    else:
        left = parse_amount(body.reduce_to or "", "reduce_to")
    if not 0 <= left < remaining:
        raise bad_request("the order can only be decreased, to zero at least", "invalid_count")
    base = {"order_id": order_text, "client_order_id": order["client_order_id"] or ""}
    if left == 0:
        await cancel(services, account, order_text)
        return {**base, "remaining_count": fixed.count(0), "ts_ms": now_ms()}
    own = mapping.micros(order["price"])
    reduced = await _amended(services, account, order, own, left, None)
    return {**base, "remaining_count": reduced["remaining_count"], "ts_ms": now_ms()}


def fill_cost(totals: dict[str, str], role: str, token: str) -> int:
    """What an order paid or got for its fills of ``role`` (taker, maker), in its token."""
    qty = mapping.micros(totals.get(f"{role}_qty"))
    yes_value = mapping.micros(totals.get(f"{role}_yes_value"))
    return yes_value if token == "yes" else qty - yes_value


def kalshi_order(
    order: dict[str, Any], shape: Shape, user_id: str, totals: dict[str, str]
) -> km.Order:
    """An Augury order view (live or read model) and its fills' totals
    (``reads.order_fill_totals``) as Kalshi's Order."""
    own = mapping.micros(order["price"])
    yes = yes_book.yes_price(own, order["token"])
    token = order["token"]
    return km.Order(
        order_id=str(order["id"]),
        user_id=user_id,
        client_order_id=order["client_order_id"] or "",
        ticker=mapping.market_ticker(shape.market, shape.categorical, order["outcome"]),
        outcome_side=token,
        book_side=yes_book.yes_book_side(order["side"], token),
        side=token,
        action=order["side"],
        type="limit",
        status=mapping.ORDER_STATUS.get(order["status"], "canceled"),
        yes_price_dollars=fixed.dollars(yes),
        no_price_dollars=fixed.dollars(ONE - yes),
        fill_count_fp=fixed.count(mapping.micros(order["filled"])),
        remaining_count_fp=fixed.count(mapping.micros(order["remaining"])),
        initial_count_fp=fixed.count(mapping.micros(order["qty"])),
        taker_fill_cost_dollars=fixed.dollars(fill_cost(totals, "taker", token)),
        maker_fill_cost_dollars=fixed.dollars(fill_cost(totals, "maker", token)),
        taker_fees_dollars=fixed.dollars(mapping.micros(totals.get("taker_fees"))),
        maker_fees_dollars=fixed.dollars(mapping.micros(totals.get("maker_fees"))),
        expiration_time=order["expires_at"],
        created_time=order.get("created_at"),
        last_update_time=order.get("updated_at"),
        self_trade_prevention_type=mapping.SELF_TRADE_NAME.get(order["self_trade"]),
    )
