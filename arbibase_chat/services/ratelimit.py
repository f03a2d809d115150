"""Rate limits: a token bucket per (action, who).

A bucket holds up to `burst` tokens and refills at `per_second`; every action takes one. An
empty bucket refuses with `RateLimited(retry_after=...)`: the seconds until the next token.

The limits (each one its own limiter, built from the settings; burst 0 turns one off):

| kind | key | what | default |
|---|---|---|---|
| `send` | user | message sends (`check_send`) | 20, then 5/s |
| `ai` | user | AI reply suggestions (`check_ai`) | 5, then 1 per 10 s |
| `email-in` | sender address | replies by e-mail (`check_email_reply`) | 10, then 1 per 6 s |
| `sign-in-pair` | account + client | password sign-ins of one account from one client | 5, then 1/min |
| `sign-in-client` | client | password sign-ins from one client, any account | 20, then 10/min |
| `sign-in-account` | account | password sign-ins of one account, any client | 30, then 3/min |
| `sign-up-client` | client | sign-ups from one client | 5, then 1 per 5 min |
| `reset-client` | client | password-reset requests from one client | 10, then 1 per 2 min |
| `reset-account` | address | password-reset requests for one address, any client | 3, then 1 per 10 min |

Sign-in (`check_sign_in`, called by `identity.password_sign_in` before argon2 or Supabase is
asked) takes a token from the pair, then the client, then the account bucket; the first empty
one refuses, and the later ones are not touched (a client already refused for the pair does
not drain the account's bucket, nor a client over its own limit every account it tries). A
successful sign-in (`signed_in`) refills the pair bucket: a person who mistyped is not slowed
by it afterwards. The account's own bucket is left to refill at its rate: it measures how hard
the account is being guessed from everywhere, which one success says nothing about (a refill
would hand guessers a fresh burst each time the owner signs in). The account is the
normalized e-mail (hashed in the key), the client the IP address (IPv6: its /64, what one host
or household usually holds).

Locking a victim out: one address can only take the pair's burst and then one try a minute
from the account's bucket, which refills three times faster; the owner's own pair is separate.
Keeping the account's bucket empty takes several addresses working together, and then the
owner waits too (seconds, at 3 a minute) — the known compromise: the alternative, no
account-wide bucket, lets a botnet guess one account without bound.

- In-process (`LocalBuckets`) by default: one bucket table per worker process.
- In Redis (`RedisBuckets`) when REDIS_URL is set, so all workers share the buckets: one Lua
  script reads, refills, takes and writes the bucket atomically, with Redis's own clock (the
  workers' clocks never disagree). One round trip per check.

Settings: SEND_RATE_BURST (0 turns sending limits off), SEND_RATE_PER_SECOND,
AI_RATE_BURST, AI_RATE_PER_SECOND, INBOUND_RATE_BURST, INBOUND_RATE_PER_SECOND,
SIGN_IN_* / SIGN_UP_* / PASSWORD_RESET_* (`config.py`), RATE_LIMIT_KEY_PREFIX. If Redis cannot be reached the
check lets the action through and logs a warning: the limiter protects against floods, it must
not take messaging (or signing in) down with it.
"""

from __future__ import annotations

import contextlib
import hashlib
import ipaddress
import logging
import math
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Protocol

from arbibase_chat.config import Settings, get_settings
from arbibase_chat.services.errors import RateLimited

log = logging.getLogger(__name__)


class Limiter(Protocol):
    def hit(self, key: str) -> float:
        """Take one token from `key`'s bucket: 0.0 when allowed, else seconds to wait."""
        ...

    def reset(self, key: str) -> None:
        """Refill `key`'s bucket (forget what it was charged)."""
        ...


class Unlimited:
    """Never refuses (limits turned off)."""

    def hit(self, key: str) -> float:
        return 0.0

    def reset(self, key: str) -> None:
        return None


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

    def reset(self, key: str) -> None:
        with self._lock:
            self._buckets.pop(key, None)

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
            self._warn(exc)
            return 0.0
        return float(raw.decode() if isinstance(raw, bytes) else raw)

    def reset(self, key: str) -> None:
        import redis

        try:
            self.client.delete(self.prefix + key)
        except redis.RedisError as exc:
            self._warn(exc)

    def _warn(self, exc: Exception) -> None:
        now = time.monotonic()
        if now - self._last_warning > 60:
            self._last_warning = now
            log.warning("rate limiter: Redis unavailable, not limiting (%s)", exc)


# --- the configured limiters ----------------------------------------------------------------

