"""Resolution: specs and their linter, evidence, proposals, disputes, votes,
clarifications, affiliations, admin overrides, and each market's audit trail.

Who may do what (roles are checked here; conflicts of interest by the exchange itself):
a market's creator or an admin sets its spec and posts clarifications; a resolver
proposes (with a bond); any trader disputes (with a bond); an arbiter votes; a resolver
or admin asks for observations now; anyone may read the story and the evidence.
"""

from __future__ import annotations

import json
from functools import partial
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from starlette.concurrency import run_in_threadpool

from augury.api import resolution_models as m
from augury.api import resolution_reads as rr
from augury.api.deps import Admin, CurrentUser, Reader, ServicesDep, Trader, require_role
from augury.api.errors import VALIDATION_ERROR, ApiError, refused
from augury.api.routes import evidence_trail
from augury.api.routes.common import AdminView, IdempotencyKey
from augury.domain import commands as dc
from augury.domain.rejections import Code
from augury.domain.resolution import SpecError, decode_spec, is_acceptable, lint
from augury.domain.scalar import OUTCOMES, ScalarRange
from augury.domain.units import ONE
from augury.roles.services import Services

router = APIRouter(tags=["resolution"])
router.include_router(evidence_trail.router)

MarketPath = Annotated[str, Path(min_length=1, max_length=64)]


def _spec_text(spec: dict[str, Any]) -> str:
    return json.dumps(spec, separators=(",", ":"))


async def _creator_of(services: Services, market: str) -> str:
    return await services.query(lambda ex: rr.market_of(ex, market).creator)


async def _require_creator_or_admin(services: Services, principal: Any, market: str) -> None:
    if principal.has_role("admin"):
        return
    if await _creator_of(services, market) != principal.account:
        raise ApiError(403, "forbidden", "Only the market's creator or an admin may do this.")


def _changed(live: dict[str, Any], *fields: str) -> dict[str, Any]:
    """The answer to a mutation: where the resolution stands and the changed fields."""
    keep = ("market", "status", "market_status", *fields)
    return {k: live[k] for k in keep}


# -- the spec and its linter -----------------------------------------------------------------
@router.post("/resolution/lint", summary="Lint a resolution spec", response_model=m.LintOut)
async def lint_spec(body: m.LintBody, principal: Reader, services: ServicesDep) -> dict[str, Any]:
    """What the linter says about a spec for a market with these outcomes and close time
    (the same check that creating the market or setting its spec runs)."""
    try:
        spec = decode_spec(_spec_text(body.spec))
    except SpecError as exc:
        raise ApiError(422, Code.INVALID_SPEC.value, str(exc)) from None
    orgs = await services.query(lambda ex: ex.affiliations.get(principal.account, ()))
    outcomes, rng = tuple(body.outcomes), None
    if body.scalar is not None:
        sb = body.scalar
        outcomes, rng = OUTCOMES, ScalarRange(sb.low, sb.high, sb.step, sb.units)
    findings = await run_in_threadpool(lint, spec, outcomes, body.close_time, orgs, rng)
    return {
        "acceptable": is_acceptable(findings),
        "findings": [
            {
                "severity": f.severity.value,
                "code": f.code.value,
                "message": f.message,
                "where": f.where,
            }
            for f in findings
        ],
    }


@router.post(
    "/markets/{market}/spec",
    summary="Set a new version of a market's resolution spec (creator, admin)",
    response_model=m.SpecChangedOut,
)
async def set_spec(
    market: MarketPath,
    body: m.SpecBody,
    principal: CurrentUser,
    services: ServicesDep,
    key: IdempotencyKey,
) -> dict[str, Any]:
    await _require_creator_or_admin(services, principal, market)
    command = dc.SetResolutionSpec(market, principal.account, _spec_text(body.spec), body.reason)
    await services.submit(command, principal.account, key)
    await run_in_threadpool(services.identity.update_market_spec, market, body.spec)
    return _changed(await rr.state(services, market), "spec", "spec_version", "spec_sha256")


