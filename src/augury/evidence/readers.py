"""Readers: turn the raw bytes captured from a source into the value its spec compares.

One function, :func:`read_value`, dispatches on the source kind:

- ``http_json``: a small JSONPath subset (``$``, ``.name``, ``["name"]``, ``[index]``
  with negative indexes from the end); scalars are rendered as strings (strings as-is,
  numbers, booleans and null as their JSON text *as written in the document*);
- ``html``: a CSS selector (the first match's text, whitespace-collapsed) or a regex
  (its first group, or the whole match) over the page decoded as UTF-8, run by RE2
  (linear time: :mod:`augury.domain.resolution.patterns`);
- ``geojson``: the ``property`` of the feature whose geometry covers the point;
- ``attestation``: an Ed25519-signed statement (see :func:`attestation_message`);
- ``csv``: the cell of a named column in one data row (negative rows count from the end).

A numeric spec (scalar and bucketed markets) reads its number from the value any of
these give (:func:`augury.domain.scalar.parse_value`), so every kind reads numbers alike.

Anything that does not yield exactly one value raises :class:`ReadError` with a stable
code: a read that fails is never an answer. These functions run on the caller's thread;
the server runs them in a worker process with a time and a size limit
(:mod:`augury.evidence.sandbox`).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from typing import Any

import msgspec
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from selectolax.lexbor import LexborHTMLParser, SelectolaxError
from shapely.geometry import Point, shape  # type: ignore[import-untyped]

from augury.domain.resolution.patterns import PatternError, first_group_or_match
from augury.domain.resolution.spec import (
    AnySource,
    AttestationSource,
    CsvSource,
    GeoJsonSource,
    HtmlSource,
    HttpJsonSource,
)

ATTESTATION_PREFIX = "augury-attestation-v1"


class ReadError(Exception):
    """The content does not yield a value. ``code`` is stable (API: never renamed)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


# --- JSON paths ---------------------------------------------------------------------

Segment = str | int
"""A path step: an object member name, or an array index (negative counts from the end)."""

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*")
_INDEX = re.compile(r"-?(0|[1-9][0-9]*)")


def parse_path(path: str) -> tuple[Segment, ...]:
    """Parse ``$``, ``.name``, ``["name"]`` (JSON string escapes allowed) and ``[index]``
    steps; raise :class:`ReadError` ``bad_path`` naming the position of the mistake."""
    if not path.startswith("$"):
        raise ReadError("bad_path", f"path {path!r} must start with '$'")
    out: list[Segment] = []
    i = 1
    while i < len(path):
        c = path[i]
        if c == ".":
            m = _NAME.match(path, i + 1)
            if m is None:
                raise ReadError(
                    "bad_path",
                    f"path {path!r}: expected a name after '.' at position {i + 1}"
                    ' (use ["..."] for other names)',
                )
            out.append(m.group())
            i = m.end()
        elif c == "[":
            if path.startswith('"', i + 1):
                name, end = _parse_quoted(path, i + 1)
                out.append(name)
                i = end
            else:
                m = _INDEX.match(path, i + 1)
                if m is None:
                    raise ReadError(
                        "bad_path",
                        f"path {path!r}: expected an integer or a quoted name at position {i + 1}",
                    )
                out.append(int(m.group()))
                i = m.end()
            if not path.startswith("]", i):
                raise ReadError("bad_path", f"path {path!r}: expected ']' at position {i}")
            i += 1
        else:
            raise ReadError(
                "bad_path", f"path {path!r}: unexpected {c!r} at position {i}; expected '.' or '['"
            )
    return tuple(out)


def _parse_quoted(path: str, start: int) -> tuple[str, int]:
    """The JSON string literal at ``start`` (a ``"``) and the index after it."""
    i = start + 1
    while i < len(path):
        if path[i] == "\\":
            i += 2
            continue
        if path[i] == '"':
            try:
                name = msgspec.json.decode(path[start : i + 1].encode(), type=str)
            except msgspec.DecodeError as exc:
                raise ReadError(
                    "bad_path", f"path {path!r}: bad string at position {start}: {exc}"
                ) from exc
            return name, i + 1
        i += 1
    raise ReadError("bad_path", f"path {path!r}: unterminated string at position {start}")


def format_path(segments: Sequence[Segment]) -> str:
    """The canonical text of a path (inverse of :func:`parse_path`)."""
    parts = ["$"]
    for s in segments:
        if isinstance(s, int):
            parts.append(f"[{s}]")
        elif _NAME.fullmatch(s):
            parts.append(f".{s}")
        else:
            parts.append(f"[{msgspec.json.encode(s).decode()}]")
    return "".join(parts)


