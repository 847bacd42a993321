"""A snapshot of the whole exchange state as canonical bytes, and back.

``dump(exchange)`` writes everything ``State`` holds: accounts, every ledger balance,
resolution records (spec, evidence, proposal, votes), affiliations and alerts,
markets with every field, books level by level in priority order, orders with every
``Order`` field, open orders, client order ids, the expiry heap as it is, and the next
order id. ``load(dump(ex))`` gives an exchange that behaves identically: the same
further commands yield byte-identical events.

Dictionaries are written as lists of pairs in their insertion order, because the
core iterates some of them (positions, contributions, markets) when it emits events,
so their order is part of the state. The encoding is msgspec JSON, fields in
declaration order: the same state always gives the same bytes.

Pure: no I/O, no clock. Never call it on a hot path; the engine snapshots rarely.
"""

from __future__ import annotations

from collections import deque
from sys import intern

import msgspec

from augury.domain.book import Book, Order
from augury.domain.exchange import Exchange
from augury.domain.limits import DEFAULT_LIMITS, Limits
from augury.domain.market import Market, Status
from augury.domain.resolution.record import Alert, MarketResolution
from augury.domain.scalar import ScalarRange

SNAPSHOT_VERSION = 2


class _Order(msgspec.Struct, array_like=True, frozen=True):
    id: int
    account: str
    market: str
    outcome: int
    intent: int
    price: int
    own_price: int
    qty: int
    remaining: int
    budget: int
    escrow: int
    tif: str
    expires_at: int
    post_only: bool
    client_order_id: str
    self_trade: str
    filled: int
    fee_notional: int
    fee_paid: int
    resting: bool


Level = tuple[int, list[int]]
"""(price in ticks, order ids in time priority) of one non-empty level."""


class _Book(msgspec.Struct, frozen=True):
    best_bid: int
    best_ask: int
    count: int
    bids: list[Level]
    asks: list[Level]


class _Market(msgspec.Struct, frozen=True, omit_defaults=True):
    """``omit_defaults``: only the trading-block fields and the scalar range have
    defaults; a binary or categorical market that blocks affiliated trading dumps as it
    did before they existed."""

    id: str
    creator: str
    question: str
    outcomes: tuple[str, ...]
    categorical: bool
    close_at: int
    liquidity: int
    tick: int
    lot: int
    fee_bps: int
    subsidy: int
    status: str
    q: list[int]
    maker_sets: int
    positions: list[tuple[str, list[int]]]
    contrib: list[tuple[str, int]]
    settlement: tuple[int, ...] | None
    books: list[_Book]
    block_affiliated_trading: bool = True
    affiliated_trading_reason: str = ""
    scalar: ScalarRange | None = None


class _State(msgspec.Struct, frozen=True):
    v: int
    accounts: list[str]
    balances: list[tuple[str, int]]
    markets: list[_Market]
    orders: list[_Order]
    open_orders: list[tuple[str, list[int]]]
    client_ids: list[tuple[str, str, int]]
    expiries: list[tuple[int, int]]
    next_order_id: int
    resolutions: list[MarketResolution]
    affiliations: list[tuple[str, tuple[str, ...]]]
    alerts: list[Alert]
    alert_keys: list[tuple[str, str, str]]


_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(_State)


class _Version(msgspec.Struct):
    v: int


_version_decoder = msgspec.json.Decoder(_Version)


def dump(exchange: Exchange) -> bytes:
    """Canonical bytes of the whole state of ``exchange``."""
    state = _State(
        v=SNAPSHOT_VERSION,
        accounts=sorted(exchange.accounts),
        balances=list(exchange.ledger.balances.items()),
        markets=[_dump_market(m) for m in exchange.markets.values()],
        orders=[_dump_order(o) for o in exchange.orders.values()],
        open_orders=[(a, list(orders)) for a, orders in exchange.open_orders.items()],
        client_ids=[(a, c, i) for (a, c), i in exchange.client_ids.items()],
        expiries=list(exchange.expiries),
        next_order_id=exchange.next_order_id,
        resolutions=list(exchange.resolutions.values()),
        affiliations=list(exchange.affiliations.items()),
        alerts=list(exchange.alerts.values()),
        alert_keys=sorted(exchange.alert_keys),
    )
    return _encoder.encode(state)


