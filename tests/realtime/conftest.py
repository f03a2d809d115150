from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator, Sequence

import pytest
import redis
from sqlalchemy.engine import Engine

from arbibase_chat import db as dbmod
from arbibase_chat import migrations
from arbibase_chat.realtime.updates import Update
from tests.conftest import _truncate, unavailable

REDIS_URL = "redis://127.0.0.1:6379/0"


class Recorder:
    """A `deliver` that remembers what each token got."""

    def __init__(self) -> None:
        self.got: list[tuple[str, Update]] = []
        self.arrived = asyncio.Event()

    async def __call__(self, token: str, updates: Sequence[Update]) -> None:
        self.got.extend((token, update) for update in updates)
        self.arrived.set()

    async def wait_for(self, count: int, timeout: float = 5) -> None:
        async with asyncio.timeout(timeout):
            while len(self.got) < count:
                self.arrived.clear()
                await self.arrived.wait()

    def to(self, token: str) -> list[Update]:
        return [u for t, u in self.got if t == token]


@pytest.fixture
def pg_db(postgres_url: str, migrated: dict[str, str]) -> Iterator[Engine]:
    """The migrated, empty Postgres database alone (NOTIFY exists only there)."""
    if "postgres" not in migrated:
        migrations.upgrade(postgres_url)
        migrated["postgres"] = postgres_url
    engine = dbmod.get_engine(postgres_url)
    _truncate(engine)
    yield engine


@pytest.fixture
def redis_url() -> str:
    client = redis.Redis.from_url(REDIS_URL, socket_timeout=2, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        unavailable("Redis", exc)
    finally:
        client.close()
    return REDIS_URL


@pytest.fixture
def channel() -> str:
    """A pub/sub channel of this test alone."""
    return f"arbibase-test:{uuid.uuid4().hex}"
