"""A stranger gets NotFound for another pair's thread on every read and write, exactly as for
an id that does not exist; and nothing changes."""

import uuid

import pytest

from arbibase_chat.services import inbox, messages, reads, threads
from arbibase_chat.services.errors import NotFound
from tests import factories
from tests.factories import Pair

CALLS = {
    "get_thread": lambda u, t, m, db: inbox.get_thread(user_id=u, thread_id=t, db=db),
    "list_messages": lambda u, t, m, db: messages.list_messages(user_id=u, thread_id=t, db=db),
    "list_messages_before": lambda u, t, m, db: messages.list_messages(
        user_id=u, thread_id=t, before=m, db=db
    ),
    "send_message": lambda u, t, m, db: messages.send_message(
        user_id=u, thread_id=t, body="let me in", db=db
    ),
    "send_retry": lambda u, t, m, db: messages.send_message(
        user_id=u, thread_id=t, body="hi", client_msg_id="k1", db=db
    ),
    "mark_read": lambda u, t, m, db: reads.mark_read(user_id=u, thread_id=t, db=db),
    "mark_read_upto": lambda u, t, m, db: reads.mark_read(
        user_id=u, thread_id=t, up_to_message_id=m, db=db
    ),
    "archive": lambda u, t, m, db: threads.update_thread(
        user_id=u, thread_id=t, status="archived", db=db
    ),
    "close": lambda u, t, m, db: threads.update_thread(
        user_id=u, thread_id=t, status="closed", db=db
    ),
    "reopen": lambda u, t, m, db: threads.update_thread(
        user_id=u, thread_id=t, status="active", db=db
    ),
    "rename": lambda u, t, m, db: threads.update_thread(
        user_id=u, thread_id=t, subject="mine now", db=db
    ),
    "add_tag": lambda u, t, m, db: threads.update_thread(
        user_id=u, thread_id=t, add_tags=["x"], db=db
    ),
    "remove_tag": lambda u, t, m, db: threads.update_thread(
        user_id=u, thread_id=t, remove_tags=["Offer Sent"], db=db
    ),
}


@pytest.mark.parametrize("call", sorted(CALLS))
def test_stranger_gets_not_found_and_changes_nothing(db, call):
    pair = Pair(db)
    first = messages.send_message(
        user_id=pair.operator.id,
        thread_id=pair.thread_id,
        body="private",
        client_msg_id="k1",
        db=db,
    )
    threads.update_thread(
        user_id=pair.operator.id, thread_id=pair.thread_id, add_tags=["Offer Sent"], db=db
    )
    # Strangers of every kind: another operator, another owner, the owner of another property.
    strangers = [factories.user(db, "operator"), factories.user(db, "owner"), Pair(db).owner]
    before = inbox.get_thread(user_id=pair.operator.id, thread_id=pair.thread_id, db=db)
    for stranger in strangers:
        with pytest.raises(NotFound) as err:
            CALLS[call](stranger.id, pair.thread_id, first.id, db)
        with pytest.raises(NotFound) as missing:
            CALLS[call](stranger.id, uuid.uuid4(), first.id, db)
        assert err.value.message == missing.value.message  # indistinguishable
    after = inbox.get_thread(user_id=pair.operator.id, thread_id=pair.thread_id, db=db)
    assert after == before
    history = messages.list_messages(user_id=pair.owner.id, thread_id=pair.thread_id, db=db)
    assert [m.id for m in history] == [first.id] and history[0].seen_by == []


def test_stranger_sees_nothing_in_listings(db):
    pair = Pair(db)
    messages.send_message(user_id=pair.operator.id, thread_id=pair.thread_id, body="x", db=db)
    stranger = factories.user(db, "operator")
    assert inbox.list_threads(user_id=stranger.id, db=db).items == []
    assert inbox.list_threads(user_id=stranger.id, property_id=pair.property.id, db=db).items == []
    assert reads.unread_total(user_id=stranger.id, db=db) == 0
    assert reads.unread_by_property(user_id=stranger.id, db=db) == []


def test_get_message_is_participants_only(db):
    pair = Pair(db)
    sent = messages.send_message(
        user_id=pair.operator.id, thread_id=pair.thread_id, body="private", db=db
    )
    assert messages.get_message(user_id=pair.owner.id, message_id=sent.id, db=db) == sent
    stranger = factories.user(db, "operator")
    with pytest.raises(NotFound) as theirs:
        messages.get_message(user_id=stranger.id, message_id=sent.id, db=db)
    with pytest.raises(NotFound) as missing:
        messages.get_message(user_id=stranger.id, message_id=uuid.uuid4(), db=db)
    assert theirs.value.message == missing.value.message
