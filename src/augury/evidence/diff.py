"""Readable, short, deterministic descriptions of how a source's content changed.

Shown next to each observation (and in the resolution story of a market) so a transient
edit is visible at a glance: changed JSON paths with old and new values, a small unified
diff of an HTML page's text, the changed features of a map layer (by ``id`` or ``name``:
``feature "Myrnohrad": controlled_by "A" → "B"``), or an attestation's new statement.
Outputs are at most :data:`MAX_CHARS` characters; equal inputs give equal outputs.
"""

from __future__ import annotations

import difflib
from typing import Any

import msgspec
from selectolax.lexbor import LexborHTMLParser

from augury.evidence.readers import ReadError, format_path, geojson_features, scalar_text

MAX_CHARS = 2_000
MAX_ITEMS = 20
"""At most this many changed paths or features are listed."""
MAX_DIFF_LINES = 30
VALUE_CHARS = 80
"""A value longer than this is shown cut."""


def describe_change(kind: str, old: bytes | None, new: bytes) -> str | None:
    """How ``new`` differs from ``old`` for a source of ``kind`` (``http_json``, ``html``,
    ``geojson``, ``attestation``); None for the first observation or equal bytes."""
    if old is None or old == new:
        return None
    describe = {
        "http_json": _json_change,
        "html": _html_change,
        "geojson": _geojson_change,
        "attestation": _attestation_change,
    }.get(kind)
    text = None
    if describe is not None:
        try:
            text = describe(old, new)
        except (msgspec.DecodeError, ReadError, UnicodeDecodeError):
            text = None
    if text is None:
        text = f"content changed: {len(old)} → {len(new)} bytes (not comparable as {kind})"
    return _cap(text)


def _cap(text: str) -> str:
    if len(text) <= MAX_CHARS:
        return text
    marker = "\n… (cut)"
    return text[: MAX_CHARS - len(marker)] + marker


def _show(value: Any) -> str:
    text = msgspec.json.encode(value).decode()
    return text if len(text) <= VALUE_CHARS else text[: VALUE_CHARS - 1] + "…"


def _listing(items: list[str], max_items: int = MAX_ITEMS, unit: str = "more") -> str:
    """The first items that fit in ``max_items`` lines and :data:`MAX_CHARS` characters,
    then ``… and N more``."""
    shown: list[str] = []
    size = 0
    for item in items[:max_items]:
        if size + len(item) + 1 > MAX_CHARS - 40:  # room for the "and N more" line
            break
        shown.append(item)
        size += len(item) + 1
    if len(shown) < len(items):
        shown.append(f"… and {len(items) - len(shown)} {unit}")
    return "\n".join(shown)


# --- JSON ---------------------------------------------------------------------------

_ABSENT = object()


def _leaves(value: Any, path: tuple[str | int, ...], out: dict[str, Any]) -> None:
    """Every scalar (and empty container) of a JSON value by its canonical path."""
    if isinstance(value, dict) and value:
        for k, v in value.items():
            _leaves(v, (*path, k), out)
    elif isinstance(value, list) and value:
        for i, v in enumerate(value):
            _leaves(v, (*path, i), out)
    else:
        out[format_path(path)] = value


def json_changes(old: Any, new: Any) -> list[str]:
    """``$.path: old → new`` for each changed leaf, sorted by path; ``(absent)`` marks an
    added or removed one."""
    a: dict[str, Any] = {}
    b: dict[str, Any] = {}
    _leaves(old, (), a)
    _leaves(new, (), b)
    out = []
    for path in sorted(a.keys() | b.keys()):
        x, y = a.get(path, _ABSENT), b.get(path, _ABSENT)
        if x is _ABSENT or y is _ABSENT or x != y or type(x) is not type(y):
            sx = "(absent)" if x is _ABSENT else _show(x)
            sy = "(absent)" if y is _ABSENT else _show(y)
            out.append(f"{path}: {sx} → {sy}")
    return out


