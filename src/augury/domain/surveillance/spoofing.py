"""Spoofing and layering: large orders shown and pulled within seconds, repeatedly, on one
side, while the same account trades on the other side.

An order is *large* when its size is at least ``large_factor`` times the mean size of
the market's earlier orders (and at least ``min_qty``); it is *pulled* when it is
cancelled, replaced by an amendment, or reduced in place by one, within
``cancel_within_us`` of being placed, having filled (and, when reduced, kept) at most
``fill_share`` of its size. An account with ``repeat_min`` pulled large orders on one
side of one book within ``window_us`` is flagged; with trades on the opposite side
between ``window_us`` before the first pull and ``window_us`` after the last, medium,
or high from ``repeat_high`` pulls; without such trades low (layering or a nervous
quoter).

Known false positives: a market maker that requotes large size quickly as the price
moves (it usually trades both sides, so it may look like the pattern); an algorithm
that cancels on every news tick; a trader working a large order in slices.
"""

from __future__ import annotations

import msgspec

from augury.domain.surveillance.base import Detector
from augury.domain.surveillance.model import (
    MINUTE_US,
    SECOND_US,
    Alert,
    Context,
    Severity,
    make_alert,
)
from augury.domain.surveillance.tape import OrderLife, OrderPlaced, Record, Tape, Trade
from augury.domain.units import ONE

PULLS = frozenset({"cancelled", "replaced", "reduced"})
"""The ends of an order's life (``OrderLife.reason``) that take its size off the book
at its owner's request: an amendment pulls as well as a cancel."""


class SpoofParams(msgspec.Struct, frozen=True):
    large_factor: float = 5.0
    min_qty: int = 50 * ONE
    cancel_within_us: int = 10 * SECOND_US
    fill_share: float = 0.10
    repeat_min: int = 3
    repeat_high: int = 5
    window_us: int = 10 * MINUTE_US
    warmup_orders: int = 20  # before this many orders a market's mean is not trusted


class SpoofingDetector(Detector):
    name = "spoofing"

    def __init__(
        self,
        context: Context | None = None,
        params: SpoofParams | None = None,
        tape: Tape | None = None,
    ) -> None:
        super().__init__(context, tape)
        self.params = params or SpoofParams()
        self._sizes: dict[str, tuple[int, int]] = {}  # market -> (orders, total qty)
        self._large: set[int] = set()  # seqs of placements that were large when placed
        # (account, market, outcome, bid) -> pulled orders / trades on that side
        self._pulls: dict[tuple[str, str, int, bool], list[OrderLife]] = {}
        self._trades: dict[tuple[str, str, int, bool], list[Trade]] = {}

    def on_record(self, record: Record) -> None:
        p = self.params
        if isinstance(record, OrderPlaced):
            count, total = self._sizes.get(record.market, (0, 0))
            if record.qty >= p.min_qty and (
                count < p.warmup_orders or record.qty >= p.large_factor * total / count
            ):
                self._large.add(record.seq)
            self._sizes[record.market] = (count + 1, total + record.qty)
        elif isinstance(record, OrderLife):
            large = record.seq_placed in self._large
            self._large.discard(record.seq_placed)
            if (
                large
                and record.reason in PULLS
                and record.ts_closed_us - record.ts_placed_us <= p.cancel_within_us
                and record.filled <= p.fill_share * record.qty
            ):
                key = (record.account, record.market, record.outcome, record.bid)
                self._pulls.setdefault(key, []).append(record)
        elif isinstance(record, Trade):
            for account, bid in ((record.buyer, True), (record.seller, False)):
                key = (account, record.market, record.outcome, bid)
                self._trades.setdefault(key, []).append(record)

    def alerts(self) -> list[Alert]:
        p = self.params
        out = []
        for key in sorted(self._pulls):
            account, market, outcome, bid = key
            burst = _densest(self._pulls[key], p.window_us)
            if len(burst) < p.repeat_min:
                continue
            first, last = burst[0].ts_placed_us, burst[-1].ts_closed_us
            opposite = [
                t
                for t in self._trades.get((account, market, outcome, not bid), [])
                if first - p.window_us <= t.ts_us <= last + p.window_us
            ]
            if not opposite:
                severity = Severity.LOW
            elif len(burst) >= p.repeat_high:
                severity = Severity.HIGH
            else:
                severity = Severity.MEDIUM
            side, other = ("bid", "ask") if bid else ("ask", "bid")
            lifetimes = [(o.ts_closed_us - o.ts_placed_us) / SECOND_US for o in burst]
            reason = (
                f"{account} placed and cancelled {len(burst)} large {side}(s) on book "
                f"{outcome} within {max(lifetimes):.1f}s each, and traded "
                f"{sum(t.qty for t in opposite) / ONE:g} shares on the {other} side nearby"
            )
            evidence = [o.seq_placed for o in burst] + [o.seq_closed for o in burst]
            evidence += [t.seq for t in opposite]
            out.append(make_alert(self.name, market, (account,), evidence, severity, reason))
        return out


def _densest(pulls: list[OrderLife], window_us: int) -> list[OrderLife]:
    """The largest run of pulls whose placements fit in ``window_us`` (earliest if tied)."""
    best: list[OrderLife] = []
    start = 0
    for end in range(len(pulls)):
        while pulls[end].ts_placed_us - pulls[start].ts_placed_us > window_us:
            start += 1
        if end + 1 - start > len(best):
            best = pulls[start : end + 1]
    return best
