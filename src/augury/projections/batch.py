"""One batch of records folded into rows: the handler of every event the domain emits
(see ``augury.projections.projector`` for what each read model holds)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import msgspec
from sqlalchemy import (
    Connection,
    select,
)

from augury.domain import events as ev
from augury.domain import views
from augury.domain.scoring.flows import flows_of
from augury.domain.units import ONE
from augury.engine.entry import Entry
from augury.projections import tables as t
from augury.projections.notices import MarketFacts, OrderFacts, notices_for
from augury.projections.resolution_log import story_row
from augury.projections.row_cache import Cache, Rows
from augury.projections.statements import Row, Sql, insert_rows

INTERVALS_US = (("1m", 60_000_000), ("1h", 3_600_000_000), ("1d", 86_400_000_000))
"""Candle intervals: name and length in microseconds (buckets start at multiples, UTC)."""


class Batch:
    """Folds the events of a run of records into rows (see the module docstring)."""

    def __init__(self, conn: Connection, cursor: Any, sql: Sql, cache: Cache) -> None:
        self.conn, self.cursor, self.sql = conn, cursor, sql
        self.markets = Rows(conn, cursor, sql, t.markets, cache)
        self.orders = Rows(conn, cursor, sql, t.orders, cache)
        self.positions = Rows(conn, cursor, sql, t.positions, cache)
        self.balances = Rows(conn, cursor, sql, t.balances, cache)
        self.candles = Rows(conn, cursor, sql, t.candles, cache)
        self.fills: list[Row] = []
        self.flows: list[Row] = []
        self.story: list[Row] = []
        self.notices: list[Row] = []
        self.settled: set[str] = set()
        self.market_facts: dict[str, MarketFacts] = {}  # a market's are set at its creation
        self.seq = 0
        self.ts_us = 0

    def entry(self, seq: int, ts_us: int, entry: Entry) -> None:
        self.seq, self.ts_us = seq, ts_us
        command = entry.command.__struct_config__.tag
        assert isinstance(command, str)
        for index, event in enumerate(entry.events):
            kind = type(event)
            if kind in NOTIFYING:  # before the event: who holds what until now
                self._notify(event, index, command)
            HANDLERS[kind](self, event, index)
            postings = getattr(event, "postings", ())
            if postings:
                self._post(postings)
                self._flows(event, index)

    def flush(self) -> None:
        for market in sorted(self.settled):
            self.cursor.execute(self.sql.delete_positions, {"market": market})
        for rows in (self.markets, self.orders, self.positions, self.balances, self.candles):
            rows.flush()
        for table, appended in (
            (t.fills, self.fills),
            (t.account_flows, self.flows),
            (t.resolution_log, self.story),
            (t.notifications, self.notices),
        ):
            if appended:
                insert_rows(self.cursor, self.sql, table, appended)

    def commit_to(self, cache: Cache) -> None:
        """Keep the committed rows for the next batch; closed orders are not kept."""
        self.orders.commit_to(lambda row: row["status"] in ("open", "resting"))
        for rows in (self.markets, self.positions, self.balances, self.candles):
            rows.commit_to()

    # -- shared pieces ------------------------------------------------------------------
    def _post(self, postings: Iterable[ev.Posting]) -> None:
        need, seq = self.balances.need, self.seq  # (several postings in every fill)
        for ledger_account, amount in postings:
            kind, _, account = ledger_account.partition(":")
            if kind == "cash":
                row = need((account,))
                row["available"] += amount
                row["updated_seq"] = seq
            elif kind == "escrow":
                row = need((account,))
                row["escrow"] += amount
                row["updated_seq"] = seq

    def _flows(self, event: ev.Event, index: int) -> None:
        fee_account = ""
        if isinstance(event, ev.BookFill):  # the event names the taker's order only
            fee_account = self.orders.need((event.taker_order,))["account"]
        for sub, flow in enumerate(flows_of(event, fee_account)):
            self.flows.append(
                {
                    "seq": self.seq,
                    "idx": index,
                    "sub": sub,
                    "ts_us": self.ts_us,
                    "account": flow.account,
                    "market": flow.market,
                    "kind": flow.kind,
                    "amount": flow.amount,
                }
            )

    def _position(self, account: str, market: str, token: int) -> Row:
        assert market not in self.settled, "shares moved in a settled market"
        key = (account, market, token)
        row = self.positions.get(key)
        if row is None:
            row = self.positions.add(
                key,
                {
                    "account": account,
                    "market": market,
                    "token": token,
                    "qty": 0,
                    "escrowed": 0,
                    "cost_basis": 0,
                    "updated_seq": self.seq,
                },
            )
        row["updated_seq"] = self.seq
        return row

    @staticmethod
    def _basis_cut(position: Row, qty: int) -> int:
        """The basis that ``qty`` of the position's shares carry away (average cost)."""
        total = position["qty"] + position["escrowed"]
        assert 0 <= qty <= total, "more shares left than were held"
        cut = position["cost_basis"] * qty // total if total else 0
        position["cost_basis"] -= cut
        return int(cut)

    def _order(self, order_id: int) -> Row:
        row = self.orders.need((order_id,))
        row["updated_seq"], row["updated_us"] = self.seq, self.ts_us
        return row

    def _fill_order(self, order: Row, qty: int, escrow_used: int) -> None:
        order["filled"] += qty
        if order["qty"]:
            order["remaining"] -= qty
            assert order["remaining"] >= 0
        order["escrow"] -= escrow_used
        assert order["escrow"] >= 0

    def _trade(self, order: Row, qty: int, paid: int) -> None:
        """Move a filled order's shares: a buy receives ``qty`` for ``paid``; a sell delivers."""
        position = self._position(order["account"], order["market"], order["held_token"])
        if order["side"] == "buy":
            position["qty"] += qty
            position["cost_basis"] += paid
        else:
            self._basis_cut(position, qty)
            position["escrowed"] -= qty
            assert position["escrowed"] >= 0

    def _candle(self, market: str, outcome: int, price: int, qty: int) -> None:
        for name, length_us in INTERVALS_US:
            bucket = self.ts_us - self.ts_us % length_us
            key = (market, outcome, name, bucket)
            row = self.candles.get(key)
            if row is None:
                self.candles.add(
                    key,
                    {
                        "market": market,
                        "outcome": outcome,
                        "interval": name,
                        "bucket_us": bucket,
                        "open": price,
                        "high": price,
                        "low": price,
                        "close": price,
                        "volume": qty,
                        "trades": 1,
                    },
                )
                continue
            row["high"] = max(row["high"], price)
            row["low"] = min(row["low"], price)
            row["close"] = price
            row["volume"] += qty
            row["trades"] += 1

    def _fill_row(self, index: int, kind: str, market: str, outcome: int, price: int) -> Row:
        return {
            "seq": self.seq,
            "idx": index,
            "ts_us": self.ts_us,
            "kind": kind,
            "market": market,
            "outcome": outcome,
            "price": price,
            "rules_version": self._market(market)["rules_version"],
        }

    # -- notifications (augury.projections.notices), the Facts it asks for -------------
    def _notify(self, e: ev.Event, index: int, command: str) -> None:
        for sub, notice in enumerate(notices_for(e, command, self)):
            self.notices.append(
                {
                    "seq": self.seq,
                    "idx": index,
                    "sub": sub,
                    "ts_us": self.ts_us,
                    "account": notice.account,
                    "kind": notice.kind,
                    "market": notice.market,
                    "text": notice.text,
                    "details": msgspec.json.encode(notice.details).decode(),
                }
            )

    def order(self, order_id: int) -> OrderFacts:
        row = self.orders.need((order_id,))
        return OrderFacts(row["account"], row["market"], row["outcome"], row["side"], row["token"])

    def market(self, market: str) -> MarketFacts:
        facts = self.market_facts.get(market)
        if facts is None:  # question, outcomes and tick never change: decoded once a batch
            row = self._market(market)
            outcomes = tuple(msgspec.json.decode(row["outcomes"]))
            facts = self.market_facts[market] = MarketFacts(row["question"], outcomes, row["tick"])
        return facts

    def holders(self, market: str) -> list[str]:
        if market in self.settled:
            return []
        p = t.positions.c
        query = select(p.account, p.market, p.token).where(p.market == market)
        keys = {tuple(k) for k in self.conn.execute(query).all()}
        keys.update(k for k in self.positions.rows if k[1] == market)
        found = set()
        for key in keys:
            row = self.positions.get(key)
            if row is not None and row and row["qty"] + row["escrowed"] > 0:
                found.add(key[0])
        return sorted(found)

    def proposers(self, market: str) -> list[str]:
        log = t.resolution_log.c
        query = select(log.actor).where(log.market == market, log.kind.in_(("proposal", "dispute")))
        found = {str(a) for (a,) in self.conn.execute(query).all()}
        found.update(
            row["actor"]
            for row in self.story
            if row["market"] == market and row["kind"] in ("proposal", "dispute")
        )
        return sorted(a for a in found if a)

    # -- handlers, one per event type ---------------------------------------------------
    def _story(self, e: ev.Event, index: int) -> None:
        """Add the event to its market's resolution story (resolution_log)."""
        market_id = getattr(e, "market", None)
        if market_id is None:
            return
        outcomes = tuple(msgspec.json.decode(self._market(market_id)["outcomes"]))
        found = story_row(e, outcomes)
        if found is None:
            return
        market, kind, actor, summary, details = found
        self.story.append(
            {
                "seq": self.seq,
                "idx": index,
                "ts_us": self.ts_us,
                "market": market,
                "kind": kind,
                "actor": actor,
                "summary": summary,
                "details": msgspec.json.encode(details).decode(),
            }
        )

    def _clarified(self, e: ev.ClarificationPosted, index: int) -> None:
        self._market(e.market)["rules_version"] = e.version
        self._story(e, index)

    def _nothing(self, e: ev.Event, index: int) -> None:
        """Postings only (handled for every event)."""

    def _account_opened(self, e: ev.AccountOpened, index: int) -> None:
        self.balances.add(
            (e.account,),
            {"account": e.account, "available": 0, "escrow": 0, "updated_seq": self.seq},
        )

    def _market_created(self, e: ev.MarketCreated, index: int) -> None:
        self.markets.add(
            (e.market,),
            {
                "market": e.market,
                "creator": e.creator,
                "question": e.question,
                "outcomes": msgspec.json.encode(e.outcomes).decode(),
                "outcome_count": len(e.outcomes),
                "categorical": e.categorical,
                "close_at": e.close_at,
                "liquidity": e.liquidity,
                "tick": e.tick,
                "lot": e.lot,
                "fee_bps": e.fee_bps,
                "subsidy": e.subsidy,
                "status": "open",
                "status_reason": "",
                "weights": None,
                "rules_version": 1,
                "block_affiliated_trading": e.block_affiliated_trading,
                "affiliated_trading_reason": e.affiliated_trading_reason,
                "scalar": None if e.scalar is None else msgspec.json.encode(e.scalar).decode(),
                "created_seq": self.seq,
                "created_us": self.ts_us,
                "updated_seq": self.seq,
                "updated_us": self.ts_us,
            },
        )

    def _market(self, market: str, status: str | None = None, reason: str = "") -> Row:
        row = self.markets.need((market,))
        if status is not None:
            row["status"], row["status_reason"] = status, reason
            row["updated_seq"], row["updated_us"] = self.seq, self.ts_us
        return row

    def _market_status_changed(self, e: ev.MarketStatusChanged, index: int) -> None:
        self._market(e.market, e.status, e.reason)
        self._story(e, index)

    def _order_accepted(self, e: ev.OrderAccepted, index: int) -> None:
        market = self._market(e.market)
        if e.token == "yes":
            held = e.outcome
        elif market["categorical"]:
            held = market["outcome_count"] + e.outcome
        else:
            held = 1 - e.outcome
        self.orders.add(
            (e.order_id,),
            {
                "order_id": e.order_id,
                "account": e.account,
                "market": e.market,
                "outcome": e.outcome,
                "side": e.side,
                "token": e.token,
                "held_token": held,
                "price": e.price,
                "qty": e.qty,
                "budget": e.budget,
                "tif": e.tif,
                "expires_at": e.expires_at,
                "post_only": e.post_only,
                "client_order_id": e.client_order_id,
                "self_trade": e.self_trade,
                "status": "open",
                "remaining": e.qty,
                "filled": 0,
                "escrow": e.escrow,
                "created_seq": self.seq,
                "created_us": self.ts_us,
                "updated_seq": self.seq,
                "updated_us": self.ts_us,
            },
        )
        if e.side == "sell":  # the shares move from available into the order's escrow
            assert e.shares == ((e.account, held, -e.escrow),)
            position = self._position(e.account, e.market, held)
            position["qty"] -= e.escrow
            position["escrowed"] += e.escrow

    def _order_rested(self, e: ev.OrderRested, index: int) -> None:
        self._order(e.order_id)["status"] = "resting"

    def _book_fill(self, e: ev.BookFill, index: int) -> None:
        market = self._market(e.market)
        taker, resting = self._order(e.taker_order), self._order(e.resting_order)
        yes_value = e.qty * e.price * market["tick"] // ONE
        for order, escrow_used, fee in (
            (taker, e.taker_escrow_used, e.fee),
            (resting, e.resting_escrow_used, 0),
        ):
            own_value = yes_value if order["token"] == "yes" else e.qty - yes_value
            self._fill_order(order, e.qty, escrow_used)
            self._trade(order, e.qty, own_value + fee)
        price = e.price * market["tick"]
        row = self._fill_row(index, "book", e.market, e.outcome, price)
        row.update(
            qty=e.qty,
            fee=e.fee,
            taker_order=e.taker_order,
            taker_account=taker["account"],
            resting_order=e.resting_order,
            resting_account=resting["account"],
        )
        self.fills.append(row)
        self._candle(e.market, e.outcome, price, e.qty)

    def _maker_fill(self, e: ev.MakerFill, index: int) -> None:
        order = self._order(e.order_id)
        self._fill_order(order, e.qty, e.escrow_used)
        self._trade(order, e.qty, e.value + e.fee)
        price = views.maker_fill_yes_price(e)
        row = self._fill_row(index, "maker", e.market, e.outcome, price)
        row.update(
            qty=e.qty,
            fee=e.fee,
            taker_order=e.order_id,
            taker_account=e.account,
            resting_order=None,
            resting_account=None,
        )
        self.fills.append(row)
        self._candle(e.market, e.outcome, price, e.qty)

    def _order_closed(self, e: ev.OrderClosed, index: int) -> None:
        order = self._order(e.order_id)
        order["status"] = e.reason
        order["escrow"] -= e.released
        assert order["escrow"] == 0, "an order closed with escrow left"
        self._unescrow(order, e.released)

    def _unescrow(self, order: Row, released: int) -> None:
        """A sell's ``released`` shares back from its escrow to its position (a buy's
        escrow is credits: the postings move those)."""
        if order["side"] == "sell" and released:
            position = self._position(order["account"], order["market"], order["held_token"])
            position["qty"] += released
            position["escrowed"] -= released
            assert position["escrowed"] >= 0

    def _order_reduced(self, e: ev.OrderReduced, index: int) -> None:
        order = self._order(e.order_id)
        order["qty"] -= order["remaining"] - e.remaining
        order["remaining"] = e.remaining
        order["escrow"] -= e.released
        assert order["escrow"] >= 0, "an order reduced below its escrow"
        self._unescrow(order, e.released)

    def _sets_minted(self, e: ev.SetsMinted, index: int) -> None:
        count = len(e.shares)
        share, remainder = divmod(e.qty, count)  # the sets cost qty micro-credits
        for position_index, (account, token, qty) in enumerate(e.shares):
            position = self._position(account, e.market, token)
            position["qty"] += qty
            position["cost_basis"] += share + (remainder if position_index == 0 else 0)

    def _sets_redeemed(self, e: ev.SetsRedeemed, index: int) -> None:
        for account, token, delta in e.shares:
            assert delta < 0
            position = self._position(account, e.market, token)
            self._basis_cut(position, -delta)
            position["qty"] += delta

    def _no_converted(self, e: ev.NoConverted, index: int) -> None:
        carried = 0
        gained = [(account, token, delta) for account, token, delta in e.shares if delta > 0]
        for account, token, delta in e.shares:
            if delta < 0:
                position = self._position(account, e.market, token)
                carried += self._basis_cut(position, -delta)
                position["qty"] += delta
        share, remainder = divmod(carried, len(gained))
        for position_index, (account, token, delta) in enumerate(gained):
            position = self._position(account, e.market, token)
            position["qty"] += delta
            position["cost_basis"] += share + (remainder if position_index == 0 else 0)

    def _settle(self, market: str, status: str, reason: str) -> None:
        self._market(market, status, reason)
        self.positions.forget(lambda key: bool(key[1] == market))
        self.settled.add(market)

    def _market_settled(self, e: ev.MarketSettled, index: int) -> None:
        self._story(e, index)
        self._settle(e.market, "resolved", e.reason)
        self._market(e.market)["weights"] = msgspec.json.encode(e.weights).decode()

    def _market_voided(self, e: ev.MarketVoided, index: int) -> None:
        self._story(e, index)
        self._settle(e.market, "voided", e.reason)


