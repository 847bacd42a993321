"""Readers: JSON paths, CSS selectors and regexes, GeoJSON point-in-polygon, attestations."""

from __future__ import annotations

import json
from typing import Any

import msgspec
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from hypothesis import given
from hypothesis import strategies as st

from augury.domain.resolution.spec import (
    AttestationSource,
    CsvSource,
    Expect,
    GeoJsonSource,
    HtmlSource,
    HttpJsonSource,
    Location,
)
from augury.domain.scalar import parse_value
from augury.evidence.readers import (
    ReadError,
    Segment,
    attestation_message,
    format_path,
    parse_path,
    read_value,
    sign_attestation,
)

from .conftest import MYRNOHRAD, POKROVSK, war_map

AB = (Expect(0, "A"), Expect(1, "B"))


def json_source(path: str) -> HttpJsonSource:
    return HttpJsonSource(id="wire", owner="Wire", expect=AB, url="https://x/", path=path)


def html_source(selector: str | None = None, regex: str | None = None) -> HtmlSource:
    return HtmlSource(
        id="page", owner="Paper", expect=AB, url="https://x/", selector=selector, regex=regex
    )


def geo_source(lon: float, lat: float, prop: str = "controlled_by") -> GeoJsonSource:
    return GeoJsonSource(
        id="map", owner="Maps", expect=AB, url="https://x/", at=Location(lon, lat), property=prop
    )


def code_of(source: Any, content: bytes) -> str:
    with pytest.raises(ReadError) as info:
        read_value(source, content)
    return info.value.code


# --- JSON paths -----------------------------------------------------------------------

DOC = b"""{"control": {"side": "B", "since": 1.50, "confirmed": true, "note": null,
  "count": -3, "big": 123456789012345678901234567890},
  "towns": [{"name": "Myrnohrad"}, {"name": "Pokrovsk"}],
  "odd key": {"a.b": "dotted", "q\\"uote": "quoted"}, "empty": {}, "nested": [[1, 2], [3]]}"""


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("$.control.side", "B"),
        ("$.control.since", "1.50"),  # the number as written, not re-rendered
        ("$.control.confirmed", "true"),
        ("$.control.note", "null"),
        ("$.control.count", "-3"),
        ("$.control.big", "123456789012345678901234567890"),
        ("$.towns[0].name", "Myrnohrad"),
        ("$.towns[-1].name", "Pokrovsk"),
        ("$.towns[-2].name", "Myrnohrad"),
        ('$["control"]["side"]', "B"),
        ('$["odd key"]["a.b"]', "dotted"),
        ('$["odd key"]["q\\"uote"]', "quoted"),
        ("$.nested[0][1]", "2"),
        ("$.nested[-1][0]", "3"),
    ],
)
def test_json_path_reads(path: str, value: str) -> None:
    assert read_value(json_source(path), DOC) == value


def test_json_root_scalar() -> None:
    assert read_value(json_source("$"), b' "A" ') == "A"
    assert read_value(json_source("$"), b"42") == "42"


@pytest.mark.parametrize(
    ("path", "code", "words"),
    [
        ("$.control.missing", "missing", "$.control.missing is missing"),
        ("$.control.side.deeper", "not_object", "$.control.side is not an object"),
        ("$.control[0]", "not_array", "$.control is not an array"),
        ("$.towns[2]", "index_out_of_range", "index 2 outside an array of 2"),
        ("$.towns[-3]", "index_out_of_range", "index -3"),
        ("$.control", "not_scalar", "is an object"),
        ("$.towns", "not_scalar", "is an array"),
        ("$.empty", "not_scalar", "is an object"),
    ],
)
def test_json_path_errors(path: str, code: str, words: str) -> None:
    with pytest.raises(ReadError) as info:
        read_value(json_source(path), DOC)
    assert info.value.code == code
    assert words in info.value.message


