"""The webhook deliverer: queues each new notification for the webhooks that want it,
then POSTs the due deliveries, signed, through the evidence fetcher's SSRF guard.

It runs on a thread of its own with its own event loop, so neither the database work
nor the requests ever run on the API's event loop. Every ``interval_s`` it queues what
is new (``WebhookStore.enqueue``), claims up to ``batch`` due deliveries for a lease
and sends them concurrently. Each request goes through
``augury.evidence.fetch.fetch`` with the operator's allow-list
(``evidence_allow_hosts``): no private, loopback, link-local or otherwise special
target unless allow-listed, the address pinned after the check (no DNS rebinding), no
redirect followed, a timeout and a cap on the answer's size. A 2xx answer delivers;
anything else is tried again after ``retry_base_s`` doubled per try (capped at
``retry_max_s``), up to ``attempts_max`` tries, then the delivery is failed. Every try
is in the delivery log. Several API nodes may each run one on the same database
(``augury.api.webhooks`` says how they share the work).

``start()`` and ``await stop()`` are all the app's lifespan calls.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from typing import TYPE_CHECKING

from augury.api.notifications import store_of
from augury.api.webhooks import (
    DELIVERY_HEADER,
    SIGNATURE_HEADER,
    WEBHOOK_HEADER,
    Claimed,
    WebhookStore,
    sign,
)
from augury.evidence.fetch import FetchPolicy, Send, fetch, public_error

if TYPE_CHECKING:
    from fastapi import FastAPI

log = logging.getLogger(__name__)

USER_AGENT = "Augury-webhooks/0.1"
LEASE_S = 120.0
"""How long a claimed delivery is this node's (longer than any one try takes)."""


class WebhookDeliverer:
    """Delivers the webhooks of ``store``'s database (see the module docstring)."""

    def __init__(
        self,
        store: WebhookStore,
        policy: FetchPolicy,
        *,
        interval_s: float = 1.0,
        retry_base_s: float = 5.0,
        retry_max_s: float = 3_600.0,
        attempts_max: int = 8,
        batch: int = 16,
    ) -> None:
        assert interval_s > 0 and retry_base_s > 0 and attempts_max >= 1
        self.store = store
        self.policy = policy
        self.interval_s = interval_s
        self.retry_base_s = retry_base_s
        self.retry_max_s = retry_max_s
        self.attempts_max = attempts_max
        self.batch = batch
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @classmethod
    def for_app(cls, app: FastAPI) -> WebhookDeliverer:
        """The deliverer of a running app, with its settings (``webhook_*`` and the
        evidence fetcher's allow-list)."""
        services = app.state.services
        settings = services.settings
        store = WebhookStore(store_of(app), settings.secret_key)
        policy = FetchPolicy(
            allow_hosts=frozenset(settings.evidence_allow_hosts),
            timeout_s=settings.webhook_timeout_s,
            max_bytes=settings.webhook_max_bytes,
            max_redirects=0,
            user_agent=USER_AGENT,
        )
        return cls(
            store,
            policy,
            interval_s=settings.webhook_interval_s,
            retry_base_s=settings.webhook_retry_base_s,
            attempts_max=settings.webhook_attempts_max,
        )

    # -- the thread ----------------------------------------------------------------------
    def start(self) -> None:
        assert self._thread is None, "started twice"
        self._thread = threading.Thread(target=self._main, name="augury-webhooks", daemon=True)
        self._thread.start()

    async def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            await asyncio.to_thread(self._thread.join, 30)

    def _main(self) -> None:
        asyncio.run(self._loop())

    async def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                await self.run_once()
            except Exception:  # the database may be restarting: the next round tries again
                log.exception("webhook delivery round failed")
            await asyncio.to_thread(self._stop.wait, self.interval_s)

    # -- one round (also called directly by tests) -------------------------------------
    async def run_once(self) -> int:
        """Queue what is new and send what is due; returns how many were sent."""
        self.store.enqueue()
        now = _now_us()
        claimed = self.store.claim(now, int(LEASE_S * 1_000_000), self.batch)
        if claimed:
            await asyncio.gather(*(self._send(c) for c in claimed))
        return len(claimed)

    def backoff_us(self, tries: int) -> int:
        """The wait after the ``tries``-th failed try: base, doubled per try, capped."""
        return int(min(self.retry_max_s, self.retry_base_s * 2 ** (tries - 1)) * 1_000_000)

    async def _send(self, claimed: Claimed) -> None:
        started = time.monotonic()
        headers = (
            ("Content-Type", "application/json"),
            (SIGNATURE_HEADER, sign(claimed.secret, int(time.time()), claimed.body)),
            (DELIVERY_HEADER, str(claimed.id)),
            (WEBHOOK_HEADER, claimed.webhook),
        )
        answer = await fetch(
            claimed.url, policy=self.policy, send=Send("POST", claimed.body, headers)
        )
        duration = int((time.monotonic() - started) * 1_000_000)
        # the owner reads the log: no addresses of the operator's network in it
        error = "" if answer.ok else public_error(f"{answer.error_code}: {answer.error}")
        tries = claimed.attempts + 1
        retry = (
            None if answer.ok or tries >= self.attempts_max else _now_us() + self.backoff_us(tries)
        )
        self.store.record(
            claimed,
            at_us=_now_us(),
            duration_us=duration,
            status=answer.status,
            error=error,
            next_attempt_us=retry,
        )


def _now_us() -> int:
    return time.time_ns() // 1_000
