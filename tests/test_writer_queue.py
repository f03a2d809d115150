"""SQLite writers take turns (`db.WriterQueue`): a writer that waits for another is let in
when that one ends, by the queue, never by SQLite's busy handler (which sleeps 1, 2, 5 …
100 ms between tries and let the lock sit free under load: bench/README.md, issue #14,
session 15).

The engines below answer "database is locked" at once instead of waiting (busy_timeout 0):
a write that reached SQLite's lock while another held it fails, so each test fails without
the queue."""

from __future__ import annotations

import multiprocessing
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.engine import Engine

from arbibase_chat import db as dbmod


def _never_waits_in_sqlite(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.execute("PRAGMA busy_timeout=0")


@pytest.fixture
def url(tmp_path: Path) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'queue.db'}"
    engine = dbmod.get_engine(url)
    event.listen(engine, "connect", _never_waits_in_sqlite)  # after the app's own pragmas
    with dbmod.write_session(engine) as session:
        session.execute(text("create table entries (who text)"))
    yield url
    dbmod.dispose_engine(url)


def _entries(engine: Engine) -> list[str]:
    with dbmod.read_session(engine) as session:
        return sorted(session.execute(text("select who from entries")).scalars())


def test_a_writer_waits_for_its_turn_in_the_queue_not_in_sqlite(url: str) -> None:
    engine = dbmod.get_engine(url)
    holding, release = threading.Event(), threading.Event()
    failures: list[BaseException] = []

    def first() -> None:
        with dbmod.write_session(engine) as session:
            session.execute(text("insert into entries values ('first')"))
            holding.set()
            release.wait(5)

    def second() -> None:
        holding.wait(5)
        try:
            with dbmod.write_session(engine) as session:
                session.execute(text("insert into entries values ('second')"))
        except BaseException as exc:  # "database is locked" without the queue
            failures.append(exc)

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    holding.wait(5)
    time.sleep(0.2)  # the second writer is waiting by now
    release.set()
    for thread in threads:
        thread.join(10)
    assert failures == []
    assert _entries(engine) == ["first", "second"]


def test_a_writer_in_another_process_waits_for_its_turn(url: str) -> None:
    engine = dbmod.get_engine(url)
    other = textwrap.dedent(
        f"""
        from sqlalchemy import event, text
        from arbibase_chat import db
        engine = db.get_engine({url!r})
        event.listen(engine, "connect", lambda c, _r: c.execute("PRAGMA busy_timeout=0"))
        print("waiting", flush=True)
        with db.write_session(engine) as session:
            session.execute(text("insert into entries values ('other process')"))
        """
    )
    with dbmod.write_session(engine) as session:
        session.execute(text("insert into entries values ('this process')"))
        proc = subprocess.Popen(
            [sys.executable, "-c", other], stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        assert proc.stdout is not None
        assert proc.stdout.readline() == b"waiting\n"
        time.sleep(0.3)  # the other process is at its turn by now
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err.decode()
    assert _entries(engine) == ["other process", "this process"]


def _take_turn(queue: dbmod.WriterQueue, took_at: Any) -> None:
    with queue.turn():
        took_at.value = time.monotonic()


def test_a_forked_child_has_a_turn_of_its_own(tmp_path: Path) -> None:
    """flock() belongs to an open file: a child forked while its parent holds the turn must
    not find itself holding it too (nor be stuck on the parent's thread lock)."""
    queue = dbmod.WriterQueue(str(tmp_path / "db-writers.lock"))
    dbmod._writer_queues[object()] = queue  # type: ignore[index]  # reached by the fork hook
    fork = multiprocessing.get_context("fork")
    took_at = fork.Value("d", 0.0)
    try:
        with queue.turn():
            child = fork.Process(target=_take_turn, args=(queue, took_at))
            child.start()
            time.sleep(0.3)
            released_at = time.monotonic()
        child.join(10)
        assert child.exitcode == 0
        assert took_at.value >= released_at
    finally:
        for key in [k for k, v in dbmod._writer_queues.items() if v is queue]:
            del dbmod._writer_queues[key]


def test_a_write_inside_a_write_of_the_same_thread_does_not_wait_for_itself(url: str) -> None:
    engine = dbmod.get_engine(url)
    queue = dbmod._writer_queues[engine]
    with queue.turn(), queue.turn():  # returns at once: no deadlock on its own turn
        assert queue._mine.held  # and the outer turn is still this thread's
    assert not queue._mine.held
    with dbmod.write_session(engine) as session:
        session.execute(text("insert into entries values ('after')"))
    assert _entries(engine) == ["after"]


def test_disposing_of_the_engine_lets_go_of_the_lock_file(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'disposed.db'}"
    engine = dbmod.get_engine(url)
    with dbmod.write_session(engine) as session:
        session.execute(text("select 1"))
    queue = dbmod._writer_queues[engine]
    assert queue._file is not None
    dbmod.dispose_engine(url)
    assert engine not in dbmod._writer_queues
    assert queue._file is None  # closed: tests dispose of hundreds of engines
