"""The asynchronous client: the same methods as :class:`~augury.client.Client`, awaited."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from types import TracebackType
from typing import Any, Literal, TypeVar

import httpx

from augury.client import _base as b
from augury.client import _models as m
from augury.client import _trail as t
from augury.client._errors import AuguryError, TransportError
from augury.client._ws import AsyncSubscription

T = TypeVar("T")

Side = Literal["buy", "sell"]
Token = Literal["yes", "no"]
OrderType = Literal["limit", "market"]
Tif = Literal["gtc", "gtd", "ioc", "fok"]
SelfTrade = Literal["cancel_resting", "cancel_incoming", "allow"]
RankBy = Literal["profit", "score"]
Window = Literal["all", "30d", "7d"]


class AsyncClient:
    """An asynchronous Augury client (``async with AsyncClient(...) as client``).

    ``Client("http://127.0.0.1:8000", api_key="aug_...")``; or no key and
    :meth:`login` (a session cookie; the CSRF header is then sent for you). Commands
    that accept an ``Idempotency-Key`` get a fresh one per call unless you pass
    ``idempotency_key=`` (pass the same key to retry safely). Use it as a context
    manager, or call :meth:`close`.
    """

    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        *,
        timeout: float = b.TIMEOUT_S,
        auto_idempotency: bool = True,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = b.base_url(base_url)
        self.api_key = api_key
        self.auto_idempotency = auto_idempotency
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            headers=b.auth_headers(api_key),
            timeout=timeout,
            transport=transport,
        )

    # -- plumbing -------------------------------------------------------------------------
    async def close(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def _req(self, name: str, **kwargs: Any) -> b.Request:
        return b.request(name, auto_idempotency=self.auto_idempotency, **kwargs)

    async def _send(self, req: b.Request) -> httpx.Response:
        attempt = 0
        while True:
            error: AuguryError | None = None
            try:
                response = await self._http.request(
                    req.method, req.path, params=req.params, json=req.body, headers=req.headers
                )
            except httpx.TransportError as exc:
                wait = b.should_retry(req, None, attempt)
                if wait is None:
                    raise TransportError(
                        0, "connection_failed", f"{self.base_url}: {exc}"
                    ) from None
            else:
                if response.status_code < 400:
                    return response
                error = b.error_of(response)
                wait = b.should_retry(req, error, attempt)
                if wait is None:
                    raise error
            await asyncio.sleep(wait)
            attempt += 1

    async def _call(self, req: b.Request, model: type[T]) -> T:
        return b.decode(await self._send(req), model)

    # -- accounts -------------------------------------------------------------------------
    async def register(self, username: str, password: str) -> m.User:
        """Create a trader account (with the operator's starting grant)."""
        body = {"username": username, "password": password}
        return await self._call(self._req("register", body=body), m.User)

    async def login(self, username: str, password: str) -> m.Login:
        """Start a session: the cookie is kept and the CSRF header sent from now on."""
        body = {"username": username, "password": password}
        login = await self._call(self._req("login", body=body), m.Login)
        self._http.headers["X-CSRF-Token"] = login.csrf_token
        return login

    async def logout(self) -> None:
        b.check(await self._send(self._req("logout")))
        self._http.headers.pop("X-CSRF-Token", None)
        self._http.cookies.clear()

    async def me(self) -> m.Me:
        return await self._call(self._req("me"), m.Me)

    async def create_api_key(self, name: str, scopes: Sequence[str] = ("read",)) -> m.ApiKeyCreated:
        """A new key; its ``key`` is shown this once."""
        body = {"name": name, "scopes": list(scopes)}
        return await self._call(self._req("create_api_key", body=body), m.ApiKeyCreated)

    async def list_api_keys(self) -> list[m.ApiKey]:
        return (await self._call(self._req("list_api_keys"), m.ApiKeyList)).items

    async def revoke_api_key(self, key_id: str) -> None:
        b.check(await self._send(self._req("revoke_api_key", path={"key_id": key_id})))

    # -- markets --------------------------------------------------------------------------
    async def create_market(
        self,
        question: str,
        close_time: b.Instant,
        *,
        id: str | None = None,
        type: Literal["binary", "categorical"] = "binary",
        outcomes: Sequence[str] | None = None,
        description: str | None = None,
        rules: str | None = None,
        category: str | None = None,
        tick_size: b.Amount | None = None,
        liquidity: b.Amount | None = None,
        fee_bps: int | None = None,
        resolution_spec: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> m.Market:
        body = b.market_body(
            question, close_time, id, type, outcomes, description, rules, category,
            tick_size, liquidity, fee_bps, resolution_spec,
        )  # fmt: skip
        req = self._req("create_market", body=body, idempotency_key=idempotency_key)
        return await self._call(req, m.Market)

    async def list_markets(
        self,
        *,
        q: str | None = None,
        category: str | None = None,
        status: str | None = None,
        sort: Literal["newest", "oldest", "close_time"] | None = None,
        cursor: str | None = None,
        limit: int | None = None,
    ) -> m.Page[m.Market]:
        params: dict[str, Any] = {"q": q, "category": category, "status": status}
        params.update(sort=sort, cursor=cursor, limit=limit)
        return await self._call(self._req("list_markets", params=params), m.Page[m.Market])

    def iter_markets(
        self,
        *,
        q: str | None = None,
        category: str | None = None,
        status: str | None = None,
        sort: Literal["newest", "oldest", "close_time"] | None = None,
        page_size: int | None = None,
    ) -> AsyncIterator[m.Market]:
        """Every market matching, page after page."""
        return _awalk(
            lambda cursor: self.list_markets(
                q=q, category=category, status=status, sort=sort, cursor=cursor, limit=page_size
            )
        )

    async def get_market(self, market: str) -> m.Market:
        return await self._call(self._req("get_market", path={"market": market}), m.Market)

    async def halt_market(
        self, market: str, reason: str | None = None, *, idempotency_key: str | None = None
    ) -> m.Market:
        req = self._req(
            "halt_market",
            path={"market": market},
            body=b.body(reason=reason),
            idempotency_key=idempotency_key,
        )
        return await self._call(req, m.Market)

    async def resume_market(
        self, market: str, reason: str | None = None, *, idempotency_key: str | None = None
    ) -> m.Market:
        req = self._req(
            "resume_market",
            path={"market": market},
            body=b.body(reason=reason),
            idempotency_key=idempotency_key,
        )
        return await self._call(req, m.Market)

    async def book(self, market: str, *, outcome: int = 0, depth: int | None = None) -> m.Book:
        params = {"outcome": outcome, "depth": depth}
        return await self._call(self._req("book", path={"market": market}, params=params), m.Book)

    async def quote(self, market: str) -> m.MakerQuote:
        return await self._call(self._req("quote", path={"market": market}), m.MakerQuote)

    async def trades(
        self,
        market: str,
        *,
        outcome: int | None = None,
        cursor: str | None = None,
        limit: int | None = None,
    ) -> m.Page[m.Trade]:
        params = {"outcome": outcome, "cursor": cursor, "limit": limit}
        req = self._req("trades", path={"market": market}, params=params)
        return await self._call(req, m.Page[m.Trade])

    def iter_trades(
        self, market: str, *, outcome: int | None = None, page_size: int | None = None
    ) -> AsyncIterator[m.Trade]:
        return _awalk(
            lambda cursor: self.trades(market, outcome=outcome, cursor=cursor, limit=page_size)
        )

    async def candles(
        self,
        market: str,
        *,
        outcome: int = 0,
        interval: Literal["1m", "1h", "1d"] = "1h",
        start: b.Instant | None = None,
        end: b.Instant | None = None,
        limit: int | None = None,
    ) -> m.Candles:
        params: dict[str, Any] = {"outcome": outcome, "interval": interval, "limit": limit}
        params.update({"from": b.instant(start), "to": b.instant(end)})
        req = self._req("candles", path={"market": market}, params=params)
        return await self._call(req, m.Candles)

    # -- trading --------------------------------------------------------------------------
    async def place_order(
        self,
        market: str,
        side: Side,
        *,
        qty: b.Amount | None = None,
        price: b.Amount | None = None,
        budget: b.Amount | None = None,
        outcome: int = 0,
        token: Token = "yes",
        type: OrderType | None = None,
        tif: Tif | None = None,
        expires_at: b.Instant | None = None,
        post_only: bool = False,
        client_order_id: str | None = None,
        self_trade: SelfTrade | None = None,
        idempotency_key: str | None = None,
    ) -> m.Placement:
        """A limit order when ``price`` is given, else a market order (unless ``type``)."""
        body = b.order_body(market, side, qty, price, budget, outcome, token, type, tif, self_trade)
        body.update(b.body(expires_at=b.instant(expires_at), client_order_id=client_order_id))
        if post_only:
            body["post_only"] = True
        req = self._req("place_order", body=body, idempotency_key=idempotency_key)
        return await self._call(req, m.Placement)

    async def preview_order(
        self,
        market: str,
        side: Side,
        *,
        qty: b.Amount | None = None,
        price: b.Amount | None = None,
        budget: b.Amount | None = None,
        outcome: int = 0,
        token: Token = "yes",
        type: OrderType | None = None,
        tif: Tif | None = None,
        self_trade: SelfTrade | None = None,
    ) -> m.Preview:
        """What the order would do now; nothing is placed."""
        body = b.order_body(market, side, qty, price, budget, outcome, token, type, tif, self_trade)
        return await self._call(self._req("preview_order", body=body), m.Preview)

    async def list_orders(
        self,
        *,
        market: str | None = None,
        status: str | None = None,
        cursor: str | None = None,
        limit: int | None = None,
    ) -> m.Page[m.Order]:
        params = {"market": market, "status": status, "cursor": cursor, "limit": limit}
        return await self._call(self._req("list_orders", params=params), m.Page[m.Order])

    def iter_orders(
        self, *, market: str | None = None, status: str | None = None, page_size: int | None = None
    ) -> AsyncIterator[m.Order]:
        return _awalk(
            lambda cursor: self.list_orders(
                market=market, status=status, cursor=cursor, limit=page_size
            )
        )

    async def get_order(self, order_id: int) -> m.Order:
        return await self._call(self._req("get_order", path={"order_id": order_id}), m.Order)

    async def cancel_order(
        self, order_id: int, *, idempotency_key: str | None = None
    ) -> m.Cancelled:
        req = self._req(
            "cancel_order", path={"order_id": order_id}, idempotency_key=idempotency_key
        )
        return await self._call(req, m.Cancelled)

    async def cancel_all(
        self, market: str | None = None, *, idempotency_key: str | None = None
    ) -> m.CancelledAll:
        req = self._req("cancel_all", body=b.body(market=market), idempotency_key=idempotency_key)
        return await self._call(req, m.CancelledAll)

    async def mint(
        self, market: str, qty: b.Amount, *, idempotency_key: str | None = None
    ) -> m.Minted:
        """Mint complete sets: 1 credit -> one YES of every outcome, per share."""
        req = self._req(
            "mint",
            path={"market": market},
            body={"qty": b.amount(qty)},
            idempotency_key=idempotency_key,
        )
        return await self._call(req, m.Minted)

    async def redeem(
        self,
        market: str,
        qty: b.Amount,
        *,
        outcome: int | None = None,
        idempotency_key: str | None = None,
    ) -> m.Redeemed:
        req = self._req(
            "redeem",
            path={"market": market},
            body=b.body(qty=b.amount(qty), outcome=outcome),
            idempotency_key=idempotency_key,
        )
        return await self._call(req, m.Redeemed)

    async def convert(
        self,
        market: str,
        outcome: int,
        qty: b.Amount,
        *,
        to_yes: bool = True,
        idempotency_key: str | None = None,
    ) -> m.Converted:
        """Categorical only: NO on ``outcome`` <-> YES on every other outcome."""
        req = self._req(
            "convert",
            path={"market": market},
            body={"outcome": outcome, "qty": b.amount(qty), "to_yes": to_yes},
            idempotency_key=idempotency_key,
        )
        return await self._call(req, m.Converted)

    # -- portfolio ------------------------------------------------------------------------
    async def balances(self) -> m.Balances:
        return await self._call(self._req("balances"), m.Balances)

    async def positions(self) -> list[m.Position]:
        return (await self._call(self._req("positions"), m.PositionList)).items

    async def pnl(self) -> list[m.MarketProfit]:
        """My profit per market: paid, received, fees, settlement, realized."""
        return (await self._call(self._req("pnl"), m.ProfitList)).items

    async def settlements(self, *, limit: int | None = None) -> list[m.Settlement]:
        """My payouts and void refunds, newest first."""
        req = self._req("settlements", params={"limit": limit})
        return (await self._call(req, m.SettlementList)).items

    async def fills(
        self, *, market: str | None = None, cursor: str | None = None, limit: int | None = None
    ) -> m.Page[m.Fill]:
        params = {"market": market, "cursor": cursor, "limit": limit}
        return await self._call(self._req("fills", params=params), m.Page[m.Fill])

    def iter_fills(
        self, *, market: str | None = None, page_size: int | None = None
    ) -> AsyncIterator[m.Fill]:
        return _awalk(lambda cursor: self.fills(market=market, cursor=cursor, limit=page_size))

    # -- resolution -----------------------------------------------------------------------
    async def lint_spec(
        self,
        spec: Mapping[str, Any],
        close_time: b.Instant,
        *,
        outcomes: Sequence[str] | None = None,
    ) -> m.LintResult:
        """What the linter says about ``spec`` for a market with these outcomes (default
        Yes/No) and close time; nothing is stored. An undecodable spec raises
        ``Rejected`` (``invalid_spec``)."""
        body = b.body(
            spec=dict(spec),
            outcomes=list(outcomes) if outcomes is not None else None,
            close_time=b.instant(close_time),
        )
        return await self._call(self._req("lint_spec", body=body), m.LintResult)

    async def set_spec(
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
        return await self._call(req, m.ResolutionChange)

    async def market_resolution(
        self, market: str, *, cursor: str | None = None, limit: int | None = None
    ) -> m.Resolution:
        """Where the market's resolution stands, and a page of its story (``entries``)."""
        params = {"cursor": cursor, "limit": limit}
        req = self._req("market_resolution", path={"market": market}, params=params)
        return await self._call(req, m.Resolution)

    def iter_resolution(
        self, market: str, *, page_size: int | None = None
    ) -> AsyncIterator[m.StoryEntry]:
        """Every entry of the market's resolution story, page after page."""

        async def page(cursor: str | None) -> m.Page[m.StoryEntry]:
            found = await self.market_resolution(market, cursor=cursor, limit=page_size)
            return m.Page(items=found.entries, next_cursor=found.next_cursor)

        return _awalk(page)

    async def observations(
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
            page = await self._call(req, m.ObservationList)
            items.extend(page.items)
            if limit is not None or page.next_after is None:
                return items
            after = page.next_after
        raise AuguryError(0, "too_many_pages", f"stopped after {b.PAGES_MAX} pages")

    async def observation(self, market: str, obs_id: int) -> m.Observation:
        """One capture by its id."""
        req = self._req("observation", path={"market": market, "obs_id": obs_id})
        return await self._call(req, m.Observation)

    async def observation_runs(
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
        return await self._call(req, m.Page[t.ObservationRun])

    async def evidence(self, sha256: str) -> bytes:
        """The raw bytes a source served, by their SHA-256 (check them against the hash)."""
        return (await self._send(self._req("evidence", path={"sha256": sha256}))).content

    async def observe_now(
        self, market: str, *, wait: bool = True, timeout: float = 60.0
    ) -> t.ObserveJob:
        """Observe every source of the market now (a resolver or an admin). The server
        answers at once with a job; with ``wait`` it is polled until it is done or failed
        (or ``timeout`` seconds pass). Its ``observations`` name each capture's id."""
        req = self._req("observe_now", path={"market": market})
        job = await self._call(req, t.ObserveJob)
        deadline = time.monotonic() + timeout
        while wait and job.status in ("pending", "running") and time.monotonic() < deadline:
            await asyncio.sleep(b.JOB_POLL_S)
            job = await self.observe_job(job.id)
        return job

    async def observe_job(self, job_id: str) -> t.ObserveJob:
        """An observation job: pending, running, done (with its captures) or failed."""
        return await self._call(self._req("observe_job", path={"job_id": job_id}), t.ObserveJob)

    async def attest(
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
        return await self._call(req, m.Observation)

    async def propose(
        self,
        market: str,
        outcome: int,
        bond: b.Amount,
        reason: str = "",
        *,
        idempotency_key: str | None = None,
    ) -> m.ResolutionChange:
        """Propose an outcome (-1: void) with a bond, once trading has closed (resolver)."""
        req = self._req(
            "propose",
            path={"market": market},
            body={"outcome": outcome, "bond": b.amount(bond), "reason": reason},
            idempotency_key=idempotency_key,
        )
        return await self._call(req, m.ResolutionChange)

    async def dispute(
        self, market: str, bond: b.Amount, reason: str = "", *, idempotency_key: str | None = None
    ) -> m.ResolutionChange:
        """Dispute the proposed outcome with a bond, during the challenge window."""
        req = self._req(
            "dispute",
            path={"market": market},
            body={"bond": b.amount(bond), "reason": reason},
            idempotency_key=idempotency_key,
        )
        return await self._call(req, m.ResolutionChange)

    async def vote(
        self, market: str, outcome: int, reason: str = "", *, idempotency_key: str | None = None
    ) -> m.ResolutionChange:
        """Vote on a disputed or held market (arbiter; -1 votes to void)."""
        req = self._req(
            "vote",
            path={"market": market},
            body={"outcome": outcome, "reason": reason},
            idempotency_key=idempotency_key,
        )
        return await self._call(req, m.ResolutionChange)

    async def clarify(
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
        return await self._call(req, m.ResolutionChange)

    async def declare_affiliation(
        self, organization: str, affiliated: bool = True, *, idempotency_key: str | None = None
    ) -> m.Affiliations:
        """Declare (``affiliated=False``: end) my affiliation with an organization."""
        req = self._req(
            "declare_affiliation",
            body={"organization": organization, "affiliated": affiliated},
            idempotency_key=idempotency_key,
        )
        return await self._call(req, m.Affiliations)

    async def link_affiliation(
        self,
        account: str,
        organization: str,
        affiliated: bool = True,
        *,
        idempotency_key: str | None = None,
    ) -> m.Affiliations:
        """Record an account's affiliation with an organization (admin)."""
        body = {"account": account, "organization": organization, "affiliated": affiliated}
        req = self._req("link_affiliation", body=body, idempotency_key=idempotency_key)
        return await self._call(req, m.Affiliations)

    async def resolve_market(
        self,
        market: str,
        reason: str,
        outcome: int | None = None,
        weights: Sequence[b.Amount] | None = None,
        *,
        idempotency_key: str | None = None,
    ) -> m.ResolutionChange:
        """Resolve by decision of the operator (admin): give exactly one of ``outcome`` or
        fractional ``weights`` (one per outcome, summing to 1). Journaled and public."""
        body = b.body(
            outcome=outcome,
            weights=[b.amount(w) for w in weights] if weights is not None else None,
            reason=reason,
        )
        req = self._req(
            "resolve_market", path={"market": market}, body=body, idempotency_key=idempotency_key
        )
        return await self._call(req, m.ResolutionChange)

    async def void_market(
        self, market: str, reason: str, *, idempotency_key: str | None = None
    ) -> m.ResolutionChange:
        """Void the market and refund contributions (admin). Journaled and public."""
        req = self._req(
            "void_market",
            path={"market": market},
            body={"reason": reason},
            idempotency_key=idempotency_key,
        )
        return await self._call(req, m.ResolutionChange)

    async def alerts(
        self,
        *,
        market: str | None = None,
        severity: Literal["low", "medium", "high"] | None = None,
        detector: str | None = None,
        status: Literal["open", "dismissed", "confirmed"] | None = None,
        before: int | None = None,
        limit: int | None = None,
    ) -> list[m.Alert]:
        """Surveillance alerts, newest first (arbiter, admin); ``before`` (an alert id)
        pages on."""
        params: dict[str, Any] = {"market": market, "severity": severity, "detector": detector}
        params.update(status=status, before=before, limit=limit)
        return (await self._call(self._req("alerts", params=params), m.AlertList)).items

    async def review_alert(
        self,
        alert_id: int,
        verdict: Literal["dismiss", "confirm"],
        note: str = "",
        *,
        idempotency_key: str | None = None,
    ) -> m.Alert:
        """Dismiss (releases its hold) or confirm (the arbiters decide) an alert."""
        req = self._req(
            "review_alert",
            path={"alert_id": alert_id},
            body={"verdict": verdict, "note": note},
            idempotency_key=idempotency_key,
        )
        return await self._call(req, m.Alert)

    # -- scoring --------------------------------------------------------------------------
    async def market_score(self, market: str) -> m.MarketScore:
        """A resolved market's probability over time and its scores (``Conflict``
        ``market_not_resolved`` otherwise)."""
        return await self._call(self._req("market_score", path={"market": market}), m.MarketScore)

    async def calibration(
        self, *, buckets: int | None = None, samples: int | None = None
    ) -> m.Calibration:
        """Calibration across resolved markets (``samples`` instants per market)."""
        params = {"buckets": buckets, "samples": samples}
        return await self._call(self._req("calibration", params=params), m.Calibration)

    async def leaderboard(
        self, *, by: RankBy = "profit", window: Window = "all", limit: int | None = None
    ) -> m.Leaderboard:
        """Traders ranked by profit or score over markets settled in the window."""
        params = {"by": by, "window": window, "limit": limit}
        return await self._call(self._req("leaderboard", params=params), m.Leaderboard)

    async def trader_score(
        self, account: str, *, window: Window = "all", buckets: int | None = None
    ) -> m.TraderScore:
        """A trader's profit, return, score and calibration."""
        params = {"window": window, "buckets": buckets}
        req = self._req("trader_score", path={"account": account}, params=params)
        return await self._call(req, m.TraderScore)

    # -- admin and health -----------------------------------------------------------------
    async def grant(
        self,
        account: str,
        amount: b.Amount,
        memo: str | None = None,
        *,
        idempotency_key: str | None = None,
    ) -> m.Grant:
        body = b.body(account=account, amount=b.amount(amount), memo=memo)
        req = self._req("grant", body=body, idempotency_key=idempotency_key)
        return await self._call(req, m.Grant)

    async def list_users(
        self,
        *,
        q: str | None = None,
        role: str | None = None,
        cursor: str | None = None,
        limit: int | None = None,
    ) -> m.Page[m.User]:
        """Users and their roles, by username (admin); ``q`` matches part of a username."""
        params = {"q": q, "role": role, "cursor": cursor, "limit": limit}
        return await self._call(self._req("list_users", params=params), m.Page[m.User])

    async def set_roles(self, username: str, roles: Iterable[str]) -> m.User:
        req = self._req("set_roles", path={"username": username}, body={"roles": list(roles)})
        return await self._call(req, m.User)

    async def advance_clock(
        self, *, seconds: int | None = None, to: b.Instant | None = None
    ) -> m.ClockAdvanced:
        """Move simulated time (admin; give exactly one of ``seconds`` or ``to``)."""
        body = b.body(seconds=seconds, to=b.instant(to))
        return await self._call(self._req("advance_clock", body=body), m.ClockAdvanced)

    async def health(self) -> m.Health:
        return await self._call(self._req("health"), m.Health)

    async def journal(self) -> m.JournalHead:
        """The journal's head and the key to verify an export's checkpoints with."""
        return await self._call(self._req("journal"), m.JournalHead)

    # -- WebSocket ------------------------------------------------------------------------
    def subscribe(
        self, channels: Iterable[str], *, timeout: float | None = None
    ) -> AsyncSubscription:
        """Subscribe to WebSocket channels (``book:<market>``, ``trades:<market>``,
        ``prices:<market>``, ``orders``); use as a context manager and iterate.

        A gap in a channel's ``seq`` resubscribes it (a fresh ``subscribed`` snapshot
        follows); a dropped connection reconnects and resubscribes every channel."""
        return AsyncSubscription(
            b.ws_url(self.base_url), self._ws_headers(), list(channels), timeout=timeout
        )

    def _ws_headers(self) -> dict[str, str]:
        headers = b.auth_headers(self.api_key)
        cookies = "; ".join(f"{k}={v}" for k, v in self._http.cookies.items())
        if cookies:
            headers["Cookie"] = cookies
        return headers


async def _awalk(fetch: Callable[[str | None], Awaitable[m.Page[T]]]) -> AsyncIterator[T]:
    cursor: str | None = None
    for _ in range(b.PAGES_MAX):
        page = await fetch(cursor)
        for item in page.items:
            yield item
        if page.next_cursor is None:
            return
        cursor = page.next_cursor
    raise AuguryError(0, "too_many_pages", f"stopped after {b.PAGES_MAX} pages")
