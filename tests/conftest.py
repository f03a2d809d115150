"""Shared fixtures: a real SQLite file and a real PostgreSQL database per run.

With ARBIBASE_REQUIRE_SERVICES=1 (set by .ci/run) a missing Postgres, Redis or browser fails
the run instead of skipping.
"""

from __future__ import annotations

import os
import secrets
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

# Before anything reads settings: keep tests away from the developer's var/ files. Each test
# process (pytest-xdist worker) gets its own: a worker inherits the environment the controller
# set here, so values inside the controller's directory are replaced, not kept.
_TMP = Path(tempfile.mkdtemp(prefix="arbibase-tests-"))
_INHERITED_TMP = os.environ.get("ARBIBASE_TESTS_TMP")
os.environ["ARBIBASE_TESTS_TMP"] = str(_TMP)
os.environ.setdefault("JWT_SECRET", secrets.token_urlsafe(32))
for _key, _value in (
    ("DATABASE_URL", f"sqlite:///{_TMP / 'default.db'}"),
    ("ATTACHMENTS_DIR", str(_TMP / "attachments")),
    ("MAIL_DIR", str(_TMP / "mail")),
):
    if _key not in os.environ or (_INHERITED_TMP and _INHERITED_TMP in os.environ[_key]):
        os.environ[_key] = _value

import psycopg  # noqa: E402
from argon2 import PasswordHasher  # noqa: E402
from argon2.profiles import CHEAPEST  # noqa: E402
from sqlalchemy import text  # noqa: E402
from sqlalchemy.engine import Engine  # noqa: E402

from arbibase_chat import db as dbmod  # noqa: E402
from arbibase_chat import migrations  # noqa: E402
from arbibase_chat.config import get_settings  # noqa: E402
from arbibase_chat.services import accounts, ratelimit  # noqa: E402

REQUIRE_SERVICES = os.environ.get("ARBIBASE_REQUIRE_SERVICES") == "1"
PG_ADMIN_URL = os.environ.get(
    "ARBIBASE_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
TABLES = (
    "password_reset_tokens",
    "messaging_email_tokens",
    "messaging_email_outbox",
    "messaging_notification_settings",
    "messaging_message_edits",
    "messaging_offer_numbers",
    "messaging_offers",
    "owner_verification_claims",
    "messaging_messages",
    "messaging_thread_tags",
    "messaging_participants",
    "messaging_threads",
    "properties",
    "users",
)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object:
    from tests.scheduling import FileRunsInOrder

    return FileRunsInOrder(config, log)


def unavailable(what: str, why: object) -> None:
    """Skip locally; fail in CI, where every real service must be there."""
    message = f"{what} unavailable: {why}"
    if REQUIRE_SERVICES:
        pytest.fail(message + " (ARBIBASE_REQUIRE_SERVICES=1)")
    pytest.skip(message)


@pytest.fixture(autouse=True, scope="session")
def _fast_password_hashing() -> Iterator[None]:
    # argon2's production cost (~0.1 s a hash) would dominate the suite; the production
    # parameters have their own test in tests/services/test_accounts.py.
    production = accounts._hasher
    accounts._hasher = PasswordHasher.from_parameters(CHEAPEST)
    yield
    accounts._hasher = production


@pytest.fixture(autouse=True)
def _fresh_sign_in_limits() -> Iterator[None]:
    """Every test starts with empty sign-in / sign-up buckets (the configured limits, in this
    process): tests sign in from the same few addresses and must not inherit each other's
    attempts. tests/services/test_login_limits.py installs its own where the limits are under
    test."""
    settings = get_settings()
    kinds = [kind for kind in ratelimit.KINDS if kind != ratelimit.SEND]
    with ratelimit.use_all({kind: ratelimit.build(kind, settings) for kind in kinds}):
        yield


def _pg_admin() -> psycopg.Connection:
    return psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3)


def create_pg_database(prefix: str = "arbibase_test") -> str:
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with _pg_admin() as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    return f"{base}/{name}"


def drop_pg_database(url: str) -> None:
    dbmod.dispose_engine(url)
    name = url.rsplit("/", 1)[1]
    with _pg_admin() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    try:
        url = create_pg_database()
    except psycopg.Error as exc:
        unavailable("PostgreSQL", exc)
    try:
        yield url
    finally:
        drop_pg_database(url)


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'arbibase.db'}"


@pytest.fixture(scope="session")
def migrated() -> dict[str, str]:
    """Backends already upgraded to head in this run."""
    return {}


def _truncate(engine: Engine) -> None:
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text(f"TRUNCATE {', '.join(TABLES)} CASCADE"))
        else:
            for table in TABLES:
                conn.execute(text(f"DELETE FROM {table}"))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest, migrated: dict[str, str]) -> Iterator[Engine]:
    """A migrated, empty database on each backend; every service test runs on both."""
    url = request.getfixturevalue(f"{request.param}_url")
    if request.param not in migrated:
        migrations.upgrade(url)
        migrated[request.param] = url
    engine = dbmod.get_engine(url)
    _truncate(engine)
    yield engine


@pytest.fixture(scope="session")
def e2e_database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The live server's database: migrated and seeded with the demo data, as `make run` does."""
    from arbibase_chat.seed import seed_demo

    url = f"sqlite:///{tmp_path_factory.mktemp('e2e-db') / 'e2e.db'}"
    migrations.upgrade(url)
    seed_demo(dbmod.get_engine(url))
    dbmod.dispose_engine(url)
    return url
