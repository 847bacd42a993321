"""Admin: grant credits, set roles, move simulated time; and the health check."""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response
from starlette.concurrency import run_in_threadpool

from augury.api import responses as r
from augury.api.deps import Admin, ServicesDep
from augury.api.errors import CLOCK_NOT_SIMULATED, ApiError, not_found
from augury.api.routes.accounts import user_view
from augury.api.routes.common import AccountStored, IdempotencyKey, Limit
from augury.api.schemas import ClockBody, GrantBody, Role, RolesBody
from augury.domain import commands as dc
from augury.domain.units import format_micros
from augury.engine import AdvanceClock, SimulatedClock
from augury.journal.signing import load_or_create_key, public_key_hex
from augury.roles.node_engine import NodeEngine
from augury.settings import format_instant

REPLICA_STALE_S = 5.0
"""An API node whose replica has heard nothing for this long says ``behind`` in /health."""
router = APIRouter(tags=["admin"])
health_router = APIRouter(tags=["health"])


@health_router.get("/health", summary="Ready to serve", response_model=r.HealthOut)
async def health(services: ServicesDep) -> dict[str, Any]:
    engine = services.engine
    if not engine.running:
        raise ApiError(503, "unavailable", "the exchange is not running")
    answer: dict[str, Any] = {
        "status": "ok",
        "mode": services.settings.mode,
        "clock": services.settings.clock,
        "time": format_instant(services.now_us()),
        "journal_head": engine.head[0],
        "role": "serve",
    }
    if isinstance(engine, NodeEngine):  # an API node: how fresh its replica is
        answer.update(role="api", node=engine.status())
        if engine.replica.lag_s() > REPLICA_STALE_S:
            answer["status"] = "behind"
        if engine.cluster is not None:  # PostgreSQL: who leads (docs/failover.md)
            answer["cluster"] = engine.cluster.view()
    return answer


@health_router.get(
    "/journal",
    summary="The journal's head and the operator's checkpoint key",
    response_model=r.JournalOut,
)
async def journal(services: ServicesDep) -> dict[str, Any]:
    """Anyone can fetch the public key that signs checkpoints, to verify an export."""
    seq, head_hash = services.engine.head
    if isinstance(services.engine, NodeEngine):  # the key lives with the engine: its checkpoints
        found = services.engine.replica.operator_key
        if found is None:
            raise ApiError(
                503, "unavailable", "no signed checkpoint yet", headers={"Retry-After": "5"}
            )
        public_key = found.hex()
    else:
        public_key = public_key_hex(load_or_create_key(services.settings.data_dir / "operator.key"))
    return {
        "head_seq": seq,
        "head_hash": head_hash.hex(),
        "public_key": public_key,
        "signature_algorithm": "ed25519",
    }


@router.post(
    "/admin/grants",
    status_code=201,
    summary="Grant credits to an account (admin)",
    response_model=r.GrantOut,
)
async def grant(
    body: GrantBody, principal: Admin, services: ServicesDep, key: IdempotencyKey
) -> dict[str, Any]:
    user = await run_in_threadpool(services.identity.get_user, body.account)
    if user is None:
        raise not_found("account")
    command = dc.GrantCredits(body.account, body.amount, body.memo)
    await services.submit(command, principal.account, key)
    return {"account": body.account, "amount": format_micros(body.amount), "memo": body.memo}


@router.get("/admin/users", summary="List users and their roles (admin)", response_model=r.UserPage)
async def list_users(
    principal: Admin,
    services: ServicesDep,
    q: Annotated[str | None, Query(max_length=32, description="Part of a username.")] = None,
    role: Role | None = None,
    cursor: Annotated[
        str | None, Query(max_length=32, description="The last username seen.")
    ] = None,
    limit: Limit = 50,
) -> dict[str, Any]:
    found = await run_in_threadpool(
        partial(services.identity.list_users, q=q, role=role, after=cursor or "", limit=limit + 1)
    )
    more = len(found) > limit
    found = found[:limit]
    return {
        "items": [user_view(u) for u in found],
        "next_cursor": found[-1].username if more and found else None,
    }


@router.put(
    "/admin/users/{username}/roles", summary="Set a user's roles (admin)", response_model=r.UserOut
)
async def set_roles(
    username: Annotated[str, Path(max_length=32)],
    body: RolesBody,
    principal: Admin,
    services: ServicesDep,
) -> dict[str, Any]:
    roles = tuple(dict.fromkeys(body.roles))
    if username == principal.account and "admin" not in roles:
        raise ApiError(422, "validation_error", "an admin cannot remove its own admin role")
    user = await run_in_threadpool(services.identity.set_roles, username, roles)
    if user is None:
        raise not_found("user")
    return user_view(user)


@router.post("/admin/clock", summary="Advance simulated time (admin)", response_model=r.ClockOut)
async def advance_clock(
    body: ClockBody,
    principal: Admin,
    response: Response,
    services: ServicesDep,
    stored: AccountStored,
) -> Any:
    """Runs every timer that falls due on the way (GTD expiries, market closes, resolution
    deadlines and challenge windows), then observes every resolution source now due.

    With an Idempotency-Key a retry gets the first answer back and time does not move
    again (``{"seconds": N}`` is relative, so it is the answer that is kept, not the
    command compared)."""
    found = await stored.replay(response)
    if found is not None:
        return found.body
    if not isinstance(services.engine.clock, SimulatedClock):
        raise ApiError(409, CLOCK_NOT_SIMULATED, "this server runs on the system clock")
    to_us = body.to if body.to is not None else services.now_us() + (body.seconds or 0) * 10**6
    result = await services.submit(AdvanceClock(to_us), principal.account)
    if services.observer is not None:
        await services.observer.sweep()
    answer = {"time": format_instant(services.now_us()), "events": len(result.events)}
    await stored.save(200, answer, response)
    return answer
