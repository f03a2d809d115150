"""Postgres NOTIFY: what the triggers announce, and the listener that feeds the hub from them.

Real PostgreSQL only: the notices come from the triggers of alembic 0003, read by a real
LISTEN connection; rows are written by the services or by plain SQL, as any client would.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator, Callable
from types import SimpleNamespace
from typing import Any

import psycopg
import pytest
from sqlalchemy.engine import Engine

from arbibase_chat import aio
from arbibase_chat.realtime import hub as hub_module
from arbibase_chat.realtime import pg_listener
from arbibase_chat.realtime.hub import Hub
from arbibase_chat.realtime.pg_listener import PgListener, libpq_dsn
from arbibase_chat.realtime.updates import Resync, UserUpdate
from arbibase_chat.services import events, message_edits, messages, mutes, reads, threads
from tests.factories import Pair
from tests.realtime.conftest import Recorder

pytestmark = pytest.mark.postgres


class Notices:
    """A LISTEN connection of the test's own, to see exactly what the triggers send."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.conn = conn

    def drain(self, wait: float = 0.3) -> list[dict[str, Any]]:
        got = [json.loads(n.payload) for n in self.conn.notifies(timeout=wait, stop_after=None)]
        return got


@pytest.fixture
def notices(pg_db: Engine) -> Any:
    with psycopg.connect(libpq_dsn(pg_db), autocommit=True) as conn:
        conn.execute(f'LISTEN "{pg_listener.CHANNEL}"')
        yield Notices(conn)


def _kinds(got: list[dict[str, Any]]) -> list[str]:
    return [n["kind"] for n in got]


def test_every_kind_of_change_is_announced_with_ids_only(pg_db: Engine, notices: Notices):
    pair = Pair(pg_db)
    created = notices.drain()
    assert _kinds(created) == ["thread"]
    assert set(created[0]["participants"]) == {str(pair.operator.id), str(pair.owner.id)}

    secret = "the rent is 2,400 and the code is 7731"
    sent = messages.send_message(
        user_id=pair.operator.id, thread_id=pair.thread_id, body=secret, db=pg_db
    )
    got = notices.drain()
    # The sender's cursor stepping onto their own message is not news.
    assert _kinds(got) == ["message"]
    assert got[0] == {
        "kind": "message",
        "thread_id": str(pair.thread_id),
        "message_id": str(sent.id),
        "seq": sent.seq,
        "sender_id": str(pair.operator.id),
        "participants": [str(pair.operator.id), str(pair.owner.id)],
    }
    assert "2,400" not in json.dumps(got)

    reads.mark_read(user_id=pair.owner.id, thread_id=pair.thread_id, db=pg_db)
    got = notices.drain()
    # The cursor's notice only: the seen_by rewrite of the passed messages is not announced.
    assert _kinds(got) == ["read"]
    assert got[0]["user_id"] == str(pair.owner.id) and got[0]["seq"] == sent.seq

    threads.update_thread(
        user_id=pair.owner.id, thread_id=pair.thread_id, status="archived", db=pg_db
    )
    assert _kinds(notices.drain()) == ["thread"]
    threads.update_thread(
        user_id=pair.owner.id, thread_id=pair.thread_id, add_tags=["lease", "urgent"], db=pg_db
    )
    assert _kinds(notices.drain()) == ["thread"]  # one notice for the statement, not per tag
    threads.update_thread(
        user_id=pair.owner.id, thread_id=pair.thread_id, remove_tags=["urgent"], db=pg_db
    )
    assert _kinds(notices.drain()) == ["thread"]