@pytest.mark.parametrize(
    ("path", "position"),
    [
        ("control.side", "start with '$'"),
        ("$.", "position 2"),
        ("$..a", "position 2"),
        ("$.1abc", "position 2"),
        ("$[", "position 2"),
        ("$[01]", "expected ']' at position 3"),
        ("$[1", "expected ']' at position 3"),
        ("$[abc]", "position 2"),
        ('$["abc]', "unterminated string at position 2"),
        ('$["a"x]', "expected ']' at position 5"),
        ("$.a b", "unexpected ' ' at position 3"),
        ("$ ", "position 1"),
    ],
)
def test_bad_paths_are_precise(path: str, position: str) -> None:
    with pytest.raises(ReadError) as info:
        parse_path(path)
    assert info.value.code == "bad_path"
    assert position in info.value.message


def test_parse_path_segments() -> None:
    assert parse_path("$") == ()
    assert parse_path('$.a["b c"][0][-2]._x-y') == ("a", "b c", 0, -2, "_x-y")


def test_invalid_json_content() -> None:
    assert code_of(json_source("$.a"), b'{"a": 1') == "bad_json"
    assert code_of(json_source("$.a"), b"\xff\xfe") == "bad_json"


segments = st.lists(st.one_of(st.text(max_size=8), st.integers(-5, 5)), max_size=6)


@given(segments)
def test_path_text_round_trip(segs: list[Segment]) -> None:
    assert parse_path(format_path(segs)) == tuple(segs)


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=6),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4)
    ),
    max_leaves=15,
)


def _leaves(value: Any, path: tuple[Segment, ...]) -> list[tuple[tuple[Segment, ...], Any]]:
    if isinstance(value, dict) and value:
        return [leaf for k, v in value.items() for leaf in _leaves(v, (*path, k))]
    if isinstance(value, list) and value:
        return [leaf for i, v in enumerate(value) for leaf in _leaves(v, (*path, i))]
    return [(path, value)]


@given(json_values)
def test_every_leaf_is_read_back_by_its_path(doc: Any) -> None:
    content = msgspec.json.encode(doc)
    for path, leaf in _leaves(doc, ()):
        source = json_source(format_path(path))
        if isinstance(leaf, dict | list):
            assert code_of(source, content) == "not_scalar"
        elif isinstance(leaf, str):
            assert read_value(source, content) == leaf
        else:
            assert read_value(source, content) == msgspec.json.encode(leaf).decode()
            assert json.loads(read_value(source, content)) == leaf


# --- HTML -------------------------------------------------------------------------------

PAGE = b"""<html><head><title>Front</title><script>var side = "X";</script></head>
<body><div class="town" id="myrnohrad"><h2>Myrnohrad</h2>
<p class="status">  Held   by <b>side</b>
 A </p></div>
<p class="status">Held by side B</p>
<span data-side="A">caf\xc3\xa9</span></body></html>"""


def test_css_selector_first_match_collapsed() -> None:
    assert read_value(html_source(selector="p.status"), PAGE) == "Held by side A"
    assert read_value(html_source(selector="#myrnohrad h2"), PAGE) == "Myrnohrad"
    assert read_value(html_source(selector="span[data-side]"), PAGE) == "café"


def test_regex_first_group_or_whole_match() -> None:
    assert read_value(html_source(regex=r"Held by side (\w)"), PAGE) == "B"
    assert read_value(html_source(regex=r'var side = "(\w)"'), PAGE) == "X"
    assert read_value(html_source(regex=r"Myrno\w+"), PAGE) == "Myrnohrad"


@pytest.mark.parametrize(
    ("selector", "regex", "code"),
    [
        ("p.nothing", None, "no_match"),
        ("p[[", None, "bad_selector"),
        (None, r"side (Z)", "no_match"),
        (None, r"(unclosed", "bad_regex"),
        ("p", r"p", "bad_reader"),
        (None, None, "bad_reader"),
    ],
)
def test_html_errors(selector: str | None, regex: str | None, code: str) -> None:
    assert code_of(html_source(selector, regex), PAGE) == code


