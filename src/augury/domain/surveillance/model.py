"""The vocabulary of surveillance: what detectors read (stream items, context) and write (alerts).

Everything here is a plain immutable value. Detectors never read a clock, a file or a
random source: the journal's sequence numbers and timestamps arrive with each event,
and everything the journal does not know (account metadata, who owns a resolution
source, when a source's observation moved) arrives as :class:`Context`.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

import msgspec

from augury.domain.events import Event

MAKER: Final = "@maker"
"""The counterparty name used for the LMSR market maker in a normalized trade."""

SECOND_US: Final = 1_000_000
MINUTE_US: Final = 60 * SECOND_US
HOUR_US: Final = 60 * MINUTE_US
DAY_US: Final = 24 * HOUR_US


class StreamItem(msgspec.Struct, frozen=True, gc=False):
    """One journaled event: its sequence number, its time (UTC microseconds) and the event."""

    seq: int
    ts_us: int
    event: Event


class Severity(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"

    @property
    def rank(self) -> int:
        return _RANKS[self]


_RANKS: Final = {Severity.LOW: 0, Severity.MEDIUM: 1, Severity.HIGH: 2}


class Alert(msgspec.Struct, frozen=True):
    """What a detector found, with the journal sequence numbers that show it.

    ``score_bp`` is the detector's score in basis points (0..10,000) where it has one,
    else 0; ``evidence`` is sorted and unique; ``accounts`` is sorted.
    """

    detector: str
    market: str
    accounts: tuple[str, ...]
    evidence: tuple[int, ...]
    severity: Severity
    reason: str
    score_bp: int = 0
    key: str = ""
    """What the finding is about beyond its market and accounts (``unconfirmed``: the
    source and the changed capture's hash); "" for the others."""


class AccountInfo(msgspec.Struct, frozen=True):
    """What the operator knows about an account beyond the journal.

    ``affiliations`` are declared organizations; ``linked`` are accounts declared or
    known to be the same person or desk; ``funded_by`` is the account (or sponsor) whose
    credits funded this one: accounts sharing a funder are treated as linked.
    """

    account: str
    created_at_us: int | None = None
    affiliations: tuple[str, ...] = ()
    linked: tuple[str, ...] = ()
    funded_by: str | None = None


class SourceChange(msgspec.Struct, frozen=True):
    """An observation of a resolution source that moved toward ``outcome`` of ``market``.

    ``seq`` and ``ts_us`` place it in the journal (the observation's capture record).
    """

    market: str
    outcome: int
    seq: int
    ts_us: int
    source: str = ""


class Context(msgspec.Struct, frozen=True):
    """Everything the detectors may know besides the event stream (all optional)."""

    accounts: tuple[AccountInfo, ...] = ()
    source_owners: dict[str, tuple[str, ...]] = {}  # market -> organizations owning a source
    source_changes: tuple[SourceChange, ...] = ()


def make_alert(
    detector: str,
    market: str,
    accounts: set[str] | tuple[str, ...],
    evidence: set[int] | list[int] | tuple[int, ...],
    severity: Severity,
    reason: str,
    score: float = 0.0,
    key: str = "",
) -> Alert:
    """Build an :class:`Alert` with sorted, unique accounts and evidence."""
    assert accounts, "an alert names at least one account"
    assert 0.0 <= score <= 1.0
    return Alert(
        detector=detector,
        market=market,
        accounts=tuple(sorted(set(accounts))),
        evidence=tuple(sorted(set(evidence))),
        severity=severity,
        reason=reason,
        score_bp=round(score * 10_000),
        key=key,
    )
