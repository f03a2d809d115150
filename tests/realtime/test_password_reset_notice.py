"""A password reset is an account change (issue #13): on PostgreSQL 0008's notice fires for
`users.password_changed_at` too (alembic 0012), so the user's open pages on every worker
check their session at once, and a session of the old password ends."""

from __future__ import annotations

import json

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from arbibase_chat.realtime import pg_listener
from arbibase_chat.realtime.pg_listener import libpq_dsn
from arbibase_chat.services import password_resets
from tests import factories

pytestmark = pytest.mark.postgres


def test_a_reset_is_announced_to_its_user_with_ids_only(pg_db: Engine) -> None:
    user, other = factories.user(pg_db), factories.user(pg_db)
    mail = password_resets.request_reset(email=user.email, client="192.0.2.5", db=pg_db)
    assert mail is not None
    with psycopg.connect(libpq_dsn(pg_db), autocommit=True) as conn:
        conn.execute(f'LISTEN "{pg_listener.CHANNEL}"')
        password_resets.reset_password(token=mail.token, new_password="new pass 12345", db=pg_db)
        # Any other write to users (the hash alone, by hand) announces nothing.
        with pg_db.begin() as sql:
            sql.execute(
                text("update users set password_hash = password_hash where id = :id"),
                {"id": other.id},
            )
        got = [json.loads(n.payload) for n in conn.notifies(timeout=0.5, stop_after=None)]
    assert got == [{"kind": "account", "user_id": str(user.id), "participants": [str(user.id)]}]
    assert mail.token not in json.dumps(got)