# --- GeoJSON ----------------------------------------------------------------------------


def test_war_map_point_in_polygon() -> None:
    town = geo_source(*MYRNOHRAD)
    assert read_value(town, war_map(myrnohrad="A")) == "A"
    assert read_value(town, war_map(myrnohrad="B")) == "B"
    assert read_value(geo_source(*POKROVSK), war_map(pokrovsk="B")) == "B"


def test_point_on_the_boundary_counts() -> None:
    lon, lat = MYRNOHRAD
    assert read_value(geo_source(lon + 0.02, lat), war_map()) == "A"


def test_no_feature_at_the_point() -> None:
    assert code_of(geo_source(30.52, 50.45), war_map()) == "no_feature"
    # swapped coordinates (lat, lon) find nothing either
    assert code_of(geo_source(MYRNOHRAD[1], MYRNOHRAD[0]), war_map()) == "no_feature"


def _layer(*features: tuple[dict[str, Any] | None, dict[str, Any] | None]) -> bytes:
    fs = [{"type": "Feature", "properties": p, "geometry": g} for g, p in features]
    return json.dumps({"type": "FeatureCollection", "features": fs}).encode()


BIG = {"type": "Polygon", "coordinates": [[[37, 48], [38, 48], [38, 49], [37, 49], [37, 48]]]}
SMALL = {
    "type": "Polygon",
    "coordinates": [[[37.2, 48.2], [37.3, 48.2], [37.3, 48.4], [37.2, 48.4], [37.2, 48.2]]],
}


def test_overlapping_features_must_agree() -> None:
    town = geo_source(*MYRNOHRAD)
    agree = _layer((BIG, {"controlled_by": "A"}), (SMALL, {"controlled_by": "A"}))
    assert read_value(town, agree) == "A"
    disagree = _layer((BIG, {"controlled_by": "A"}), (SMALL, {"controlled_by": "B"}))
    with pytest.raises(ReadError) as info:
        read_value(town, disagree)
    assert info.value.code == "ambiguous"
    assert "'A'" in info.value.message and "'B'" in info.value.message


def test_geojson_property_values_and_odd_features() -> None:
    town = geo_source(*MYRNOHRAD)
    assert read_value(town, _layer((None, {}), (SMALL, {"controlled_by": 2}))) == "2"
    assert code_of(town, _layer((SMALL, {"other": "A"}))) == "missing_property"
    assert code_of(town, _layer((SMALL, None))) == "missing_property"
    multi = {"type": "MultiPolygon", "coordinates": [[[[0, 0], [1, 0], [1, 1], [0, 0]]]]}
    assert code_of(town, _layer((multi, {"controlled_by": "A"}))) == "no_feature"


@pytest.mark.parametrize(
    "content",
    [
        b"not json",
        b'{"type": "Feature", "geometry": null, "properties": {}}',
        b'{"type": "FeatureCollection", "features": {}}',
        b'{"type": "FeatureCollection", "features": [1]}',
        b'{"type": "FeatureCollection", "features": [{"geometry": {"type": "Blob"}}]}',
    ],
)
def test_bad_geojson(content: bytes) -> None:
    assert code_of(geo_source(*MYRNOHRAD), content) == "bad_geojson"


# --- attestations -----------------------------------------------------------------------


def _keypair() -> tuple[Ed25519PrivateKey, str]:
    key = Ed25519PrivateKey.generate()
    public = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex()
    return key, public


def attest_source(public_key: str, sid: str = "ref") -> AttestationSource:
    return AttestationSource(
        id=sid, owner="Referee", expect=AB, attester="Referee", public_key=public_key
    )


def test_attestation_message_format() -> None:
    assert attestation_message("ref", "2025-11-15T00:00:00Z", "A holds\nthe town") == (
        b"augury-attestation-v1\nref\n2025-11-15T00:00:00Z\nA holds\nthe town"
    )


