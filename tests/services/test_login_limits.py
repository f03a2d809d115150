"""Sign-in and sign-up limits (pen test finding 7): per account from one client, per client,
per account from anywhere; checked before argon2 runs; a success forgives that client's
mistakes on the account; shared by workers through a real Redis."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from sqlalchemy.engine import Engine

from arbibase_chat.config import Settings
from arbibase_chat.services import accounts, identity, ratelimit
from arbibase_chat.services.errors import AuthenticationFailed, Invalid, RateLimited
from tests import factories
from tests.conftest import unavailable
from tests.factories import PASSWORD

REDIS_URL = "redis://127.0.0.1:6379/0"
ATTACKER = "203.0.113.66"
VICTIM = "198.51.100.10"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class CountingHasher:
    """The hasher in use, counting the argon2 work done."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.verified = 0
        self.hashed = 0

    def verify(self, hash: str, password: str) -> bool:
        self.verified += 1
        return bool(self.inner.verify(hash, password))

    def hash(self, password: str) -> str:
        self.hashed += 1
        return str(self.inner.hash(password))


@pytest.fixture
def hasher(monkeypatch: pytest.MonkeyPatch) -> CountingHasher:
    counting = CountingHasher(accounts._hasher)
    monkeypatch.setattr(accounts, "_hasher", counting)
    return counting


@pytest.fixture
def clock() -> Iterator[FakeClock]:
    """The default limits (5 then 1/min per pair, 20 then 10/min per client, 30 then 3/min
    per account, sign-ups 5 then 1 per 5 min), in-process, on a clock the test moves."""
    fake = FakeClock()
    settings = Settings()
    limiters: dict[str, ratelimit.Limiter] = {}
    for kind in ratelimit.KINDS[1:]:
        burst, per_second = ratelimit.rate(kind, settings)
        limiters[kind] = ratelimit.LocalBuckets(burst=burst, per_second=per_second, clock=fake)
    with ratelimit.use_all(limiters):
        yield fake


def sign_in(db: Engine, email: str, password: str, client: str) -> identity.SignedIn:
    return identity.password_sign_in(email=email, password=password, client=client, db=db)


def outcome(db: Engine, email: str, password: Any, client: str) -> str:
    try:
        sign_in(db, email, password, client)
    except AuthenticationFailed:
        return "wrong"
    except RateLimited:
        return "limited"
    return "ok"


def test_forty_wrong_passwords_then_the_right_one(db, clock, hasher):
    """The pen test's run: a 429 from the sixth attempt on, and no argon2 for refused ones."""
    user = factories.user(db)
    results = [outcome(db, user.email, f"guess number {i}", ATTACKER) for i in range(40)]
    assert results == ["wrong"] * 5 + ["limited"] * 35
    assert hasher.verified == 5  # a refused attempt costs no hashing
    with pytest.raises(RateLimited) as refused:
        sign_in(db, user.email, PASSWORD, ATTACKER)  # even the right password, for now
    assert refused.value.code == "rate_limited"
    assert refused.value.retry_after == pytest.approx(60, abs=0.01)
    assert refused.value.message == "Too many attempts. Try again in 1 minute."
    assert hasher.verified == 5
    clock.now += 60  # one more try a minute
    assert sign_in(db, user.email, PASSWORD, ATTACKER).user.id == user.id


def test_a_success_forgives_earlier_mistakes(db, clock):
    user = factories.user(db)
    for _ in range(4):
        assert outcome(db, user.email, "typo typo typo", VICTIM) == "wrong"
    assert outcome(db, user.email, PASSWORD, VICTIM) == "ok"  # under the limit: not blocked
    # The four typos are forgotten: five more mistakes before the wait, not one.
    results = [outcome(db, user.email, "typo typo typo", VICTIM) for _ in range(6)]
    assert results == ["wrong"] * 5 + ["limited"]


def test_the_wait_is_per_account_and_client(db, clock):
    user, other = factories.user(db), factories.user(db)
    for _ in range(6):
        outcome(db, user.email, "wrong wrong", ATTACKER)
    assert outcome(db, user.email, PASSWORD, ATTACKER) == "limited"
    # The account's owner on their own address is not locked out by the attacker...
    assert outcome(db, user.email, PASSWORD, VICTIM) == "ok"
    # ...and the attacker's address may still sign in to another account.
    assert outcome(db, other.email, PASSWORD, ATTACKER) == "ok"
    # The same account under another spelling of its address is the same account.
    assert outcome(db, "  " + user.email.upper(), PASSWORD, ATTACKER) == "limited"


