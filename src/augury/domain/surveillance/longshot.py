"""Longshot accumulation ahead of a source change (the Myrnohrad pattern).

For each :class:`~augury.domain.surveillance.model.SourceChange` toward outcome k of a
market, look at the ``window_us`` before it: which accounts *net-accumulated* k while
k was priced below ``threshold`` (the longshot)? In a market at 99.7%, every trade has
a longshot buyer on one side, so gross buying means nothing; honest traders buy and
sell, accumulators only buy. The alert is scored on four parts, each 0..1:

- size: the accumulators' net longshot shares over the market's traded shares in the
  window, relative to ``size_full`` (at or above it counts 1);
- timing: how close to the change the buying was (1 = just before it, 0 = a window
  earlier), weighted by shares;
- concentration: the accumulators' share of all longshot buying in the window, times
  ``min(1, few / accumulators)``;
- age: how young the accounts were (1 = opened just now, 0 = ``young_us`` or older),
  weighted by shares; unknown age counts as old.

``score = 0.4 size + 0.2 timing + 0.2 concentration + 0.2 age``; ``high_at`` and
``medium_at`` cut the severity, below ``low_at`` nothing is raised. An account is
named when it net-bought at least ``account_share`` of the window's volume and
``min_qty`` shares.

Known false positives: a genuine informed view (a trader who reads the same source
faster), a market maker's inventory that happens to end long the longshot, hedgers
holding the longshot against a position elsewhere. Binary markets and the YES side
of categorical books are scored; a categorical NO ("not k") is not a bet toward an
outcome and is ignored.
"""

from __future__ import annotations

from collections import deque

import msgspec

from augury.domain.surveillance.base import Detector
from augury.domain.surveillance.model import (
    DAY_US,
    HOUR_US,
    MAKER,
    Context,
    Severity,
    SourceChange,
    make_alert,
)
from augury.domain.surveillance.tape import Record, Tape, Trade
from augury.domain.units import ONE


class LongshotParams(msgspec.Struct, frozen=True):
    threshold: int = 50_000  # micro-credits: a bet priced below 5% is a longshot
    window_us: int = 6 * HOUR_US
    account_share: float = 0.05
    min_qty: int = 10 * ONE
    size_full: float = 0.30
    few: int = 5
    young_us: int = 30 * DAY_US
    low_at: float = 0.35
    medium_at: float = 0.50
    high_at: float = 0.65


class LongshotDetector(Detector):
    name = "longshot"

    def __init__(
        self,
        context: Context | None = None,
        params: LongshotParams | None = None,
        tape: Tape | None = None,
    ) -> None:
        super().__init__(context, tape)
        self.params = params or LongshotParams()
        self._trades: dict[str, deque[Trade]] = {}
        self._pending = sorted(self.context.source_changes, key=lambda c: c.seq)

    def add_change(self, change: SourceChange) -> None:
        """A source change learned while the stream runs (after every seq already fed)."""
        self._pending.append(change)
        self._pending.sort(key=lambda c: c.seq)

    def advance(self, seq: int, ts_us: int) -> None:
        while self._pending and self._pending[0].seq < seq:
            self._evaluate(self._pending.pop(0))

    def on_record(self, record: Record) -> None:
        if not isinstance(record, Trade):
            return
        trades = self._trades.setdefault(record.market, deque())
        trades.append(record)
        horizon = record.ts_us - 2 * self.params.window_us  # pending changes are behind us
        while trades and trades[0].ts_us < horizon:
            trades.popleft()

    def finish(self) -> None:
        while self._pending and self._pending[0].seq <= self.tape.last_seq:
            self._evaluate(self._pending.pop(0))

    def _evaluate(self, change: SourceChange) -> None:
        p = self.params
        start = change.ts_us - p.window_us
        window = [
            t
            for t in self._trades.get(change.market, ())
            if start <= t.ts_us < change.ts_us and t.seq < change.seq
        ]
        volume = sum(t.qty for t in window)
        if volume == 0:
            return
        net: dict[str, int] = {}
        bought: dict[str, list[Trade]] = {}
        gross = 0
        for trade in window:
            for account, signed, price in self.tape.legs(trade, change.outcome):
                if price >= p.threshold or account == MAKER:
                    continue
                net[account] = net.get(account, 0) + signed
                if signed > 0:
                    gross += signed
                    bought.setdefault(account, []).append(trade)
        named = {a: q for a, q in net.items() if q >= p.min_qty and q >= p.account_share * volume}
        if not named:
            return
        total = sum(named.values())
        size = min(1.0, total / volume / p.size_full)
        timing_sum = age_sum = weight = 0.0
        for account in named:
            for trade in bought[account]:
                weight += trade.qty
                timing_sum += trade.qty * (1 - (change.ts_us - trade.ts_us) / p.window_us)
                age = self.tape.age_us(account, trade.ts_us)
                youth = 0.0 if age is None else max(0.0, 1 - age / p.young_us)
                age_sum += trade.qty * youth
        timing = timing_sum / weight
        youth = age_sum / weight
        concentration = min(1.0, total / gross) * min(1.0, p.few / len(named))
        score = 0.4 * size + 0.2 * timing + 0.2 * concentration + 0.2 * youth
        if score < p.low_at:
            return
        severity = (
            Severity.HIGH
            if score >= p.high_at
            else Severity.MEDIUM
            if score >= p.medium_at
            else Severity.LOW
        )
        evidence = [t.seq for a in named for t in bought[a]] + [change.seq]
        reason = (
            f"{len(named)} account(s) net-bought {total / ONE:g} shares of outcome "
            f"{change.outcome} below {p.threshold / ONE:.1%} in the {p.window_us // HOUR_US}h "
            f"before a source change toward it (seq {change.seq}): {total / volume:.0%} of the "
            f"window's volume; size {size:.2f}, timing {timing:.2f}, "
            f"concentration {concentration:.2f}, youth {youth:.2f}"
        )
        self._alerts.append(
            make_alert(self.name, change.market, set(named), evidence, severity, reason, score)
        )
