"""All detectors over one shared tape: the usual way to run surveillance.

``Surveillance(context).feed(item)`` in journal order, ``alerts()`` whenever wanted;
``scan(items, context)`` does both for a finished stream.

Fed a live journal, the suite also learns its context from the stream itself: who owns
each market's resolution sources (``ResolutionSpecSet``), declared affiliations
(``AffiliationDeclared``) and every change of a source's answer (``ObservationRecorded``
whose value maps to a different outcome than the source's previous answer), so the
longshot, last-minute and affiliation detectors work without a hand-built context. The
``unconfirmed`` detector reads the specs and observations itself (through the tape).
"""

from __future__ import annotations

from collections.abc import Iterable

import msgspec

from augury.domain import events as ev
from augury.domain.resolution.spec import decode_spec
from augury.domain.surveillance.affiliation import AffiliationDetector
from augury.domain.surveillance.base import Detector
from augury.domain.surveillance.last_minute import LastMinuteDetector
from augury.domain.surveillance.longshot import LongshotDetector
from augury.domain.surveillance.model import AccountInfo, Alert, Context, SourceChange, StreamItem
from augury.domain.surveillance.spoofing import SpoofingDetector
from augury.domain.surveillance.tape import Tape
from augury.domain.surveillance.unconfirmed import UnconfirmedDetector
from augury.domain.surveillance.wash import WashDetector


class Surveillance:
    """Every detector, fed once per item through one tape."""

    def __init__(self, context: Context | None = None) -> None:
        self.tape = Tape(context)
        tape = self.tape
        self.longshot = LongshotDetector(tape=tape)
        self.affiliation = AffiliationDetector(tape=tape)
        self.last_minute = LastMinuteDetector(tape=tape)
        self.unconfirmed = UnconfirmedDetector(tape=tape)
        self.detectors: tuple[Detector, ...] = (
            self.longshot,
            self.affiliation,
            WashDetector(tape=tape),
            SpoofingDetector(tape=tape),
            self.last_minute,
            self.unconfirmed,
        )
        self._answers: dict[str, dict[str, dict[str, int]]] = {}  # market -> source -> table
        self._last: dict[tuple[str, str], int] = {}  # (market, source) -> last outcome

    def feed(self, item: StreamItem) -> None:
        self._learn(item)
        for detector in self.detectors:
            detector.advance(item.seq, item.ts_us)
        for record in self.tape.feed(item):
            for detector in self.detectors:
                detector.on_record(record)

    # -- context learned from the stream ------------------------------------------------
    def _learn(self, item: StreamItem) -> None:
        e = item.event
        if isinstance(e, ev.ResolutionSpecSet):
            spec = decode_spec(e.spec)
            owners = tuple(sorted({s.owner for s in spec.sources}))
            self._answers[e.market] = {
                s.id: {x.value: x.outcome for x in s.expect} for s in spec.sources
            }
            self._set_context(
                msgspec.structs.replace(
                    self.tape.context,
                    source_owners={**self.tape.context.source_owners, e.market: owners},
                )
            )
        elif isinstance(e, ev.ObservationRecorded) and e.ok and e.value is not None:
            outcome = self._answers.get(e.market, {}).get(e.source_id, {}).get(e.value)
            if outcome is None:
                return
            key = (e.market, e.source_id)
            before = self._last.get(key)
            self._last[key] = outcome
            if before is not None and before != outcome:
                self._source_changed(
                    SourceChange(e.market, outcome, item.seq, item.ts_us, e.source_id)
                )
        elif isinstance(e, ev.AffiliationDeclared):
            tape = self.tape
            info = tape.info.get(e.account) or AccountInfo(e.account)
            orgs = set(info.affiliations)
            if e.affiliated:
                orgs.add(e.organization)
            else:
                orgs.discard(e.organization)
            tape.info[e.account] = msgspec.structs.replace(info, affiliations=tuple(sorted(orgs)))
            self.affiliation.forget_ties()

    def _set_context(self, context: Context) -> None:
        self.tape.context = context
        for detector in self.detectors:
            detector.context = context
        self.affiliation.forget_ties()

    def _source_changed(self, change: SourceChange) -> None:
        self.longshot.add_change(change)
        self.last_minute.add_change(change)

    def alerts(self) -> list[Alert]:
        """Every detector's alerts, in detector order then as each detector sorts them."""
        return [alert for detector in self.detectors for alert in detector.alerts()]


def scan(items: Iterable[StreamItem], context: Context | None = None) -> list[Alert]:
    """Run every detector over a finished stream."""
    surveillance = Surveillance(context)
    for item in items:
        surveillance.feed(item)
    return surveillance.alerts()
