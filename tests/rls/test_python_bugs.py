"""A bug in the Python authorization, simulated: the participant check, the history's
participant join and the inbox filter forget the user. On SQLite (no RLS) the bug leaks another pair's thread, which proves it is a
real bug; on PostgreSQL the database still shows op_a nothing of it and refuses every write.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from arbibase_chat import db as dbmod
from arbibase_chat import migrations
from arbibase_chat.models import MessagingMessage, MessagingThread, Participant
from arbibase_chat.services import (
    _access,
    attachments,
    inbox,
    messages,
    reads,
    threads,
    validation,
)
from arbibase_chat.services.errors import NotFound
from tests import files
from tests.conftest import _truncate
from tests.rls.conftest import World, build_world


def _forgetful_check(
    session: Session, *, user_id: uuid.UUID, thread_id: uuid.UUID, for_update: bool = False
) -> tuple[MessagingThread, Participant]:
    """The bug: the thread by id, any of its participant rows, whoever asks."""
    tid = validation.as_uuid(thread_id, field="thread_id")
    query = select(MessagingThread).where(col(MessagingThread.id) == tid)
    if for_update:
        query = query.with_for_update()
    thread = session.scalar(query)
    member = session.scalar(select(Participant).where(col(Participant.thread_id) == tid))
    if thread is None or member is None:
        raise NotFound(_access.THREAD_NOT_FOUND)
    return thread, member


def _forgetful_messages(user_id: uuid.UUID, thread_id: uuid.UUID) -> Any:
    """The bug: the thread's messages, whoever asks."""
    return select(MessagingMessage).where(col(MessagingMessage.thread_id) == thread_id)


def _forgetful_inbox(user_id: uuid.UUID) -> Any:
    """The bug: every participant row, not only the caller's."""
    return select(
        col(Participant.thread_id).label("thread_id"),
        col(Participant.role).label("role"),
        col(Participant.last_read_seq).label("last_read_seq"),
        col(Participant.last_message_at).label("last_message_at"),
        col(Participant.muted_until).label("muted_until"),
        col(Participant.archived_at).label("archived_at"),
    ).where(col(Participant.user_id).is_not(None))


@pytest.fixture
def buggy(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # Every service reaches threads through services/_access.py: one place to break.
    monkeypatch.setattr(_access, "participant_thread", _forgetful_check)
    monkeypatch.setattr(_access, "my_participations", _forgetful_inbox)
    monkeypatch.setattr(_access, "thread_messages", _forgetful_messages)
    yield


@pytest.fixture
def sqlite_world(sqlite_url: str, migrated: dict[str, str]) -> World:
    if "sqlite" not in migrated:
        migrations.upgrade(sqlite_url)
        migrated["sqlite"] = sqlite_url
    engine = dbmod.get_engine(sqlite_url)
    _truncate(engine)
    return build_world(engine)


def test_without_rls_the_bug_leaks(sqlite_world: World, buggy: None) -> None:
    w = sqlite_world
    history = messages.list_messages(user_id=w.op_a, thread_id=w.t_b, db=w.db)
    assert [m.body for m in history] == ["secret offer", "counter"]
    listed = inbox.list_threads(user_id=w.op_a, db=w.db)
    assert w.t_b in {t.id for t in listed.items}


@pytest.mark.postgres
def test_with_rls_the_bug_shows_nothing(world: World, buggy: None) -> None:
    w, db = world, world.db
    for tid in (w.t_b, w.t_x):
        with pytest.raises(NotFound):
            messages.list_messages(user_id=w.op_a, thread_id=tid, db=db)
        with pytest.raises(NotFound):
            inbox.get_thread(user_id=w.op_a, thread_id=tid, db=db)
        with pytest.raises(NotFound):
            attachments.check_upload(user_id=w.op_a, thread_id=tid, db=db)
    with pytest.raises(NotFound):
        messages.get_message(user_id=w.op_a, message_id=w.m_b1, db=db)
    with pytest.raises(NotFound):
        attachments.locate_attachment(user_id=w.op_a, attachment_id=w.f_b, db=db)
    listed = inbox.list_threads(user_id=w.op_a, db=db)
    assert {t.id for t in listed.items} <= {w.t_a}
    assert reads.unread_total(user_id=w.op_a, db=db) == 0
    assert [p.property_id for p in reads.unread_by_property(user_id=w.op_a, db=db)] == [w.prop_a]


@pytest.mark.postgres
def test_with_rls_the_bug_writes_nothing(world: World, buggy: None) -> None:
    w, db = world, world.db
    before = _snapshot(db, w.t_b)
    with pytest.raises(NotFound):
        messages.send_message(user_id=w.op_a, thread_id=w.t_b, body="injected", db=db)
    with pytest.raises(NotFound):
        reads.mark_read(user_id=w.op_a, thread_id=w.t_b, db=db)
    with pytest.raises(NotFound):
        threads.update_thread(
            user_id=w.op_a, thread_id=w.t_b, status="closed", add_tags=["pwned"], db=db
        )
    with pytest.raises(NotFound):
        attachments.store_attachment(
            user_id=w.op_a,
            thread_id=w.t_b,
            filename="x.pdf",
            source=io.BytesIO(files.pdf()),
            db=db,
        )
    assert _snapshot(db, w.t_b) == before


def _snapshot(db: Engine, thread_id: uuid.UUID) -> Any:
    """Everything about a thread, read on the elevated connection."""
    from sqlalchemy import text

    with dbmod.read_session(db) as session:
        return [
            session.execute(text(sql), {"t": thread_id}).all()
            for sql in (
                "select status, subject, last_seq, last_message_at from messaging_threads"
                " where id = :t",
                "select user_id, last_read_seq, last_message_at from messaging_participants"
                " where thread_id = :t order by user_id",
                "select id, body, seen_by::text from messaging_messages where thread_id = :t"
                " order by seq",
                "select tag from messaging_thread_tags where thread_id = :t order by tag",
                "select id, message_id from messaging_attachments where thread_id = :t order by id",
            )
        ]
