"""Engine and transactions.

One engine per database URL. SQLite runs in WAL mode with foreign keys on; its write
transactions start with BEGIN IMMEDIATE so two writers queue on the lock instead of failing
with "database is locked" when a read transaction tries to upgrade, and they take turns in a
`WriterQueue` first, so that a writer waiting for another wakes when it ends.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import select
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
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


class WriterQueue:
    """The turns of the write transactions on one SQLite file, in this process and across
    processes.

    SQLite grants its write lock to one connection at a time; the others wait in its busy
    handler, which sleeps 1, 2, 5, 10 … 100 ms between tries instead of waking when the lock
    is free. Under load one worker's writers waited a median 2.6 ms and a p99 108 ms for a
    lock held about a millisecond, and the lock sat free while they slept (bench/README.md,
    issue #14, session 15). Here a writer waits on a thread lock (this process's threads),
    then on `flock` of a file beside the database (other processes); both hand the turn on
    the moment a writer ends. SQLite's lock is still what guards the data: a writer that
    does not come through here (a migration, a shell) waits in the busy handler as before.
    """

    def __init__(self, lock_path: str | None) -> None:
        self._lock = threading.Lock()
        self._lock_path = lock_path
        self._file: int | None = None  # the lock file, opened on the first turn
        self._mine = threading.local()

    def _fd(self) -> int | None:
        if self._lock_path is None:  # an in-memory database: one process by definition
            return None
        if self._file is None:
            self._file = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        return self._file

    def _forked(self) -> None:
        # In a new child: the thread lock may have been held by a parent thread that the child
        # does not have, and flock() belongs to an open file, not a process (the file opened
        # before the fork would be one lock held by parent and child alike): start afresh.
        if self._file is not None:
            os.close(self._file)  # the parent's copy keeps its lock, if it holds one
        self._lock = threading.Lock()
        self._file = None
        self._mine = threading.local()

    def close(self) -> None:
        """Let go of the lock file (the engine is being disposed of)."""
        if self._file is not None:
            os.close(self._file)
            self._file = None

    @contextmanager
    def turn(self) -> Iterator[None]:
        """Hold the turn for one write transaction (blocks: call it off the event loop)."""
        if getattr(self._mine, "held", False):
            # A write opened inside this thread's own write: SQLite decides, as it did before.
            yield
            return
        with self._lock:
            fd = self._fd()
            if fd is not None:
                fcntl.flock(fd, fcntl.LOCK_EX)
            self._mine.held = True
            try:
                yield
            finally:
                self._mine.held = False
                if fd is not None:
                    fcntl.flock(fd, fcntl.LOCK_UN)


_writer_queues: dict[Engine, WriterQueue] = {}


def _after_fork_in_child() -> None:
    for queue in _writer_queues.values():
        queue._forked()


os.register_at_fork(after_in_child=_after_fork_in_child)


def _writers_turn(engine: Engine) -> AbstractContextManager[None]:
    queue = _writer_queues.get(engine)
    return queue.turn() if queue is not None else nullcontext()


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
        file = parsed.database if parsed.database and parsed.database != ":memory:" else None
        _writer_queues[engine] = WriterQueue(f"{file}-writers.lock" if file else None)
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
        queue = _writer_queues.pop(engine, None)
        if queue is not None:
            queue.close()
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
    """One write transaction: committed when the block ends, rolled back on any error.
    On SQLite it waits for its turn first (`WriterQueue`)."""
    engine = engine or get_engine()
    bind = engine.execution_options(arbibase_write=True)
    with _writers_turn(engine), Session(bind, expire_on_commit=False) as session, session.begin():
        yield session
