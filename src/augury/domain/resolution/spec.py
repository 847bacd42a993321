"""The machine-readable resolution spec of a market, and its canonical encoding.

A spec says where the answer comes from (one or more sources, each owned by a named
organization), when the question is decided (the observation time), how long an answer
must hold before it counts (the persistence window), how many sources must agree (the
quorum, k of n = len(sources)) and what happens otherwise (the fallback).

This module only parses and encodes. Whether a spec is *sensible* is :mod:`.lint`'s job;
decoding checks shapes and types, so a creator gets one precise message per mistake.
It never fetches a source, reads a clock or draws randomness.
"""

from __future__ import annotations

import hashlib
from typing import Annotated, Literal

import msgspec

HOUR_US = 3_600_000_000
"""One hour in microseconds; every duration in a spec is whole hours."""

NonNegHours = Annotated[int, msgspec.Meta(ge=0)]
NonEmpty = Annotated[str, msgspec.Meta(min_length=1)]
PosHours = Annotated[int, msgspec.Meta(ge=1)]

Medium = Literal["live_map", "dashboard", "document", "api", "statement"]
"""What a source is, for the persistence rules: a ``live_map`` or ``dashboard`` is edited
in place at any time (a few hours' edit is the November 2025 failure); a ``document`` or
an ``api`` changes by publication; a ``statement`` is signed once."""
LIVE_MEDIA: frozenset[str] = frozenset({"live_map", "dashboard"})


def norm_org(org: str) -> str:
    """Organization names compare case- and whitespace-insensitively ("Wire  agency" is
    "wire agency"): for independence (quorum), conflicts of interest and trading blocks."""
    return " ".join(org.casefold().split())


class SpecError(ValueError):
    """A spec that could not be decoded; the message names the field (``$.path``)."""


