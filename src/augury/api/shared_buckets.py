"""Rate-limit buckets every API node shares: token buckets in Redis, one script a request.

``AUGURY_RATE_LIMIT_URL=redis://host:port/db`` puts the buckets of
``augury.api.ratelimit`` (per IP, per IP for the password routes, per API key) in one
Redis instead of each process's memory, so requests spread over N API nodes get the
limit once, not N times. The buckets are the same token buckets, with the same
arithmetic, as the in-process ones (:class:`augury.api.ratelimit.TokenBuckets`): a
bucket holds ``burst`` tokens, refills at ``rate`` per second, and a request takes one
token from each of its buckets in order, stopping at the first that is empty.

Why a script of our own over the ``redis`` client rather than the ``limits`` library:
``limits`` offers fixed, moving and sliding windows, not token buckets, so a burst
would then be followed by a wait of the whole window instead of one token's refill:
a change of the documented limits. The script is short, runs atomically in Redis (no
lost update between nodes; the buckets of every request waiting on a node go in one
round trip, so under load one call serves many requests), keeps time by Redis's clock
(``TIME``: the nodes' clocks need not agree) and is checked against the in-process
buckets step by step (tests/api/test_shared_buckets.py). An idle bucket expires once it
would be full again, so Redis holds only the buckets in use. One Redis (or a primary
with replicas), not a Redis Cluster: a batch's keys are not in one hash slot.

When Redis cannot be reached (down, restarting, too slow: ``TIMEOUT_S``), requests are
neither refused nor let through unlimited: this node counts in its own in-process
buckets (the limits of a single node, as without Redis) and asks Redis again after
``RETRY_S``. During an outage a client spread over N nodes can so get N times the limit,
never more and never an outage of the API because the limiter is down; the switch and
the recovery are each logged once.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from typing import Any

import redis.asyncio
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

TIMEOUT_S = 0.5
"""How long a request waits for Redis (connect or answer) before counting locally."""
RETRY_S = 5.0
"""After a failure, how long this node counts locally before asking Redis again (a
Redis that hangs rather than refuses stalls the requests of one ``TIMEOUT_S`` in each)."""
BATCH_MAX = 256
"""Requests in one call to Redis at most (the script holds Redis while it runs)."""
KEY_PREFIX = "augury:rl:"

Take = tuple[str, float, int]
"""One bucket a request takes a token from: (its key, rate per second, burst)."""

# A batch of requests in one call. KEYS: every request's buckets, request after request.
# ARGV, per request: its now in microseconds ("": Redis's clock), its number of buckets
# n, then n pairs (rate per second, burst), one for each of its KEYS in order.
# A bucket is a hash: t = tokens, u = when it was last updated (microseconds).
# Answers one string per request: "0" (each of its buckets gave a token) or the seconds
# to wait for the first bucket that had none (those before it gave theirs; those after
# it are not touched, as in the in-process middleware).
TOKEN_BUCKETS_LUA = """
local clock = nil
local answers = {}
local k, a = 1, 1
while a <= #ARGV do
  local now = tonumber(ARGV[a])
  if now == nil then
    if clock == nil then
      local t = redis.call('TIME')
      clock = tonumber(t[1]) * 1000000 + tonumber(t[2])
    end
    now = clock
  end
  local count = tonumber(ARGV[a + 1])
  a = a + 2
  local wait = 0
  for _ = 1, count do
    local key, rate, burst = KEYS[k], tonumber(ARGV[a]), tonumber(ARGV[a + 1])
    k, a = k + 1, a + 2
    if wait == 0 then
      local state = redis.call('HMGET', key, 't', 'u')
      local tokens = tonumber(state[1])
      if tokens == nil then
        tokens = burst
      else
        local elapsed = math.max(0, now - tonumber(state[2])) / 1000000
        tokens = math.min(burst, tokens + elapsed * rate)
      end
      if tokens >= 1 then
        tokens = tokens - 1
      else
        wait = (1 - tokens) / rate
      end
      redis.call('HSET', key, 't', string.format('%.17g', tokens), 'u', string.format('%d', now))
      redis.call('PEXPIRE', key, math.ceil(burst / rate * 1000) + 1000)
    end
  end
  answers[#answers + 1] = string.format('%.17g', wait)
end
return answers
"""

_Pending = tuple[Sequence[Take], int | None, "asyncio.Future[float | None]"]


class SharedBuckets:
    """Token buckets in the Redis at ``url`` (see the module docstring).

    ``take`` answers 0.0 (allowed) or the seconds to wait, like the in-process buckets,
    or None when Redis could not be asked: the caller then counts locally. Requests
    that arrive while a call to Redis is out wait for it and go together in the next
    one (at most ``BATCH_MAX``): one round trip for many requests under load, none
    added when idle. Used from one event loop."""

    def __init__(self, url: str, *, timeout_s: float = TIMEOUT_S, retry_s: float = RETRY_S) -> None:
        self.url = url
        self.retry_s = retry_s
        self._client: Any = redis.asyncio.Redis.from_url(
            url,
            socket_timeout=timeout_s,
            socket_connect_timeout=timeout_s,
            retry_on_timeout=False,
        )
        self._script: Any = self._client.register_script(TOKEN_BUCKETS_LUA)
        self._down_until = float("-inf")
        self._shared = True  # the last time Redis was asked, it answered
        self._pending: list[_Pending] = []
        self._sender: asyncio.Task[None] | None = None
        self.failures = 0
        """Times Redis could not be asked (each starts ``retry_s`` of local counting)."""
        self.calls = 0
        """Calls made to Redis (each for a batch of requests)."""

    @property
    def down(self) -> bool:
        """True while this node counts locally after a failure."""
        return time.monotonic() < self._down_until

    async def take(self, takes: Sequence[Take], now_us: int | None = None) -> float | None:
        """Take a token from each bucket in order; ``now_us`` replaces Redis's clock."""
        if self.down:
            return None
        future: asyncio.Future[float | None] = asyncio.get_running_loop().create_future()
        self._pending.append((takes, now_us, future))
        if self._sender is None:
            self._sender = asyncio.create_task(self._send())
        return await future

    async def _send(self) -> None:
        """Send the pending requests, batch after batch, until none is left (or Redis
        failed: those left count locally)."""
        batch: list[_Pending] = []
        try:
            while self._pending and not self.down:
                batch, self._pending = self._pending[:BATCH_MAX], self._pending[BATCH_MAX:]
                answers = await self._ask(batch)
                for (_, _, future), answer in zip(batch, answers, strict=True):
                    if not future.done():  # its request may have been cancelled
                        future.set_result(answer)
                batch = []
        finally:
            self._sender = None
            for _, _, future in batch + self._pending:
                if not future.done():
                    future.set_result(None)
            self._pending = []

    async def _ask(self, batch: list[_Pending]) -> list[float | None]:
        keys: list[str] = []
        args: list[str | int] = []
        for takes, now_us, _ in batch:
            args += ["" if now_us is None else str(now_us), len(takes)]
            for key, rate, burst in takes:
                keys.append(KEY_PREFIX + key)
                args += [repr(rate), burst]
        self.calls += 1
        try:
            answers = await self._script(keys=keys, args=args)
        except (RedisError, OSError) as exc:
            self.failures += 1
            self._down_until = time.monotonic() + self.retry_s
            if self._shared:
                log.warning(
                    "rate limits: Redis at %s unreachable (%s); counting in this process "
                    "(each node its own limits) until it answers",
                    _safe(self.url),
                    type(exc).__name__,
                )
            self._shared = False
            return [None] * len(batch)
        if not self._shared:
            self._shared = True
            log.warning("rate limits: Redis at %s answers again; shared", _safe(self.url))
        return [float(answer) for answer in answers]

    async def close(self) -> None:
        if self._sender is not None:
            self._sender.cancel()
        await self._client.aclose()


def _safe(url: str) -> str:
    """The URL without a password (it goes to the log)."""
    scheme, sep, rest = url.partition("://")
    if "@" in rest:
        rest = rest.rsplit("@", 1)[1]
    return scheme + sep + rest
