"""All detectors over one shared tape: the usual way to run surveillance.

``Surveillance(context).feed(item)`` in journal order, ``alerts()`` whenever wanted;
``scan(items, context)`` does both for a finished stream.
"""

from __future__ import annotations

from collections.abc import Iterable

from augury.domain.surveillance.affiliation import AffiliationDetector
from augury.domain.surveillance.base import Detector
from augury.domain.surveillance.last_minute import LastMinuteDetector
from augury.domain.surveillance.longshot import LongshotDetector
from augury.domain.surveillance.model import Alert, Context, StreamItem
from augury.domain.surveillance.spoofing import SpoofingDetector
from augury.domain.surveillance.tape import Tape
from augury.domain.surveillance.wash import WashDetector


class Surveillance:
    """Every detector, fed once per item through one tape."""

    def __init__(self, context: Context | None = None) -> None:
        self.tape = Tape(context)
        tape = self.tape
        self.detectors: tuple[Detector, ...] = (
            LongshotDetector(tape=tape),
            AffiliationDetector(tape=tape),
            WashDetector(tape=tape),
            SpoofingDetector(tape=tape),
            LastMinuteDetector(tape=tape),
        )

    def feed(self, item: StreamItem) -> None:
        for detector in self.detectors:
            detector.advance(item.seq, item.ts_us)
        for record in self.tape.feed(item):
            for detector in self.detectors:
                detector.on_record(record)

    def alerts(self) -> list[Alert]:
        """Every detector's alerts, in detector order then as each detector sorts them."""
        return [alert for detector in self.detectors for alert in detector.alerts()]


def scan(items: Iterable[StreamItem], context: Context | None = None) -> list[Alert]:
    """Run every detector over a finished stream."""
    surveillance = Surveillance(context)
    for item in items:
        surveillance.feed(item)
    return surveillance.alerts()
