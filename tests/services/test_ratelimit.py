"""The per-user send limit: token buckets in-process and in a real Redis, and its place in
send_message (a refused send stores nothing; a retry of a stored message is answered)."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator

import pytest
import redis

from arbibase_chat.config import Settings
from arbibase_chat.services import events, messages, ratelimit
from arbibase_chat.services.errors import Invalid, RateLimited
from tests.conftest import unavailable
from tests.factories import Pair

REDIS_URL = "redis://127.0.0.1:6379/0"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# --- in-process buckets ---------------------------------------------------------------------


def test_local_bucket_allows_the_burst_then_refills_at_the_rate():
    clock = FakeClock()
    buckets = ratelimit.LocalBuckets(burst=3, per_second=2.0, clock=clock)
    assert [buckets.hit("u") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert buckets.hit("u") == pytest.approx(0.5)  # one token every 0.5 s
    clock.now += 0.25
    assert buckets.hit("u") == pytest.approx(0.25)  # a refused hit takes nothing
    clock.now += 0.25
    assert buckets.hit("u") == 0.0
    assert buckets.hit("u") == pytest.approx(0.5)
    clock.now += 60  # refills to the burst, never beyond
    assert [buckets.hit("u") for _ in range(4)][-1] > 0
    assert buckets.hit("someone else") == 0.0  # buckets are per key


def test_local_buckets_forget_idle_full_buckets():
    clock = FakeClock()
    buckets = ratelimit.LocalBuckets(burst=2, per_second=1.0, clock=clock)
    buckets.PRUNE_ABOVE = 10
    for i in range(11):
        buckets.hit(f"k{i}")
    clock.now += 5  # every bucket is full again
    buckets.hit("last")
    assert len(buckets._buckets) <= 2


def test_local_buckets_are_exact_under_threads():
    buckets = ratelimit.LocalBuckets(burst=25, per_second=0.001)
    allowed: list[bool] = []
    barrier = threading.Barrier(8)

    def worker() -> None:
        barrier.wait()
        allowed.extend(w == 0.0 for w in (buckets.hit("shared") for _ in range(10)))

    workers = [threading.Thread(target=worker) for _ in range(8)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert sum(allowed) == 25


def test_the_configured_limiter(monkeypatch):
    monkeypatch.setattr(ratelimit, "get_settings", lambda: Settings(send_rate_burst=0))
    assert isinstance(ratelimit._build_default(), ratelimit.Unlimited)
    monkeypatch.setattr(
        ratelimit, "get_settings", lambda: Settings(send_rate_burst=7, send_rate_per_second=2)
    )
    local = ratelimit._build_default()
    assert isinstance(local, ratelimit.LocalBuckets) and (local.burst, local.per_second) == (7, 2)
    monkeypatch.setattr(
        ratelimit, "get_settings", lambda: Settings(redis_url=REDIS_URL, send_rate_burst=7)
    )
    assert isinstance(ratelimit._build_default(), ratelimit.RedisBuckets)


def test_check_send_raises_with_retry_after():
    user = uuid.uuid4()
    with ratelimit.use(ratelimit.LocalBuckets(burst=1, per_second=0.5)):
        ratelimit.check_send(user_id=user)
        with pytest.raises(RateLimited) as err:
            ratelimit.check_send(user_id=user)
    assert err.value.retry_after == pytest.approx(2.0, abs=0.05)
    assert "wait 2 s" in err.value.message


# --- in send_message ------------------------------------------------------------------------


@pytest.fixture
def published() -> Iterator[list[events.DomainEvent]]:
    seen: list[events.DomainEvent] = []
    unsubscribe = events.subscribe(seen.append)
    yield seen
    unsubscribe()


def test_a_refused_send_stores_nothing_and_a_stored_retry_is_answered(db, published):
    pair = Pair(db)
    send = lambda **kw: messages.send_message(  # noqa: E731
        user_id=pair.operator.id, thread_id=pair.thread_id, db=db, **kw
    )
    with ratelimit.use(ratelimit.LocalBuckets(burst=3, per_second=0.01)):
        first = send(body="one", client_msg_id="c-1")
        send(body="two")
        send(body="three")
        published.clear()
        with pytest.raises(RateLimited):
            send(body="four")
        with pytest.raises(RateLimited):
            send(body="five", client_msg_id="c-new")
        # The client did not see the answer to c-1 and retries: it gets it, not a 429.
        assert send(body="one", client_msg_id="c-1") == first
        # The other participant has a bucket of their own.
        messages.send_message(user_id=pair.owner.id, thread_id=pair.thread_id, body="hi", db=db)
    bodies = [
        m.body
        for m in messages.list_messages(user_id=pair.owner.id, thread_id=pair.thread_id, db=db)
    ]
    assert bodies == ["one", "two", "three", "hi"]
    created = [e for e in published if isinstance(e, events.MessageCreated)]
    assert [e.sender_id for e in created] == [pair.owner.id]


def test_invalid_input_takes_no_token(db):
    pair = Pair(db)
    with ratelimit.use(ratelimit.LocalBuckets(burst=1, per_second=0.01)):
        for _ in range(3):
            with pytest.raises(Invalid):
                messages.send_message(
                    user_id=pair.operator.id, thread_id=pair.thread_id, body="  ", db=db
                )
        messages.send_message(user_id=pair.operator.id, thread_id=pair.thread_id, body="ok", db=db)


# --- Redis ------------------------------------------------------------------------------------


@pytest.fixture
def redis_client() -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(REDIS_URL, socket_timeout=2, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        unavailable("Redis", exc)
    yield client
    client.close()


@pytest.fixture
def prefix(redis_client: redis.Redis) -> Iterator[str]:
    """A key prefix of this test alone; its keys are deleted afterwards."""
    value = f"arbibase-test:{uuid.uuid4().hex}:"
    yield value
    keys = list(redis_client.scan_iter(match=value + "*"))
    if keys:
        redis_client.delete(*keys)


@pytest.mark.redis
def test_redis_bucket_burst_refill_and_expiry(redis_client, prefix):
    buckets = ratelimit.RedisBuckets(redis_client, burst=3, per_second=20.0, prefix=prefix)
    assert [buckets.hit("u") for _ in range(3)] == [0.0, 0.0, 0.0]
    wait = buckets.hit("u")
    assert 0 < wait <= 0.05 + 1e-9
    ttl = redis_client.pttl(prefix + "u")
    assert 0 < ttl <= 1000 + 3 / 20 * 1000  # gone once it would be full again
    threading.Event().wait(wait + 0.02)
    assert buckets.hit("u") == 0.0
    assert buckets.hit("other") == 0.0


@pytest.mark.redis
def test_redis_buckets_are_shared_by_workers_and_atomic(redis_client, prefix):
    # Two limiter objects with their own connections stand for two worker processes.
    workers = [
        ratelimit.RedisBuckets.from_url(REDIS_URL, burst=20, per_second=0.001, prefix=prefix)
        for _ in range(2)
    ]
    allowed: list[bool] = []
    lock = threading.Lock()
    barrier = threading.Barrier(10)

    def run(i: int) -> None:
        barrier.wait()
        results = [workers[i % 2].hit("shared") == 0.0 for _ in range(5)]
        with lock:
            allowed.extend(results)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(allowed) == 50 and sum(allowed) == 20


@pytest.mark.redis
def test_send_message_through_redis_limits(db, redis_client, prefix):
    pair = Pair(db)
    limiter = ratelimit.RedisBuckets(redis_client, burst=2, per_second=0.01, prefix=prefix)
    with ratelimit.use(limiter):
        for body in ("a", "b"):
            messages.send_message(
                user_id=pair.operator.id, thread_id=pair.thread_id, body=body, db=db
            )
        with pytest.raises(RateLimited) as err:
            messages.send_message(
                user_id=pair.operator.id, thread_id=pair.thread_id, body="c", db=db
            )
    assert err.value.retry_after > 1
    assert redis_client.exists(f"{prefix}send:{pair.operator.id}")


def test_redis_down_lets_sends_through(caplog):
    limiter = ratelimit.RedisBuckets.from_url(
        "redis://127.0.0.1:1/0", burst=1, per_second=1.0, prefix="unused:"
    )
    assert [limiter.hit("u") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert "Redis unavailable" in caplog.text