_Object = msgspec.json.Decoder(dict[str, msgspec.Raw])
_Array = msgspec.json.Decoder(list[msgspec.Raw])
_Any = msgspec.json.Decoder()


def read_json_path(content: bytes, path: str) -> str:
    """The scalar at ``path`` in the JSON document ``content``, rendered as a string."""
    segments = parse_path(path)
    try:
        msgspec.json.decode(content)  # the whole document must be valid JSON
    except msgspec.DecodeError as exc:
        raise ReadError("bad_json", f"content is not valid JSON: {exc}") from exc
    raw = bytes(content)
    for depth, seg in enumerate(segments):
        here = format_path(segments[:depth])
        if isinstance(seg, str):
            try:
                obj = _Object.decode(raw)
            except msgspec.ValidationError:
                raise ReadError("not_object", f"{here} is not an object") from None
            if seg not in obj:
                raise ReadError("missing", f"{format_path(segments[: depth + 1])} is missing")
            raw = bytes(obj[seg])
        else:
            try:
                arr = _Array.decode(raw)
            except msgspec.ValidationError:
                raise ReadError("not_array", f"{here} is not an array") from None
            if not -len(arr) <= seg < len(arr):
                raise ReadError(
                    "index_out_of_range",
                    f"{format_path(segments[: depth + 1])}: index {seg} outside an array of "
                    f"{len(arr)}",
                )
            raw = bytes(arr[seg])
    value = _Any.decode(raw)
    if isinstance(value, str):
        return value
    if isinstance(value, dict | list):
        kind = "an object" if isinstance(value, dict) else "an array"
        raise ReadError("not_scalar", f"{format_path(segments)} is {kind}, not a scalar")
    return raw.decode().strip()


# --- HTML ---------------------------------------------------------------------------


def _collapse(text: str) -> str:
    return " ".join(text.split())


def read_html(content: bytes, selector: str | None, regex: str | None) -> str:
    """The first CSS match's text (whitespace-collapsed), or the regex's first group (or
    whole match) over the page decoded as UTF-8 (undecodable bytes replaced)."""
    if (selector is None) == (regex is None):
        raise ReadError("bad_reader", "exactly one of selector and regex is needed")
    text = content.decode("utf-8", errors="replace")
    if regex is not None:
        try:
            found = first_group_or_match(regex, text)
        except PatternError as exc:
            raise ReadError("bad_regex", f"regex {regex!r} {exc}") from exc
        if found is None:
            raise ReadError("no_match", f"regex {regex!r} matches nothing")
        return found
    assert selector is not None
    try:
        node = LexborHTMLParser(text).css_first(selector)
    except SelectolaxError as exc:
        raise ReadError("bad_selector", f"CSS selector {selector!r}: {exc}") from exc
    if node is None:
        raise ReadError("no_match", f"CSS selector {selector!r} matches nothing")
    return _collapse(node.text(deep=True))


# --- GeoJSON ------------------------------------------------------------------------


def scalar_text(value: Any) -> str:
    """A JSON scalar as a string: strings as-is, anything else as compact JSON."""
    return value if isinstance(value, str) else msgspec.json.encode(value).decode()


def geojson_features(content: bytes) -> list[dict[str, Any]]:
    """The features of a GeoJSON FeatureCollection (ReadError ``bad_geojson`` otherwise)."""
    try:
        doc = _Any.decode(content)
    except msgspec.DecodeError as exc:
        raise ReadError("bad_geojson", f"content is not valid JSON: {exc}") from exc
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection":
        raise ReadError("bad_geojson", "content is not a GeoJSON FeatureCollection")
    features = doc.get("features")
    if not isinstance(features, list) or not all(isinstance(f, dict) for f in features):
        raise ReadError("bad_geojson", "a FeatureCollection needs a list of feature objects")
    return features


