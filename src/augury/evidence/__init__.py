"""Evidence capture for market resolution (an adapter: it does I/O).

Fetches a resolution spec's sources under SSRF guards (:mod:`.fetch`), reads the value a
spec compares (:mod:`.readers`, run in worker processes with a time and a size limit by
:mod:`.sandbox`), keeps the raw bytes by SHA-256 (:mod:`.store`),
describes changes between captures (:mod:`.diff`) and ties these together into one
journaled record per capture (:mod:`.observe`). It depends on
:mod:`augury.domain.resolution`, never the reverse. See docs/evidence.md.
"""

from augury.evidence.diff import describe_change
from augury.evidence.fetch import Fetched, FetchPolicy, address_problem, fetch, is_forbidden_address
from augury.evidence.observe import Captured, observe, observe_attestation
from augury.evidence.readers import ReadError, read_value, sign_attestation
from augury.evidence.sandbox import ReaderLimits, ReaderPool
from augury.evidence.store import EvidenceStore

__all__ = [
    "Captured",
    "EvidenceStore",
    "FetchPolicy",
    "Fetched",
    "ReadError",
    "ReaderLimits",
    "ReaderPool",
    "address_problem",
    "describe_change",
    "fetch",
    "is_forbidden_address",
    "observe",
    "observe_attestation",
    "read_value",
    "sign_attestation",
]
