"""History reads from the read models (projections) and the API's own metadata tables.

Synchronous SQLAlchemy Core queries (run them in a worker thread). Every list is
keyset-paginated: a cursor is an opaque base64url token naming the last row of the
previous page, so pages stay stable while rows are added. Amounts leave here as
decimal strings, instants as RFC 3339: no float is ever produced.

Nothing here writes.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from functools import partial
from typing import Any, Literal

import msgspec
from sqlalchemy import Engine, and_, case, func, or_, select, tuple_
from sqlalchemy.sql.elements import ColumnElement

from augury.api.errors import INVALID_CURSOR, ApiError
from augury.domain import scalar, views
from augury.domain.scalar import ScalarRange
from augury.domain.units import format_micros, parse_micros
from augury.identity.store import market_meta
from augury.projections import tables as t
from augury.settings import format_instant

MarketSort = Literal["newest", "oldest", "close_time"]
OPEN_STATUSES = ("open", "resting")


def encode_cursor(values: list[Any]) -> str:
    raw = json.dumps(values, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, types: tuple[type, ...]) -> list[Any]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise ApiError(422, INVALID_CURSOR, "the cursor is not one this API gave") from None
    if (
        not isinstance(values, list)
        or len(values) != len(types)
        or not all(
            isinstance(v, k) and not isinstance(v, bool) for v, k in zip(values, types, strict=True)
        )
    ):
        raise ApiError(422, INVALID_CURSOR, "the cursor is not one this API gave")
    return values


# -- markets ---------------------------------------------------------------------------
def market_view(row: Any) -> dict[str, Any]:
    spec = json.loads(row.resolution_spec) if row.resolution_spec else {}
    weights = json.loads(row.weights) if row.weights else None
    return {
        "id": row.market,
        "question": row.question,
        "description": row.description or "",
        "rules": row.rules or "",
        "category": row.category or "",
        "outcomes": json.loads(row.outcomes),
        "categorical": row.categorical,
        "type": "scalar" if row.scalar else "categorical" if row.categorical else "binary",
        "scalar": scalar_view(row.scalar, weights),
        "status": row.status,
        "status_reason": row.status_reason,
        "close_time": format_instant(row.close_at),
        "tick_size": format_micros(row.tick),
        "lot_size": format_micros(row.lot),
        "liquidity": format_micros(row.liquidity),
        "subsidy": format_micros(row.subsidy),
        "fee_bps": row.fee_bps,
        "creator": row.creator,
        "resolution_spec": spec,
        "block_affiliated_trading": row.block_affiliated_trading,
        "affiliated_trading_reason": row.affiliated_trading_reason,
        "weights": None if weights is None else [format_micros(w) for w in weights],
        "created_at": format_instant(row.created_us),
    }


def scalar_view(raw: str | None, weights: list[int] | None) -> dict[str, Any] | None:
    """A scalar market's range in the question's units, and the value it resolved to."""
    if not raw:
        return None
    rng = msgspec.json.decode(raw, type=ScalarRange)
    value = None if weights is None else scalar.value_of_weight(rng, weights[0])
    return {
        "low": format_micros(rng.low),
        "high": format_micros(rng.high),
        "step": format_micros(rng.step),
        "units": rng.units,
        "resolved_value": None if value is None else format_micros(value),
    }


def scalar_range(view: dict[str, Any]) -> ScalarRange | None:
    """The range of a market view (``market_view``), or None for a binary or
    categorical market."""
    found = view.get("scalar")
    if not found:
        return None
    low, high, step = (parse_micros(found[k]) for k in ("low", "high", "step"))
    return ScalarRange(low, high, step, found["units"])


def _market_select() -> Any:
    m, meta = t.markets, market_meta
    return select(
        m,
        meta.c.description,
        meta.c.rules,
        meta.c.category,
        meta.c.resolution_spec,
    ).select_from(m.outerjoin(meta, meta.c.market == m.c.market))


def get_market(engine: Engine, market: str) -> dict[str, Any] | None:
    with engine.connect() as conn:
        row = conn.execute(_market_select().where(t.markets.c.market == market)).first()
    return None if row is None else market_view(row)


def list_markets(
    engine: Engine,
    *,
    q: str | None,
    category: str | None,
    status: str | None,
    sort: MarketSort,
    cursor: str | None,
    limit: int,
    ids: tuple[str, ...] | None = None,
    categories: tuple[str, ...] | None = None,
    statuses: tuple[str, ...] | None = None,
    close_from_us: int | None = None,
    close_to_us: int | None = None,
) -> tuple[list[dict[str, Any]], str | None]:
    """A page of markets; ``ids``, ``categories`` and ``statuses`` keep those in the
    tuples, ``close_from_us``/``close_to_us`` those closing in [from, to]."""
    m = t.markets
    query = _market_select()
    if ids is not None:
        query = query.where(m.c.market.in_(ids))
    if categories is not None:
        query = query.where(func.coalesce(market_meta.c.category, "").in_(categories))
    if statuses is not None:
        query = query.where(m.c.status.in_(statuses))
    if close_from_us is not None:
        query = query.where(m.c.close_at >= close_from_us)
    if close_to_us is not None:
        query = query.where(m.c.close_at <= close_to_us)
    if q:
        query = query.where(func.lower(m.c.question).contains(q.lower(), autoescape=True))
    if category:
        query = query.where(market_meta.c.category == category)
    if status:
        query = query.where(m.c.status == status)
    key_col = m.c.close_at if sort == "close_time" else m.c.created_seq
    descending = sort == "newest"
    if cursor is not None:
        value, last = decode_cursor(cursor, (int, str))
        position = tuple_(key_col, m.c.market)
        bound = tuple_(value, last)
        query = query.where(position < bound if descending else position > bound)
    order = (key_col.desc(), m.c.market.desc()) if descending else (key_col, m.c.market)
    with engine.connect() as conn:
        rows = conn.execute(query.order_by(*order).limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = None
    if more:
        last_row = rows[-1]
        value = last_row.close_at if sort == "close_time" else last_row.created_seq
        next_cursor = encode_cursor([value, last_row.market])
    return [market_view(r) for r in rows], next_cursor


# -- orders ----------------------------------------------------------------------------
def order_view(row: Any, tick: int) -> dict[str, Any]:
    return {
        "id": row.order_id,
        "market": row.market,
        "outcome": row.outcome,
        "side": row.side,
        "token": row.token,
        "price": format_micros(views.own_price(row.price, tick, row.token == "yes")),
        "qty": format_micros(row.qty),
        "budget": format_micros(row.budget) if row.budget else None,
        "tif": row.tif,
        "expires_at": format_instant(row.expires_at) if row.expires_at else None,
        "post_only": row.post_only,
        "client_order_id": row.client_order_id or None,
        "self_trade": row.self_trade,
        "status": row.status,
        "filled": format_micros(row.filled),
        "remaining": format_micros(row.remaining),
        "escrow": format_micros(row.escrow),
        "queue_ahead": None,  # the read models keep no queue: the live book does
        "created_at": format_instant(row.created_us),
        "updated_at": format_instant(row.updated_us),
    }


def _order_select() -> Any:
    o, m = t.orders, t.markets
    return select(o, m.c.tick.label("market_tick")).select_from(o.join(m, m.c.market == o.c.market))


def get_order(engine: Engine, account: str, order_id: int) -> dict[str, Any] | None:
    """The order if it exists and belongs to ``account`` (else None: never another's)."""
    o = t.orders
    with engine.connect() as conn:
        row = conn.execute(
            _order_select().where(o.c.order_id == order_id, o.c.account == account)
        ).first()
    return None if row is None else order_view(row, row.market_tick)


def list_orders(
    engine: Engine,
    account: str,
    *,
    market: str | None,
    status: str | None,
    cursor: str | None,
    limit: int,
) -> tuple[list[dict[str, Any]], str | None]:
    o = t.orders
    query = _order_select().where(o.c.account == account)
    if market:
        query = query.where(o.c.market == market)
    if status == "open":
        query = query.where(o.c.status.in_(OPEN_STATUSES))
    elif status == "closed":
        query = query.where(o.c.status.not_in(OPEN_STATUSES))
    elif status:
        query = query.where(o.c.status == status)
    if cursor is not None:
        (last,) = decode_cursor(cursor, (int,))
        query = query.where(o.c.order_id < last)
    with engine.connect() as conn:
        rows = conn.execute(query.order_by(o.c.order_id.desc()).limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = encode_cursor([rows[-1].order_id]) if more else None
    return [order_view(r, r.market_tick) for r in rows], next_cursor


# -- fills, trades, candles ------------------------------------------------------------
def _fill_view(row: Any, account: str | None) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": f"{row.seq}-{row.idx}",
        "time": format_instant(row.ts_us),
        "market": row.market,
        "outcome": row.outcome,
        "kind": row.kind,
        "price": format_micros(row.price),
        "qty": format_micros(row.qty),
        "rules_version": row.rules_version,
    }
    if account is not None:
        taker = row.taker_account == account
        view.update(
            role="taker" if taker else "maker",
            order_id=row.taker_order if taker else row.resting_order,
            fee=format_micros(row.fee if taker else 0),
        )
    return view


def _fill_page(
    engine: Engine,
    query: Any,
    view: Callable[[Any], dict[str, Any]],
    cursor: str | None,
    limit: int,
) -> tuple[list[dict[str, Any]], str | None]:
    """A page of ``query``'s fills (a select of ``fills``), newest first, each as ``view``."""
    f = t.fills
    if cursor is not None:
        seq, idx = decode_cursor(cursor, (int, int))
        query = query.where(tuple_(f.c.seq, f.c.idx) < tuple_(seq, idx))
    with engine.connect() as conn:
        rows = conn.execute(query.order_by(f.c.seq.desc(), f.c.idx.desc()).limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = encode_cursor([rows[-1].seq, rows[-1].idx]) if more else None
    return [view(r) for r in rows], next_cursor


def list_fills(
    engine: Engine, account: str, *, market: str | None, cursor: str | None, limit: int
) -> tuple[list[dict[str, Any]], str | None]:
    f = t.fills
    where = or_(f.c.taker_account == account, f.c.resting_account == account)
    if market:
        where = and_(where, f.c.market == market)
    return _fill_page(
        engine, select(f).where(where), partial(_fill_view, account=account), cursor, limit
    )


def recent_trades(
    engine: Engine, market: str, *, outcome: int | None, cursor: str | None, limit: int
) -> tuple[list[dict[str, Any]], str | None]:
    f = t.fills
    where: ColumnElement[bool] = f.c.market == market
    if outcome is not None:
        where = and_(where, f.c.outcome == outcome)
    return _fill_page(
        engine, select(f).where(where), partial(_fill_view, account=None), cursor, limit
    )


def candles(
    engine: Engine,
    market: str,
    *,
    outcome: int,
    interval: str,
    from_us: int | None,
    to_us: int | None,
    limit: int,
    rng: ScalarRange | None = None,
) -> list[dict[str, Any]]:
    """``rng``: a scalar market's range; each candle then has its prices in the question's
    units too (``implied``, :func:`augury.domain.scalar.implied_value`)."""
    c = t.candles
    query = select(c).where(c.c.market == market, c.c.outcome == outcome, c.c.interval == interval)
    if from_us is not None:
        query = query.where(c.c.bucket_us >= from_us)
    if to_us is not None:
        query = query.where(c.c.bucket_us < to_us)
    with engine.connect() as conn:
        rows = conn.execute(query.order_by(c.c.bucket_us).limit(limit)).all()
    return [
        {
            "start": format_instant(r.bucket_us),
            "open": format_micros(r.open),
            "high": format_micros(r.high),
            "low": format_micros(r.low),
            "close": format_micros(r.close),
            "volume": format_micros(r.volume),
            "trades": r.trades,
            "implied": None
            if rng is None
            else {
                k: format_micros(scalar.implied_value(rng, getattr(r, k)))
                for k in ("open", "high", "low", "close")
            },
        }
        for r in rows
    ]


def tape(
    engine: Engine,
    market: str,
    *,
    outcome: int | None,
    from_us: int | None,
    to_us: int | None,
    cursor: str | None,
    limit: int,
) -> tuple[list[dict[str, Any]], str | None]:
    """Trades, newest first, each with its taker's ``taker_side`` and ``taker_token``
    (the taker order's); times in [from_us, to_us] when given."""
    f, o = t.fills, t.orders
    query = (
        select(f, o.c.side.label("taker_side"), o.c.token.label("taker_token"))
        .select_from(f.join(o, o.c.order_id == f.c.taker_order))
        .where(f.c.market == market)
    )
    if outcome is not None:
        query = query.where(f.c.outcome == outcome)
    if from_us is not None:
        query = query.where(f.c.ts_us >= from_us)
    if to_us is not None:
        query = query.where(f.c.ts_us <= to_us)
    return _fill_page(engine, query, _tape_view, cursor, limit)


def _tape_view(row: Any) -> dict[str, Any]:
    view = _fill_view(row, None)
    view.update(taker_side=row.taker_side, taker_token=row.taker_token)
    return view


def trade_stats(
    engine: Engine, markets: list[str], since_us: int
) -> dict[tuple[str, int], dict[str, str]]:
    """(market, outcome) -> ``volume``, ``volume_since`` (traded at or after
    ``since_us``) and ``last_price`` (the newest trade's), of the ``markets`` that traded."""
    f = t.fills
    recent = case((f.c.ts_us >= since_us, f.c.qty), else_=0)
    with engine.connect() as conn:
        totals = conn.execute(
            select(f.c.market, f.c.outcome, func.sum(f.c.qty), func.sum(recent), func.max(f.c.seq))
            .where(f.c.market.in_(markets))
            .group_by(f.c.market, f.c.outcome)
        ).all()
        lasts = conn.execute(
            select(f.c.market, f.c.outcome, f.c.seq, f.c.price).where(
                f.c.market.in_(markets), f.c.seq.in_([row[4] for row in totals])
            )
        ).all()
    newest = {(r.market, r.outcome, r.seq): r.price for r in lasts}
    return {
        (market, outcome): {
            "volume": format_micros(int(volume or 0)),
            "volume_since": format_micros(int(since or 0)),
            "last_price": format_micros(newest.get((market, outcome, seq), 0)),
        }
        for market, outcome, volume, since, seq in totals
    }


def categories(engine: Engine) -> list[str]:
    """Every market category in use ("" for markets without one), sorted."""
    m, meta = t.markets, market_meta
    query = select(func.coalesce(meta.c.category, "").distinct()).select_from(
        m.outerjoin(meta, meta.c.market == m.c.market)
    )
    with engine.connect() as conn:
        return sorted(str(row[0]) for row in conn.execute(query))


def order_fill_totals(engine: Engine, order_ids: list[int]) -> dict[int, dict[str, str]]:
    """Per order that traded: ``taker_qty``, ``taker_yes_value`` (shares times the YES
    price), ``taker_fees``, and the same ``maker_`` totals of its fills as the resting
    order (which pays no fee)."""
    f = t.fills
    out: dict[int, dict[str, str]] = {}
    with engine.connect() as conn:
        for role, column in (("taker", f.c.taker_order), ("maker", f.c.resting_order)):
            rows = conn.execute(
                select(column, func.sum(f.c.qty), func.sum(f.c.qty * f.c.price), func.sum(f.c.fee))
                .where(column.in_(order_ids))
                .group_by(column)
            ).all()
            for order_id, qty, value, fee in rows:
                totals = out.setdefault(int(order_id), {})
                totals[f"{role}_qty"] = format_micros(int(qty or 0))
                totals[f"{role}_yes_value"] = format_micros(int(value or 0) // 1_000_000)
                totals[f"{role}_fees"] = format_micros(int(fee or 0) if role == "taker" else 0)
    return out


def cost_basis(engine: Engine, account: str) -> dict[tuple[str, int], int]:
    """(market, token) -> cost basis in micros of what ``account`` holds."""
    p = t.positions
    with engine.connect() as conn:
        rows = conn.execute(
            select(p.c.market, p.c.token, p.c.cost_basis).where(p.c.account == account)
        ).all()
    return {(r.market, r.token): r.cost_basis for r in rows}


def profit_by_market(engine: Engine, account: str) -> list[dict[str, Any]]:
    """Per market the account has traded: what went in and came out, and realized profit.

    From ``account_flows`` (every cash flow between the account and a market, fees
    included) and the cost basis of what it still holds: realized = flows + cost basis
    of the holdings (money out minus money in, not counting what is still held at cost).
    """
    f, p, m = t.account_flows, t.positions, t.markets
    out_of = case((f.c.amount < 0, -f.c.amount), else_=0)
    into = case((f.c.amount > 0, f.c.amount), else_=0)
    settled = case((f.c.kind.in_(("payout", "refund")), f.c.amount), else_=0)
    fee = case((f.c.kind == "fee", -f.c.amount), else_=0)
    with engine.connect() as conn:
        flows = conn.execute(
            select(
                f.c.market,
                func.sum(out_of - fee),
                func.sum(into),
                func.sum(fee),
                func.sum(settled),
                func.sum(f.c.amount),
            )
            .where(f.c.account == account)
            .group_by(f.c.market)
            .order_by(f.c.market)
        ).all()
        basis = conn.execute(
            select(p.c.market, func.sum(p.c.cost_basis))
            .where(p.c.account == account)
            .group_by(p.c.market)
        ).all()
        names = [row[0] for row in flows]
        status = dict(
            conn.execute(select(m.c.market, m.c.status).where(m.c.market.in_(names))).all()
        )
    held = {row[0]: int(row[1] or 0) for row in basis}
    out = []
    for market, paid, received, fees, settlement, total in flows:
        cost = held.get(market, 0)
        out.append(
            {
                "market": market,
                "status": status.get(market, ""),
                "paid": format_micros(int(paid or 0)),
                "received": format_micros(int(received or 0)),
                "fees": format_micros(int(fees or 0)),
                "settlement": format_micros(int(settlement or 0)),
                "held_at_cost": format_micros(cost),
                "realized_pnl": format_micros(int(total or 0) + cost),
            }
        )
    return out


def settlements(engine: Engine, account: str, limit: int) -> list[dict[str, Any]]:
    """The account's payouts and void refunds, newest first (the first ``limit``)."""
    return settlement_page(engine, account, None, limit)[0]


def settlement_page(
    engine: Engine, account: str, cursor: str | None, limit: int
) -> tuple[list[dict[str, Any]], str | None]:
    """A page of the account's payouts and void refunds, newest first, and the cursor of
    the next page (None after the last)."""
    f = t.account_flows
    query = select(f.c.seq, f.c.idx, f.c.sub, f.c.ts_us, f.c.market, f.c.kind, f.c.amount).where(
        f.c.account == account, f.c.kind.in_(("payout", "refund"))
    )
    if cursor is not None:
        last = decode_cursor(cursor, (int, int, int))
        query = query.where(tuple_(f.c.seq, f.c.idx, f.c.sub) < tuple_(*last))
    order = (f.c.seq.desc(), f.c.idx.desc(), f.c.sub.desc())
    with engine.connect() as conn:
        rows = conn.execute(query.order_by(*order).limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = encode_cursor([rows[-1].seq, rows[-1].idx, rows[-1].sub]) if more else None
    items = [
        {
            "seq": r.seq,
            "time": format_instant(r.ts_us),
            "market": r.market,
            "kind": r.kind,
            "amount": format_micros(r.amount),
        }
        for r in rows
    ]
    return items, next_cursor
