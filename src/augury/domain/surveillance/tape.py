"""The tape: turns the raw event stream into trades and order lifetimes that detectors read.

A book fill names two orders and a maker fill one; the tape remembers every live
order (account, side, size, when it was placed) so that each trade can name its buyer
and seller and each cancellation its lifetime. It also knows each market's tick and
close time, each account's age, and which accounts are linked (declared links and a
shared funder, from :class:`~augury.domain.surveillance.model.Context`).

It also hands on, as they are journaled, each market's resolution spec (:class:`SpecSet`)
and each capture of one of its sources (:class:`Observed`), for the detectors that read
the sources (``unconfirmed``).

The tape never reads a clock: time is each item's ``ts_us``. Its memory is bounded by
the live orders, the markets and the accounts; trades are handed on, not kept.
"""

from __future__ import annotations

import msgspec

from augury.domain import events as ev
from augury.domain.scalar import ScalarRange
from augury.domain.surveillance.model import MAKER, AccountInfo, Context, StreamItem
from augury.domain.units import ONE


class Trade(msgspec.Struct, frozen=True, gc=False):
    """One fill, in YES terms of one outcome's book.

    ``buyer`` gained YES exposure (a buy of YES or a sell of NO), ``seller`` lost it;
    either may be :data:`MAKER`. ``price`` is micro-credits per YES share.
    """

    seq: int
    ts_us: int
    market: str
    outcome: int
    price: int
    qty: int
    buyer: str
    seller: str
    taker: str


class OrderLife(msgspec.Struct, frozen=True, gc=False):
    """A resting order that ended: who, which side, how big, how long it lived and why."""

    seq_placed: int
    seq_closed: int
    ts_placed_us: int
    ts_closed_us: int
    account: str
    market: str
    outcome: int
    bid: bool
    price: int
    qty: int
    filled: int
    reason: str


class OrderPlaced(msgspec.Struct, frozen=True, gc=False):
    seq: int
    ts_us: int
    account: str
    market: str
    qty: int


class SpecSet(msgspec.Struct, frozen=True, gc=False):
    """A market's resolution spec (a new version), as journaled: canonical JSON."""

    seq: int
    ts_us: int
    market: str
    spec: str


class Observed(msgspec.Struct, frozen=True, gc=False):
    """One capture of a resolution source, as journaled (``ObservationRecorded``)."""

    seq: int
    ts_us: int
    market: str
    source_id: str
    fetched_at_us: int
    ok: bool
    value: str | None
    content_sha256: str


Record = Trade | OrderLife | OrderPlaced | SpecSet | Observed


class _Live:
    __slots__ = (
        "account",
        "bid",
        "filled",
        "market",
        "outcome",
        "price",
        "qty",
        "seq",
        "ts",
        "yes",
    )

    def __init__(self, e: ev.OrderAccepted, seq: int, ts: int, tick: int) -> None:
        self.account = e.account
        self.market = e.market
        self.outcome = e.outcome
        self.yes = e.token == "yes"
        self.bid = (e.side == "buy") == self.yes  # buy YES or sell NO
        self.price = e.price * tick
        self.qty = e.qty
        self.filled = 0
        self.seq = seq
        self.ts = ts


class MarketInfo(msgspec.Struct):
    market: str
    outcomes: int
    categorical: bool
    tick: int
    close_at_us: int
    scalar: ScalarRange | None = None  # a scalar market's range (LONG is outcome 0)


