"""As in production: the app logs in as an ordinary role that owns its tables (not a superuser,
which the other tests use). The migration makes it a member of `authenticated`; requests then
run under RLS, and the owner itself (the elevated path) is not bound (RLS enabled, not forced).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest
from sqlalchemy import text

from arbibase_chat import db as dbmod
from arbibase_chat import migrations
from arbibase_chat.services import inbox, messages, reads
from arbibase_chat.services._tx import reading
from tests import factories
from tests.conftest import PG_ADMIN_URL, unavailable
from tests.rls.conftest import attempt

pytestmark = pytest.mark.postgres


@pytest.fixture
def owner_url() -> Iterator[str]:
    name = f"arbibase_app_{uuid.uuid4().hex[:10]}"
    try:
        admin = psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3)
    except psycopg.Error as exc:
        unavailable("PostgreSQL", exc)
    url = f"{PG_ADMIN_URL.rsplit('/', 1)[0].replace('postgres@', f'{name}@', 1)}/{name}"
    with admin:
        # CREATEROLE: lets the migration grant itself `authenticated` (a DBA may do it instead).
        admin.execute(f'CREATE ROLE "{name}" LOGIN CREATEROLE')
        admin.execute(f'CREATE DATABASE "{name}" OWNER "{name}"')
        try:
            yield url
        finally:
            dbmod.dispose_engine(url)
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.execute(f'DROP ROLE IF EXISTS "{name}"')


def test_an_owner_login_role_runs_requests_under_rls(owner_url: str) -> None:
    login = owner_url.rsplit("/", 1)[1]
    migrations.upgrade(owner_url)
    db = dbmod.get_engine(owner_url)
    a, b = factories.Pair(db), factories.Pair(db)
    sent = messages.send_message(user_id=a.operator.id, thread_id=a.thread_id, body="hi", db=db)
    reads.mark_read(user_id=a.owner.id, thread_id=a.thread_id, db=db)
    assert [t.id for t in inbox.list_threads(user_id=a.owner.id, db=db).items] == [a.thread_id]

    with reading(db, as_user=a.operator.id) as session:
        assert session.execute(text("select current_user")).scalar_one() == "authenticated"
    with reading(db, elevated="sign-in") as session:
        assert session.execute(text("select current_user")).scalar_one() == login
    params = {"t": str(b.thread_id), "m": str(sent.id)}
    other_pair = "select * from messaging_threads where id = :t"
    assert attempt(db, a.operator.id, other_pair, params) == 0
    assert attempt(db, None, other_pair, params) == 1  # the owner: not bound
    forged = "update messaging_messages set body = 'forged' where id = :m"
    assert attempt(db, a.owner.id, forged, params) == "42501"