SEND = "send"
SIGN_IN_PAIR = "sign-in-pair"
SIGN_IN_CLIENT = "sign-in-client"
SIGN_IN_ACCOUNT = "sign-in-account"
SIGN_UP_CLIENT = "sign-up-client"
AI = "ai"
EMAIL_IN = "email-in"
RESET_ACCOUNT = "reset-account"
RESET_CLIENT = "reset-client"
KINDS = (
    SEND,
    SIGN_IN_PAIR,
    SIGN_IN_CLIENT,
    SIGN_IN_ACCOUNT,
    SIGN_UP_CLIENT,
    AI,
    EMAIL_IN,
    RESET_ACCOUNT,
    RESET_CLIENT,
)


def rate(kind: str, settings: Settings) -> tuple[int, float]:
    """(burst, tokens per second) of a kind of limit in these settings; burst 0 = off."""
    if kind == SEND:
        return settings.send_rate_burst, settings.send_rate_per_second
    if kind == AI:
        return settings.ai_rate_burst, settings.ai_rate_per_second
    if kind == EMAIL_IN:
        return settings.inbound_rate_burst, settings.inbound_rate_per_second
    per_minute: dict[str, tuple[int, float]] = {
        SIGN_IN_PAIR: (settings.sign_in_pair_burst, settings.sign_in_pair_per_minute),
        SIGN_IN_CLIENT: (settings.sign_in_client_burst, settings.sign_in_client_per_minute),
        SIGN_IN_ACCOUNT: (settings.sign_in_account_burst, settings.sign_in_account_per_minute),
        SIGN_UP_CLIENT: (settings.sign_up_client_burst, settings.sign_up_client_per_minute),
        RESET_ACCOUNT: (
            settings.password_reset_account_burst,
            settings.password_reset_account_per_minute,
        ),
        RESET_CLIENT: (
            settings.password_reset_client_burst,
            settings.password_reset_client_per_minute,
        ),
    }
    burst, minutely = per_minute[kind]
    return burst, minutely / 60.0


def build(kind: str, settings: Settings, *, redis_client: Any = None) -> Limiter:
    """A fresh limiter for `kind`: off, in Redis (`redis_client` given), or in this process."""
    burst, per_second = rate(kind, settings)
    if burst <= 0:
        return Unlimited()
    if redis_client is not None:
        return RedisBuckets(
            redis_client,
            burst=burst,
            per_second=per_second,
            prefix=settings.rate_limit_key_prefix,
        )
    return LocalBuckets(burst=burst, per_second=per_second)


def _redis_client(url: str) -> Any:
    import redis

    return redis.Redis.from_url(url, socket_timeout=1.0, socket_connect_timeout=1.0)


def build_all(settings: Settings | None = None) -> dict[str, Limiter]:
    """Every kind of limiter, fresh, from the settings (Redis ones share one client)."""
    settings = settings or get_settings()
    client = _redis_client(settings.redis_url) if settings.redis_url else None
    return {kind: build(kind, settings, redis_client=client) for kind in KINDS}


_lock = threading.Lock()
_defaults: dict[str, Limiter] | None = None
_overrides: dict[str, Limiter] = {}


def _build_default() -> Limiter:
    """The send limiter from the settings (as `limiter(SEND)` builds it)."""
    settings = get_settings()
    client = _redis_client(settings.redis_url) if settings.redis_url else None
    return build(SEND, settings, redis_client=client)


def limiter(kind: str = SEND) -> Limiter:
    """The limiter for `kind`: the override if one is installed, else from settings."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind of rate limit: {kind!r}")
    global _defaults
    override = _overrides.get(kind)
    if override is not None:
        return override
    with _lock:
        if _defaults is None:
            _defaults = build_all()
        return _defaults[kind]


def send_limiter() -> Limiter:
    """The limiter for sending messages."""
    return limiter(SEND)


@contextmanager
def use(limiter: Limiter, *, kind: str = SEND) -> Iterator[Limiter]:
    """Install `limiter` for `kind` (default: sends) for the duration of the block (tests,
    benchmarks)."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind of rate limit: {kind!r}")
    previous = _overrides.get(kind)
    _overrides[kind] = limiter
    try:
        yield limiter
    finally:
        if previous is None:
            _overrides.pop(kind, None)
        else:
            _overrides[kind] = previous


@contextmanager
def use_all(limiters: dict[str, Limiter]) -> Iterator[dict[str, Limiter]]:
    """Install several limiters at once ({kind: limiter}), e.g. `use_all(build_all())`: fresh
    limits as configured, for one test."""
    with contextlib.ExitStack() as stack:
        for kind, one in limiters.items():
            stack.enter_context(use(one, kind=kind))
        yield limiters