def _json_change(old: bytes, new: bytes) -> str:
    items = json_changes(msgspec.json.decode(old), msgspec.json.decode(new))
    if not items:
        return "formatting only: every JSON value is unchanged"
    return _listing(items)


# --- HTML ---------------------------------------------------------------------------


def page_text(content: bytes) -> list[str]:
    """The visible text of a page, one non-empty whitespace-collapsed line per block."""
    tree = LexborHTMLParser(content.decode("utf-8", errors="replace"))
    for node in tree.css("script, style, noscript, template"):
        node.decompose()
    root = tree.body or tree.root
    if root is None:
        return []
    lines = (" ".join(line.split()) for line in root.text(deep=True, separator="\n").split("\n"))
    return [line for line in lines if line]


def _html_change(old: bytes, new: bytes) -> str:
    a, b = page_text(old), page_text(new)
    if a == b:
        return "markup changed; the text is unchanged"
    lines = [
        line[:VALUE_CHARS]
        for line in difflib.unified_diff(a, b, lineterm="", n=1)
        if not line.startswith(("---", "+++"))
    ]
    return _listing(lines, MAX_DIFF_LINES, "more lines")


# --- GeoJSON ------------------------------------------------------------------------


def _feature_key(feature: dict[str, Any], index: int) -> str:
    fid = feature.get("id")
    if isinstance(fid, str | int) and not isinstance(fid, bool):
        return scalar_text(fid)
    props = feature.get("properties")
    if isinstance(props, dict) and isinstance(props.get("name"), str):
        return str(props["name"])
    return f"#{index}"


def _props(feature: dict[str, Any]) -> dict[str, Any]:
    props = feature.get("properties")
    return props if isinstance(props, dict) else {}


def _keyed(features: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for i, f in enumerate(features):
        key = _feature_key(f, i)
        n = 2
        base = key
        while key in out:  # duplicate names: the second is "name (2)"
            key = f"{base} ({n})"
            n += 1
        out[key] = f
    return out


def geojson_changes(old: bytes, new: bytes) -> list[str]:
    """Per feature (by ``id``, else ``properties.name``, else position): changed
    properties, ``geometry changed``, or ``added`` / ``removed``; sorted by key."""
    a, b = _keyed(geojson_features(old)), _keyed(geojson_features(new))
    out = []
    for key in sorted(a.keys() | b.keys()):
        label = f"feature {_show(key)}"
        if key not in a:
            out.append(f"{label} added")
            continue
        if key not in b:
            out.append(f"{label} removed")
            continue
        fa, fb = a[key], b[key]
        pa, pb = _props(fa), _props(fb)
        parts = []
        for name in sorted(pa.keys() | pb.keys()):
            x, y = pa.get(name, _ABSENT), pb.get(name, _ABSENT)
            if x is _ABSENT or y is _ABSENT or x != y or type(x) is not type(y):
                sx = "(absent)" if x is _ABSENT else _show(x)
                sy = "(absent)" if y is _ABSENT else _show(y)
                parts.append(f"{name} {sx} → {sy}")
        if fa.get("geometry") != fb.get("geometry"):
            parts.append("geometry changed")
        if parts:
            out.append(f"{label}: " + ", ".join(parts))
    return out


def _geojson_change(old: bytes, new: bytes) -> str:
    items = geojson_changes(old, new)
    if not items:
        return "formatting only: every feature is unchanged"
    return _listing(items)


# --- attestations -------------------------------------------------------------------


class _Statement(msgspec.Struct, frozen=True):
    statement: str
    signed_at: str = ""


def _attestation_change(old: bytes, new: bytes) -> str:
    a = msgspec.json.decode(old, type=_Statement)
    b = msgspec.json.decode(new, type=_Statement)
    if a.statement != b.statement:
        return f"statement {_show(a.statement)} → {_show(b.statement)}"
    if a.signed_at != b.signed_at:
        return f"statement unchanged, signed again at {_show(b.signed_at)}"
    return "statement unchanged (signature or formatting changed)"