# -- the story -------------------------------------------------------------------------------
@router.get(
    "/markets/{market}/resolution",
    summary="A market's resolution story and where it stands",
    response_model=m.ResolutionOut,
)
async def resolution(
    market: MarketPath,
    services: ServicesDep,
    admin_view: AdminView,
    cursor: Annotated[str | None, Query(max_length=40)] = None,
    limit: Annotated[int, Query(ge=1, le=rr.STORY_PAGE_MAX)] = rr.STORY_PAGE_DEFAULT,
    observations: Annotated[
        Literal["all", "none"],
        Query(description="none: leave the captures out (read them as runs instead)."),
    ] = "all",
) -> dict[str, Any]:
    """Every spec version, clarification, observation (with its hash and any change),
    proposal, dispute, vote, hold, alert, status change, the outcome and the payouts, in
    journal order; ``cursor`` pages through a long story."""
    return await rr.story(services, market, cursor, limit, observations == "all", reveal=admin_view)


# -- people ------------------------------------------------------------------------------------
@router.post(
    "/markets/{market}/proposals",
    status_code=201,
    summary="Propose an outcome with a bond (resolver, admin)",
    response_model=m.ProposalChangedOut,
)
async def propose(
    market: MarketPath,
    body: m.ProposalBody,
    principal: Trader,
    services: ServicesDep,
    key: IdempotencyKey,
) -> dict[str, Any]:
    require_role(principal, "resolver", "admin")
    outcome = 0 if body.outcome is None else body.outcome  # or a scalar market's value
    command = dc.ProposeOutcome(
        market, principal.account, outcome, body.bond, body.reason, body.value
    )
    await services.submit(command, principal.account, key)
    return _changed(await rr.state(services, market), "proposal")


@router.post(
    "/markets/{market}/disputes",
    status_code=201,
    summary="Dispute the proposed outcome with a bond",
    response_model=m.DisputeChangedOut,
)
async def dispute(
    market: MarketPath,
    body: m.DisputeBody,
    principal: Trader,
    services: ServicesDep,
    key: IdempotencyKey,
) -> dict[str, Any]:
    command = dc.DisputeProposal(market, principal.account, body.bond, body.reason, body.value)
    await services.submit(command, principal.account, key)
    return _changed(await rr.state(services, market), "dispute")


@router.post(
    "/markets/{market}/votes",
    status_code=201,
    summary="Vote on a disputed or held market (arbiter)",
    response_model=m.VoteChangedOut,
)
async def vote(
    market: MarketPath,
    body: m.VoteBody,
    principal: Trader,
    services: ServicesDep,
    key: IdempotencyKey,
) -> dict[str, Any]:
    require_role(principal, "arbiter")
    outcome = 0 if body.outcome is None else body.outcome  # or a scalar market's value
    command = dc.CastVote(market, principal.account, outcome, body.reason, body.value)
    await services.submit(command, principal.account, key)
    answer = _changed(await rr.state(services, market), "votes")
    mine = [v for v in answer["votes"] if v["arbiter"] == principal.account]
    answer["vote"] = mine[-1] if mine else {"arbiter": principal.account, "outcome": outcome}
    return answer


@router.post(
    "/markets/{market}/clarifications",
    status_code=201,
    summary="Post a clarification of the rules (creator, admin)",
    response_model=m.ClarificationChangedOut,
)
async def clarify(
    market: MarketPath,
    body: m.ClarificationBody,
    principal: CurrentUser,
    services: ServicesDep,
    key: IdempotencyKey,
) -> dict[str, Any]:
    await _require_creator_or_admin(services, principal, market)
    command = dc.PostClarification(market, principal.account, body.text, body.cancel_orders)
    await services.submit(command, principal.account, key)
    live = await rr.state(services, market)
    answer = _changed(live, "rules_version")
    answer["clarification"] = live["clarifications"][-1]
    return answer


@router.post(
    "/me/affiliations",
    summary="Declare (or end) my affiliation with an organization",
    response_model=m.AffiliationsOut,
)
async def declare_affiliation(
    body: m.AffiliationBody, principal: Trader, services: ServicesDep, key: IdempotencyKey
) -> dict[str, Any]:
    command = dc.DeclareAffiliation(principal.account, body.organization, body.affiliated)
    await services.submit(command, principal.account, key)
    return await _affiliations(services, principal.account)


@router.post(
    "/admin/affiliations",
    summary="Record an account's affiliation (admin)",
    response_model=m.AffiliationsOut,
)
async def link_affiliation(
    body: m.AdminAffiliationBody, principal: Admin, services: ServicesDep, key: IdempotencyKey
) -> dict[str, Any]:
    command = dc.DeclareAffiliation(body.account, body.organization, body.affiliated)
    await services.submit(command, principal.account, key)
    return await _affiliations(services, body.account)