def in_words(seconds: float) -> str:
    """A wait as a person reads it: "45 seconds", "1 minute", "3 minutes", "2 hours"."""
    s = max(1, math.ceil(seconds))
    if s < 60:
        return f"{s} second{'s' if s != 1 else ''}"
    if s < 3600:
        m = math.ceil(s / 60)
        return f"{m} minute{'s' if m != 1 else ''}"
    h = math.ceil(s / 3600)
    return f"{h} hour{'s' if h != 1 else ''}"


def _too_many(wait: float) -> RateLimited:
    return RateLimited(f"Too many attempts. Try again in {in_words(wait)}.", retry_after=wait)


def check_send(*, user_id: uuid.UUID) -> None:
    """Take one send token for `user_id`; RateLimited when the bucket is empty."""
    wait = send_limiter().hit(f"send:{user_id}")
    if wait > 0:
        seconds = max(1, math.ceil(wait))
        raise RateLimited(
            f"too many messages: wait {seconds} s before sending again", retry_after=wait
        )


def check_ai(*, user_id: uuid.UUID) -> None:
    """Take one AI-suggestion token for `user_id`; RateLimited when the bucket is empty (each
    request may cost a provider call)."""
    wait = limiter(AI).hit(f"ai:{user_id}")
    if wait > 0:
        seconds = max(1, math.ceil(wait))
        raise RateLimited(
            f"too many suggestion requests: wait {seconds} s and ask again", retry_after=wait
        )


def check_email_reply(*, address: str) -> None:
    """Take one inbound-reply token for the sender `address` (normalized); RateLimited when
    its bucket is empty. Taken before the reply is looked at, so a flood costs no queries."""
    wait = limiter(EMAIL_IN).hit(f"email-in:{_account_key(address)}")
    if wait > 0:
        raise RateLimited(
            f"too many e-mail replies from this address: try again in {in_words(wait)}",
            retry_after=wait,
        )


# --- sign-in and sign-up ----------------------------------------------------------------------


def client_key(client: str) -> str:
    """Who a client is for the limits: an IPv4 address as is, an IPv6 address by its /64 (one
    host or household usually holds a whole /64), anything else as given (at most 100
    characters); "unknown" when the caller could not tell."""
    text = (client or "").strip()
    if not text:
        return "unknown"
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return text[:100]
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


def _account_key(email: str) -> str:
    # The normalized e-mail, hashed: Redis keys hold no addresses.
    return hashlib.sha256(email.encode()).hexdigest()[:32]


def _sign_in_keys(email: str, client: str) -> tuple[str, str, str]:
    account, who = _account_key(email), client_key(client)
    return f"sign-in:pair:{account}:{who}", f"sign-in:client:{who}", f"sign-in:account:{account}"


def check_sign_in(*, email: str, client: str) -> None:
    """Take one sign-in token for (`email`, `client`), `client` and `email`, in that order;
    RateLimited ("Too many attempts. Try again in 2 minutes.") at the first empty bucket.

    `email` is the normalized address (known or not: the answer is the same either way).
    """
    pair, per_client, per_account = _sign_in_keys(email, client)
    for kind, key in (
        (SIGN_IN_PAIR, pair),
        (SIGN_IN_CLIENT, per_client),
        (SIGN_IN_ACCOUNT, per_account),
    ):
        wait = limiter(kind).hit(key)
        if wait > 0:
            raise _too_many(wait)


def signed_in(*, email: str, client: str) -> None:
    """A successful sign-in: this client's mistakes on this account (its pair bucket) are
    forgiven. Not the client's bucket (it bounds the work one client causes), nor the
    account's (it bounds guessing from everywhere; see the module doc)."""
    pair, _per_client, _per_account = _sign_in_keys(email, client)
    limiter(SIGN_IN_PAIR).reset(pair)


def check_sign_up(*, client: str) -> None:
    """Take one sign-up token for `client`; RateLimited when its bucket is empty."""
    wait = limiter(SIGN_UP_CLIENT).hit(f"sign-up:client:{client_key(client)}")
    if wait > 0:
        raise _too_many(wait)


def check_password_reset(*, email: str, client: str) -> None:
    """Take one reset-request token for `client`, then for the address `email` (normalized,
    known or not: the same answer either way); RateLimited at the first empty bucket. The
    client first: one client refused for its own flood does not use up a victim's address."""
    for kind, key in (
        (RESET_CLIENT, f"reset:client:{client_key(client)}"),
        (RESET_ACCOUNT, f"reset:account:{_account_key(email)}"),
    ):
        wait = limiter(kind).hit(key)
        if wait > 0:
            raise _too_many(wait)
