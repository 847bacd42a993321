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
a change of the documented limits. The script is short, runs atomically in Redis
(every bucket of a request in one round trip, no lost update between nodes), keeps
time by Redis's clock (``TIME``: the nodes' clocks need not agree) and is checked
against the in-process buckets step by step (tests/api/test_shared_buckets.py). An idle
bucket expires once it would be full again, so Redis holds only the buckets in use.

When Redis cannot be reached (down, restarting, too slow: ``TIMEOUT_S``), requests are
neither refused nor let through unlimited: this node counts in its own in-process
buckets (the limits of a single node, as without Redis) and asks Redis again after
``RETRY_S``. During an outage a client spread over N nodes can so get N times the limit,
never more and never an outage of the API because the limiter is down; the switch and
the recovery are each logged once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any

import redis.asyncio
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

TIMEOUT_S = 0.25
"""How long a request waits for Redis (connect or answer) before counting locally."""
RETRY_S = 1.0
"""After a failure, how long this node counts locally before asking Redis again."""
KEY_PREFIX = "augury:rl:"

Take = tuple[str, float, int]
"""One bucket a request takes a token from: (its key, rate per second, burst)."""

# KEYS: the buckets, in order. ARGV[1]: now in microseconds ("": Redis's clock);
# ARGV[2i], ARGV[2i+1]: the rate per second and the burst of KEYS[i].
# A bucket is a hash: t = tokens, u = when it was last updated (microseconds).
# Answers "0" (every bucket gave a token) or the seconds to wait for the first that
# had none (the buckets before it gave theirs, as in the in-process middleware).
TOKEN_BUCKETS_LUA = """
local now
if ARGV[1] == '' then
  local clock = redis.call('TIME')
  now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
else
  now = tonumber(ARGV[1])
end
for i, key in ipairs(KEYS) do
  local rate = tonumber(ARGV[2 * i])
  local burst = tonumber(ARGV[2 * i + 1])
  local state = redis.call('HMGET', key, 't', 'u')
  local tokens = tonumber(state[1])
  if tokens == nil then
    tokens = burst
  else
    local elapsed = math.max(0, now - tonumber(state[2])) / 1000000
    tokens = math.min(burst, tokens + elapsed * rate)
  end
  local wait = 0
  if tokens >= 1 then
    tokens = tokens - 1
  else
    wait = (1 - tokens) / rate
  end
  redis.call('HSET', key, 't', string.format('%.17g', tokens), 'u', string.format('%d', now))
  redis.call('PEXPIRE', key, math.ceil(burst / rate * 1000) + 1000)
  if wait > 0 then
    return string.format('%.17g', wait)
  end
end
return '0'
"""


class SharedBuckets:
    """Token buckets in the Redis at ``url`` (see the module docstring).

    ``take`` answers 0.0 (allowed) or the seconds to wait, like the in-process buckets,
    or None when Redis could not be asked: the caller then counts locally."""

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
        self.failures = 0
        """Times Redis could not be asked (each starts ``retry_s`` of local counting)."""

    @property
    def down(self) -> bool:
        """True while this node counts locally after a failure."""
        return time.monotonic() < self._down_until

    async def take(self, takes: Sequence[Take], now_us: int | None = None) -> float | None:
        """Take a token from each bucket in order; ``now_us`` replaces Redis's clock."""
        if self.down:
            return None
        args: list[str | float | int] = ["" if now_us is None else str(now_us)]
        for _, rate, burst in takes:
            args += [repr(rate), burst]
        try:
            answer = await self._script(keys=[KEY_PREFIX + key for key, _, _ in takes], args=args)
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
            return None
        if not self._shared:
            self._shared = True
            log.warning("rate limits: Redis at %s answers again; shared", _safe(self.url))
        return float(answer)

    async def close(self) -> None:
        await self._client.aclose()


def _safe(url: str) -> str:
    """The URL without a password (it goes to the log)."""
    scheme, sep, rest = url.partition("://")
    if "@" in rest:
        rest = rest.rsplit("@", 1)[1]
    return scheme + sep + rest
