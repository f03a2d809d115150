"""Per-user rate limits: a token bucket per (action, user).

A bucket holds up to `burst` tokens and refills at `per_second`; every action takes one. An
empty bucket refuses with `RateLimited(retry_after=...)`: the seconds until the next token.

- In-process (`LocalBuckets`) by default: one bucket table per worker process.
- In Redis (`RedisBuckets`) when REDIS_URL is set, so all workers share the buckets: one Lua
  script reads, refills, takes and writes the bucket atomically, with Redis's own clock (the
  workers' clocks never disagree). One round trip per check.

Settings: SEND_RATE_BURST (0 turns sending limits off), SEND_RATE_PER_SECOND,
RATE_LIMIT_KEY_PREFIX. If Redis cannot be reached the check lets the action through and logs
a warning: the limiter protects against floods, it must not take messaging down with it.
"""

from __future__ import annotations

import logging
import math
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Protocol

from arbibase_chat.config import get_settings
from arbibase_chat.services.errors import RateLimited

log = logging.getLogger(__name__)


class Limiter(Protocol):
    def hit(self, key: str) -> float:
        """Take one token from `key`'s bucket: 0.0 when allowed, else seconds to wait."""
        ...


class Unlimited:
    """Never refuses (limits turned off)."""

    def hit(self, key: str) -> float:
        return 0.0


class LocalBuckets:
    """Token buckets in this process (thread-safe)."""

    #: Above this many buckets, full ones (idle long enough to refill) are dropped.
    PRUNE_ABOVE = 10_000

    def __init__(
        self,
        *,
        burst: int,
        per_second: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if burst < 1 or per_second <= 0:
            raise ValueError("burst must be >= 1 and per_second > 0")
        self.burst = burst
        self.per_second = per_second
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, at)

    def hit(self, key: str) -> float:
        with self._lock:
            now = self._clock()
            tokens, at = self._buckets.get(key, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + max(0.0, now - at) * self.per_second)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                wait = 0.0
            else:
                self._buckets[key] = (tokens, now)
                wait = (1.0 - tokens) / self.per_second
            if len(self._buckets) > self.PRUNE_ABOVE:
                self._prune(now)
            return wait

    def _prune(self, now: float) -> None:
        full = [
            k
            for k, (tokens, at) in self._buckets.items()
            if tokens + (now - at) * self.per_second >= self.burst
        ]
        for k in full:
            del self._buckets[k]


# KEYS[1]: the bucket. ARGV: burst, tokens per second. Returns the wait in seconds as a string
# (Lua numbers become integers on the way out). The bucket expires once it would be full again.
_TOKEN_BUCKET_LUA = """
local burst = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1])
local at = tonumber(state[2])
if tokens == nil or at == nil then
  tokens = burst
  at = now
end
tokens = math.min(burst, tokens + math.max(0, now - at) * rate / 1000)
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
else
  wait = (1 - tokens) / rate
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil((burst - tokens) / rate * 1000) + 1000)
return tostring(wait)
"""


class RedisBuckets:
    """Token buckets in Redis, shared by every worker; one atomic script per check."""

    def __init__(
        self, client: Any, *, burst: int, per_second: float, prefix: str = "arbibase:ratelimit:"
    ) -> None:
        if burst < 1 or per_second <= 0:
            raise ValueError("burst must be >= 1 and per_second > 0")
        self.client = client
        self.burst = burst
        self.per_second = per_second
        self.prefix = prefix
        self._script = client.register_script(_TOKEN_BUCKET_LUA)
        self._last_warning = 0.0

    @classmethod
    def from_url(
        cls, url: str, *, burst: int, per_second: float, prefix: str = "arbibase:ratelimit:"
    ) -> RedisBuckets:
        import redis

        client = redis.Redis.from_url(url, socket_timeout=1.0, socket_connect_timeout=1.0)
        return cls(client, burst=burst, per_second=per_second, prefix=prefix)

    def hit(self, key: str) -> float:
        import redis

        try:
            raw = self._script(keys=[self.prefix + key], args=[self.burst, self.per_second])
        except redis.RedisError as exc:
            now = time.monotonic()
            if now - self._last_warning > 60:
                self._last_warning = now
                log.warning("rate limiter: Redis unavailable, not limiting (%s)", exc)
            return 0.0
        return float(raw.decode() if isinstance(raw, bytes) else raw)


# --- the configured limiter -----------------------------------------------------------------

_lock = threading.Lock()
_default: Limiter | None = None
_override: Limiter | None = None


def _build_default() -> Limiter:
    settings = get_settings()
    if settings.send_rate_burst <= 0:
        return Unlimited()
    if settings.redis_url:
        return RedisBuckets.from_url(
            settings.redis_url,
            burst=settings.send_rate_burst,
            per_second=settings.send_rate_per_second,
            prefix=settings.rate_limit_key_prefix,
        )
    return LocalBuckets(burst=settings.send_rate_burst, per_second=settings.send_rate_per_second)


def send_limiter() -> Limiter:
    """The limiter for sending messages: the override if one is installed, else from settings."""
    global _default
    if _override is not None:
        return _override
    with _lock:
        if _default is None:
            _default = _build_default()
        return _default


@contextmanager
def use(limiter: Limiter) -> Iterator[Limiter]:
    """Install `limiter` for the duration of the block (tests, benchmarks)."""
    global _override
    previous, _override = _override, limiter
    try:
        yield limiter
    finally:
        _override = previous


def check_send(*, user_id: uuid.UUID) -> None:
    """Take one send token for `user_id`; RateLimited when the bucket is empty."""
    wait = send_limiter().hit(f"send:{user_id}")
    if wait > 0:
        seconds = max(1, math.ceil(wait))
        raise RateLimited(
            f"too many messages: wait {seconds} s before sending again", retry_after=wait
        )
