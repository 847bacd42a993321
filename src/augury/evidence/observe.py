"""One observation of a source: fetch (or accept a submitted attestation), store the raw
bytes by hash, read the value, describe the change since the previous capture.

The result, :class:`Captured`, is the record the engine journals (every field a JSON
primitive); :meth:`Captured.to_observation` gives the pure core's
:class:`~augury.domain.resolution.evaluate.Observation`. A failed fetch or an unreadable
body is ``ok=False`` with ``value=None``: a failure is never an answer. The raw body is
stored even for failures, so its hash can be checked later. The time is passed in
(``now_us``), never read here, so simulated clocks work. Reading and comparing run in
the worker processes of a :class:`~augury.evidence.sandbox.ReaderPool` (a time and a
size limit; a read over either is a failed capture), the store's file I/O on a thread:
nothing here holds the event loop.
"""

from __future__ import annotations

import asyncio

import httpx
import msgspec

from augury.domain.resolution.evaluate import Observation
from augury.domain.resolution.spec import AnySource, AttestationSource
from augury.evidence.fetch import FetchPolicy, fetch
from augury.evidence.sandbox import ReaderPool
from augury.evidence.store import BlobStore


class Captured(msgspec.Struct, frozen=True, kw_only=True):
    """One capture of a source, as journaled. ``error_code`` is a fetch code
    (``timeout``, ``http_status``, ...) or a read code (``missing``, ``no_feature``,
    ``bad_signature``, ``read_timeout``, ``read_too_large``, ...); empty when ``ok``."""

    source_id: str
    url: str
    """The source's URL ("" for an attestation)."""
    fetched_at_us: int
    ok: bool
    value: str | None
    content_sha256: str
    """SHA-256 of the raw body in the evidence store; "" when there was no body."""
    http_status: int | None
    headers: tuple[tuple[str, str], ...]
    error_code: str
    error: str
    size: int
    """Length of the raw body in bytes."""
    change: str | None
    """How the body differs from the previous capture's (None: first, unchanged, or not
    compared because this fetch failed)."""

    def to_observation(self) -> Observation:
        """The pure core's view of this capture."""
        return Observation(
            self.source_id, self.fetched_at_us, self.ok, self.value, self.content_sha256
        )


async def _change(
    store: BlobStore, readers: ReaderPool, kind: str, previous_sha256: str | None, body: bytes
) -> str | None:
    if previous_sha256 is None:
        return None
    old = await asyncio.to_thread(_stored, store, previous_sha256)
    if old is None:
        return f"previous content {previous_sha256[:12]}… is not in the evidence store"
    return await readers.change(kind, old, body)


def _stored(store: BlobStore, sha: str) -> bytes | None:
    return store.get(sha) if store.has(sha) else None


def _kind(source: AnySource) -> str:
    tag = type(source).__struct_config__.tag
    return tag if isinstance(tag, str) else type(source).__name__


async def _read(
    source: AnySource,
    body: bytes,
    *,
    now_us: int,
    store: BlobStore,
    readers: ReaderPool,
    previous_sha256: str | None,
    url: str,
    status: int | None = None,
    headers: tuple[tuple[str, str], ...] = (),
) -> Captured:
    """A capture of a body that arrived (stored, read, compared: none of it on the loop)."""
    sha = await asyncio.to_thread(store.put, body)
    read = await readers.read(source, body)
    return Captured(
        source_id=source.id,
        url=url,
        fetched_at_us=now_us,
        ok=read.ok,
        value=read.value if read.ok else None,
        content_sha256=sha,
        http_status=status,
        headers=headers,
        error_code=read.error_code,
        error=read.error,
        size=len(body),
        change=await _change(store, readers, _kind(source), previous_sha256, body),
    )


async def observe(
    source: AnySource,
    *,
    now_us: int,
    store: BlobStore,
    policy: FetchPolicy,
    readers: ReaderPool,
    previous_sha256: str | None = None,
    client: httpx.AsyncClient | None = None,
) -> Captured:
    """Fetch a URL-based source once and capture it. ``previous_sha256`` is the body
    hash of the source's previous capture (for ``change``)."""
    if isinstance(source, AttestationSource):
        raise TypeError("attestations are submitted, not fetched: use observe_attestation")
    got = await fetch(source.url, policy=policy, client=client)
    if got.ok:
        return await _read(
            source,
            got.body,
            now_us=now_us,
            store=store,
            readers=readers,
            previous_sha256=previous_sha256,
            url=source.url,
            status=got.status,
            headers=got.headers,
        )
    return Captured(
        source_id=source.id,
        url=source.url,
        fetched_at_us=now_us,
        ok=False,
        value=None,
        content_sha256=await asyncio.to_thread(store.put, got.body) if got.body else "",
        http_status=got.status,
        headers=got.headers,
        error_code=got.error_code,
        error=got.error,
        size=len(got.body),
        change=None,
    )


async def observe_attestation(
    source: AttestationSource,
    submitted: bytes,
    *,
    now_us: int,
    store: BlobStore,
    readers: ReaderPool,
    previous_sha256: str | None = None,
) -> Captured:
    """Capture an attestation document submitted for ``source`` (its signature checked)."""
    return await _read(
        source,
        submitted,
        now_us=now_us,
        store=store,
        readers=readers,
        previous_sha256=previous_sha256,
        url="",
    )
