"""The evidence routes: a market's captures one by one and as runs of identical ones, a
capture by its id, the raw bytes by their hash, observing now (a job answered 202), and
attesters' signed statements. Included by ``augury.api.routes.resolution``.
"""

from __future__ import annotations

import json
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response
from starlette.concurrency import run_in_threadpool

from augury.api import evidence_trail as et
from augury.api import resolution_models as m
from augury.api import resolution_reads as rr
from augury.api.deps import ServicesDep, Trader, require_role
from augury.api.errors import NOT_FOUND, ApiError, refused
from augury.api.routes.common import AccountStored, AdminView, IdempotencyKey, sees_addresses
from augury.domain.exchange import Exchange
from augury.domain.rejections import Code
from augury.domain.resolution.spec import AttestationSource
from augury.roles.observer import Observer, capture_ids
from augury.roles.services import Services

router = APIRouter()

API_PREFIX = "/api/v1"
MarketPath = Annotated[str, Path(min_length=1, max_length=64)]
Sha256Path = Annotated[str, Path(pattern=r"^[0-9a-f]{64}$")]
SourceQuery = Annotated[
    str | None, Query(min_length=1, max_length=100, description="Only this source's captures.")
]


async def _known(services: Services, market: str) -> None:
    await services.query(lambda ex: rr.market_of(ex, market))
    await services.barrier()


@router.get(
    "/markets/{market}/observations",
    summary="A market's captures, oldest first, paged",
    response_model=m.ObservationsOut,
)
async def observations(
    market: MarketPath,
    services: ServicesDep,
    admin_view: AdminView,
    source: SourceQuery = None,
    after: Annotated[int, Query(ge=0, description="Captures with an id above this.")] = 0,
    until: Annotated[int | None, Query(ge=1, description="Captures up to this id.")] = None,
    limit: Annotated[int, Query(ge=1, le=et.OBSERVATION_PAGE_MAX)] = et.OBSERVATION_PAGE_DEFAULT,
) -> dict[str, Any]:
    """Each capture with its ``id`` (journal seq), hash, byte ``size``, status, value read
    and change; ``next_after`` pages on. A run's ``captures`` link lists its captures."""
    await _known(services, market)
    read = partial(
        et.observation_page,
        services.projector.engine,
        market,
        rr.size_of(services),
        source=source,
        after=after,
        until=until,
        limit=limit,
    )
    items, next_after = await run_in_threadpool(read)
    return {"items": rr.shown_captures(items, admin_view), "next_after": next_after}


@router.get(
    "/markets/{market}/observations/runs",
    summary="A market's captures with consecutive identical ones collapsed into runs",
    response_model=m.RunsOut,
)
async def observation_runs(
    market: MarketPath,
    services: ServicesDep,
    admin_view: AdminView,
    source: SourceQuery = None,
    cursor: Annotated[str | None, Query(max_length=20)] = None,
    limit: Annotated[int, Query(ge=1, le=et.RUN_PAGE_MAX)] = et.RUN_PAGE_DEFAULT,
) -> dict[str, Any]:
    """A run is one source's consecutive captures with the same content hash, value and
    status ("unchanged, 120 captures from ... to ..."), with its first and last capture
    (ids, hashes, times) and count; in the order of their first capture."""
    await _known(services, market)
    read = partial(
        et.run_page,
        services.projector.engine,
        market,
        rr.size_of(services),
        source=source,
        cursor=cursor,
        limit=limit,
        captures_url=f"{API_PREFIX}/markets/{market}/observations",
    )
    items, next_cursor = await run_in_threadpool(read)
    return {"items": rr.shown_captures(items, admin_view), "next_cursor": next_cursor}


@router.get(
    "/markets/{market}/observations/{obs_id}",
    summary="One capture by its id",
    response_model=m.ObservationOut,
)
async def observation(
    market: MarketPath,
    obs_id: Annotated[int, Path(ge=1)],
    services: ServicesDep,
    admin_view: AdminView,
) -> dict[str, Any]:
    await _known(services, market)
    read = partial(
        et.observation_one, services.projector.engine, market, obs_id, rr.size_of(services)
    )
    found = await run_in_threadpool(read)
    if found is None:
        raise ApiError(404, NOT_FOUND, f"Market {market} has no capture {obs_id}.")
    return rr.shown_captures([found], admin_view)[0]


