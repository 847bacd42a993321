"""Wash and self trading: fills that move no risk between different owners.

Three patterns, per market:

- self trade: both sides of a fill are one account (it allowed self-trading) -> high;
- linked trade: the two sides are distinct accounts declared linked or funded by the
  same funder (``AccountInfo.linked``/``funded_by``) -> medium, high from
  ``linked_repeat`` fills;
- closed ring (matching pattern, circular flow): accounts tied by heavy mutual trading
  (a pair's shares are at least ``tie_share`` of the smaller side's traded shares, and
  at least ``min_qty``) form groups; a group of two or more is flagged when at least
  ``ring_share`` of its members' trading is among themselves, it made at least
  ``ring_fills`` fills, and every member ends nearly flat (net shares at most
  ``flat_share`` of its traded shares): risk went round and came back. A pair is
  medium; three or more (a circle), or a pair that is almost only each other
  (``ring_share_high``), is high.

Known false positives: two honest traders who are each other's only counterparty in a
thin market (a pair ring); a market maker and one active client; accounts linked only
through an operator's grant program. Rings are judged over the whole stream so far,
not a sliding window (memory: one counter per trading pair and market).
"""

from __future__ import annotations

import msgspec

from augury.domain.surveillance.base import Detector
from augury.domain.surveillance.model import MAKER, Alert, Context, Severity, make_alert
from augury.domain.surveillance.tape import Record, Tape, Trade
from augury.domain.units import ONE


class WashParams(msgspec.Struct, frozen=True):
    linked_repeat: int = 2
    tie_share: float = 0.30
    min_qty: int = 10 * ONE
    ring_share: float = 0.80
    ring_share_high: float = 0.95
    ring_fills: int = 4
    flat_share: float = 0.25


class _Market:
    __slots__ = ("gross", "net", "pairs")

    def __init__(self) -> None:
        self.gross: dict[str, int] = {}
        self.net: dict[str, int] = {}
        self.pairs: dict[tuple[str, str], tuple[int, list[int]]] = {}


class WashDetector(Detector):
    name = "wash"

    def __init__(
        self,
        context: Context | None = None,
        params: WashParams | None = None,
        tape: Tape | None = None,
    ) -> None:
        super().__init__(context, tape)
        self.params = params or WashParams()
        self._markets: dict[str, _Market] = {}

    def on_record(self, record: Record) -> None:
        if not isinstance(record, Trade):
            return
        m = self._markets.setdefault(record.market, _Market())
        buyer, seller, qty = record.buyer, record.seller, record.qty
        for account, sign in ((buyer, 1), (seller, -1)):
            m.gross[account] = m.gross.get(account, 0) + qty
            m.net[account] = m.net.get(account, 0) + sign * qty
        if MAKER in (buyer, seller):
            return
        key = (min(buyer, seller), max(buyer, seller))
        shares, seqs = m.pairs.get(key, (0, []))
        seqs.append(record.seq)
        m.pairs[key] = (shares + qty, seqs)

    def alerts(self) -> list[Alert]:
        out: list[Alert] = []
        for market in sorted(self._markets):
            m = self._markets[market]
            out.extend(self._pair_alerts(market, m))
            out.extend(self._rings(market, m))
        return out

    def _pair_alerts(self, market: str, m: _Market) -> list[Alert]:
        out = []
        for (a, b), (shares, seqs) in sorted(m.pairs.items()):
            if a == b:
                reason = f"{a} traded with itself {len(seqs)} time(s), {shares / ONE:g} shares"
                out.append(make_alert(self.name, market, (a,), seqs, Severity.HIGH, reason))
            elif self.tape.linked(a, b):
                severity = (
                    Severity.HIGH if len(seqs) >= self.params.linked_repeat else Severity.MEDIUM
                )
                reason = (
                    f"{a} and {b} are linked (declared or same funder) and traded with each "
                    f"other {len(seqs)} time(s), {shares / ONE:g} shares"
                )
                out.append(make_alert(self.name, market, (a, b), seqs, severity, reason))
        return out

    def _rings(self, market: str, m: _Market) -> list[Alert]:
        p = self.params
        parent: dict[str, str] = {}
        tied: set[str] = set()

        def find(x: str) -> str:
            while parent.get(x, x) != x:
                x = parent[x]
            return x

        for (a, b), (shares, _) in m.pairs.items():
            if (
                a != b
                and shares >= p.min_qty
                and shares >= p.tie_share * min(m.gross[a], m.gross[b])
            ):
                tied.update((a, b))
                ra, rb = find(a), find(b)
                if ra != rb:
                    parent[max(ra, rb)] = min(ra, rb)
        groups: dict[str, set[str]] = {}
        for account in tied:
            groups.setdefault(find(account), set()).add(account)
        out = []
        for members in sorted(groups.values(), key=sorted):
            internal, seqs = 0, []
            for (a, b), (shares, pair_seqs) in m.pairs.items():
                if a != b and a in members and b in members:
                    internal += shares
                    seqs.extend(pair_seqs)
            traded = sum(m.gross[a] for a in members)
            share = 2 * internal / traded
            flat = all(abs(m.net[a]) <= p.flat_share * m.gross[a] for a in members)
            if len({self.tape.group(a) for a in members}) == 1:
                continue  # one linked group: already raised as linked trades
            if len(members) < 2 or share < p.ring_share or len(seqs) < p.ring_fills or not flat:
                continue
            high = len(members) >= 3 or share >= p.ring_share_high
            shape = "a circle of" if len(members) >= 3 else "a pair of"
            reason = (
                f"{shape} {len(members)} accounts traded {internal / ONE:g} shares among "
                f"themselves in {len(seqs)} fills ({share:.0%} of their trading) and each "
                f"ended nearly flat"
            )
            severity = Severity.HIGH if high else Severity.MEDIUM
            out.append(make_alert(self.name, market, members, seqs, severity, reason, share))
        return out