def test_one_client_spraying_many_accounts(db, clock, hasher):
    """20 attempts from one address, then 10 a minute, whatever accounts it tries."""
    results = [outcome(db, f"victim{i}@example.com", "Summer2024!", ATTACKER) for i in range(30)]
    assert results == ["wrong"] * 20 + ["limited"] * 10
    assert hasher.verified == 20
    # The refused attempts took nothing from those ten accounts' own buckets.
    accounts_seen = ratelimit.limiter(ratelimit.SIGN_IN_ACCOUNT)
    assert isinstance(accounts_seen, ratelimit.LocalBuckets)
    assert len(accounts_seen._buckets) == 20
    assert outcome(db, "victim99@example.com", "Summer2024!", VICTIM) == "wrong"
    clock.now += 6  # 10 a minute
    assert outcome(db, "victim98@example.com", "Summer2024!", ATTACKER) == "wrong"
    assert outcome(db, "victim97@example.com", "Summer2024!", ATTACKER) == "limited"


def test_one_account_from_many_clients(db, clock, hasher):
    """Guessing one account from many addresses: 30 attempts, then 3 a minute, from anyone
    (the known compromise: the owner is slowed too, but one address cannot do that alone)."""
    user = factories.user(db)
    results = [outcome(db, user.email, "wrong wrong", f"203.0.113.{i}") for i in range(40)]
    assert results == ["wrong"] * 30 + ["limited"] * 10
    assert hasher.verified == 30
    assert outcome(db, user.email, PASSWORD, VICTIM) == "limited"
    clock.now += 20
    assert outcome(db, user.email, PASSWORD, VICTIM) == "ok"
    # The owner's success hands the guessers no fresh burst.
    assert outcome(db, user.email, "wrong wrong", "192.0.2.1") == "limited"
    clock.now += 20
    assert outcome(db, user.email, "wrong wrong", "192.0.2.1") == "wrong"


def test_one_address_cannot_lock_an_account(db, clock):
    """An attacker on one address hammering a victim's account takes its pair bucket only:
    the refused attempts do not drain the account's bucket, so the owner gets in."""
    user = factories.user(db)
    for _minute in range(60):
        clock.now += 60
        for _ in range(10):
            outcome(db, user.email, "wrong wrong", ATTACKER)
    assert outcome(db, user.email, PASSWORD, VICTIM) == "ok"


def test_ipv6_clients_are_counted_by_their_64(db, clock):
    user = factories.user(db)
    results = [outcome(db, user.email, "wrong wrong", f"2001:db8:1:2::{i:x}") for i in range(1, 8)]
    assert results == ["wrong"] * 5 + ["limited"] * 2
    assert outcome(db, user.email, PASSWORD, "2001:db8:1:3::1") == "ok"


def test_input_that_costs_nothing_takes_nothing(db, clock, hasher):
    user = factories.user(db)
    for email, password in [("garbage", "x"), (user.email, ""), (user.email, None)] * 10:
        assert outcome(db, email, password, ATTACKER) == "wrong"
    assert hasher.verified == 0
    assert outcome(db, user.email, PASSWORD, ATTACKER) == "ok"


def test_client_keys():
    key = ratelimit.client_key
    assert key("203.0.113.9") == "203.0.113.9"
    assert key("2001:db8:aa:bb:1:2:3:4") == key("2001:db8:aa:bb::9") == "2001:db8:aa:bb::/64"
    assert key("::ffff:192.0.2.1") == "192.0.2.1"
    assert key("") == key("  ") == "unknown"
    assert key("testclient") == "testclient"
    assert len(key("x" * 500)) == 100


@pytest.mark.parametrize(
    "seconds, words",
    [
        (0.2, "1 second"),
        (2.5, "3 seconds"),
        (59.0, "59 seconds"),
        (59.5, "1 minute"),
        (60.0, "1 minute"),
        (61.0, "2 minutes"),
        (299.0, "5 minutes"),
        (3600.0, "1 hour"),
        (5000.0, "2 hours"),
    ],
)
def test_waits_in_words(seconds, words):
    assert ratelimit.in_words(seconds) == words


# --- sign-up ----------------------------------------------------------------------------------