class Expect(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """When the value read from a source equals ``value``, the source answers ``outcome``."""

    outcome: Annotated[int, msgspec.Meta(ge=0)]
    value: str


class Location(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A point (WGS84 degrees); ``place`` names it for humans (e.g. "Myrnohrad")."""

    lon: float
    lat: float
    place: str | None = None


class Source(
    msgspec.Struct, frozen=True, kw_only=True, tag_field="kind", forbid_unknown_fields=True
):
    """Base of every source kind: an id unique in the spec, the owning organization
    (for conflict-of-interest and independence checks) and the answer table."""

    id: NonEmpty
    owner: NonEmpty
    expect: tuple[Expect, ...] = ()
    """Which value means which outcome; empty in a numeric spec (the value is a number)."""
    update_interval_hours: PosHours | None = None
    """How often the source is expected to update; an answer then counts only once a
    capture at least this long after its first appearance still shows it."""
    medium: Medium | None = None
    """What the source is (``kind`` is how it is read); None: a geojson map is taken to
    be a live map, anything else not live."""


class HttpJsonSource(Source, frozen=True, kw_only=True, tag="http_json"):
    """A JSON document; ``path`` (``$.a.b[0]``) selects the value compared to ``expect``."""

    url: str
    path: str


class HtmlSource(Source, frozen=True, kw_only=True, tag="html"):
    """An HTML page read by exactly one of a CSS ``selector`` (its text) or a ``regex``
    (its first group, or the whole match)."""

    url: str
    selector: str | None = None
    regex: str | None = None


class GeoJsonSource(Source, frozen=True, kw_only=True, tag="geojson"):
    """A map layer: ``property`` of the feature that contains ``at`` (e.g. which side
    controls a town). This is the war-map case."""

    url: str
    at: Location
    property: NonEmpty


class AttestationSource(Source, frozen=True, kw_only=True, tag="attestation"):
    """A named attester's statement, signed with the Ed25519 key ``public_key`` (64 hex
    characters); the statement's text is compared to ``expect``."""

    attester: NonEmpty
    public_key: str


class CsvSource(Source, frozen=True, kw_only=True, tag="csv"):
    """A CSV document (first line: the header): the cell of ``column`` (a header name) in
    data row ``row`` (0 is the first after the header; negative counts from the end, so
    -1 is the latest line of a time series)."""

    url: str
    column: NonEmpty
    row: int = -1


AnySource = HttpJsonSource | HtmlSource | GeoJsonSource | AttestationSource | CsvSource


class Persistence(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """How long an answer must hold. With ``through_next_update`` the window is at least
    the source's expected ``update_interval_hours``, so the answer survives a full update."""

    hours: NonNegHours = 0
    through_next_update: bool = False
    update_interval_hours: NonNegHours | None = None

    @property
    def window_us(self) -> int:
        interval = (self.update_interval_hours or 0) if self.through_next_update else 0
        return max(self.hours, interval) * HOUR_US


class Fallback(msgspec.Struct, frozen=True, tag_field="kind", forbid_unknown_fields=True):
    """What happens when the rules are not met by the deadline."""


class Hold(Fallback, frozen=True, tag="hold"):
    """Hold the market for the arbiters."""


class Void(Fallback, frozen=True, tag="void"):
    """Void the market (refund contributions)."""


class Extend(Fallback, frozen=True, tag="extend"):
    """Move the observation time ``by_hours`` later (a new spec version)."""

    by_hours: int


AnyFallback = Hold | Void | Extend

NonNegMicros = Annotated[int, msgspec.Meta(ge=0)]


class Bonds(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """What proposing and disputing cost, in micro-credits, and how a lost bond is split.

    The side proved right gets its bond back plus ``winner_share_bps`` of the other
    side's bond; the rest goes to the arbiters who voted for the decided outcome.
    """

    proposal: NonNegMicros = 100_000_000
    dispute: NonNegMicros = 100_000_000
    winner_share_bps: Annotated[int, msgspec.Meta(ge=0, le=10_000)] = 5_000


class Numeric(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A numeric question (docs/resolution.md, "Numeric specs"): every source reads a
    number (:func:`augury.domain.scalar.parse_value`), in micros of ``units``.

    ``tolerance``: how far apart (micros of the unit) the independent owners' values may
    be and still agree, and how far a source's value may move during the persistence
    window and still hold. ``buckets``: for a bucketed categorical market, the N - 1
    rising boundaries of its N ranges (outcome i is ``buckets[i-1] <= value <
    buckets[i]``, the first and last open-ended); empty for a scalar market, whose range
    is the market's own."""

    units: str
    tolerance: Annotated[int, msgspec.Meta(ge=0)] = 0
    buckets: tuple[int, ...] = ()


class ResolutionSpec(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A market's resolution rules. Times are UTC microseconds; durations whole hours."""

    sources: tuple[AnySource, ...]
    observation_at_us: int
    persistence: Persistence = Persistence()
    quorum: int  # k; n is len(sources)
    fallback: AnyFallback = Hold()
    challenge_window_hours: NonNegHours = 48
    bonds: Bonds = Bonds()
    arbiters: Annotated[int, msgspec.Meta(ge=1, le=99)] = 3
    """Panel size: an outcome is decided when ``arbiters // 2 + 1`` arbiters vote for it."""
    poll_minutes: Annotated[int, msgspec.Meta(ge=1, le=24 * 60)] = 60
    """How often the fetcher observes each source around the observation time."""
    lookback_hours: NonNegHours = 24
    """How long before the observation time the fetcher starts observing."""
    block_affiliated_trading: bool = False
    """Refuse orders from accounts affiliated with an organization owning a source."""
    deadline_grace_hours: NonNegHours = 24
    """After the observation time and the persistence window, how long the fetcher has to
    make the observations that settle the sources before the fallback applies."""
    single_source_reason: str | None = None
    """Why one source (or sources of one owner) must do: without it the linter refuses
    such a spec; with it, the reason is shown as a warning on the market."""
    numeric: Numeric | None = None
    """A numeric question (a scalar or bucketed market): sources read numbers."""

    @property
    def earliest_resolution_us(self) -> int:
        """The observation time plus the persistence window: nothing is decided before."""
        return self.observation_at_us + self.persistence.window_us

    @property
    def deadline_us(self) -> int:
        return (
            self.observation_at_us
            + self.persistence.window_us
            + self.deadline_grace_hours * HOUR_US
        )


def update_interval_us(spec: ResolutionSpec, source: AnySource) -> int | None:
    """The source's expected update interval: its own, else the persistence's (which
    then applies to every source), else None (the spec names none)."""
    hours = source.update_interval_hours
    if hours is None:
        hours = spec.persistence.update_interval_hours or None
    return None if hours is None else hours * HOUR_US


def is_live(source: AnySource) -> bool:
    """A live map or dashboard: said so by ``medium``, or a geojson map with no medium."""
    if source.medium is not None:
        return source.medium in LIVE_MEDIA
    return isinstance(source, GeoJsonSource)


_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(ResolutionSpec)


def decode_spec(data: bytes | str) -> ResolutionSpec:
    """Parse a spec from JSON, or raise :class:`SpecError` naming the offending field."""
    try:
        return _decoder.decode(data)
    except msgspec.ValidationError as exc:
        raise SpecError(f"invalid resolution spec: {exc}") from exc
    except msgspec.DecodeError as exc:
        raise SpecError(f"resolution spec is not valid JSON: {exc}") from exc


def encode_spec(spec: ResolutionSpec) -> bytes:
    """Canonical JSON: fields in declaration order, every default written, no whitespace."""
    return _encoder.encode(spec)


def spec_hash(spec: ResolutionSpec) -> str:
    """SHA-256 (hex) of the canonical encoding; two specs that decode equal hash equal."""
    return hashlib.sha256(encode_spec(spec)).hexdigest()
