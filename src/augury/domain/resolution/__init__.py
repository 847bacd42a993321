"""Resolution rules: the machine-readable spec, its linter and pure evaluation.

Pure like the rest of :mod:`augury.domain`: no fetching, no storage, no clock. The
fetcher (with SSRF guards), evidence storage and the proposal/dispute flow adapt it.
"""

from augury.domain.resolution.evaluate import (
    Change,
    Decision,
    Observation,
    SourceVerdict,
    Status,
    changes,
    evaluate,
)
from augury.domain.resolution.lint import Code, Finding, Severity, is_acceptable, lint
from augury.domain.resolution.numeric import evaluate_numeric
from augury.domain.resolution.spec import (
    HOUR_US,
    AttestationSource,
    CsvSource,
    Expect,
    Extend,
    GeoJsonSource,
    Hold,
    HtmlSource,
    HttpJsonSource,
    Location,
    Numeric,
    Persistence,
    ResolutionSpec,
    SpecError,
    Void,
    decode_spec,
    encode_spec,
    spec_hash,
)

__all__ = [
    "HOUR_US",
    "AttestationSource",
    "Change",
    "Code",
    "CsvSource",
    "Decision",
    "Expect",
    "Extend",
    "Finding",
    "GeoJsonSource",
    "Hold",
    "HtmlSource",
    "HttpJsonSource",
    "Location",
    "Numeric",
    "Observation",
    "Persistence",
    "ResolutionSpec",
    "Severity",
    "SourceVerdict",
    "SpecError",
    "Status",
    "Void",
    "changes",
    "decode_spec",
    "encode_spec",
    "evaluate",
    "evaluate_numeric",
    "is_acceptable",
    "lint",
    "spec_hash",
]