def sign_up(db: Engine, client: str, **fields: Any) -> identity.SignedUp:
    values = {
        "email": f"new-{uuid.uuid4().hex[:8]}@example.com",
        "password": "a long enough password",
        "display_name": "New",
        "role": "operator",
        **fields,
    }
    return identity.password_sign_up(client=client, db=db, **values)


def test_sign_ups_per_client(db, clock, hasher):
    for _ in range(5):
        sign_up(db, ATTACKER)
    with pytest.raises(RateLimited) as refused:
        sign_up(db, ATTACKER)
    assert refused.value.message == "Too many attempts. Try again in 5 minutes."
    assert hasher.hashed == 5  # the refused one hashed nothing
    sign_up(db, VICTIM)  # another address is not affected
    clock.now += 300
    sign_up(db, ATTACKER)


def test_invalid_sign_ups_take_nothing(db, clock, hasher):
    for _ in range(10):
        with pytest.raises(Invalid):
            sign_up(db, ATTACKER, password="short")
        with pytest.raises(Invalid):
            sign_up(db, ATTACKER, email="not an address")
    assert hasher.hashed == 0
    for _ in range(5):
        sign_up(db, ATTACKER)


def test_limits_can_be_turned_off():
    settings = Settings(sign_in_pair_burst=0, sign_up_client_burst=0)
    assert isinstance(ratelimit.build(ratelimit.SIGN_IN_PAIR, settings), ratelimit.Unlimited)
    assert isinstance(ratelimit.build(ratelimit.SIGN_UP_CLIENT, settings), ratelimit.Unlimited)
    client = ratelimit.build(ratelimit.SIGN_IN_CLIENT, settings)
    assert isinstance(client, ratelimit.LocalBuckets)
    assert client.burst == 20 and client.per_second == pytest.approx(10 / 60)


# --- Redis ------------------------------------------------------------------------------------


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    client = redis.Redis.from_url(REDIS_URL, socket_timeout=2, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        unavailable("Redis", exc)
    prefix = f"arbibase-test:{uuid.uuid4().hex}:"
    yield prefix
    keys = list(client.scan_iter(match=prefix + "*"))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.mark.redis
def test_two_workers_share_the_limits_through_redis(db, redis_prefix, hasher):
    """Two workers' limiters (each its own Redis connection) count the same attempts; the
    success on one worker refills the pair for both; Redis holds no e-mail address."""
    settings = Settings(redis_url=REDIS_URL, rate_limit_key_prefix=redis_prefix)
    workers = [ratelimit.build_all(settings) for _ in range(2)]
    assert all(isinstance(w[ratelimit.SIGN_IN_PAIR], ratelimit.RedisBuckets) for w in workers)
    user = factories.user(db)

    def attempt(worker: int, password: str, client: str = ATTACKER) -> str:
        with ratelimit.use_all(workers[worker]):
            return outcome(db, user.email, password, client)

    results = [attempt(i % 2, "wrong wrong") for i in range(8)]
    assert results == ["wrong"] * 5 + ["limited"] * 3
    assert hasher.verified == 5
    assert attempt(1, PASSWORD, VICTIM) == "ok"
    assert attempt(0, PASSWORD) == "limited"  # the attacker's pair is still empty
    # A success refills that client's pair bucket for every worker.
    assert [attempt(0, "typo typo", VICTIM) for _ in range(3)] == ["wrong"] * 3
    assert attempt(1, PASSWORD, VICTIM) == "ok"
    assert [attempt(i % 2, "typo typo", VICTIM) for i in range(6)] == ["wrong"] * 5 + ["limited"]
    client = redis.Redis.from_url(REDIS_URL)
    keys = [k.decode() for k in client.scan_iter(match=redis_prefix + "*")]
    client.close()
    assert keys and not any(user.email.lower() in k for k in keys)
    assert any(k.startswith(redis_prefix + "sign-in:client:") for k in keys)


@pytest.mark.redis
def test_sign_ups_through_redis(db, redis_prefix):
    settings = Settings(
        redis_url=REDIS_URL, rate_limit_key_prefix=redis_prefix, sign_up_client_burst=2
    )
    with ratelimit.use_all(ratelimit.build_all(settings)):
        sign_up(db, ATTACKER)
        sign_up(db, ATTACKER)
        with pytest.raises(RateLimited) as refused:
            sign_up(db, ATTACKER)
    assert 290 < refused.value.retry_after <= 300