class Tape:
    """Feed it stream items in journal order; it returns the records each item makes."""

    def __init__(self, context: Context | None = None) -> None:
        self.context = context or Context()
        self.markets: dict[str, MarketInfo] = {}
        self.opened_at: dict[str, int] = {}
        self.info: dict[str, AccountInfo] = {a.account: a for a in self.context.accounts}
        self._orders: dict[int, _Live] = {}
        self._parent: dict[str, str] = {}
        self.last_seq = -1
        self.now_us = 0
        for info in self.context.accounts:
            for other in info.linked:
                self._union(info.account, other)
            if info.funded_by is not None:
                self._union(info.account, "funder:" + info.funded_by)
                self._union(info.account, info.funded_by)

    # -- linked accounts (union-find over declared links and shared funders) -----------
    def _find(self, account: str) -> str:
        root = account
        for _ in range(10_000):  # bounded: the forest is flattened as it is walked
            parent = self._parent.get(root, root)
            if parent == root:
                break
            root = parent
        self._parent[account] = root
        return root

    def _union(self, a: str, b: str) -> None:
        ra, rb = self._find(a), self._find(b)
        if ra != rb:
            self._parent[max(ra, rb)] = min(ra, rb)

    def linked(self, a: str, b: str) -> bool:
        """True if ``a`` and ``b`` are distinct accounts declared or funded as one."""
        return a != b and MAKER not in (a, b) and self._find(a) == self._find(b)

    def group(self, account: str) -> str:
        return self._find(account)

    def age_us(self, account: str, at_us: int) -> int | None:
        """How old ``account`` was at ``at_us`` (context first, else when it was opened)."""
        info = self.info.get(account)
        created = info.created_at_us if info and info.created_at_us is not None else None
        if created is None:
            created = self.opened_at.get(account)
        return None if created is None else max(0, at_us - created)

    # -- the stream --------------------------------------------------------------------
    def feed(self, item: StreamItem) -> list[Record]:
        assert item.seq >= self.last_seq, "stream items must come in journal order"
        self.last_seq = item.seq
        self.now_us = max(self.now_us, item.ts_us)
        e = item.event
        if isinstance(e, ev.BookFill):
            return self._book_fill(item, e)
        if isinstance(e, ev.MakerFill):
            return self._maker_fill(item, e)
        if isinstance(e, ev.OrderAccepted):
            tick = self.markets[e.market].tick if e.market in self.markets else 1
            self._orders[e.order_id] = _Live(e, item.seq, item.ts_us, tick)
            return [OrderPlaced(item.seq, item.ts_us, e.account, e.market, e.qty)]
        if isinstance(e, ev.OrderClosed):
            return self._closed(item, e)
        if isinstance(e, ev.OrderReduced):
            return self._reduced(item, e)
        if isinstance(e, ev.MarketCreated):
            self.markets[e.market] = MarketInfo(
                e.market, len(e.outcomes), e.categorical, e.tick, e.close_at, e.scalar
            )
        elif isinstance(e, ev.AccountOpened):
            self.opened_at.setdefault(e.account, item.ts_us)
        elif isinstance(e, ev.ObservationRecorded):
            return [
                Observed(
                    item.seq,
                    item.ts_us,
                    e.market,
                    e.source_id,
                    e.fetched_at_us,
                    e.ok,
                    e.value,
                    e.content_sha256,
                )
            ]
        elif isinstance(e, ev.ResolutionSpecSet):
            return [SpecSet(item.seq, item.ts_us, e.market, e.spec)]
        return []

    def legs(self, trade: Trade, outcome: int) -> list[tuple[str, int, int]]:
        """(account, signed shares toward ``outcome``, price of a bet on it) for each side
        of ``trade``: the buyer of a bet on ``outcome`` gets +qty, the seller -qty.

        In a binary market (one book) YES is outcome 0 and NO outcome 1; in a categorical
        one only the YES side of outcome k's book is a bet on k ("not k" is none).
        """
        info = self.markets.get(trade.market)
        if info is None:
            return []
        if not info.categorical:
            toward = 1 if outcome == 0 else -1
            price = trade.price if outcome == 0 else ONE - trade.price
        elif trade.outcome == outcome:
            toward, price = 1, trade.price
        else:
            return []
        return [
            (trade.buyer, toward * trade.qty, price),
            (trade.seller, -toward * trade.qty, price),
        ]

    def _book_fill(self, item: StreamItem, e: ev.BookFill) -> list[Record]:
        taker, resting = self._orders.get(e.taker_order), self._orders.get(e.resting_order)
        if taker is None or resting is None:
            return []  # the stream began after these orders: nothing reliable to say
        taker.filled += e.qty
        resting.filled += e.qty
        buyer, seller = (taker, resting) if taker.bid else (resting, taker)
        price = e.price * self.markets[e.market].tick
        trade = Trade(
            item.seq,
            item.ts_us,
            e.market,
            e.outcome,
            price,
            e.qty,
            buyer.account,
            seller.account,
            taker.account,
        )
        return [trade]

    def _maker_fill(self, item: StreamItem, e: ev.MakerFill) -> list[Record]:
        order = self._orders.get(e.order_id)
        if order is None or e.qty <= 0:
            return []
        order.filled += e.qty
        own = abs(e.charge) * ONE // e.qty  # per share, in the order's own token
        price = own if order.yes else ONE - own
        buyer, seller = (e.account, MAKER) if order.bid else (MAKER, e.account)
        return [
            Trade(item.seq, item.ts_us, e.market, e.outcome, price, e.qty, buyer, seller, e.account)
        ]

    def _reduced(self, item: StreamItem, e: ev.OrderReduced) -> list[Record]:
        """A resting order made smaller in place: most of a large order can be pulled
        this way as well as by a cancel, so it ends the order's life for the detectors
        (reason ``reduced``; ``filled`` counts what it kept as well as what it filled)."""
        order = self._orders.get(e.order_id)
        if order is None:
            return []
        return [_life(order, item, order.filled + e.remaining, "reduced")]

    def _closed(self, item: StreamItem, e: ev.OrderClosed) -> list[Record]:
        order = self._orders.pop(e.order_id, None)
        if order is None:
            return []
        return [_life(order, item, order.filled, e.reason)]


def _life(order: _Live, item: StreamItem, filled: int, reason: str) -> OrderLife:
    """The life of ``order`` as ended (for the detectors) by ``item``."""
    return OrderLife(
        order.seq,
        item.seq,
        order.ts,
        item.ts_us,
        order.account,
        order.market,
        order.outcome,
        order.bid,
        order.price,
        order.qty,
        filled,
        reason,
    )
