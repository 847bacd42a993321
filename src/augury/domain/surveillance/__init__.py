"""Market surveillance: pure detectors over the journaled event stream.

Input is the stream in journal order (:class:`StreamItem`: seq, ts_us, event) and an
optional :class:`Context` (account metadata, who owns each market's resolution
sources, source changes); output is :class:`Alert` values that name the market, the
accounts, the evidence (journal sequence numbers), a severity and the reason.

Nothing here reads a clock, performs I/O or draws randomness, and nothing here acts
on an alert: holding a resolution is the engine's decision.
"""

from __future__ import annotations

from augury.domain.surveillance.affiliation import AffiliationDetector
from augury.domain.surveillance.base import Detector
from augury.domain.surveillance.last_minute import LastMinuteDetector, LastMinuteParams
from augury.domain.surveillance.longshot import LongshotDetector, LongshotParams
from augury.domain.surveillance.model import (
    MAKER,
    AccountInfo,
    Alert,
    Context,
    Severity,
    SourceChange,
    StreamItem,
)
from augury.domain.surveillance.spoofing import SpoofingDetector, SpoofParams
from augury.domain.surveillance.suite import Surveillance, scan
from augury.domain.surveillance.tape import Observed, OrderLife, OrderPlaced, SpecSet, Tape, Trade
from augury.domain.surveillance.unconfirmed import (
    Buyer,
    Finding,
    UnconfirmedDetector,
    UnconfirmedParams,
)
from augury.domain.surveillance.wash import WashDetector, WashParams

__all__ = [
    "MAKER",
    "AccountInfo",
    "AffiliationDetector",
    "Alert",
    "Buyer",
    "Context",
    "Detector",
    "Finding",
    "LastMinuteDetector",
    "LastMinuteParams",
    "LongshotDetector",
    "LongshotParams",
    "Observed",
    "OrderLife",
    "OrderPlaced",
    "Severity",
    "SourceChange",
    "SpecSet",
    "SpoofParams",
    "SpoofingDetector",
    "StreamItem",
    "Surveillance",
    "Tape",
    "Trade",
    "UnconfirmedDetector",
    "UnconfirmedParams",
    "WashDetector",
    "WashParams",
    "scan",
]