def test_a_mute_is_announced_to_the_muter_alone(pg_db: Engine, notices: Notices):
    pair = Pair(pg_db)
    notices.drain()
    mutes.set_mute(user_id=pair.owner.id, thread_id=pair.thread_id, duration="1d", db=pg_db)
    assert notices.drain() == [
        {
            "kind": "thread",
            "thread_id": str(pair.thread_id),
            "participants": [str(pair.owner.id)],
        }
    ]
    # Setting the same value again is not news; unmuting is.
    with pg_db.begin() as conn:
        conn.exec_driver_sql(
            "update messaging_participants set muted_until = muted_until where user_id = %(u)s",
            {"u": pair.owner.id},
        )
    assert notices.drain() == []
    mutes.set_mute(user_id=pair.owner.id, thread_id=pair.thread_id, duration=None, db=pg_db)
    assert _kinds(notices.drain()) == ["thread"]


def test_an_archive_is_announced_to_the_archiver_alone(pg_db: Engine, notices: Notices):
    pair = Pair(pg_db)
    notices.drain()
    threads.update_thread(
        user_id=pair.owner.id, thread_id=pair.thread_id, status="archived", db=pg_db
    )
    assert notices.drain() == [
        {
            "kind": "thread",
            "thread_id": str(pair.thread_id),
            "participants": [str(pair.owner.id)],
        }
    ]
    # Archiving again is not news; a close is, to both (with its message).
    threads.update_thread(
        user_id=pair.owner.id, thread_id=pair.thread_id, status="archived", db=pg_db
    )
    assert notices.drain() == []
    threads.update_thread(
        user_id=pair.operator.id, thread_id=pair.thread_id, status="closed", db=pg_db
    )
    got = notices.drain()
    assert "message" in _kinds(got) and "thread" in _kinds(got)


def test_content_edits_are_announced_and_rolled_back_writes_are_not(
    pg_db: Engine, notices: Notices
):
    pair = Pair(pg_db)
    sent = messages.send_message(
        user_id=pair.owner.id, thread_id=pair.thread_id, body="typo", db=pg_db
    )
    notices.drain()
    with pg_db.begin() as conn:
        conn.exec_driver_sql(
            "update messaging_messages set body = 'fixed', edited_at = now() where id = %(id)s",
            {"id": sent.id},
        )
    got = notices.drain()
    assert _kinds(got) == ["messages_changed"]
    assert got[0]["thread_id"] == str(pair.thread_id)

    with contextlib.suppress(RuntimeError), pg_db.begin() as conn:
        conn.exec_driver_sql(
            "update messaging_messages set body = 'never' where id = %(id)s", {"id": sent.id}
        )
        raise RuntimeError("roll back")
    assert notices.drain() == []


def test_the_services_edit_and_delete_are_announced_once_each(pg_db: Engine, notices: Notices):
    """services/message_edits.py under RLS: 0003's trigger says `messages_changed` (ids only;
    the audit row 0009's trigger writes is not news)."""
    pair = Pair(pg_db)
    secret = "the gate code is 4410"
    sent = messages.send_message(
        user_id=pair.operator.id, thread_id=pair.thread_id, body=secret, db=pg_db
    )
    notices.drain()
    message_edits.edit_message(
        user_id=pair.operator.id,
        thread_id=pair.thread_id,
        message_id=sent.id,
        body="the gate code is 4411",
        db=pg_db,
    )
    got = notices.drain()
    assert _kinds(got) == ["messages_changed"]
    assert set(got[0]["participants"]) == {str(pair.operator.id), str(pair.owner.id)}
    message_edits.delete_message(
        user_id=pair.operator.id, thread_id=pair.thread_id, message_id=sent.id, db=pg_db
    )
    got = notices.drain()
    assert _kinds(got) == ["messages_changed"]
    assert "4410" not in json.dumps(got) and "4411" not in json.dumps(got)


# --- the listener feeding a hub ------------------------------------------------------------


