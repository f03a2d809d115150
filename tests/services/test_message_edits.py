"""services/message_edits.py: edit and delete my own text messages within the window (SQLite
and PostgreSQL; on PostgreSQL under RLS, with alembic 0009's trigger writing the audit)."""

from __future__ import annotations

import io
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlmodel import col

from arbibase_chat import db as dbmod
from arbibase_chat.config import get_settings
from arbibase_chat.models import MessagingMessage
from arbibase_chat.services import (
    accounts,
    attachments,
    events,
    message_edits,
    messages,
    offers,
    threads,
)
from arbibase_chat.services.errors import Invalid, NotFound, StepConflict, VerifyOwnership
from tests import factories, files
from tests.factories import Pair


def _send(pair: Pair, body: str = "first words", *, by: str = "operator"):
    sender = getattr(pair, by)
    return messages.send_message(
        user_id=sender.id,
        thread_id=pair.thread_id,
        body=body,
        db=pair.db,
    )


def _age(db, message_id: uuid.UUID, seconds: int) -> None:
    """Make a message older (the app's own connection, as a control would)."""
    with dbmod.write_session(db) as session:
        session.execute(
            update(MessagingMessage)
            .where(col(MessagingMessage.id) == message_id)
            .values(created_at=dbmod.utcnow() - timedelta(seconds=seconds))
        )


def _code(exc_info: pytest.ExceptionInfo[StepConflict]) -> str:
    return exc_info.value.code


def _edit(pair: Pair, message_id, body="better words", *, user=None):
    return message_edits.edit_message(
        user_id=(user or pair.operator).id,
        thread_id=pair.thread_id,
        message_id=message_id,
        body=body,
        db=pair.db,
    )


def _delete(pair: Pair, message_id, *, user=None):
    return message_edits.delete_message(
        user_id=(user or pair.operator).id,
        thread_id=pair.thread_id,
        message_id=message_id,
        db=pair.db,
    )


def _history(pair: Pair, user=None):
    return messages.list_messages(
        user_id=(user or pair.owner).id, thread_id=pair.thread_id, db=pair.db
    )


def test_an_edit_replaces_the_text_labels_it_and_keeps_the_old_text(db):
    pair = Pair(db)
    sent = _send(pair)
    seen: list[events.DomainEvent] = []
    unsubscribe = events.subscribe(seen.append)
    try:
        edited = _edit(pair, sent.id, "  better words  ")
    finally:
        unsubscribe()
    assert edited.body == "better words" and edited.edited_at is not None
    assert edited.deleted_at is None and edited.seq == sent.seq
    assert [m.body for m in _history(pair)] == ["better words"]
    assert [type(e) for e in seen] == [events.MessagesChanged]
    assert set(seen[0].participant_ids) == {pair.operator.id, pair.owner.id}
    _edit(pair, sent.id, "best words")
    audit = message_edits.list_edits(
        user_id=pair.owner.id, thread_id=pair.thread_id, message_id=sent.id, db=db
    )
    assert [(a.action, a.previous_body, a.editor_id) for a in audit] == [
        ("edit", "first words", pair.operator.id),
        ("edit", "better words", pair.operator.id),
    ]


def test_the_same_text_again_changes_nothing(db):
    pair = Pair(db)
    sent = _send(pair)
    again = _edit(pair, sent.id, "first words")
    assert again.edited_at is None
    assert (
        message_edits.list_edits(
            user_id=pair.operator.id, thread_id=pair.thread_id, message_id=sent.id, db=db
        )
        == []
    )


def test_delete_leaves_a_tombstone_for_both_and_keeps_the_text_for_audit(db):
    pair = Pair(db)
    sent = _send(pair, "regrettable")
    gone = _delete(pair, sent.id)
    assert gone.deleted_at is not None and gone.body is None and gone.metadata is None
    for user in (pair.operator, pair.owner):
        (shown,) = _history(pair, user)
        assert shown.id == sent.id and shown.deleted_at is not None and shown.body is None
    audit = message_edits.list_edits(
        user_id=pair.owner.id, thread_id=pair.thread_id, message_id=sent.id, db=db
    )
    assert [(a.action, a.previous_body) for a in audit] == [("delete", "regrettable")]
    with pytest.raises(StepConflict) as exc:
        _edit(pair, sent.id)
    assert _code(exc) == "message_deleted"
    with pytest.raises(StepConflict) as exc:
        _delete(pair, sent.id)
    assert _code(exc) == "message_deleted"


def test_a_deleted_file_is_hidden_from_both(db):
    pair = Pair(db)
    upload = attachments.store_attachment(
        user_id=pair.operator.id,
        thread_id=pair.thread_id,
        filename="lease.pdf",
        source=io.BytesIO(files.pdf()),
        db=db,
    )
    sent = messages.send_message(
        user_id=pair.operator.id, thread_id=pair.thread_id, body="", attachment_id=upload.id, db=db
    )
    with pytest.raises(StepConflict) as exc:
        _edit(pair, sent.id, "a caption")
    assert _code(exc) == "not_editable"
    gone = _delete(pair, sent.id)
    assert gone.attachment is None and gone.attachment_url is None
    for user in (pair.operator, pair.owner):
        assert _history(pair, user)[0].attachment is None
        with pytest.raises(NotFound):
            attachments.locate_attachment(user_id=user.id, attachment_id=upload.id, db=db)