async def _affiliations(services: Services, account: str) -> dict[str, Any]:
    orgs = await services.query(lambda ex: ex.affiliations.get(account, ()))
    return {"account": account, "organizations": list(orgs)}


# -- admin emergency actions ---------------------------------------------------------------------
@router.post(
    "/markets/{market}/resolve",
    summary="Resolve a market by the operator's decision, journaled and public (admin)",
    response_model=m.OverrideOut,
)
async def override(
    market: MarketPath,
    body: m.OverrideBody,
    principal: Admin,
    services: ServicesDep,
    key: IdempotencyKey,
) -> dict[str, Any]:
    """Give ``outcome`` or fractional ``weights``; the reason is shown in the market's
    story. Outstanding bonds go back to whoever posted them."""
    reason = f"admin {principal.account}: {body.reason}"
    if body.value is not None:  # a scalar market: the domain computes the weights
        if body.outcome is not None or body.weights is not None:
            raise ApiError(422, VALIDATION_ERROR, "Give exactly one of outcome, weights, value.")
        command = dc.ResolveMarket(market, (), reason, body.value)
        await services.submit(command, principal.account, key)
        return {**_changed(await rr.state(services, market)), "reason": reason}
    n = len(await services.query(lambda ex: rr.market_of(ex, market).outcomes))
    if (body.outcome is None) == (body.weights is None):
        raise ApiError(422, VALIDATION_ERROR, "Give exactly one of outcome and weights.")
    if body.outcome is not None:
        if body.outcome >= n:
            raise refused(Code.INVALID_OUTCOME.value, f"The outcome must be 0 to {n - 1}.")
        weights = tuple(ONE if j == body.outcome else 0 for j in range(n))
    else:
        assert body.weights is not None
        weights = tuple(body.weights)
    reason = f"admin {principal.account}: {body.reason}"
    await services.submit(dc.ResolveMarket(market, weights, reason), principal.account, key)
    return {**_changed(await rr.state(services, market)), "reason": reason}


@router.post(
    "/markets/{market}/void",
    summary="Void a market and refund contributions, journaled and public (admin)",
    response_model=m.OverrideOut,
)
async def void(
    market: MarketPath,
    body: m.VoidBody,
    principal: Admin,
    services: ServicesDep,
    key: IdempotencyKey,
) -> dict[str, Any]:
    reason = f"admin {principal.account}: {body.reason}"
    await services.submit(dc.VoidMarket(market, reason), principal.account, key)
    return {**_changed(await rr.state(services, market)), "reason": reason}


# -- surveillance alerts ------------------------------------------------------------------------
@router.get("/alerts", summary="Surveillance alerts (arbiter, admin)", response_model=m.AlertPage)
async def alerts(
    principal: CurrentUser,
    services: ServicesDep,
    market: Annotated[str | None, Query(max_length=64)] = None,
    severity: Annotated[str | None, Query(pattern="^(low|medium|high)$")] = None,
    detector: Annotated[str | None, Query(max_length=64)] = None,
    status: Annotated[str | None, Query(pattern="^(open|dismissed|confirmed)$")] = None,
    before: Annotated[
        int | None, Query(ge=1, description="Page on: alerts older than this id.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> dict[str, Any]:
    """Newest first; ``next_before`` pages on (pass it as ``before``)."""
    require_role(principal, "arbiter", "admin")
    found = await services.query(
        partial(
            rr.alerts,
            market=market,
            severity=severity,
            detector=detector,
            status=status,
            before=before,
            limit=limit + 1,
        )
    )
    more = len(found) > limit
    found = found[:limit]
    return {"items": found, "next_before": found[-1]["id"] if more and found else None}


@router.post(
    "/alerts/{alert_id}/review",
    summary="Review an alert: dismiss releases, confirm holds for arbiters (arbiter, admin)",
    response_model=m.AlertOut,
)
async def review_alert(
    alert_id: Annotated[int, Path(ge=1)],
    body: m.ReviewBody,
    principal: CurrentUser,
    services: ServicesDep,
    key: IdempotencyKey,
) -> dict[str, Any]:
    require_role(principal, "arbiter", "admin")
    command = dc.ReviewAlert(alert_id, principal.account, body.verdict, body.note)
    await services.submit(command, principal.account, key)
    found = await services.query(partial(rr.alerts, alert_id=alert_id, limit=1))
    return found[0]
