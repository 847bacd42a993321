"""Readable change descriptions between two captures of a source."""

from __future__ import annotations

import json

import pytest

from augury.evidence.diff import MAX_CHARS, describe_change
from augury.evidence.readers import sign_attestation

from .conftest import war_map


@pytest.mark.parametrize("kind", ["http_json", "html", "geojson", "attestation", "other"])
def test_first_or_unchanged_is_none(kind: str) -> None:
    assert describe_change(kind, None, b"{}") is None
    assert describe_change(kind, b"same", b"same") is None


def test_json_changed_paths_sorted() -> None:
    old = b'{"control": {"side": "A", "since": 1}, "towns": ["M", "P"], "gone": true}'
    new = b'{"towns": ["M", "Q", "R"], "control": {"side": "B", "since": 1}, "new key": null}'
    assert describe_change("http_json", old, new) == "\n".join(
        [
            '$.control.side: "A" → "B"',
            "$.gone: true → (absent)",
            '$.towns[1]: "P" → "Q"',
            '$.towns[2]: (absent) → "R"',
            '$["new key"]: (absent) → null',
        ]
    )


def test_json_type_change_and_formatting_only() -> None:
    assert describe_change("http_json", b'{"a": 1}', b'{"a": 1.0}') == "$.a: 1 → 1.0"
    assert describe_change("http_json", b'{"a": 1}', b'{"a": "1"}') == '$.a: 1 → "1"'
    assert describe_change("http_json", b'{"a": {"b": 1}}', b'{"a": []}') == (
        "$.a: (absent) → []\n$.a.b: 1 → (absent)"
    )
    same = describe_change("http_json", b'{"a":1,"b":2}', b'{ "b": 2, "a": 1 }')
    assert same == "formatting only: every JSON value is unchanged"


def test_json_listing_is_capped_and_short() -> None:
    old = json.dumps({f"k{i:03d}": "x" * 200 for i in range(500)}).encode()
    new = json.dumps({f"k{i:03d}": "y" * 200 for i in range(500)}).encode()
    text = describe_change("http_json", old, new)
    assert text is not None
    assert len(text) <= MAX_CHARS
    assert text.startswith('$.k000: "xxx')
    *listed, tail = text.splitlines()
    assert 5 <= len(listed) <= 20
    assert tail == f"… and {500 - len(listed)} more"
    assert text == describe_change("http_json", old, new)


def test_unparsable_content_falls_back_to_sizes() -> None:
    assert describe_change("http_json", b'{"a": 1}', b"<html>oops") == (
        "content changed: 8 → 10 bytes (not comparable as http_json)"
    )
    assert describe_change("geojson", b"{}", b"[]") == (
        "content changed: 2 → 2 bytes (not comparable as geojson)"
    )


def test_html_unified_diff_of_text() -> None:
    old = b"<html><body><h1>Front</h1><p>Myrnohrad: side A</p><p>Pokrovsk: side B</p></body>"
    new = b"<html><body><h1>Front</h1><p>Myrnohrad: side B</p><p>Pokrovsk: side B</p></body>"
    text = describe_change("html", old, new)
    assert text is not None
    lines = text.splitlines()
    assert lines[0].startswith("@@")
    assert "-Myrnohrad: side A" in lines
    assert "+Myrnohrad: side B" in lines
    assert "Pokrovsk: side B" not in " ".join(lines[1:]).replace(" Pokrovsk: side B", "", 1)


def test_html_markup_only_and_scripts_ignored() -> None:
    old = b"<p>Held by A</p><script>var t = 1;</script>"
    new = b'<p class="x">Held by A</p><script>var t = 2;</script>'
    assert describe_change("html", old, new) == "markup changed; the text is unchanged"


def test_html_diff_capped() -> None:
    old = "".join(f"<p>line {i} old</p>" for i in range(200)).encode()
    new = "".join(f"<p>line {i} new</p>" for i in range(200)).encode()
    text = describe_change("html", old, new)
    assert text is not None
    assert len(text.splitlines()) == 31
    assert text.endswith("more lines")


def test_war_map_flip_names_the_feature() -> None:
    text = describe_change("geojson", war_map(myrnohrad="A"), war_map(myrnohrad="B"))
    assert text == 'feature "Myrnohrad": controlled_by "A" → "B"'


def test_geojson_added_removed_geometry_and_ids() -> None:
    def layer(*features: dict[str, object]) -> bytes:
        return json.dumps({"type": "FeatureCollection", "features": list(features)}).encode()

    point = {"type": "Point", "coordinates": [1, 2]}
    moved = {"type": "Point", "coordinates": [1, 3]}
    old = layer(
        {"type": "Feature", "id": 7, "properties": {"side": "A"}, "geometry": point},
        {"type": "Feature", "properties": {"name": "Old"}, "geometry": point},
    )
    new = layer(
        {"type": "Feature", "id": 7, "properties": {"side": "A", "x": 1}, "geometry": moved},
        {"type": "Feature", "properties": {"name": "New"}, "geometry": point},
    )
    assert describe_change("geojson", old, new) == "\n".join(
        [
            'feature "7": x (absent) → 1, geometry changed',
            'feature "New" added',
            'feature "Old" removed',
        ]
    )


def test_attestation_statement_change() -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    a = sign_attestation(key, "ref", "A holds", "2025-11-15T00:00:00Z")
    b = sign_attestation(key, "ref", "B holds", "2025-11-15T06:00:00Z")
    again = sign_attestation(key, "ref", "A holds", "2025-11-15T12:00:00Z")
    assert describe_change("attestation", a, b) == 'statement "A holds" → "B holds"'
    assert describe_change("attestation", a, again) == (
        'statement unchanged, signed again at "2025-11-15T12:00:00Z"'
    )
