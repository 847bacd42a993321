"""Reads behind the resolution routes: the live record (engine thread) and the story
(the ``resolution_log`` read model), shaped for the API."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine, select, tuple_
from starlette.concurrency import run_in_threadpool

from augury.api.errors import refused
from augury.api.evidence_trail import dedupe
from augury.domain import scalar
from augury.domain.exchange import Exchange
from augury.domain.market import Market
from augury.domain.rejections import Code
from augury.domain.resolution.lint import Severity, lint
from augury.domain.resolution.numeric import evaluate_any
from augury.domain.resolution.process import spec_of
from augury.domain.resolution.spec import ResolutionSpec
from augury.domain.units import format_micros
from augury.evidence.fetch import public_error
from augury.projections import tables as t
from augury.roles.services import Services
from augury.settings import format_instant

STORY_PAGE_DEFAULT = 500
STORY_PAGE_MAX = 2_000


def market_of(ex: Exchange, market: str) -> Market:
    """The market (engine thread), or the API's 404 ``unknown_market``."""
    found = ex.markets.get(market)
    if found is None:
        raise refused(Code.UNKNOWN_MARKET.value, f"There is no market {market!r}.")
    return found


def spec_warnings(
    ex: Exchange, market: Market, spec: ResolutionSpec | None
) -> list[dict[str, str]]:
    """The linter's warnings on the market's current spec, as the API shows findings."""
    if spec is None:
        return []
    orgs = ex.affiliations.get(market.creator, ())
    found = lint(spec, market.outcomes, market.close_at, orgs, market.scalar)
    return [
        {"severity": f.severity.value, "code": f.code.value, "message": f.message, "where": f.where}
        for f in found
        if f.severity is Severity.WARNING
    ]


def market_spec_warnings(ex: Exchange, market: str) -> list[dict[str, str]]:
    """:func:`spec_warnings` of a market by id (none for an unknown market)."""
    found = ex.markets.get(market)
    if found is None:
        return []
    return spec_warnings(ex, found, spec_of(ex.resolutions[market]))


def _value(market: Market, outcome: int) -> str | None:
    """A scalar market's proposed or voted value (its outcome is the value's grid index)."""
    if market.scalar is None or outcome < 0:
        return None
    return format_micros(scalar.value_at(market.scalar, outcome))


def _live(ex: Exchange, market: str, now: int) -> dict[str, Any]:
    found = market_of(ex, market)
    r = ex.resolutions[market]
    spec = spec_of(r)
    decision = ""
    if spec is not None and r.phase.value == "collecting":
        decision = evaluate_any(spec, r.observations, now, found.scalar).explanation
    p, d = r.proposal, r.dispute
    return {
        "market": market,
        "status": r.phase.value,
        "market_status": found.status.value,
        "spec": None if not r.spec else json.loads(r.spec),
        "spec_version": r.spec_version,
        "spec_sha256": r.spec_sha256,
        "spec_warnings": spec_warnings(ex, found, spec),
        "earliest_resolution_at": None
        if spec is None
        else format_instant(spec.earliest_resolution_us),
        "rules_version": r.rules_version,
        "proposal": None
        if p is None
        else {
            "proposer": p.proposer,
            "outcome": p.outcome,
            "value": _value(found, p.outcome),
            "bond": format_micros(p.bond),
            "proposed_at": format_instant(p.at_us),
            "challenge_ends_at": format_instant(p.challenge_ends_at),
            "evidence": dedupe(p.evidence),
            "reason": p.reason,
        },
        "dispute": None
        if d is None
        else {
            "disputer": d.disputer,
            "bond": format_micros(d.bond),
            "disputed_at": format_instant(d.at_us),
            "reason": d.reason,
            "value": None if d.value is None else format_micros(d.value),
        },
        "votes": [{"arbiter": a, "outcome": o, "value": _value(found, o)} for a, o in r.votes],
        "held_reason": r.held_reason,
        "holding_alerts": list(r.holding_alerts),
        "clarifications": [
            {
                "version": c.version,
                "author": c.author,
                "text": c.text,
                "at": format_instant(c.at_us),
                "sha256": c.sha256,
                "prev_sha256": c.prev_sha256,
            }
            for c in r.clarifications
        ],
        "decision": decision,
    }


_OBSERVATION_KINDS = ("observation", "change")


def _shown(kind: str, summary: str, details: dict[str, Any], reveal: bool) -> tuple[str, Any]:
    """A story entry as the caller may read it: for anyone but an admin, an observation's
    error without network addresses (:func:`~augury.evidence.fetch.public_error`); the
    journal keeps the full text."""
    error = details.get("error") if kind in _OBSERVATION_KINDS else None
    if reveal or not isinstance(error, str) or not error:
        return summary, details
    public = public_error(error)
    return summary.replace(error, public), {**details, "error": public}


