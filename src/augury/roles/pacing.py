"""How long a following projector gathers records into one transaction (``Pace``).

A read-model transaction costs about what projecting several records does (beginning
it, the state row's lock, the commit writing every page the batch touched: on SQLite
the WAL frames of every table and index leaf), so a projector that commits every few
records spends most of its CPU on transactions. Measured with bench/projector.py
(SQLite; PostgreSQL alike): ~140 us of CPU per record in batches of 8, ~115 in 16, ~92
in 32 and ~83 in 64.

Both followers (the projector process of ``augury serve`` and ``augury follow --role
project``) therefore gather for a while before each transaction. After a pause the
gap is ``least_s`` (2 ms: a lone record is applied at once, and one that comes right
after it waits at most that long). While the feed stays busy (every gathering finds
more records; for the role, whose records come in bus messages of several each, also
a first message within ``most_s`` of the last batch) the gap doubles, batch after
batch, up to ``most_s`` (10 ms): at a few thousand records per second each transaction
then carries tens of records instead of a handful. A read that waits for the read
models (``Services.barrier``) waits at most that much longer; the first gathering that
finds nothing more sets the gap back.
"""

from __future__ import annotations

LEAST_S = 0.002
"""The gap after a pause (and the smallest)."""
MOST_S = 0.010
"""The largest gap, reached after a few busy batches in a row."""


class Pace:
    """The current gap between the starts of two batches (seconds), adapted to the feed."""

    def __init__(self, least_s: float = LEAST_S, most_s: float = MOST_S) -> None:
        assert 0 < least_s <= most_s
        self.least_s, self.most_s = least_s, most_s
        self.gap_s = least_s

    def busy(self) -> float:
        """A gathering found more records: the next gap doubles (up to ``most_s``)."""
        self.gap_s = min(self.most_s, self.gap_s * 2)
        return self.gap_s

    def quiet(self) -> float:
        """A gathering found nothing more: the next gap is ``least_s`` again."""
        self.gap_s = self.least_s
        return self.gap_s

    def gathered(self, waited_s: float, more: bool) -> float:
        """After a gathering that waited ``waited_s`` for its first records and found
        ``more`` while it gathered: busy if either came soon (records arriving at least
        every ``most_s``, as messages of several records each do under load), else quiet."""
        return self.busy() if more or waited_s < self.most_s else self.quiet()
