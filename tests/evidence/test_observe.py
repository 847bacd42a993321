"""Observation end to end: fetch from a local server, store, read, describe changes."""

from __future__ import annotations

import hashlib

import msgspec
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from augury.domain.resolution.evaluate import Observation, changes
from augury.domain.resolution.spec import (
    AttestationSource,
    Expect,
    GeoJsonSource,
    HttpJsonSource,
    Location,
)
from augury.evidence.fetch import FetchPolicy
from augury.evidence.observe import Captured, observe, observe_attestation
from augury.evidence.readers import sign_attestation
from augury.evidence.sandbox import ReaderPool
from augury.evidence.store import EvidenceStore

from .conftest import MYRNOHRAD, FixtureServer, run, war_map

LOCAL = FetchPolicy(allow_hosts=frozenset({"127.0.0.1"}), timeout_s=5)
AB = (Expect(0, "A"), Expect(1, "B"))
T0 = 1_763_164_800_000_000
HOUR = 3_600_000_000


def wire(url: str) -> HttpJsonSource:
    return HttpJsonSource(id="wire", owner="Wire", expect=AB, url=url, path="$.control.side")


def map_source(url: str) -> GeoJsonSource:
    return GeoJsonSource(
        id="map",
        owner="Maps",
        expect=AB,
        url=url,
        at=Location(*MYRNOHRAD, place="Myrnohrad"),
        property="controlled_by",
    )


def test_success(server: FixtureServer, store: EvidenceStore, readers: ReaderPool) -> None:
    body = b'{"control": {"side": "A"}}'
    url = server.set("/town", body, headers={"Content-Type": "application/json"})
    c = run(observe(wire(url), now_us=T0, store=store, readers=readers, policy=LOCAL))
    assert c.ok and c.value == "A"
    assert (c.error_code, c.error, c.change) == ("", "", None)
    assert c.content_sha256 == hashlib.sha256(body).hexdigest()
    assert store.get(c.content_sha256) == body
    assert (c.source_id, c.url, c.fetched_at_us, c.http_status, c.size) == (
        "wire",
        url,
        T0,
        200,
        len(body),
    )
    assert ("content-type", "application/json") in c.headers
    assert c.to_observation() == Observation("wire", T0, True, "A", c.content_sha256)


def test_captured_is_plain_json(
    server: FixtureServer, store: EvidenceStore, readers: ReaderPool
) -> None:
    url = server.set("/town", b'{"control": {"side": "B"}}')
    c = run(observe(wire(url), now_us=T0, store=store, readers=readers, policy=LOCAL))
    data = msgspec.json.encode(c)
    assert msgspec.json.decode(data, type=Captured) == c
    plain = msgspec.json.decode(data)
    assert plain["value"] == "B" and plain["headers"][0][0] == "content-length"


def test_server_error_is_a_failure_with_its_body_stored(
    server: FixtureServer, store: EvidenceStore, readers: ReaderPool
) -> None:
    url = server.set("/town", b'{"control": {"side": "A"}}', status=500)
    c = run(observe(wire(url), now_us=T0, store=store, readers=readers, policy=LOCAL))
    # the body would read "A", but a failure is never an answer
    assert (c.ok, c.value, c.error_code, c.http_status) == (False, None, "http_status", 500)
    assert store.verify(c.content_sha256)
    assert store.get(c.content_sha256) == b'{"control": {"side": "A"}}'
    assert c.to_observation().ok is False


def test_refused_fetch_has_no_body(
    store: EvidenceStore, server: FixtureServer, readers: ReaderPool
) -> None:
    url = server.set("/town", b'{"control": {"side": "A"}}')
    c = run(observe(wire(url), now_us=T0, store=store, readers=readers, policy=FetchPolicy()))
    assert (c.ok, c.value, c.error_code) == (False, None, "forbidden_address")
    assert (c.content_sha256, c.size, c.http_status, c.headers) == ("", 0, None, ())
    assert not store.root.exists() or not any(store.root.rglob("*"))


def test_read_error_is_a_failure_with_the_body_kept(
    server: FixtureServer, store: EvidenceStore, readers: ReaderPool
) -> None:
    body = b'{"control": {"party": "A"}}'
    url = server.set("/town", body)
    c = run(observe(wire(url), now_us=T0, store=store, readers=readers, policy=LOCAL))
    assert (c.ok, c.value, c.error_code, c.http_status) == (False, None, "missing", 200)
    assert "$.control.side is missing" in c.error
    assert store.get(c.content_sha256) == body


