"""The shape every detector shares: fed stream items in order, asked for alerts at any time.

A detector owns a :class:`~augury.domain.surveillance.tape.Tape` when used alone
(``feed``); :class:`~augury.domain.surveillance.suite.Surveillance` shares one tape
between all detectors and calls ``advance`` and ``on_record`` directly.
"""

from __future__ import annotations

from augury.domain.surveillance.model import Alert, Context, StreamItem
from augury.domain.surveillance.tape import Record, Tape


class Detector:
    """Base of the detectors: ``feed(item)`` in journal order, then ``alerts()``."""

    name = "detector"

    def __init__(self, context: Context | None = None, tape: Tape | None = None) -> None:
        self.tape = tape if tape is not None else Tape(context)
        self.context = self.tape.context
        self._owns_tape = tape is None
        self._alerts: list[Alert] = []

    def feed(self, item: StreamItem) -> None:
        """Read one stream item (only for a detector that owns its tape)."""
        assert self._owns_tape, "a detector sharing a tape is fed by its suite"
        self.advance(item.seq, item.ts_us)
        for record in self.tape.feed(item):
            self.on_record(record)

    def advance(self, seq: int, ts_us: int) -> None:
        """The stream reached ``seq`` at ``ts_us`` (before that item is read)."""

    def on_record(self, record: Record) -> None:
        """Read one record of the tape (a trade, an order placed or ended, a spec, a capture)."""

    def finish(self) -> None:
        """Evaluate whatever is still pending (end of the stream so far)."""

    def alerts(self) -> list[Alert]:
        """Every alert so far, pending checks included (idempotent)."""
        self.finish()
        return list(self._alerts)
