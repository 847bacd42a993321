"""The observer: fetches every resolution source that is due and journals what it saw.

A source is due while its market's resolution collects evidence (from ``lookback_hours``
before the observation time until the spec's deadline, and until the market is final)
and its last observation is at least ``poll_minutes`` old by the exchange's clock. The
observer runs every ``observer_interval_s`` real seconds, after every simulated clock
advance (so a scenario spanning days observes at each step), and on demand for one
market. Each capture's raw bytes go to the content-addressed evidence store; the
observation itself (hash, status, value read, change) is a journaled
``RecordObservation`` command, so it cannot be rewritten later. Values are read (and
changes described) in worker processes with a time and a size limit
(:mod:`augury.evidence.sandbox`), never on the event loop.

Manual attestations are not fetched: an attester submits a signed statement, which is
checked and journaled the same way (:meth:`Observer.attest`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol, TypeVar

from sqlalchemy import Engine, select

from augury.domain import commands as dc
from augury.domain.exchange import Exchange, Result
from augury.domain.resolution.evaluate import Observation
from augury.domain.resolution.process import spec_of
from augury.domain.resolution.record import Phase
from augury.domain.resolution.spec import HOUR_US, AnySource, AttestationSource
from augury.evidence.fetch import FetchPolicy
from augury.evidence.observe import Captured, observe, observe_attestation
from augury.evidence.sandbox import ReaderLimits, ReaderPool
from augury.evidence.sql_store import SqlEvidenceStore
from augury.evidence.store import BlobStore, EvidenceStore
from augury.projections import Projector
from augury.projections import tables as t
from augury.roles.observe_job_rows import JobRows
from augury.roles.observe_jobs import ObserveJobs
from augury.settings import Settings

log = logging.getLogger(__name__)

T = TypeVar("T")
MINUTE_US = 60_000_000
CONCURRENT_FETCHES = 8
_OPEN_PHASES = (Phase.COLLECTING, Phase.PROPOSED, Phase.DISPUTED, Phase.HELD)
CAPTURE_KINDS = ("observation", "change")
"""The ``resolution_log`` rows that hold a capture (an observation, or one that changed)."""


class Services(Protocol):
    """What the observer uses of a server's services (``augury.roles.services.Services``,
    which holds its observer: this keeps the two modules from importing each other)."""

    @property
    def settings(self) -> Settings: ...

    @property
    def projector(self) -> Projector: ...

    def now_us(self) -> int: ...

    async def query(self, fn: Callable[[Exchange], T]) -> T: ...

    async def submit_raw(self, command: dc.Command, account: str = "", key: str = "") -> Result: ...

    async def barrier(self) -> None: ...


@dataclass(frozen=True)
class Due:
    market: str
    source: AnySource
    previous_sha256: str | None


def due_sources(ex: Exchange, now_us: int, market: str | None = None) -> list[Due]:
    """Sources to observe at ``now_us`` (all fetchable sources of ``market`` if given)."""
    found: list[Due] = []
    names = [market] if market is not None else sorted(ex.resolutions)
    for name in names:
        r = ex.resolutions.get(name)
        spec = None if r is None else spec_of(r)
        if r is None or spec is None or r.phase not in _OPEN_PHASES:
            continue
        start = spec.observation_at_us - spec.lookback_hours * HOUR_US
        if market is None and not start <= now_us <= spec.deadline_us:
            continue
        latest = latest_by_source(r.observations)
        for source in spec.sources:
            if isinstance(source, AttestationSource):
                continue
            seen = latest.get(source.id)
            fresh = seen is not None and now_us - seen[0] < spec.poll_minutes * MINUTE_US
            if market is None and fresh:
                continue
            found.append(Due(name, source, None if seen is None else seen[1]))
    return found


def evidence_store(services: Services) -> BlobStore:
    """Where raw captures go: files in the data directory on one machine (SQLite), the
    shared database when the roles may run on several (PostgreSQL)."""
    if services.settings.database_url:
        return SqlEvidenceStore(services.projector.engine)
    return EvidenceStore(services.settings.data_dir / "evidence")


def latest_by_source(observations: Iterable[Observation]) -> dict[str, tuple[int, str | None]]:
    """Per source: the instant of its latest observation (failed or not: it says when
    the source was last tried) and the hash of its latest observation *with content*
    (what a new capture is compared with to describe a change; a failed fetch in
    between has no content to compare). Latest by instant, then by journal order."""
    latest: dict[str, tuple[int, str | None]] = {}
    content: dict[str, int] = {}
    for o in observations:
        seen = latest.get(o.source_id)
        sha = None if seen is None else seen[1]
        if o.content_sha256 and o.fetched_at_us >= content.get(o.source_id, o.fetched_at_us):
            sha = o.content_sha256
            content[o.source_id] = o.fetched_at_us
        at = o.fetched_at_us if seen is None else max(seen[0], o.fetched_at_us)
        latest[o.source_id] = (at, sha)
    return latest


class Observer:
    """Fetch what is due, store the bytes, journal the observations."""

    def __init__(self, services: Services) -> None:
        settings = services.settings
        self.services = services
        self.store = evidence_store(services)
        self.policy = FetchPolicy(
            allow_hosts=frozenset(settings.evidence_allow_hosts),
            timeout_s=settings.evidence_timeout_s,
            max_bytes=settings.evidence_max_bytes,
        )
        self.readers = ReaderPool(
            ReaderLimits(
                timeout_s=settings.evidence_read_timeout_s,
                max_bytes=settings.evidence_read_max_bytes,
                workers=settings.evidence_readers,
            )
        )
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self.jobs = ObserveJobs(
            self.sweep, self._capture_ids, services.now_us, JobRows(services.projector.engine)
        )
        """On-demand observations answered with 202 (``augury.roles.observe_jobs``)."""

    async def sweep(self, market: str | None = None) -> list[Captured]:
        """Observe every due source (every source of ``market``), once, now."""
        async with self._lock:  # one sweep at a time: no source observed twice at once
            now = self.services.now_us()
            due = await self.services.query(lambda ex: due_sources(ex, now, market))
            limit = asyncio.Semaphore(CONCURRENT_FETCHES)

            async def one(d: Due) -> Captured:
                async with limit:
                    return await observe(
                        d.source,
                        now_us=now,
                        store=self.store,
                        policy=self.policy,
                        readers=self.readers,
                        previous_sha256=d.previous_sha256,
                    )

            captured = await asyncio.gather(*(one(d) for d in due))
            for d, c in zip(due, captured, strict=True):
                await self._journal(d.market, c)
            return list(captured)

    async def attest(
        self,
        market: str,
        source: AttestationSource,
        submitted: bytes,
        *,
        account: str = "",
        key: str = "",
    ) -> Captured:
        """Check and journal an attester's signed statement (a failed check is journaled
        too, as a failed observation: it is evidence that someone tried)."""
        async with self._lock:
            now = self.services.now_us()
            previous = await self.services.query(lambda ex: _last_sha(ex, market, source.id))
            captured = await observe_attestation(
                source,
                submitted,
                now_us=now,
                store=self.store,
                readers=self.readers,
                previous_sha256=previous,
            )
            await self._journal(market, captured, account, key)
            return captured

    async def _journal(self, market: str, c: Captured, account: str = "", key: str = "") -> None:
        command = dc.RecordObservation(
            market=market,
            source_id=c.source_id,
            fetched_at_us=c.fetched_at_us,
            ok=c.ok,
            value=c.value,
            content_sha256=c.content_sha256,
            http_status=c.http_status,
            error_code=c.error_code,
            error=c.error[:2_000],
            change=None if c.change is None else c.change[:2_000],
            url=c.url[:2_000],
            headers=tuple((k[:100], v[:500]) for k, v in c.headers[:20]),
            size=c.size,
        )
        if not key:  # the observer's own: one observation per source and instant
            account, key = "", f"obs:{market}:{c.source_id}:{c.fetched_at_us}"
        result = await self.services.submit_raw(command, account=account, key=key)
        if not result.ok:  # e.g. the market was settled meanwhile
            log.info("observation of %s/%s refused: %s", market, c.source_id, result.code)

    async def _capture_ids(self, market: str, captured: list[Captured]) -> list[int | None]:
        await self.services.barrier()
        engine = self.services.projector.engine
        return await asyncio.to_thread(capture_ids, engine, market, captured)

    # -- the periodic loop ------------------------------------------------------------
    def start(self, interval_s: float) -> None:
        if interval_s > 0 and self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(interval_s))

    async def stop(self) -> None:
        await self.jobs.close()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self.readers.close()

    async def _run(self, interval_s: float) -> None:
        while True:
            try:
                await self.sweep()
            except asyncio.CancelledError:
                raise
            except Exception:  # a bad source must not stop the observer
                log.exception("observer sweep failed")
            await asyncio.sleep(interval_s)


def _last_sha(ex: Exchange, market: str, source_id: str) -> str | None:
    r = ex.resolutions.get(market)
    if r is None:
        return None
    seen = latest_by_source(o for o in r.observations if o.source_id == source_id)
    return seen[source_id][1] if source_id in seen else None


def capture_ids(engine: Engine, market: str, captured: list[Captured]) -> list[int | None]:
    """The id (journal seq) of each capture, matched by source and capture time (None
    for one that was not journaled, e.g. refused because the market was settled)."""
    if not captured:
        return []
    table = t.resolution_log
    since = min(c.fetched_at_us for c in captured)
    query = (
        select(table.c.seq, table.c.details)
        .where(table.c.market == market, table.c.kind.in_(CAPTURE_KINDS), table.c.ts_us >= since)
        .order_by(table.c.seq)
    )
    found: dict[tuple[str, int], int] = {}
    with engine.connect() as conn:
        for row in conn.execute(query):
            d = json.loads(row.details)
            found.setdefault((d["source_id"], d["fetched_at_us"]), row.seq)
    return [found.get((c.source_id, c.fetched_at_us)) for c in captured]