@contextlib.asynccontextmanager
async def listening_hub(pg_db: Engine) -> AsyncIterator[tuple[Hub, Recorder, PgListener]]:
    """A hub fed only by the database (as on Postgres in production), with its listener."""
    hub = Hub(db=pg_db)
    recorder = Recorder()
    stop = hub.start(recorder, local_events=False)
    listener = PgListener(libpq_dsn(pg_db), hub)
    tasks = [asyncio.create_task(hub.run()), asyncio.create_task(listener.run())]
    try:
        async with asyncio.timeout(5):
            await listener.listening.wait()
        yield hub, recorder, listener
    finally:
        stop()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def plain_sql_message(pg_db: Engine, pair: Pair, body: str) -> uuid.UUID:
    """Insert a message the way another Supabase client would: plain SQL, no app code."""
    message_id = uuid.uuid4()
    with pg_db.begin() as conn:
        conn.exec_driver_sql(
            """
            with t as (
              update messaging_threads set last_seq = last_seq + 1, last_message_at = now()
              where id = %(thread)s returning last_seq
            )
            insert into messaging_messages
              (id, thread_id, sender_id, body, seq, seen_by, kind, created_at)
            select %(id)s, %(thread)s, %(sender)s, %(body)s, t.last_seq, '[]', 'text', now()
            from t
            """,
            {"id": message_id, "thread": pair.thread_id, "sender": pair.owner.id, "body": body},
        )
    return message_id


def _messages(updates: list[Any]) -> list[str | None]:
    return [u.message.body for u in updates if isinstance(u, UserUpdate) and u.message is not None]


async def _eventually(check: Callable[[], bool], timeout: float = 5) -> None:
    async with asyncio.timeout(timeout):
        while not check():
            await asyncio.sleep(0.02)


async def test_listener_delivers_app_and_plain_sql_writes_once(pg_db: Engine):
    pair = Pair(pg_db)
    async with listening_hub(pg_db) as (hub, rec, _):
        hub.register("owner-tab", pair.owner.id)
        hub.register("operator-tab", pair.operator.id)
        await aio.call(
            messages.send_message,
            user_id=pair.operator.id,
            thread_id=pair.thread_id,
            body="from the app",
            db=pg_db,
        )
        await asyncio.to_thread(plain_sql_message, pg_db, pair, "from plain SQL")
        await _eventually(lambda: len(_messages(rec.to("operator-tab"))) == 2)
        await hub.drained()
        assert _messages(rec.to("owner-tab")) == ["from the app", "from plain SQL"]
        # The plain-SQL message is the owner's: one unread for the operator, fresh inbox row.
        operator_last = rec.to("operator-tab")[-1]
        assert isinstance(operator_last, UserUpdate) and operator_last.unread_total == 1
        assert operator_last.thread is not None and operator_last.thread.unread_count == 1
        # (The last push may be the total alone: a fold that may count an event twice has
        # the total read again.)
        owner_last = [u for u in rec.to("owner-tab") if getattr(u, "message", None)][-1]
        assert isinstance(owner_last, UserUpdate)

        # The same message heard twice (bus and listener around a reconnect) is routed once.
        sent = await aio.call(
            messages.get_message,
            user_id=pair.owner.id,
            message_id=(owner_last.message.id if owner_last.message else None),
            db=pg_db,
        )
        before = len(rec.got)
        hub.receive(
            events.MessageCreated(
                thread_id=pair.thread_id,
                message_id=sent.id,
                seq=sent.seq,
                sender_id=sent.sender_id,
                participant_ids=(pair.operator.id, pair.owner.id),
            )
        )
        await hub.drained()
        assert len(rec.got) == before


