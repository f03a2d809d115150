"""Engine and transactions.

One engine per database URL. SQLite runs in WAL mode with foreign keys on; its write
transactions start with BEGIN IMMEDIATE so two writers queue on the lock instead of failing
with "database is locked" when a read transaction tries to upgrade.
"""

from __future__ import annotations

import json
import logging
import select
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, event
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.types import TypeDecorator
from sqlmodel import Session, create_engine

from arbibase_chat.config import get_settings

log = logging.getLogger(__name__)

_engines: dict[str, Engine] = {}
_engines_lock = threading.Lock()


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """timestamptz on Postgres; on SQLite an ISO string that comes back UTC-aware."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: only UTC-aware datetimes are stored")
        value = value.astimezone(UTC)
        # SQLite compares the stored text, so store one fixed UTC form without an offset.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not pysqlite, decide where transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        write = conn.get_execution_options().get("arbibase_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def _quiet(dbapi_connection: Any) -> bool:
    """An idle psycopg connection with nothing to read is alive as far as a ping could tell:
    a server that restarts or ends the session sends its FATAL and closes the socket, which
    makes it readable. Nothing else arrives unasked on the pool's connections (none LISTENs:
    realtime/pg_listener.py has its own)."""
    if dbapi_connection.closed or dbapi_connection.broken:
        return False
    readable, _, _ = select.select([dbapi_connection.fileno()], [], [], 0)
    return not readable


def _configure_postgres(engine: Engine) -> None:
    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        # pool_pre_ping's safety without its round trip on every transaction (one of a read's
        # five): ping only a connection whose socket has something to say; a dead one is
        # replaced by the pool (DisconnectionError: it reconnects and checks out again).
        if _quiet(dbapi_connection):
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as exc:
            raise DisconnectionError(f"pooled connection is gone: {exc}") from exc


def get_engine(url: str | None = None) -> Engine:
    url = url or get_settings().database_url
    with _engines_lock:
        engine = _engines.get(url)
        if engine is None:
            engine = _create(url)
            _engines[url] = engine
        return engine


def load_json(text: str | bytes) -> Any:
    """JSON columns as read. A stored value json cannot load (a number of over 4,300 digits,
    nesting past the recursion limit, non-JSON text in SQLite) reads as None with a log line:
    one such row must not fail every page that includes it."""
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        log.warning("unreadable JSON value (%d bytes) read as null", len(text))
        return None


def _create(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            from pathlib import Path

            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 10},
            pool_size=8,
            json_deserializer=load_json,
        )
        _configure_sqlite(engine)
        return engine
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        url = parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    psycopg = make_url(url).get_driver_name() == "psycopg"
    engine = create_engine(
        url, pool_size=10, max_overflow=10, pool_pre_ping=not psycopg, json_deserializer=load_json
    )
    if psycopg:
        _configure_postgres(engine)
    return engine


def dispose_engine(url: str) -> None:
    with _engines_lock:
        engine = _engines.pop(url, None)
    if engine is not None:
        engine.dispose()


@contextmanager
def read_session(engine: Engine | None = None) -> Iterator[Session]:
    """A read-only unit of work: one transaction, READ ONLY on PostgreSQL, ended by a commit.

    Not a rollback: psycopg forgets every prepared statement of the connection at each
    ROLLBACK, so a read path would never get past its fifth run to a prepared statement and
    Postgres would plan every inbox page afresh (3.7 ms, and under RLS a plan that hashes all
    the caller's threads: 7 ms against 1.4 ms; bench/README.md "session 12"). READ ONLY keeps
    what a rollback guaranteed: a read can never write.
    """
    bind = engine or get_engine()
    with Session(bind, expire_on_commit=False) as session:
        if bind.dialect.name == "postgresql":
            session.connection(execution_options={"postgresql_readonly": True})
        yield session
        session.commit()


@contextmanager
def write_session(engine: Engine | None = None) -> Iterator[Session]:
    """One write transaction: committed when the block ends, rolled back on any error."""
    bind = (engine or get_engine()).execution_options(arbibase_write=True)
    with Session(bind, expire_on_commit=False) as session, session.begin():
        yield session
