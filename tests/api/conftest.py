"""The API app bound to the parametrized `db` (real SQLite and real PostgreSQL), and the
people of a negotiation: an operator and a verified owner with a property and a thread, plus
strangers. Tokens are real access tokens from services.tokens."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from arbibase_chat.api import create_api
from arbibase_chat.config import get_settings
from arbibase_chat.models import UserPublic
from arbibase_chat.services import ratelimit, tokens
from tests import factories
from tests.factories import Pair


@dataclass
class Actor:
    user: UserPublic

    @property
    def token(self) -> str:
        return tokens.issue_access_token(user_id=self.user.id, email=self.user.email)

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class World:
    pair: Pair
    operator: Actor
    owner: Actor
    stranger: Actor  # another operator
    stranger_owner: Actor  # owner of another property, in another thread

    @property
    def thread_id(self) -> str:
        return str(self.pair.thread_id)


@pytest.fixture
def fresh_limits() -> Iterator[ratelimit.Limiter]:
    """A real limiter with the configured limits, empty for each test."""
    settings = get_settings()
    with ratelimit.use(
        ratelimit.LocalBuckets(
            burst=settings.send_rate_burst, per_second=settings.send_rate_per_second
        )
    ) as limiter:
        yield limiter


@pytest.fixture
def client(db: Engine, fresh_limits: ratelimit.Limiter) -> Iterator[TestClient]:
    with TestClient(create_api(engine=db)) as test_client:
        yield test_client


@pytest.fixture
def world(db: Engine) -> World:
    pair = Pair(db)
    other = Pair(db)
    return World(
        pair=pair,
        operator=Actor(pair.operator),
        owner=Actor(pair.owner),
        stranger=Actor(factories.user(db, "operator")),
        stranger_owner=Actor(other.owner),
    )