async def test_a_message_committed_here_is_not_read_back_when_its_notice_comes(
    pg_db: Engine, monkeypatch: pytest.MonkeyPatch
):
    read_back: list[uuid.UUID] = []

    def counted_get_message(**kw: Any) -> Any:
        read_back.append(kw["message_id"])
        return messages.get_message(**kw)

    monkeypatch.setattr(hub_module, "messages", SimpleNamespace(get_message=counted_get_message))
    pair = Pair(pg_db)
    hub = Hub(db=pg_db)
    rec = Recorder()
    stop = hub.start(rec, local_events=False)  # as on Postgres: notices, ids only
    task = asyncio.create_task(hub.run())
    try:
        hub.register("owner-tab", pair.owner.id)
        mine = await aio.call(
            messages.send_message,
            user_id=pair.operator.id,
            thread_id=pair.thread_id,
            body="committed in this worker",
            db=pg_db,
        )
        outsider = await asyncio.to_thread(plain_sql_message, pg_db, pair, "from elsewhere")
        for message_id, seq, sender in (
            (mine.id, mine.seq, pair.operator.id),
            (outsider, mine.seq + 1, pair.owner.id),
        ):
            # What the listener makes of each notice (the race with the commit aside).
            hub.receive(
                events.MessageCreated(
                    thread_id=pair.thread_id,
                    message_id=message_id,
                    seq=seq,
                    sender_id=sender,
                    participant_ids=(pair.operator.id, pair.owner.id),
                )
            )
        await hub.drained()
        assert _messages(rec.to("owner-tab")) == ["committed in this worker", "from elsewhere"]
        assert read_back == [outsider]  # only the message committed elsewhere was read
    finally:
        stop()
        task.cancel()


async def test_a_notice_that_beats_its_commit_back_still_needs_no_read(
    pg_db: Engine, monkeypatch: pytest.MonkeyPatch
):
    """The NOTIFY of a commit can reach the listener before the committing thread is back
    from COMMIT (seen in 2 of 3 idle sends): the message is kept for it before the commit."""
    import threading

    from arbibase_chat.services import _tx

    pair = Pair(pg_db)
    read_back: list[uuid.UUID] = []

    def counted_get_message(**kw: Any) -> Any:
        read_back.append(kw["message_id"])
        return messages.get_message(**kw)

    monkeypatch.setattr(hub_module, "messages", SimpleNamespace(get_message=counted_get_message))
    back_from_commit = threading.Event()
    real_publish = _tx.domain_events.publish

    def publish_late(outbox: Any) -> None:
        assert back_from_commit.wait(10), "the notice never came"
        real_publish(outbox)

    monkeypatch.setattr(_tx.domain_events, "publish", publish_late)
    async with listening_hub(pg_db) as (hub, rec, _):
        hub.register("owner-tab", pair.owner.id)
        sending = asyncio.ensure_future(
            aio.call(
                messages.send_message,
                user_id=pair.operator.id,
                thread_id=pair.thread_id,
                body="fast notice",
                db=pg_db,
            )
        )
        await rec.wait_for(1)  # routed while the sender's thread is still held
        back_from_commit.set()
        sent = await sending
        await hub.drained()
        assert _messages(rec.to("owner-tab")) == ["fast notice"]
        assert read_back == []
        assert sent.body == "fast notice"


async def test_listener_reconnects_and_sessions_catch_up(pg_db: Engine):
    pair = Pair(pg_db)
    async with listening_hub(pg_db) as (hub, rec, listener):
        hub.register("owner-tab", pair.owner.id)
        # Cut the listener's connection (as a restart or a network cut would) and write while
        # nobody listens: that notice is lost, so every session must be told to catch up.
        with pg_db.begin() as conn:
            killed = conn.exec_driver_sql(
                "select count(pg_terminate_backend(pid)) from pg_stat_activity "
                "where application_name = %(name)s and datname = current_database()",
                {"name": pg_listener.APPLICATION_NAME},
            ).scalar_one()
        assert killed == 1
        await asyncio.to_thread(plain_sql_message, pg_db, pair, "while nobody listened")
        await _eventually(lambda: any(isinstance(u, Resync) for u in rec.to("owner-tab")))
        assert listener.reconnects >= 1
        assert listener.listening.is_set()
        # Live again after the reconnect.
        await asyncio.to_thread(plain_sql_message, pg_db, pair, "after the reconnect")
        await _eventually(lambda: "after the reconnect" in _messages(rec.to("owner-tab")))


def test_malformed_or_unknown_notices_are_ignored():
    assert (
        pg_listener.parse(
            json.dumps({"kind": "future-kind", "thread_id": str(uuid.uuid4()), "participants": []})
        )
        is None
    )
    with pytest.raises((KeyError, ValueError)):
        pg_listener.parse(json.dumps({"kind": "message"}))
