"""No decision before its time: the earliest instant a market's resolution may be decided.

A market whose spec observes the answer at T and wants it held for a window w has
nothing to decide before T + w (the rules themselves settle no source earlier, see
:func:`.evaluate.settles_at`). A proposal, an arbiter's vote or an operator's resolve
before then is refused with ``resolution_too_early`` and changes nothing; an operator's
void stays possible, with a public reason (a question can become void at any time).
A market without a spec has no such time: its close is the only bar.

Pure: the instant is formatted from integers, never from a clock.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from augury.domain.rejections import Code, Rejected
from augury.domain.resolution.spec import HOUR_US, ResolutionSpec

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _instant(us: int) -> str:
    """UTC microseconds as RFC 3339 (``2025-11-15T12:00:00Z``), without floats."""
    moment = _EPOCH + timedelta(microseconds=us)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    return text + (f".{moment.microsecond:06d}Z" if moment.microsecond else "Z")


def _duration(us: int) -> str:
    hours, rest = divmod(us, HOUR_US)
    minutes = -(-rest // 60_000_000)  # rounded up: "1 minute" rather than "0 minutes"
    if minutes == 60:
        hours, minutes = hours + 1, 0
    parts = [f"{hours} hour{'s' if hours != 1 else ''}"] if hours else []
    if minutes or not parts:
        parts.append(f"{minutes} minute{'s' if minutes != 1 else ''}")
    return " ".join(parts)


def not_before(spec: ResolutionSpec | None, at: int) -> int:
    """``at``, or the earliest resolution time if later (when a proposal may become final)."""
    return at if spec is None else max(at, spec.earliest_resolution_us)


def require_time_has_come(spec: ResolutionSpec | None, market: str, what: str, now: int) -> None:
    """Refuse ``what`` (e.g. "a proposal") on ``market`` before its earliest resolution
    time, with the time, its parts and how long is left, in a full sentence."""
    if spec is None:
        return
    earliest = spec.earliest_resolution_us
    if now >= earliest:
        return
    window = spec.persistence.window_us
    raise Rejected(
        Code.RESOLUTION_TOO_EARLY,
        f"{what} on market {market!r} is refused before its earliest resolution time, "
        f"{_instant(earliest)} (the observation time {_instant(spec.observation_at_us)} "
        f"plus its persistence window of {_duration(window)}); "
        f"{_duration(earliest - now)} to go.",
    )


def require_void_reason(spec: ResolutionSpec | None, reason: str, now: int) -> None:
    """An operator may void before the earliest resolution time, with a public reason."""
    if spec is not None and now < spec.earliest_resolution_us and not reason.strip():
        raise Rejected(
            Code.INVALID_TEXT,
            "voiding a market before its earliest resolution time needs a public reason.",
        )