def load(data: bytes, limits: Limits = DEFAULT_LIMITS) -> Exchange:
    """The exchange that ``data`` (from :func:`dump`) describes."""
    version = _version_decoder.decode(data).v  # first, so an old layout gets a clear error
    if version != SNAPSHOT_VERSION:
        raise ValueError(f"unknown snapshot version {version}")
    state = _decoder.decode(data)
    ex = Exchange(limits)
    ex.accounts = set(state.accounts)
    ex.ledger.balances = {intern(k): v for k, v in state.balances}  # as ledger.py interns them
    ex.orders = {o.id: _load_order(o) for o in state.orders}
    for dumped in state.markets:
        ex.markets[dumped.id] = _load_market(dumped, ex.orders)
    for dumped_order in state.orders:
        assert ex.orders[dumped_order.id].resting == dumped_order.resting, "resting mismatch"
    ex.open_orders = {a: {i: ex.orders[i] for i in ids} for a, ids in state.open_orders}
    ex.client_ids = {(a, c): i for a, c, i in state.client_ids}
    ex.expiries = [(t, i) for t, i in state.expiries]
    ex.next_order_id = state.next_order_id
    ex.resolutions = {r.market: r for r in state.resolutions}
    ex.affiliations = dict(state.affiliations)
    ex.alerts = {a.id: a for a in state.alerts}
    ex.alert_keys = set(state.alert_keys)
    for market in ex.resolutions:
        ex.block_affiliates(market)
    assert set(ex.resolutions) == set(ex.markets), "every market has a resolution record"
    assert set(ex.open_orders) == ex.accounts, "open_orders must list every account"
    return ex


def _dump_order(o: Order) -> _Order:
    return _Order(
        o.id,
        o.account,
        o.market,
        o.outcome,
        o.intent,
        o.price,
        o.own_price,
        o.qty,
        o.remaining,
        o.budget,
        o.escrow,
        o.tif,
        o.expires_at,
        o.post_only,
        o.client_order_id,
        o.self_trade,
        o.filled,
        o.fee_notional,
        o.fee_paid,
        o.resting,
    )


def _load_order(d: _Order) -> Order:
    order = Order(
        d.id,
        d.account,
        d.market,
        d.outcome,
        d.intent,
        d.price,
        d.own_price,
        d.qty,
        d.budget,
        d.escrow,
        d.tif,
        d.expires_at,
        d.post_only,
        d.client_order_id,
        d.self_trade,
    )
    order.remaining = d.remaining
    order.filled = d.filled
    order.fee_notional = d.fee_notional
    order.fee_paid = d.fee_paid
    order.resting = False  # set again when the order is put back in its book
    return order


def _levels(side: list[deque[Order]]) -> list[Level]:
    return [(price, [o.id for o in level]) for price, level in enumerate(side) if level]


def _dump_market(m: Market) -> _Market:
    books = [
        _Book(b.best_bid, b.best_ask, b.count, _levels(b.bids), _levels(b.asks)) for b in m.books
    ]
    return _Market(
        id=m.id,
        creator=m.creator,
        question=m.question,
        outcomes=m.outcomes,
        categorical=m.categorical,
        close_at=m.close_at,
        liquidity=m.liquidity,
        tick=m.tick,
        lot=m.lot,
        fee_bps=m.fee_bps,
        subsidy=m.subsidy,
        status=m.status.value,
        q=list(m.q),
        maker_sets=m.maker_sets,
        positions=[(a, list(h)) for a, h in m.positions.items()],
        contrib=list(m.contrib.items()),
        settlement=m.settlement,
        books=books,
        block_affiliated_trading=m.block_affiliated_trading,
        affiliated_trading_reason=m.affiliated_trading_reason,
        scalar=m.scalar,
    )


def _load_market(d: _Market, orders: dict[int, Order]) -> Market:
    m = Market(
        d.id,
        d.creator,
        d.question,
        d.outcomes,
        d.categorical,
        d.close_at,
        d.liquidity,
        d.tick,
        d.lot,
        d.fee_bps,
        d.subsidy,
        d.block_affiliated_trading,
        d.affiliated_trading_reason,
        d.scalar,
    )
    m.status = Status(d.status)
    m.q = list(d.q)
    m.maker_sets = d.maker_sets
    m.positions = {a: list(h) for a, h in d.positions}
    m.contrib = dict(d.contrib)
    m.settlement = d.settlement
    assert len(d.books) == len(m.books), "book count does not match the market"
    for book, dumped in zip(m.books, d.books, strict=True):
        _load_book(book, dumped, orders)
    return m


def _load_book(book: Book, d: _Book, orders: dict[int, Order]) -> None:
    count = 0
    for side, levels in ((book.bids, d.bids), (book.asks, d.asks)):
        for price, ids in levels:
            level = side[price]
            for order_id in ids:
                order = orders[order_id]
                assert order.price == price, "order filed at the wrong level"
                order.resting = True
                level.append(order)
                count += 1
    assert count == d.count, "book count does not match its levels"
    book.best_bid, book.best_ask, book.count = d.best_bid, d.best_ask, d.count
