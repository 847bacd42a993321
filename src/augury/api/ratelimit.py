"""Rate limits: token buckets per client IP and per API key; 429 with ``Retry-After``.

Every request under ``/api/v1`` (but the health check), and to the few other routes of
:data:`LIMITED_PATHS`, takes one token from its IP's bucket; logins, registrations and
password changes take one more from the IP's password bucket (they run argon2id, costly
on purpose); a request with an API key takes one from that key's bucket (the key is
identified by a hash of the header, before any database lookup, so a flood of bogus keys
costs no queries). A bucket holds ``burst`` tokens and refills at ``rate`` per second.
Buckets live in this process, at most ``BUCKETS_MAX`` per kind (least recently used
dropped), unless ``AUGURY_RATE_LIMIT_URL`` names a Redis that every API node shares
(``augury.api.shared_buckets``: the same buckets, held there, so N nodes give the
limit once; while that Redis cannot be reached, these in-process buckets count).
Guessing one account's password from many IPs is slowed per account instead
(``augury.identity.login_guard``).

This module never looks at what a request asks for: it only counts.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from augury.api import errors
from augury.api.shared_buckets import SharedBuckets, Take

BUCKETS_MAX = 100_000
EXEMPT_PATHS = frozenset({"/api/v1/health"})
LIMITED_PATHS = frozenset({"/web/lint-spec"})
"""Routes outside ``/api/v1`` that are limited like API routes (they work on input)."""
KALSHI_PREFIX = "/trade-api/"
"""The Kalshi facade (docs/kalshi.md): limited like ``/api/v1``, by IP and by signing key
(its id and the client's IP: the id is not a secret, so a request naming another's key
cannot use up that key's bucket), answered in Kalshi's error shape."""
PASSWORD_PATHS = frozenset({"/api/v1/auth/login", "/api/v1/auth/register", "/api/v1/auth/password"})
"""Routes that hash a password (argon2id: costly on purpose): a bucket of their own."""


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated_s: float


class TokenBuckets:
    """Token buckets by key: ``take(key)`` is 0.0 if allowed, else seconds to wait."""

    def __init__(
        self, rate_per_s: float, burst: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        assert rate_per_s > 0 and burst >= 1
        self.rate_per_s = rate_per_s
        self.burst = burst
        self.clock = clock
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def take(self, key: str) -> float:
        now = self.clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(float(self.burst), now)
            if len(self._buckets) > BUCKETS_MAX:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(key)
            elapsed = max(0.0, now - bucket.updated_s)
            bucket.tokens = min(float(self.burst), bucket.tokens + elapsed * self.rate_per_s)
            bucket.updated_s = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0.0
        return (1.0 - bucket.tokens) / self.rate_per_s


class RateLimit:
    """ASGI middleware applying the IP and API-key buckets (a rate of 0 turns one off).

    With ``shared_url``, the buckets are held in that Redis (the in-process ones count
    while it cannot be reached); its connections close when the app shuts down."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        ip_rate_per_s: float,
        ip_burst: int,
        key_rate_per_s: float,
        key_burst: int,
        password_rate_per_s: float = 0.0,
        password_burst: int = 1,
        clock: Callable[[], float] = time.monotonic,
        shared_url: str | None = None,
    ) -> None:
        self.app = app
        self.shared = None if shared_url is None else SharedBuckets(shared_url)
        self.by_ip_password = (
            TokenBuckets(password_rate_per_s, password_burst, clock)
            if password_rate_per_s > 0
            else None
        )
        self.by_ip = TokenBuckets(ip_rate_per_s, ip_burst, clock) if ip_rate_per_s > 0 else None
        self.by_key = TokenBuckets(key_rate_per_s, key_burst, clock) if key_rate_per_s > 0 else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.limits(scope):
            if scope["type"] == "lifespan" and self.shared is not None:
                send = self._closing(send, self.shared)
            await self.app(scope, receive, send)
            return
        if await self.admit(scope, receive, send):
            await self.app(scope, receive, send)

    @staticmethod
    def limits(scope: Scope) -> bool:
        """Whether an HTTP request's path is one this middleware counts."""
        path = scope.get("path", "")
        limited = path.startswith("/api/v1") or path.startswith(KALSHI_PREFIX)
        return (limited or path in LIMITED_PATHS) and path not in EXEMPT_PATHS

    async def admit(self, scope: Scope, receive: Receive, send: Send) -> bool:
        """Take an HTTP request's tokens (a path it ``limits``): True if it may go on,
        False once it is answered 429 (``send``). ``hot_lane`` calls it too."""
        path = scope.get("path", "")
        kalshi = path.startswith(KALSHI_PREFIX)
        client = scope.get("client")
        ip = client[0] if client else "?"
        key = _api_key(scope) if self.by_key is not None else None
        if kalshi and self.by_key is not None:
            key = _kalshi_key(scope, ip)
        digest = None if key is None else hashlib.sha256(key).hexdigest()
        wait_s = None
        if self.shared is not None:
            takes = self._takes(path, ip, digest)
            wait_s = await self.shared.take(takes) if takes else 0.0
        if wait_s is None:  # in this process (no Redis, or Redis unreachable)
            wait_s = self._take_here(path, ip, digest)
        if wait_s <= 0.0:
            return True
        retry_after = str(max(1, math.ceil(wait_s)))
        if kalshi:
            from augury.api.kalshi.errors import rate_limited

            await rate_limited(retry_after)(scope, receive, send)
            return False
        response = errors.problem(
            429,
            errors.RATE_LIMITED,
            f"too many requests; retry in {retry_after} s",
            instance=path,
            headers={"Retry-After": retry_after},
        )
        await response(scope, receive, send)
        return False

    def _take_here(self, path: str, ip: str, digest: str | None) -> float:
        wait_s = 0.0
        if self.by_ip is not None:
            wait_s = self.by_ip.take(ip)
        if wait_s == 0.0 and self.by_ip_password is not None and path in PASSWORD_PATHS:
            wait_s = self.by_ip_password.take(ip)
        if wait_s == 0.0 and self.by_key is not None and digest is not None:
            wait_s = self.by_key.take(digest)
        return wait_s

    def _takes(self, path: str, ip: str, digest: str | None) -> list[Take]:
        """The shared buckets of a request, in the order the in-process ones are taken."""
        takes: list[Take] = []
        if self.by_ip is not None:
            takes.append(("ip:" + ip, self.by_ip.rate_per_s, self.by_ip.burst))
        password = self.by_ip_password
        if password is not None and path in PASSWORD_PATHS:
            takes.append(("password:" + ip, password.rate_per_s, password.burst))
        if self.by_key is not None and digest is not None:
            takes.append(("key:" + digest, self.by_key.rate_per_s, self.by_key.burst))
        return takes

    @staticmethod
    def _closing(send: Send, shared: SharedBuckets) -> Send:
        """``send`` for the lifespan: the Redis connections close once the app has."""

        async def closing(message: Message) -> None:
            if message["type"] == "lifespan.shutdown.complete":
                await shared.close()
            await send(message)

        return closing


def _api_key(scope: Scope) -> bytes | None:
    for name, value in scope["headers"]:
        if name == b"x-api-key":
            return bytes(value)
        if name == b"authorization" and value[:7].lower() == b"bearer ":
            return bytes(value[7:].strip())
    return None


def _kalshi_key(scope: Scope, ip: str) -> bytes | None:
    for name, value in scope["headers"]:
        if name == b"kalshi-access-key":
            return b"kalshi:" + bytes(value) + b"@" + ip.encode()
    return None