def test_the_window_closes(db, monkeypatch):
    pair = Pair(db)
    sent = _send(pair)
    _age(db, sent.id, get_settings().message_edit_window_seconds + 5)
    for change in (lambda: _edit(pair, sent.id), lambda: _delete(pair, sent.id)):
        with pytest.raises(StepConflict) as exc:
            change()
        assert _code(exc) == "edit_window_closed"
    monkeypatch.setattr(get_settings(), "message_edit_window_seconds", 3600)
    if db.dialect.name == "postgresql":
        return  # the database's window (900 s by default) stays the second line
    assert _edit(pair, sent.id).body == "better words"


def test_a_shorter_window_from_the_setting(db, monkeypatch):
    pair = Pair(db)
    sent = _send(pair)
    _age(db, sent.id, 120)
    monkeypatch.setattr(get_settings(), "message_edit_window_seconds", 60)
    with pytest.raises(StepConflict) as exc:
        _edit(pair, sent.id)
    assert _code(exc) == "edit_window_closed"
    public = messages.get_message(user_id=pair.operator.id, message_id=sent.id, db=db)
    assert not message_edits.may_change(public, me=str(pair.operator.id))


def test_only_the_sender(db):
    pair = Pair(db)
    sent = _send(pair)
    for change in (
        lambda: _edit(pair, sent.id, user=pair.owner),
        lambda: _delete(pair, sent.id, user=pair.owner),
    ):
        with pytest.raises(StepConflict) as exc:
            change()
        assert _code(exc) == "not_sender"
    assert _history(pair)[0].body == "first words"


def test_a_stranger_learns_nothing(db):
    pair = Pair(db)
    other = Pair(db)
    sent = _send(pair)
    theirs = messages.send_message(
        user_id=other.operator.id, thread_id=other.thread_id, body="elsewhere", db=db
    )
    stranger = other.operator
    calls = [
        lambda: _edit(pair, sent.id, user=stranger),
        lambda: _delete(pair, sent.id, user=stranger),
        lambda: _edit(pair, uuid.uuid4(), user=pair.operator),
        # My own message of another thread, named with this thread: not found here either.
        lambda: message_edits.edit_message(
            user_id=stranger.id, thread_id=pair.thread_id, message_id=theirs.id, body="x", db=db
        ),
        lambda: message_edits.delete_message(
            user_id=pair.operator.id, thread_id=pair.thread_id, message_id=theirs.id, db=db
        ),
    ]
    answers = set()
    for call in calls:
        with pytest.raises(NotFound) as exc:
            call()
        answers.add(exc.value.message)
    assert len(answers) <= 2  # "thread not found" / "message not found", never more
    assert _history(pair)[0].body == "first words"


def test_offers_and_system_messages_are_not_editable(db):
    operator = factories.user(db, "operator")
    owner = factories.user(db, "owner")
    prop = factories.listing(db, owner)
    sent = offers.send_offer(
        user_id=operator.id,
        property_id=prop.id,
        terms={
            "monthlyRent": 2400,
            "leaseMonths": 12,
            "startDate": (dbmod.utcnow().date() + timedelta(days=30)).isoformat(),
        },
        db=db,
    )
    offers.withdraw_offer(user_id=operator.id, offer_id=sent.offer_id, db=db)
    history = messages.list_messages(user_id=operator.id, thread_id=sent.thread_id, db=db)
    kinds = {m.kind: m for m in history}
    assert {"offer", "system"} <= set(kinds)
    for kind in ("offer", "system"):
        for change in (
            lambda m=kinds[kind]: message_edits.edit_message(
                user_id=operator.id, thread_id=sent.thread_id, message_id=m.id, body="x", db=db
            ),
            lambda m=kinds[kind]: message_edits.delete_message(
                user_id=operator.id, thread_id=sent.thread_id, message_id=m.id, db=db
            ),
        ):
            with pytest.raises(StepConflict) as exc:
                change()
            assert _code(exc) == "not_editable", kind


def test_an_unverified_owner_is_refused_like_a_send(db):
    pair = Pair(db)
    sent = _send(pair, "mine", by="owner")
    accounts.set_verified(user_id=pair.owner.id, verified=False, db=db)
    with pytest.raises(VerifyOwnership):
        _edit(pair, sent.id, user=pair.owner)
    with pytest.raises(VerifyOwnership):
        _delete(pair, sent.id, user=pair.owner)


def test_a_closed_thread_is_not_edited(db):
    pair = Pair(db)
    sent = _send(pair)
    threads.update_thread(
        user_id=pair.operator.id, thread_id=pair.thread_id, status="closed", db=db
    )
    with pytest.raises(StepConflict) as exc:
        _edit(pair, sent.id)
    assert _code(exc) == "thread_closed"


@pytest.mark.parametrize("body", ["", "   ", None, 7, "x" * 10_001])
def test_an_edit_needs_text(db, body):
    pair = Pair(db)
    sent = _send(pair)
    with pytest.raises(Invalid):
        _edit(pair, sent.id, body)


@pytest.mark.parametrize("bad", ["nope", "", None, 3])
def test_bad_ids_are_invalid(db, bad):
    pair = Pair(db)
    sent = _send(pair)
    with pytest.raises(Invalid):
        message_edits.edit_message(
            user_id=pair.operator.id, thread_id=bad, message_id=sent.id, body="x", db=db
        )
    with pytest.raises(Invalid):
        message_edits.delete_message(
            user_id=pair.operator.id, thread_id=pair.thread_id, message_id=bad, db=db
        )
