# generated from _async/resolution.py by scripts/unasync.py; do not edit
"""Resolution and disputes: specs, observations and evidence, proposing, disputing and
voting, clarifications, the operator's resolve and void."""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from augury.client import _base as b
from augury.client import _models as m
from augury.client import _trail as t
from augury.client._errors import AuguryError
from augury.client._sync.base import Core, walk


class ResolutionMethods(Core):
    """The client's methods for resolution and disputes."""

    def lint_spec(
        self,
        spec: Mapping[str, Any],
        close_time: b.Instant,
        *,
        outcomes: Sequence[str] | None = None,
        scalar: b.ScalarRange | None = None,
    ) -> m.LintResult:
        """What the linter says about ``spec`` for a market with these outcomes (default
        Yes/No; a scalar market: its ``scalar`` range) and close time; nothing is stored.
        An undecodable spec raises ``Rejected`` (``invalid_spec``)."""
        body = b.body(
            spec=dict(spec),
            outcomes=list(outcomes) if outcomes is not None else None,
            close_time=b.instant(close_time),
            scalar=None if scalar is None else b.scalar_body(scalar),
        )
        return self._call(self._req("lint_spec", body=body), m.LintResult)

    def set_spec(
        self,
        market: str,
        spec: Mapping[str, Any],
        reason: str = "",
        *,
        idempotency_key: str | None = None,
    ) -> m.ResolutionChange:
        """A new version of the market's resolution spec (its creator or an admin; only
        before an outcome is proposed)."""
        req = self._req(
            "set_spec",
            path={"market": market},
            body={"spec": dict(spec), "reason": reason},
            idempotency_key=idempotency_key,
        )
        return self._call(req, m.ResolutionChange)

    def market_resolution(
        self, market: str, *, cursor: str | None = None, limit: int | None = None
    ) -> m.Resolution:
        """Where the market's resolution stands, and a page of its story (``entries``)."""
        params = {"cursor": cursor, "limit": limit}
        req = self._req("market_resolution", path={"market": market}, params=params)
        return self._call(req, m.Resolution)

    def iter_resolution(
        self, market: str, *, page_size: int | None = None
    ) -> Iterator[m.StoryEntry]:
        """Every entry of the market's resolution story, page after page."""

        def page(cursor: str | None) -> m.Page[m.StoryEntry]:
            found = self.market_resolution(market, cursor=cursor, limit=page_size)
            return m.Page(items=found.entries, next_cursor=found.next_cursor)

        return walk(page)

    def observations(
        self,
        market: str,
        *,
        source: str | None = None,
        after: int | None = None,
        until: int | None = None,
        limit: int | None = None,
    ) -> list[m.Observation]:
        """The market's captures, oldest first, each with its ``id`` and byte ``size``:
        all of them page after page, or one page of ``limit``; ``source`` keeps one
        source's, ``after``/``until`` an id range (a run's captures)."""
        items: list[m.Observation] = []
        for _ in range(b.PAGES_MAX):
            params = {"source": source, "after": after, "until": until, "limit": limit}
            req = self._req("observations", path={"market": market}, params=params)
            page = self._call(req, m.ObservationList)
            items.extend(page.items)
            if limit is not None or page.next_after is None:
                return items
            after = page.next_after
        raise AuguryError(0, "too_many_pages", f"stopped after {b.PAGES_MAX} pages")

    def observation(self, market: str, obs_id: int) -> m.Observation:
        """One capture by its id."""
        req = self._req("observation", path={"market": market, "obs_id": obs_id})
        return self._call(req, m.Observation)

    def observation_runs(
        self,
        market: str,
        *,
        source: str | None = None,
        cursor: str | None = None,
        limit: int | None = None,
    ) -> m.Page[t.ObservationRun]:
        """The market's captures with each source's consecutive identical ones collapsed
        into runs ("unchanged, 120 captures from ... to ..."), oldest first."""
        params = {"source": source, "cursor": cursor, "limit": limit}
        req = self._req("observation_runs", path={"market": market}, params=params)
        return self._call(req, m.Page[t.ObservationRun])

    def evidence(self, sha256: str) -> bytes:
        """The raw bytes a source served, by their SHA-256 (check them against the hash)."""
        return (self._send(self._req("evidence", path={"sha256": sha256}))).content

    def observe_now(self, market: str, *, wait: bool = True, timeout: float = 60.0) -> t.ObserveJob:
        """Observe every source of the market now (a resolver or an admin). The server
        answers at once with a job; with ``wait`` it is polled until it is done or failed
        (or ``timeout`` seconds pass). Its ``observations`` name each capture's id."""
        req = self._req("observe_now", path={"market": market})
        job = self._call(req, t.ObserveJob)
        deadline = time.monotonic() + timeout
        while wait and job.status in ("pending", "running") and time.monotonic() < deadline:
            time.sleep(b.JOB_POLL_S)
            job = self.observe_job(job.id)
        return job

    def observe_job(self, job_id: str) -> t.ObserveJob:
        """An observation job: pending, running, done (with its captures) or failed."""
        return self._call(self._req("observe_job", path={"job_id": job_id}), t.ObserveJob)

    def attest(
        self, market: str, source_id: str, statement: str, signed_at: str, signature: str
    ) -> m.Observation:
        """Submit an attester's statement for an ``attestation`` source: ``signature`` is
        the Ed25519 signature (hex) of ``augury-attestation-v1\\n{source_id}\\n
        {signed_at}\\n{statement}``. A bad signature is journaled as a failed observation.
        Answers the journaled capture."""
        body = {
            "source_id": source_id,
            "statement": statement,
            "signed_at": signed_at,
            "signature": signature,
        }
        req = self._req("attest", path={"market": market}, body=body)
        return self._call(req, m.Observation)

    def propose(
        self,
        market: str,
        outcome: int | None,
        bond: b.Amount,
        reason: str = "",
        *,
        value: b.Amount | None = None,
        idempotency_key: str | None = None,
    ) -> m.ResolutionChange:
        """Propose an outcome (-1: void) with a bond, once trading has closed (resolver);
        in a scalar market a ``value`` instead (``outcome`` None)."""
        req = self._req(
            "propose",
            path={"market": market},
            body=b.body(outcome=outcome, bond=b.amount(bond), reason=reason, value=b.amount(value)),
            idempotency_key=idempotency_key,
        )
        return self._call(req, m.ResolutionChange)

    def dispute(
        self,
        market: str,
        bond: b.Amount,
        reason: str = "",
        *,
        value: b.Amount | None = None,
        idempotency_key: str | None = None,
    ) -> m.ResolutionChange:
        """Dispute the proposed outcome with a bond, during the challenge window; in a
        scalar market ``value`` says which number is right."""
        req = self._req(
            "dispute",
            path={"market": market},
            body=b.body(bond=b.amount(bond), reason=reason, value=b.amount(value)),
            idempotency_key=idempotency_key,
        )
        return self._call(req, m.ResolutionChange)

    def vote(
        self,
        market: str,
        outcome: int | None,
        reason: str = "",
        *,
        value: b.Amount | None = None,
        idempotency_key: str | None = None,
    ) -> m.ResolutionChange:
        """Vote on a disputed or held market (arbiter; -1 votes to void); in a scalar
        market a ``value`` instead (``outcome`` None)."""
        req = self._req(
            "vote",
            path={"market": market},
            body=b.body(outcome=outcome, reason=reason, value=b.amount(value)),
            idempotency_key=idempotency_key,
        )
        return self._call(req, m.ResolutionChange)

    def clarify(
        self,
        market: str,
        text: str,
        *,
        cancel_orders: bool = False,
        idempotency_key: str | None = None,
    ) -> m.ResolutionChange:
        """Post a clarification of the rules (creator, admin); ``cancel_orders`` cancels
        every resting order of the market with it."""
        req = self._req(
            "clarify",
            path={"market": market},
            body={"text": text, "cancel_orders": cancel_orders},
            idempotency_key=idempotency_key,
        )
        return self._call(req, m.ResolutionChange)

    def resolve_market(
        self,
        market: str,
        reason: str,
        outcome: int | None = None,
        weights: Sequence[b.Amount] | None = None,
        *,
        value: b.Amount | None = None,
        idempotency_key: str | None = None,
    ) -> m.ResolutionChange:
        """Resolve by decision of the operator (admin): give exactly one of ``outcome``,
        fractional ``weights`` (one per outcome, summing to 1) or, in a scalar market,
        its ``value``. Journaled and public."""
        body = b.body(
            outcome=outcome,
            weights=[b.amount(w) for w in weights] if weights is not None else None,
            reason=reason,
            value=b.amount(value),
        )
        req = self._req(
            "resolve_market", path={"market": market}, body=body, idempotency_key=idempotency_key
        )
        return self._call(req, m.ResolutionChange)

    def void_market(
        self, market: str, reason: str, *, idempotency_key: str | None = None
    ) -> m.ResolutionChange:
        """Void the market and refund contributions (admin). Journaled and public."""
        req = self._req(
            "void_market",
            path={"market": market},
            body={"reason": reason},
            idempotency_key=idempotency_key,
        )
        return self._call(req, m.ResolutionChange)
