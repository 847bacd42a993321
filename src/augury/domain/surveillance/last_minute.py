"""Last-minute moves: a price or volume spike at an extreme price just before a market
closes or a source is observed.

Reference instants are each market's close time (from ``MarketCreated``) and every
``SourceChange`` of it. For a reference R the detector compares the ``pre_us`` before
R with the ``baseline_us`` before that:

- price spike: the odds p/(1-p) moved by a factor of ``odds_factor`` or more between
  the price before the pre-window and the price at its end (each the volume-weighted
  price of ``anchor_trades`` trades, so one stray print is not a spike);
- volume spike: shares traded per unit of time in the pre-window are at least
  ``volume_factor`` times the baseline's (any volume of ``min_qty`` or more counts as
  a spike after a silent baseline);
- extreme: the price before or after is within ``extreme`` of 0 or 1.

Both spikes at an extreme price -> high; a price spike alone -> medium; a volume spike
alone -> low. The accounts named are those that traded in the direction of the move
(buyers when it rose), largest first, until ``cover`` of that volume is explained.

Known false positives: real news just before close (the move is right, and early);
a market that always trades most in its last minutes; a thin baseline.
"""

from __future__ import annotations

from collections import deque

import msgspec

from augury.domain.surveillance.base import Detector
from augury.domain.surveillance.model import (
    HOUR_US,
    MAKER,
    MINUTE_US,
    Context,
    Severity,
    SourceChange,
)
from augury.domain.surveillance.model import make_alert as _alert
from augury.domain.surveillance.tape import Record, Tape, Trade
from augury.domain.units import ONE


class LastMinuteParams(msgspec.Struct, frozen=True):
    pre_us: int = 15 * MINUTE_US
    baseline_us: int = 6 * HOUR_US
    extreme: int = 100_000  # within 10% of 0 or 1
    odds_factor: int = 4
    volume_factor: float = 5.0
    min_qty: int = 50 * ONE
    cover: float = 0.80
    anchor_trades: int = 10  # the price before/after is the VWAP of this many trades


class LastMinuteDetector(Detector):
    name = "last_minute"

    def __init__(
        self,
        context: Context | None = None,
        params: LastMinuteParams | None = None,
        tape: Tape | None = None,
    ) -> None:
        super().__init__(context, tape)
        self.params = params or LastMinuteParams()
        self._trades: dict[str, deque[Trade]] = {}
        self._refs: list[tuple[int, str, str]] = sorted(
            (c.ts_us, c.market, f"the source change at seq {c.seq}")
            for c in self.context.source_changes
        )
        self._done: set[tuple[int, str]] = set()
        self._known = 0

    def add_change(self, change: SourceChange) -> None:
        """A source change learned while the stream runs: a reference time to check."""
        self._refs.append((change.ts_us, change.market, f"the source change at seq {change.seq}"))
        self._refs.sort()

    def advance(self, seq: int, ts_us: int) -> None:
        self._due(ts_us)

    def finish(self) -> None:
        self._due(self.tape.now_us)

    def _due(self, now_us: int) -> None:
        if len(self.tape.markets) != self._known:  # a market was created: add its close
            self._known = len(self.tape.markets)
            self._add_closes()
        while self._refs and self._refs[0][0] <= now_us:
            ref, market, what = self._refs.pop(0)
            if (ref, market) not in self._done:
                self._done.add((ref, market))
                self._evaluate(ref, market, what)

    def _add_closes(self) -> None:
        for info in self.tape.markets.values():
            key = (info.close_at_us, info.market, "close")
            if (info.close_at_us, info.market) not in self._done and key not in self._refs:
                self._refs.append(key)
                self._refs.sort()

    def on_record(self, record: Record) -> None:
        if not isinstance(record, Trade):
            return
        trades = self._trades.setdefault(record.market, deque())
        trades.append(record)
        horizon = record.ts_us - self.params.pre_us - self.params.baseline_us
        while trades and trades[0].ts_us < horizon:  # references after now need no more
            trades.popleft()

    def _evaluate(self, ref: int, market: str, what: str) -> None:
        p = self.params
        pre_start, base_start = ref - p.pre_us, ref - p.pre_us - p.baseline_us
        trades = self._trades.get(market, ())
        pre = [t for t in trades if pre_start <= t.ts_us < ref]
        base = [t for t in trades if base_start <= t.ts_us < pre_start]
        if not pre:
            return
        before = _vwap(base[-p.anchor_trades :] if base else pre[: p.anchor_trades])
        after = _vwap(pre[-p.anchor_trades :])
        pre_qty, base_qty = sum(t.qty for t in pre), sum(t.qty for t in base)
        rose = after * (ONE - before) >= p.odds_factor * before * (ONE - after)
        fell = before * (ONE - after) >= p.odds_factor * after * (ONE - before)
        extreme = min(before, after) <= p.extreme or max(before, after) >= ONE - p.extreme
        volume_spike = pre_qty >= p.min_qty and (
            pre_qty * p.baseline_us >= p.volume_factor * base_qty * p.pre_us
        )
        if not extreme or not (rose or fell or volume_spike):
            return
        if rose or fell:
            severity = Severity.HIGH if volume_spike else Severity.MEDIUM
        else:
            severity = Severity.LOW
        accounts = self._movers(pre, rose, fell)
        if not accounts:
            return
        move = "rose" if rose else "fell" if fell else "stayed"
        rate = base_qty * p.pre_us / p.baseline_us
        reason = (
            f"in the {p.pre_us // MINUTE_US} min before {what}, the price {move} from "
            f"{before / ONE:.3f} to {after / ONE:.3f} on {pre_qty / ONE:g} shares "
            f"(baseline {rate / ONE:.1f} shares per {p.pre_us // MINUTE_US} min)"
        )
        evidence = [t.seq for t in pre if t.buyer in accounts or t.seller in accounts]
        self._alerts.append(_alert(self.name, market, accounts, evidence, severity, reason))

    def _movers(self, pre: list[Trade], rose: bool, fell: bool) -> set[str]:
        volume: dict[str, int] = {}
        for t in pre:
            sides = (t.buyer,) if rose else (t.seller,) if fell else (t.buyer, t.seller)
            for account in sides:
                if account != MAKER:
                    volume[account] = volume.get(account, 0) + t.qty
        total = sum(volume.values())
        named: set[str] = set()
        covered = 0
        for account, qty in sorted(volume.items(), key=lambda kv: (-kv[1], kv[0])):
            if covered >= self.params.cover * total:
                break
            named.add(account)
            covered += qty
        return named


def _vwap(trades: list[Trade]) -> int:
    qty = sum(t.qty for t in trades)
    assert qty > 0
    return sum(t.price * t.qty for t in trades) // qty
