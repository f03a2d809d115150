"""Supabase mode against the local stand-in (standin.py): the app configured with its URL and
keys, the API bound to the parametrized `db` (real SQLite and PostgreSQL), and people whose
accounts live in the stand-in's Auth, with their local rows created on first sight."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from arbibase_chat.api import create_api
from arbibase_chat.config import get_settings
from arbibase_chat.models import UserPublic
from arbibase_chat.services import identity, properties, threads
from tests.api.conftest import fresh_limits  # noqa: F401  (fixture)
from tests.supabase_adapters.standin import AuthUser, SupabaseStandIn


@pytest.fixture
def standin() -> Iterator[SupabaseStandIn]:
    project = SupabaseStandIn(jwt_secret=secrets.token_urlsafe(48)).start()
    try:
        yield project
    finally:
        project.stop()


def _configure(monkeypatch: pytest.MonkeyPatch, values: dict[str, str | None]) -> None:
    for key, value in values.items():
        if value is None:
            monkeypatch.delenv(key, raising=False)
        else:
            monkeypatch.setenv(key, value)
    get_settings.cache_clear()


@pytest.fixture
def supabase_mode(standin: SupabaseStandIn, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The app in Supabase mode, pointed at the stand-in (both HS256 and the JWKS usable).

    `get_auth()` follows the settings object: clearing `get_settings`' cache switches the mode
    (and starts from fresh JWKS clients) on the next call, and back again at the end."""
    _configure(
        monkeypatch,
        {
            "SUPABASE_URL": standin.url,
            "SUPABASE_ANON_KEY": standin.anon_key,
            "SUPABASE_SERVICE_ROLE_KEY": standin.service_role_key,
            "SUPABASE_JWT_SECRET": standin.jwt_secret,
            "SUPABASE_JWKS_URL": None,
            "SUPABASE_SIGNED_URL_TTL_SECONDS": "60",
        },
    )
    yield
    monkeypatch.undo()
    get_settings.cache_clear()


@pytest.fixture
def api(db: Engine, supabase_mode: None, fresh_limits) -> Iterator[TestClient]:  # noqa: F811
    with TestClient(create_api(engine=db)) as test_client:
        yield test_client


@dataclass
class Person:
    auth: AuthUser
    token: str
    user: UserPublic

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def person(
    standin: SupabaseStandIn, db: Engine, role: str, *, verified: bool = True, name: str = ""
) -> Person:
    """A Supabase Auth user (role chosen at sign-up, verification in app_metadata) and the
    local row the app makes on first sight of their token."""
    auth = standin.create_user(
        f"{role}-{secrets.token_hex(4)}@example.com",
        user_metadata={"display_name": name or f"{role.title()} Supa", "role": role},
        # Operators on Pro: their threads share files (tier gating reads app_metadata.tier).
        app_metadata={"verified": verified} if role == "owner" else {"tier": "pro"},
    )
    token = standin.access_token(auth)
    user_id = identity.authenticate_token(token=token, db=db)
    from arbibase_chat.services import accounts

    return Person(auth, token, accounts.get_user(user_id=user_id, db=db))


@dataclass
class Negotiation:
    operator: Person
    owner: Person
    stranger: Person
    thread_id: str


@pytest.fixture
def negotiation(standin: SupabaseStandIn, db: Engine, supabase_mode: None) -> Negotiation:
    operator = person(standin, db, "operator")
    owner = person(standin, db, "owner")
    stranger = person(standin, db, "operator")
    listing = properties.create_property(
        user_id=owner.user.id,
        data={"title": "Loft", "address": "1 Main St", "city": "Austin"},
        db=db,
    )
    thread = threads.get_or_create_thread(
        user_id=operator.user.id,
        property_id=listing.id,
        owner_id=owner.user.id,
        subject="Lease",
        db=db,
    )
    return Negotiation(operator, owner, stranger, str(thread.id))