HANDLERS: dict[type[ev.Event], Callable[[Batch, Any, int], None]] = {
    ev.AccountOpened: Batch._account_opened,
    ev.CreditsGranted: Batch._nothing,
    ev.MarketCreated: Batch._market_created,
    ev.MarketStatusChanged: Batch._market_status_changed,
    ev.OrderAccepted: Batch._order_accepted,
    ev.OrderRested: Batch._order_rested,
    ev.BookFill: Batch._book_fill,
    ev.MakerFill: Batch._maker_fill,
    ev.OrderClosed: Batch._order_closed,
    ev.OrderReduced: Batch._order_reduced,
    ev.SetsMinted: Batch._sets_minted,
    ev.SetsRedeemed: Batch._sets_redeemed,
    ev.NoConverted: Batch._no_converted,
    ev.MarketSettled: Batch._market_settled,
    ev.MarketVoided: Batch._market_voided,
    ev.ResolutionSpecSet: Batch._story,
    ev.AffiliationDeclared: Batch._nothing,
    ev.ObservationRecorded: Batch._story,
    ev.OutcomeProposed: Batch._story,
    ev.ProposalDisputed: Batch._story,
    ev.ResolutionHeld: Batch._story,
    ev.VoteCast: Batch._story,
    ev.ResolutionFinalized: Batch._story,
    ev.ClarificationPosted: Batch._clarified,
    ev.AlertRaised: Batch._story,
    ev.AlertReviewed: Batch._story,
}
"""The handler of each event type (every one the domain emits)."""

NOTIFYING = frozenset(
    {
        ev.BookFill,
        ev.MakerFill,
        ev.OrderClosed,
        ev.MarketStatusChanged,
        ev.ResolutionHeld,
        ev.MarketSettled,
        ev.MarketVoided,
        ev.ClarificationPosted,
        ev.ProposalDisputed,
        ev.ResolutionFinalized,
    }
)
"""The events that may notify someone (``augury.projections.notices``)."""