def test_war_map_flip_and_back(
    server: FixtureServer, store: EvidenceStore, readers: ReaderPool
) -> None:
    url = server.set("/front.geojson", war_map(myrnohrad="A"))
    src = map_source(url)
    captures: list[Captured] = []
    previous: str | None = None
    for hour, side in [(0, "A"), (1, "A"), (2, "B"), (3, "A")]:
        server.set("/front.geojson", war_map(myrnohrad=side))
        c = run(
            observe(
                src,
                now_us=T0 + hour * HOUR,
                store=store,
                readers=readers,
                policy=LOCAL,
                previous_sha256=previous,
            )
        )
        assert c.ok and c.value == side, c.error
        captures.append(c)
        previous = c.content_sha256
    assert [c.change for c in captures] == [
        None,
        None,
        'feature "Myrnohrad": controlled_by "A" → "B"',
        'feature "Myrnohrad": controlled_by "B" → "A"',
    ]
    assert captures[0].content_sha256 == captures[3].content_sha256
    flips = changes([c.to_observation() for c in captures])
    assert [(ch.at_us, ch.from_value, ch.to_value) for ch in flips] == [
        (T0 + 2 * HOUR, "A", "B"),
        (T0 + 3 * HOUR, "B", "A"),
    ]


def test_change_not_computed_for_a_failed_fetch(
    server: FixtureServer, store: EvidenceStore, readers: ReaderPool
) -> None:
    url = server.set("/town", b'{"control": {"side": "A"}}')
    first = run(observe(wire(url), now_us=T0, store=store, readers=readers, policy=LOCAL))
    server.set("/town", b"down for maintenance", status=503)
    second = run(
        observe(
            wire(url),
            now_us=T0 + HOUR,
            store=store,
            readers=readers,
            policy=LOCAL,
            previous_sha256=first.content_sha256,
        )
    )
    assert (second.ok, second.change, second.http_status) == (False, None, 503)


def test_previous_content_missing_from_store(
    server: FixtureServer, store: EvidenceStore, readers: ReaderPool
) -> None:
    url = server.set("/town", b'{"control": {"side": "A"}}')
    c = run(
        observe(
            wire(url),
            now_us=T0,
            store=store,
            readers=readers,
            policy=LOCAL,
            previous_sha256="ab" * 32,
        )
    )
    assert c.ok
    assert c.change == "previous content abababababab… is not in the evidence store"


def _attester() -> tuple[Ed25519PrivateKey, AttestationSource]:
    key = Ed25519PrivateKey.generate()
    public = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex()
    src = AttestationSource(
        id="referee", owner="Referee", expect=AB, attester="Referee", public_key=public
    )
    return key, src


def test_attestation_capture(store: EvidenceStore, readers: ReaderPool) -> None:
    key, src = _attester()
    doc = sign_attestation(key, "referee", "A", "2025-11-15T00:00:00Z")
    c = run(observe_attestation(src, doc, now_us=T0, store=store, readers=readers))
    assert (c.ok, c.value, c.url, c.http_status, c.headers) == (True, "A", "", None, ())
    assert store.get(c.content_sha256) == doc
    later = sign_attestation(key, "referee", "B", "2025-11-15T06:00:00Z")
    c2 = run(
        observe_attestation(
            src,
            later,
            now_us=T0 + HOUR,
            store=store,
            readers=readers,
            previous_sha256=c.content_sha256,
        )
    )
    assert (c2.value, c2.change) == ("B", 'statement "A" → "B"')


def test_tampered_attestation_is_a_failure(store: EvidenceStore, readers: ReaderPool) -> None:
    key, src = _attester()
    doc = sign_attestation(key, "referee", "A", "2025-11-15T00:00:00Z")
    tampered = doc.replace(b'"statement":"A"', b'"statement":"B"')
    assert tampered != doc
    c = run(observe_attestation(src, tampered, now_us=T0, store=store, readers=readers))
    assert (c.ok, c.value, c.error_code) == (False, None, "bad_signature")
    assert store.get(c.content_sha256) == tampered


def test_attestations_are_not_fetched(store: EvidenceStore, readers: ReaderPool) -> None:
    _, src = _attester()
    with pytest.raises(TypeError, match="observe_attestation"):
        run(observe(src, now_us=T0, store=store, readers=readers, policy=LOCAL))
