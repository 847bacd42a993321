"""``POST /web/lint-spec``: the resolution spec linter's findings for the create form.

Pure computation (nothing is stored or journaled), but work on the caller's input all the
same (a creator's regexes are compiled): it needs a login (the session cookie and its
CSRF header, or an API key) and takes a token from the caller's rate-limit buckets like
every API route (:mod:`augury.api.ratelimit`); the body cap and the security headers of
the app apply as everywhere.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from augury.api.deps import CurrentUser
from augury.api.text import SingleLineText, TextTree
from augury.domain.resolution.lint import lint
from augury.domain.resolution.spec import SpecError, decode_spec
from augury.settings import parse_instant_us

router = APIRouter(include_in_schema=False)


class LintBody(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    spec: TextTree
    outcomes: Annotated[list[SingleLineText], Field(min_length=2, max_length=64)]
    close_time: Annotated[str, Field(max_length=40)]


@router.post("/web/lint-spec")
async def lint_spec(body: LintBody, principal: CurrentUser) -> dict[str, Any]:
    try:
        close_at = parse_instant_us(body.close_time)
    except ValueError as exc:
        return {"ok": False, "findings": [_finding("error", "bad_close_time", str(exc), "$")]}
    try:
        spec = decode_spec(json.dumps(body.spec))
    except SpecError as exc:
        return {"ok": False, "findings": [_finding("error", "invalid_spec", str(exc), "$")]}
    # On a thread: compiling a creator's regexes is a few milliseconds each at most, but
    # a spec may hold many of them.
    findings = await run_in_threadpool(lint, spec, body.outcomes, close_at, ())
    out = [_finding(f.severity.value, f.code.value, f.message, f.where) for f in findings]
    return {"ok": all(f["severity"] != "error" for f in out), "findings": out}


def _finding(severity: str, code: str, message: str, where: str) -> dict[str, str]:
    return {"severity": severity, "code": code, "message": message, "where": where}