def read_geojson(content: bytes, lon: float, lat: float, prop: str) -> str:
    """``prop`` of the feature whose geometry covers (contains, boundary included) the
    point; several covering features must agree on it."""
    point = Point(lon, lat)
    values: dict[str, int] = {}
    for i, feature in enumerate(geojson_features(content)):
        geometry = feature.get("geometry")
        if geometry is None:
            continue
        try:
            geom = shape(geometry)
            covers = bool(geom.covers(point))
        except Exception as exc:  # shapely raises several types for bad geometries
            raise ReadError("bad_geojson", f"feature {i}: bad geometry: {exc}") from exc
        if not covers:
            continue
        props = feature.get("properties")
        if not isinstance(props, dict) or prop not in props:
            raise ReadError("missing_property", f"feature {i} covers the point but has no {prop!r}")
        values.setdefault(scalar_text(props[prop]), i)
    if not values:
        raise ReadError("no_feature", f"no feature covers the point ({lon}, {lat})")
    if len(values) > 1:
        told = ", ".join(f"feature {i}: {v!r}" for v, i in sorted(values.items()))
        raise ReadError("ambiguous", f"features covering the point disagree on {prop!r}: {told}")
    return next(iter(values))


# --- Attestations -------------------------------------------------------------------


class Attestation(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The submitted document: ``signature`` is the Ed25519 signature (hex) over
    :func:`attestation_message`."""

    statement: str
    signed_at: str
    signature: str


def attestation_message(source_id: str, signed_at: str, statement: str) -> bytes:
    """The signed bytes: UTF-8 of ``augury-attestation-v1\\n{source_id}\\n{signed_at}\\n
    {statement}`` (no trailing newline). ``source_id`` and ``signed_at`` may not contain
    a newline, so the message splits one way only; the statement may."""
    for name, field in (("source id", source_id), ("signed_at", signed_at)):
        if not field or "\n" in field or "\r" in field:
            raise ReadError("bad_attestation", f"{name} must be non-empty and on one line")
    return f"{ATTESTATION_PREFIX}\n{source_id}\n{signed_at}\n{statement}".encode()


def sign_attestation(
    private_key: Ed25519PrivateKey, source_id: str, statement: str, signed_at: str
) -> bytes:
    """The JSON document an attester submits for ``source_id``."""
    signature = private_key.sign(attestation_message(source_id, signed_at, statement))
    return msgspec.json.encode(Attestation(statement, signed_at, signature.hex()))


def read_attestation(content: bytes, source_id: str, public_key_hex: str) -> str:
    """The statement, if its signature by ``public_key_hex`` verifies."""
    try:
        doc = msgspec.json.decode(content, type=Attestation)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise ReadError("bad_attestation", f"not an attestation document: {exc}") from exc
    try:
        key = Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_key_hex))
    except ValueError as exc:
        raise ReadError("bad_public_key", f"public key is not 32 bytes of hex: {exc}") from exc
    try:
        signature = bytes.fromhex(doc.signature)
    except ValueError as exc:
        raise ReadError("bad_signature", "signature is not hex") from exc
    try:
        key.verify(signature, attestation_message(source_id, doc.signed_at, doc.statement))
    except InvalidSignature:
        raise ReadError("bad_signature", "the signature does not verify") from None
    return doc.statement


# --- CSV ----------------------------------------------------------------------------


def read_csv_cell(content: bytes, column: str, row: int) -> str:
    """The cell of ``column`` (a header name) in data row ``row`` (0: the first after
    the header; negative counts from the end), stripped, of a UTF-8 CSV document."""
    text = content.decode("utf-8-sig", errors="replace")
    try:
        rows = [r for r in csv.reader(io.StringIO(text)) if any(cell.strip() for cell in r)]
    except csv.Error as exc:
        raise ReadError("bad_csv", f"not a CSV document: {exc}") from exc
    if not rows:
        raise ReadError("bad_csv", "the CSV document is empty")
    header = [name.strip() for name in rows[0]]
    if column not in header:
        raise ReadError("missing", f"the CSV header has no column {column!r}")
    data = rows[1:]
    if not -len(data) <= row < len(data):
        raise ReadError("index_out_of_range", f"row {row} outside {len(data)} data rows")
    line = data[row]
    at = header.index(column)
    if at >= len(line):
        raise ReadError("missing", f"row {row} has no cell for column {column!r}")
    return line[at].strip()


# --- dispatch -----------------------------------------------------------------------


def read_value(source: AnySource, content: bytes) -> str:
    """The value ``source`` reads from ``content``, or :class:`ReadError`."""
    if isinstance(source, HttpJsonSource):
        return read_json_path(content, source.path)
    if isinstance(source, HtmlSource):
        return read_html(content, source.selector, source.regex)
    if isinstance(source, GeoJsonSource):
        return read_geojson(content, source.at.lon, source.at.lat, source.property)
    if isinstance(source, AttestationSource):
        return read_attestation(content, source.id, source.public_key)
    if isinstance(source, CsvSource):
        return read_csv_cell(content, source.column, source.row)
    raise TypeError(f"unknown source kind {type(source).__name__}")
