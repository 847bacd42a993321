"""Build real journals for tests without the engine: execute domain commands, journal them.

``JournalWriter`` does what the engine does for each accepted command: it executes it
with ``execute_entry`` on its own ``Exchange``, wraps command and events in an
``Entry``, chains a "command" record and appends it (in groups) to a journal store;
refused commands are not journaled. ``build_journal`` runs a scripted scenario and a
seeded random trading session that covers every event type.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from augury.domain import commands as c
from augury.domain.exchange import Exchange, Result
from augury.engine.entry import AdvanceClock, Entry, encode_entry, execute_entry
from augury.journal import (
    JournalRecord,
    JournalStore,
    SqliteJournalStore,
    checkpoint_record,
    next_record,
)

ONE = 1_000_000
MINUTE = 60_000_000
HOUR = 60 * MINUTE
DAY = 24 * HOUR
T0 = 1_767_225_600_000_000 - 2 * MINUTE  # 2025-12-31T23:58:00Z: a day boundary is near
ACCOUNTS = ("operator", "ana", "ben", "chen", "dara", "eve")


class JournalWriter:
    """Executes commands like the engine and journals the accepted ones."""

    def __init__(self, store: JournalStore, key: Ed25519PrivateKey | None = None) -> None:
        self.store = store
        self.key = key
        self.exchange = Exchange()
        self.head = store.head()
        self.pending: list[JournalRecord] = []
        self.records: list[JournalRecord] = []
        self.accepted = 0
        self.refused = 0

    def run(self, command: c.Command, now: int, *, must: bool = True) -> Result:
        result = execute_entry(self.exchange, command, now)
        if must:
            assert result.ok, f"{command!r} refused: {result.code}: {result.message}"
        if not result.ok:
            self.refused += 1
            return result
        account = getattr(command, "account", "")
        entry = Entry(command, list(result.events), account, f"k{len(self.records) + 1}")  # type: ignore[arg-type]
        self._add(next_record(self.head, now, "command", encode_entry(entry)))
        self.accepted += 1
        return result

    def checkpoint(self, now: int) -> None:
        assert self.key is not None
        self._add(checkpoint_record(self.head, now, self.key))

    def _add(self, record: JournalRecord) -> None:
        self.pending.append(record)
        self.records.append(record)
        self.head = (record.seq, record.hash)
        if len(self.pending) >= 64:
            self.flush()

    def flush(self) -> None:
        if self.pending:
            self.store.append(self.pending)
            self.pending = []


def scripted(w: JournalWriter, now: int = T0) -> int:
    """Every kind of event, in a few markets; returns the time reached."""
    buy, sell, yes, no = c.Side.BUY, c.Side.SELL, c.Token.YES, c.Token.NO
    for name in ACCOUNTS:
        w.run(c.OpenAccount(name), now)
        w.run(c.GrantCredits(name, 10_000 * ONE, "welcome"), now)
    close = now + 3 * 365 * DAY  # long enough for long random sessions
    w.run(c.CreateMarket("bin", "operator", "Binary?", ("Yes", "No"), close, 100 * ONE), now)
    w.run(c.CreateMarket("book", "operator", "Book only?", ("Yes", "No"), close, fee_bps=50), now)
    w.run(
        c.CreateMarket(
            "cat", "operator", "Which?", ("A", "B", "C"), close, 50 * ONE, categorical=True
        ),
        now,
    )
    w.run(c.CreateMarket("gone", "operator", "Voided?", ("Yes", "No"), close, 20 * ONE), now)
    # book-only market: resting asks and bids, then takers, across the day boundary
    w.run(c.MintSets("ana", "book", 50 * ONE), now)
    w.run(c.PlaceOrder("ana", "book", 0, sell, yes, 20 * ONE, 400_000), now)
    w.run(c.PlaceOrder("ben", "book", 0, buy, no, 10 * ONE, 500_000), now)
    now += 90_000_000  # 23:59:30
    w.run(c.PlaceOrder("chen", "book", 0, buy, yes, 5 * ONE, 450_000), now)  # takes ana's
    now += 45_000_000  # 00:00:15 next day
    w.run(c.PlaceOrder("dara", "book", 0, buy, yes, 10 * ONE, 410_000), now)
    w.run(c.MintSets("eve", "book", 10 * ONE), now)
    w.run(c.PlaceOrder("eve", "book", 0, buy, yes, 4 * ONE, 550_000), now)  # vs ben's buy NO
    w.run(c.PlaceOrder("eve", "book", 0, sell, no, 3 * ONE, 500_000, tif=c.TimeInForce.IOC), now)
    w.run(c.RedeemSets("eve", "book", 2 * ONE), now)
    # GTD order that expires on a clock advance
    w.run(
        c.PlaceOrder(
            "ben",
            "book",
            0,
            buy,
            yes,
            2 * ONE,
            100_000,
            tif=c.TimeInForce.GTD,
            expires_at=now + HOUR,
        ),
        now,
    )
    now += 2 * HOUR
    w.run(AdvanceClock(now), now)
    # the maker markets
    w.run(c.PlaceOrder("ana", "bin", 0, buy, yes, 40 * ONE, 650_000), now)
    w.run(c.PlaceOrder("ben", "bin", 0, buy, no, 30 * ONE, 300_000), now)
    w.run(c.PlaceOrder("chen", "bin", 0, buy, yes, budget=25 * ONE), now)
    w.run(c.PlaceOrder("dara", "bin", 1, buy, yes, 5 * ONE, 600_000), now)  # = buy NO
    w.run(c.PlaceOrder("ana", "bin", 0, sell, yes, 10 * ONE, None), now)
    w.run(c.PlaceOrder("ben", "cat", 1, buy, yes, 20 * ONE, 600_000), now)
    w.run(c.PlaceOrder("chen", "cat", 0, buy, no, 10 * ONE, 900_000), now)
    w.run(c.ConvertNo("chen", "cat", 0, 10 * ONE), now)
    w.run(c.ConvertNo("chen", "cat", 0, 4 * ONE, to_yes=False), now)
    w.run(c.RedeemSets("chen", "cat", 4 * ONE, outcome=0), now, must=False)
    w.run(c.MintSets("dara", "cat", 6 * ONE), now)
    w.run(c.PlaceOrder("dara", "cat", 2, sell, yes, 6 * ONE, 300_000), now)
    w.run(c.PlaceOrder("eve", "gone", 0, buy, yes, 5 * ONE, 700_000), now)
    w.run(c.HaltMarket("cat", "investigating"), now)
    w.run(c.ResumeMarket("cat", "all clear"), now)
    w.run(c.CancelAll("dara"), now)
    w.run(c.VoidMarket("gone", "source vanished"), now)
    now = resolution_story(w, now)
    return now


def _spec(observation_at: int) -> str:
    expect = [{"outcome": 0, "value": "yes"}, {"outcome": 1, "value": "no"}]
    sources = [
        {"kind": "http_json", "id": sid, "owner": owner, "url": f"https://{sid}.example/x",
         "path": "$.answer", "expect": expect}
        for sid, owner in (("wire", "Wire Agency"), ("feed", "Feed Org"))
    ]  # fmt: skip
    spec = {"sources": sources, "observation_at_us": observation_at, "quorum": 2,
            "persistence": {"hours": 1}}  # fmt: skip
    return json.dumps(spec)


def resolution_story(w: JournalWriter, now: int) -> int:
    """A market resolved through evidence, a clarification, an alert, a dispute and votes."""
    close = now + HOUR
    w.run(c.CreateMarket("res", "operator", "Evidence?", ("Yes", "No"), close, 10 * ONE,
                         spec=_spec(close)), now)  # fmt: skip
    w.run(c.PlaceOrder("eve", "res", 0, c.Side.BUY, c.Token.YES, 2 * ONE, 600_000), now)
    w.run(c.PostClarification("res", "operator", "Yes means the agency says yes."), now)
    w.run(c.DeclareAffiliation("eve", "Wire Agency"), now)
    w.run(c.RecordObservation("res", "wire", now, True, "yes", "ab" * 32, 200), now)
    w.run(c.RecordObservation("res", "feed", now, False, None, "", 500, "http_status"), now)
    w.run(
        c.RaiseAlert("res", "affiliation", "low", ("eve",), (1,), "eve is the wire", key="a"), now
    )
    w.run(c.ReviewAlert(1, "operator", "dismiss", "declared"), now)
    now += 2 * HOUR
    w.run(AdvanceClock(now), now)  # closes the market
    w.run(c.ProposeOutcome("res", "ana", 0, 100 * ONE, "it happened"), now)
    w.run(c.DisputeProposal("res", "ben", 100 * ONE, "it did not"), now)
    w.run(c.CastVote("res", "chen", 0, "the wire says yes"), now)
    w.run(c.CastVote("res", "dara", 0), now)  # 2 of 3: ana was right; bonds paid
    return now


def random_session(w: JournalWriter, now: int, commands: int, seed: int) -> int:
    """Seeded random trading in the open markets; refused commands are simply skipped."""
    rng = random.Random(seed)
    markets = [("bin", 1), ("book", 1), ("cat", 3)]
    for _ in range(commands):
        now += rng.choice((0, 1_000_000, 7_000_000, 40_000_000, 7 * MINUTE, 3 * HOUR))
        account = rng.choice(ACCOUNTS[1:])
        market, books = rng.choice(markets)
        roll = rng.random()
        if roll < 0.08:
            w.run(c.MintSets(account, market, rng.randint(1, 20) * ONE), now, must=False)
        elif roll < 0.12:
            w.run(c.RedeemSets(account, market, rng.randint(1, 5) * ONE), now, must=False)
        elif roll < 0.15 and market == "cat":
            outcome = rng.randrange(3)
            to_yes = rng.random() < 0.5
            w.run(c.ConvertNo(account, market, outcome, ONE, to_yes), now, must=False)
        elif roll < 0.22:
            open_ids = list(w.exchange.open_orders.get(account, {}))
            if open_ids:
                w.run(c.CancelOrder(account, rng.choice(open_ids)), now, must=False)
        else:
            side = rng.choice((c.Side.BUY, c.Side.SELL))
            token = rng.choice((c.Token.YES, c.Token.NO))
            price = None if rng.random() < 0.15 else rng.randint(5, 95) * 10_000
            tif = rng.choice((c.TimeInForce.GTC, c.TimeInForce.GTC, c.TimeInForce.IOC))
            if price is None:
                tif = c.TimeInForce.IOC
            qty = rng.randint(1, 30) * ONE
            order = c.PlaceOrder(
                account, market, rng.randrange(books), side, token, qty, price, tif=tif
            )
            w.run(order, now, must=False)
        if w.key is not None and rng.random() < 0.02:
            w.checkpoint(now)
    return now


def build_journal(
    path: Path, *, commands: int = 300, seed: int = 7, key: Ed25519PrivateKey | None = None
) -> JournalWriter:
    """A journal at ``path`` (SQLite): the scripted scenario, random trading, settlement."""
    with SqliteJournalStore(path) as store:
        store.acquire_writer("test-builder")
        w = JournalWriter(store, key)
        now = scripted(w)
        if key is not None:
            w.checkpoint(now)
        now = random_session(w, now, commands, seed)
        now += HOUR
        w.run(c.ResolveMarket("bin", (0, ONE), "resolved No"), now)
        w.run(c.CloseMarket("book", "closing"), now)
        if key is not None:
            w.checkpoint(now)
        w.flush()
        w.store = None  # type: ignore[assignment]
    return w
