"""Affiliation: trades by accounts tied to an organization that owns a market's source.

``Context.source_owners`` maps a market to the organizations that own (edit, publish)
one of its resolution sources; ``AccountInfo.affiliations`` declares an account's
organizations and ``linked``/``funded_by`` tie accounts together. Every trade by an
account declared at an owner is flagged ``high``; by an account only linked to one
(an alt, a relative's desk, a shared funder) ``medium``. One alert per market and
account, with every such trade as evidence.

Parameters: none beyond the context (a policy may block these accounts outright; that
is the engine's business, not this detector's).

Known false positives: a declared affiliation with a large organization whose source
desk has nothing to do with the trader (a newspaper's sports writer trading a market
resolved by its politics desk); stale declarations; links through a shared funder that
is an operator's grant program rather than a person.
"""

from __future__ import annotations

from augury.domain.surveillance.base import Detector
from augury.domain.surveillance.model import MAKER, Alert, Context, Severity, make_alert
from augury.domain.surveillance.tape import Record, Tape, Trade
from augury.domain.units import ONE


class AffiliationDetector(Detector):
    name = "affiliation"

    def __init__(self, context: Context | None = None, tape: Tape | None = None) -> None:
        super().__init__(context, tape)
        # (market, account) -> (organization, linked account or "", shares, seqs)
        self._hits: dict[tuple[str, str], tuple[str, str, int, list[int]]] = {}
        self._ties: dict[tuple[str, str], tuple[str, str] | None] = {}

    def forget_ties(self) -> None:
        """Affiliations or source owners changed: look every account up again."""
        self._ties.clear()

    def on_record(self, record: Record) -> None:
        if not isinstance(record, Trade):
            return
        owners = self.context.source_owners.get(record.market)
        if not owners:
            return
        for account in (record.buyer, record.seller):
            if account == MAKER:
                continue
            cache_key = (record.market, account)
            if cache_key not in self._ties:
                self._ties[cache_key] = self._tie(account, owners)
            tie = self._ties[cache_key]
            if tie is None:
                continue
            key = (record.market, account)
            org, via, qty, seqs = self._hits.get(key, (tie[0], tie[1], 0, []))
            seqs.append(record.seq)
            self._hits[key] = (org, via, qty + record.qty, seqs)

    def _tie(self, account: str, owners: tuple[str, ...]) -> tuple[str, str] | None:
        """(organization, "" if declared else the linked account declared at it)."""
        info = self.tape.info.get(account)
        if info is not None:
            for org in info.affiliations:
                if org in owners:
                    return org, ""
        group = self.tape.group(account)
        for other in sorted(self.tape.info):
            if other == account or self.tape.group(other) != group:
                continue
            for org in self.tape.info[other].affiliations:
                if org in owners:
                    return org, other
        return None

    def alerts(self) -> list[Alert]:
        out = []
        for (market, account), (org, via, qty, seqs) in sorted(self._hits.items()):
            if via:
                severity = Severity.MEDIUM
                why = f"is linked to {via}, declared at {org}"
            else:
                severity = Severity.HIGH
                why = f"is declared at {org}"
            reason = (
                f"{account} {why}, which owns a resolution source of {market}; "
                f"it traded {qty / ONE:g} shares in {len(seqs)} fill(s)"
            )
            out.append(make_alert(self.name, market, (account,), seqs, severity, reason))
        return out