@router.get(
    "/evidence/{sha256}",
    summary="The raw bytes of an observation, by their SHA-256",
    response_class=Response,
    responses={200: {"content": {"application/octet-stream": {}}}},
)
async def evidence(sha256: Sha256Path, services: ServicesDep) -> Response:
    """Anyone can fetch what a source served and check its hash against the journal."""
    observer = services.observer
    if observer is None or not observer.store.has(sha256):
        raise ApiError(404, NOT_FOUND, f"No evidence is stored under {sha256}.")
    data = await run_in_threadpool(observer.store.get, sha256)
    return Response(
        data,
        media_type="application/octet-stream",
        headers={"Content-Disposition": f'attachment; filename="{sha256}"'},
    )


# -- evidence on demand: a job -------------------------------------------------------------
def _observer(services: Services) -> Observer:
    """The server's observer; one is made (without its periodic loop) when the app runs
    without its lifespan, e.g. embedded in a test or another program."""
    if services.observer is None:
        services.observer = Observer(services)
    return services.observer


@router.post(
    "/markets/{market}/observe",
    status_code=202,
    summary="Observe every source of a market now, in the background (resolver, admin)",
    response_model=m.ObserveJobOut,
)
async def observe_now(
    market: MarketPath,
    principal: Trader,
    response: Response,
    services: ServicesDep,
    stored: AccountStored,
) -> Any:
    """Answers 202 at once with a job (``Location``: poll it); 503 ``overloaded`` when
    too many jobs wait. With an Idempotency-Key a retry gets the same job back."""
    require_role(principal, "resolver", "admin")
    jobs = _observer(services).jobs
    found = await stored.replay(response)
    if found is not None:  # the first answer, as it was: poll its Location for news
        response.headers["Location"] = str(found.body.get("location", ""))
        return found.body
    await services.query(lambda ex: rr.market_of(ex, market))
    answer = (await jobs.submit(market)).out(API_PREFIX)
    response.headers["Location"] = answer["location"]
    await stored.save(202, answer, response)
    return answer


@router.get(
    "/observe-jobs/{job_id}",
    summary="An on-demand observation job: pending, running, done or failed (resolver, admin)",
    response_model=m.ObserveJobOut,
)
async def observe_job(
    job_id: Annotated[str, Path(pattern=r"^[0-9a-f]{24}$")],
    principal: Trader,
    services: ServicesDep,
) -> dict[str, Any]:
    require_role(principal, "resolver", "admin")
    job = await _observer(services).jobs.get(job_id)
    if job is None:
        raise ApiError(404, NOT_FOUND, f"No observation job {job_id} (finished jobs expire).")
    return rr.shown_captures([job.out(API_PREFIX)], sees_addresses(principal))[0]


@router.post(
    "/markets/{market}/attestations",
    summary="Submit an attester's signed statement",
    response_model=m.ObservationOut,
)
async def attest(
    market: MarketPath,
    body: m.AttestationBody,
    principal: Trader,
    services: ServicesDep,
    key: IdempotencyKey,
) -> Any:
    """The statement is checked against the attestation source's public key; a bad
    signature is journaled as a failed observation, never as an answer. The answer is
    the journaled capture."""

    def source_of(ex: Exchange) -> AttestationSource | None:
        from augury.domain.resolution.process import spec_of

        r = ex.resolutions.get(market)
        spec = None if r is None else spec_of(r)
        for s in spec.sources if spec is not None else ():
            if s.id == body.source_id and isinstance(s, AttestationSource):
                return s
        return None

    await services.query(lambda ex: rr.market_of(ex, market))
    source = await services.query(source_of)
    if source is None:
        raise refused(
            Code.UNKNOWN_SOURCE.value, f"The spec has no attestation source {body.source_id!r}."
        )
    observer = _observer(services)
    document = {
        "statement": body.statement,
        "signed_at": body.signed_at,
        "signature": body.signature.lower(),
    }
    captured = await observer.attest(
        market, source, json.dumps(document).encode(), account=principal.account, key=key
    )
    await services.barrier()
    engine = services.projector.engine
    ids = await run_in_threadpool(capture_ids, engine, market, [captured])
    # a retry with the same Idempotency-Key was journaled once, at the first attempt
    obs_id = ids[0] if ids[0] is not None else (key and await _latest(services, market, source))
    found = None
    if obs_id:
        read = partial(et.observation_one, engine, market, obs_id, rr.size_of(services))
        found = await run_in_threadpool(read)
    if found is None:
        raise ApiError(
            409, "observation_refused", "The attestation was refused: the market is settled."
        )
    return rr.shown_captures([found], sees_addresses(principal))[0]


async def _latest(services: Services, market: str, source: AttestationSource) -> int | None:
    read = partial(et.latest_capture_id, services.projector.engine, market, source.id)
    return await run_in_threadpool(read)