def test_good_attestation() -> None:
    key, public = _keypair()
    doc = sign_attestation(key, "ref", "A", "2025-11-15T00:00:00Z")
    assert set(json.loads(doc)) == {"statement", "signed_at", "signature"}
    assert read_value(attest_source(public), doc) == "A"


def test_tampered_attestations_refused() -> None:
    key, public = _keypair()
    doc = json.loads(sign_attestation(key, "ref", "A", "2025-11-15T00:00:00Z"))
    changed_statement = json.dumps({**doc, "statement": "B"}).encode()
    changed_time = json.dumps({**doc, "signed_at": "2025-11-16T00:00:00Z"}).encode()
    sig = bytearray(bytes.fromhex(doc["signature"]))
    sig[0] ^= 1
    flipped = json.dumps({**doc, "signature": sig.hex()}).encode()
    for content in (changed_statement, changed_time, flipped):
        assert code_of(attest_source(public), content) == "bad_signature"
    signed = json.dumps(doc).encode()
    assert code_of(attest_source(public, sid="other"), signed) == "bad_signature"
    _, stranger = _keypair()
    assert code_of(attest_source(stranger), signed) == "bad_signature"
    assert read_value(attest_source(public), signed) == "A"


def test_malformed_attestations() -> None:
    key, public = _keypair()
    signed = json.loads(sign_attestation(key, "ref", "A", "2025-11-15T00:00:00Z"))
    assert code_of(attest_source(public), b"{}") == "bad_attestation"
    extra = json.dumps({**signed, "extra": 1}).encode()
    assert code_of(attest_source(public), extra) == "bad_attestation"
    not_hex = json.dumps({**signed, "signature": "zz"}).encode()
    assert code_of(attest_source(public), not_hex) == "bad_signature"
    assert code_of(attest_source("12" * 31), json.dumps(signed).encode()) == "bad_public_key"
    with pytest.raises(ReadError, match="bad_attestation"):
        sign_attestation(key, "ref", "A", "2025-11-15\nT00:00:00Z")


# --- CSV cells, and numbers from every kind ---------------------------------------------------
SERIES = b'date,transits,note\n2026-03-01,40,\n2026-03-02,"1,199",revised\n\n'


def csv_source(column: str, row: int = -1) -> CsvSource:
    return CsvSource(id="tracker", owner="T", url="https://x/m.csv", column=column, row=row)


def test_csv_cell_by_column_and_row() -> None:
    assert read_value(csv_source("transits"), SERIES) == "1,199"  # the latest line
    assert read_value(csv_source("transits", 0), SERIES) == "40"
    assert read_value(csv_source("note", 1), "\ufeff".encode() + SERIES) == "revised"


@pytest.mark.parametrize(
    ("column", "row", "content", "code"),
    [
        ("ships", -1, SERIES, "missing"),
        ("transits", 5, SERIES, "index_out_of_range"),
        ("transits", 0, b"", "bad_csv"),
        ("note", 0, b"date,transits,note\n2026-03-01,40\n", "missing"),
    ],
)
def test_csv_refusals(column: str, row: int, content: bytes, code: str) -> None:
    with pytest.raises(ReadError) as info:
        read_value(csv_source(column, row), content)
    assert info.value.code == code


def test_every_kind_gives_a_number_the_numeric_rules_read() -> None:
    """A JSON number, a CSV cell, an HTML text and a regex capture all parse alike."""
    json_value = read_value(json_source("$.n"), b'{"n": 1199.0}')
    html = HtmlSource(id="h", owner="H", url="https://x/", selector="#n")
    html_value = read_value(html, b"<p id='n'>1,199 ships</p>")
    rx = HtmlSource(id="r", owner="R", url="https://x/", regex=r"count: ([\d,]+)")
    regex_value = read_value(rx, b"<p>count: 1,199</p>")
    csv_value = read_value(csv_source("transits"), SERIES)
    values = [parse_value(v) for v in (json_value, html_value, regex_value, csv_value)]
    assert values == [1_199_000_000] * 4
