# generated from _async/base.py by scripts/unasync.py; do not edit
"""What every part of the client shares: the HTTP connection, sending a request (retried
when that is safe) and decoding its answer, walking pages; the literal types of the
methods' arguments."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any, Literal, Protocol, TypeVar

import httpx

from augury.client import _base as b
from augury.client import _models as m
from augury.client._errors import AuguryError, TransportError

T = TypeVar("T")

Side = Literal["buy", "sell"]
Token = Literal["yes", "no"]
OrderType = Literal["limit", "market"]
Tif = Literal["gtc", "gtd", "ioc", "fok"]
SelfTrade = Literal["cancel_resting", "cancel_incoming", "allow"]
RankBy = Literal["profit", "score"]
Window = Literal["all", "30d", "7d"]


class Core:
    """The connection and the plumbing the client's methods (its other bases) call."""

    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        *,
        timeout: float = b.TIMEOUT_S,
        auto_idempotency: bool = True,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = b.base_url(base_url)
        self.api_key = api_key
        self.auto_idempotency = auto_idempotency
        self.last_seq = 0
        """The highest journal seq of this client's own writes (``Augury-Seq``): sent as
        ``Augury-Min-Seq`` with every later request, so any API node behind a load
        balancer answers with a state that holds them (read-your-writes)."""
        self._http = httpx.Client(
            base_url=self.base_url,
            headers=b.auth_headers(api_key),
            timeout=timeout,
            transport=transport,
        )

    def close(self) -> None:
        self._http.close()

    def _req(self, name: str, **kwargs: Any) -> b.Request:
        return b.request(name, auto_idempotency=self.auto_idempotency, **kwargs)

    def _send(self, req: b.Request) -> httpx.Response:
        attempt = 0
        while True:
            error: AuguryError | None = None
            try:
                headers = b.with_min_seq(req.headers, self.last_seq)
                response = self._http.request(
                    req.method, req.path, params=req.params, json=req.body, headers=headers
                )
            except httpx.TransportError as exc:
                wait = b.should_retry(req, None, attempt)
                if wait is None:
                    raise TransportError(
                        0, "connection_failed", f"{self.base_url}: {exc}"
                    ) from None
            else:
                if response.status_code < 400:
                    self.last_seq = b.seen_seq(response, self.last_seq)
                    return response
                error = b.error_of(response)
                wait = b.should_retry(req, error, attempt)
                if wait is None:
                    raise error
            time.sleep(wait)
            attempt += 1

    def _call(self, req: b.Request, model: type[T]) -> T:
        return b.decode(self._send(req), model)

    def _ws_headers(self) -> dict[str, str]:
        headers = b.auth_headers(self.api_key)
        cookies = "; ".join(f"{k}={v}" for k, v in self._http.cookies.items())
        if cookies:
            headers["Cookie"] = cookies
        return headers


class _PageFetch(Protocol[T]):
    """Fetches the page after ``cursor`` (the first page for ``None``)."""

    def __call__(self, cursor: str | None, /) -> m.Page[T]: ...


def walk(fetch: _PageFetch[T]) -> Iterator[T]:
    cursor: str | None = None
    for _ in range(b.PAGES_MAX):
        page = fetch(cursor)
        yield from page.items
        if page.next_cursor is None:
            return
        cursor = page.next_cursor
    raise AuguryError(0, "too_many_pages", f"stopped after {b.PAGES_MAX} pages")
