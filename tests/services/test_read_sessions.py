"""Read transactions (db.read_session, services/_tx.reading): they never write, and on
PostgreSQL a read path that runs often reaches a prepared statement.

psycopg forgets every prepared statement of a connection at each ROLLBACK; read sessions
used to end with one, so no read query was ever prepared and Postgres planned each inbox page
afresh (under RLS a plan that hashed all 10,000 threads of the bench's user: 7 ms, against
1.4 ms prepared).
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
from sqlalchemy import create_engine, select, text, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlmodel import col

from arbibase_chat import db as dbmod
from arbibase_chat.models import User
from arbibase_chat.services import inbox
from tests import factories


def test_a_read_session_cannot_write(db: Engine) -> None:
    pair = factories.Pair(db)
    rename = update(User).where(col(User.id) == pair.operator.id).values(display_name="x")
    if db.dialect.name == "postgresql":
        with pytest.raises(DBAPIError) as caught, dbmod.read_session(db) as session:
            session.execute(rename)
        assert getattr(caught.value.orig, "sqlstate", None) == "25006"  # read-only transaction
    else:  # SQLite: what a read session did it undoes (no READ ONLY there)
        with dbmod.read_session(db) as session:
            session.execute(rename)
            session.rollback()
    with dbmod.read_session(db) as session:
        name = session.scalar(
            select(col(User.display_name)).where(col(User.id) == pair.operator.id)
        )
    assert name == pair.operator.display_name


@pytest.mark.parametrize("db", ["postgres"], indirect=True)  # prepared statements: psycopg's
def test_a_read_path_run_often_is_prepared_on_its_connection(db: Engine) -> None:
    pair = factories.Pair(db)
    # One connection, so every run below meets the same psycopg prepared-statement cache.
    one = create_engine(db.url, pool_size=1, max_overflow=0)
    try:
        for _ in range(8):  # psycopg prepares a query at its 5th run (prepare_threshold)
            page = inbox.list_threads(user_id=pair.operator.id, db=one)
            assert [item.id for item in page.items] == [pair.thread_id]
        with one.connect() as conn:
            prepared = conn.execute(
                text("select statement from pg_prepared_statements where statement ilike :q"),
                {"q": "%from messaging_participants%"},
            ).all()
        assert prepared, "the inbox query was never prepared: read sessions end in ROLLBACK?"
    finally:
        one.dispose()


def test_reading_as_a_user_still_reads_after_the_change(db: Engine) -> None:
    pair = factories.Pair(db)
    stranger = uuid.uuid4()
    assert inbox.list_threads(user_id=stranger, db=db).items == []
    assert [t.id for t in inbox.list_threads(user_id=pair.owner.id, db=db).items] == [
        pair.thread_id
    ]


@pytest.mark.parametrize("db", ["postgres"], indirect=True)  # the pool's liveness check
def test_a_pooled_connection_is_pinged_only_when_its_server_has_hung_up(
    db: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No `SELECT 1` before every transaction (pool_pre_ping's round trip, one of a read's
    five), yet a connection the server ended (a restart, pg_terminate_backend) is replaced
    before a request meets it."""
    engine = dbmod._create(db.url.render_as_string(hide_password=False))
    pings: list[Any] = []
    real_ping = engine.dialect.do_ping

    def counted(dbapi_connection: Any) -> bool:
        pings.append(dbapi_connection)
        return real_ping(dbapi_connection)

    monkeypatch.setattr(engine.dialect, "do_ping", counted)
    try:
        with engine.connect() as conn:  # the pool's first connection, then back to the pool
            first_pid = conn.execute(text("select pg_backend_pid()")).scalar_one()
        for _ in range(3):
            with dbmod.read_session(engine) as session:
                assert session.execute(text("select pg_backend_pid()")).scalar_one() == first_pid
        assert pings == [], "a healthy connection was pinged"
        with db.connect() as admin:
            admin.execute(text("select pg_terminate_backend(:pid)"), {"pid": first_pid})
            admin.commit()
        for _ in range(50):  # the FATAL and the close reach the client's socket
            if not dbmod._quiet(engine.pool._pool.queue[0].dbapi_connection):  # type: ignore[attr-defined]
                break
            time.sleep(0.02)
        with dbmod.read_session(engine) as session:
            pid = session.execute(text("select pg_backend_pid()")).scalar_one()
        assert pid != first_pid and len(pings) == 1
    finally:
        engine.dispose()