def _story_rows(
    engine: Engine,
    market: str,
    cursor: str | None,
    limit: int,
    reveal: bool,
    observations: bool = True,
) -> tuple[list[dict[str, Any]], str | None]:
    log = t.resolution_log
    query = select(log).where(log.c.market == market)
    if not observations:  # the captures come from the runs endpoint instead
        query = query.where(log.c.kind.not_in(("observation", "change")))
    if cursor:
        try:
            seq, idx = (int(part) for part in cursor.split(".", 1))
        except ValueError:
            raise refused("invalid_cursor", "The cursor is not one this endpoint gave.") from None
        query = query.where(tuple_(log.c.seq, log.c.idx) > tuple_(seq, idx))
    query = query.order_by(log.c.seq, log.c.idx).limit(limit + 1)
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    more = len(rows) > limit
    rows = rows[:limit]
    entries = []
    for row in rows:
        summary, details = _shown(row.kind, row.summary, _details(row.kind, row.details), reveal)
        entries.append(
            {
                "seq": row.seq,
                "at": format_instant(row.ts_us),
                "kind": row.kind,
                "actor": row.actor,
                "summary": summary,
                "details": details,
            }
        )
    next_cursor = f"{rows[-1].seq}.{rows[-1].idx}" if more and rows else None
    return entries, next_cursor


def _details(kind: str, text: str) -> dict[str, Any]:
    details: dict[str, Any] = json.loads(text)
    if kind == "proposal" and isinstance(details.get("evidence"), list):
        details["evidence"] = dedupe(details["evidence"])  # each capture once
    return details


async def story(
    services: Services,
    market: str,
    cursor: str | None,
    limit: int,
    observations: bool = True,
    *,
    reveal: bool,
) -> dict[str, Any]:
    """The live state of a market's resolution plus a page of its journaled story
    (without the captures when ``observations`` is false; ``reveal``: observation errors
    in full, for an admin)."""
    now = services.now_us()
    live = await services.query(lambda ex: _live(ex, market, now))
    await services.barrier()
    entries, next_cursor = await run_in_threadpool(
        _story_rows, services.projector.engine, market, cursor, limit, reveal, observations
    )
    return {**live, "entries": entries, "next_cursor": next_cursor}


async def state(services: Services, market: str) -> dict[str, Any]:
    """Where a market's resolution stands now, without its story."""
    now = services.now_us()
    return await services.query(lambda ex: _live(ex, market, now))


def size_of(services: Services) -> Callable[[str], int | None] | None:
    """The evidence store's byte length by hash, when this server keeps the store."""
    return None if services.observer is None else services.observer.store.size


def shown_captures(items: list[dict[str, Any]], reveal: bool) -> list[dict[str, Any]]:
    """Captures (or runs) as the caller may read them: for anyone but an admin, their
    errors without network addresses (:func:`~augury.evidence.fetch.public_error`)."""
    if reveal:
        return items
    return [
        {**item, "error": public_error(item["error"])} if item.get("error") else item
        for item in items
    ]


def alerts(
    ex: Exchange,
    *,
    market: str | None = None,
    severity: str | None = None,
    detector: str | None = None,
    status: str | None = None,
    alert_id: int | None = None,
    before: int | None = None,
    limit: int = 50,
) -> list[dict[str, Any]]:
    """Alerts, newest first, filtered (engine thread)."""
    wanted = {"open": "", "dismissed": "dismiss", "confirmed": "confirm"}
    out: list[dict[str, Any]] = []
    ids = [alert_id] if alert_id is not None else sorted(ex.alerts, reverse=True)
    for i in ids:
        a = ex.alerts.get(i)
        if a is None or (before is not None and i >= before):
            continue
        if market is not None and a.market != market:
            continue
        if severity is not None and a.severity != severity:
            continue
        if detector is not None and a.detector != detector:
            continue
        if status is not None and a.verdict != wanted[status]:
            continue
        out.append(
            {
                "id": a.id,
                "market": a.market,
                "detector": a.detector,
                "severity": a.severity,
                "accounts": list(a.accounts),
                "seqs": list(a.seqs),
                "reason": a.reason,
                "score_bp": a.score,
                "holds": a.holds,
                "raised_at": format_instant(a.at_us),
                "verdict": a.verdict,
                "reviewer": a.reviewer,
            }
        )
        if len(out) >= limit:
            break
    return out
