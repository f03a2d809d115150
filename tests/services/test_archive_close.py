"""Issue #13: archive is personal, close / reopen is shared and announced, tags ignore case."""

import pytest

from arbibase_chat.services import inbox, messages, threads
from arbibase_chat.services.errors import Invalid, NotFound
from tests import factories
from tests.factories import Pair


def _ids(db, user, **filters):
    return [t.id for t in inbox.list_threads(user_id=user.id, db=db, **filters).items]


def test_my_archive_leaves_the_other_partys_inbox_alone(db):
    pair = Pair(db)
    mine = threads.update_thread(
        user_id=pair.operator.id, thread_id=pair.thread_id, status="archived", db=db
    )
    assert mine.status == "archived" and mine.archived_at is not None
    assert _ids(db, pair.operator, status="active") == []
    assert _ids(db, pair.operator, status="archived") == [pair.thread_id]
    # The owner's Active list is unchanged.
    assert _ids(db, pair.owner, status="active") == [pair.thread_id]
    assert _ids(db, pair.owner, status="archived") == []
    theirs = inbox.get_thread(user_id=pair.owner.id, thread_id=pair.thread_id, db=db)
    assert theirs.status == "active" and theirs.archived_at is None
    # The shared state is untouched: get-or-create finds it and brings it back for me.
    again = threads.get_or_create_thread(
        user_id=pair.operator.id, property_id=pair.property.id, owner_id=pair.owner.id, db=db
    )
    assert again.id == pair.thread_id and not again.created
    assert _ids(db, pair.operator, status="active") == [pair.thread_id]


def test_unarchive_is_mine_too(db):
    pair = Pair(db)
    for who in (pair.operator, pair.owner):
        threads.update_thread(user_id=who.id, thread_id=pair.thread_id, status="archived", db=db)
    back = threads.update_thread(
        user_id=pair.owner.id, thread_id=pair.thread_id, status="active", db=db
    )
    assert back.status == "active"
    assert _ids(db, pair.operator, status="archived") == [pair.thread_id]
    # Archiving and un-archiving post nothing.
    assert messages.list_messages(user_id=pair.owner.id, thread_id=pair.thread_id, db=db) == []


def test_a_new_message_unarchives_for_both(db):
    pair = Pair(db)
    for who in (pair.operator, pair.owner):
        threads.update_thread(user_id=who.id, thread_id=pair.thread_id, status="archived", db=db)
    messages.send_message(user_id=pair.owner.id, thread_id=pair.thread_id, body="news", db=db)
    for who in (pair.operator, pair.owner):
        assert _ids(db, who, status="active") == [pair.thread_id]
        assert _ids(db, who, status="archived") == []


def test_close_is_shared_and_announced(db):
    pair = Pair(db)
    operator_name = inbox.get_thread(
        user_id=pair.owner.id, thread_id=pair.thread_id, db=db
    ).counterparty_name
    closed = threads.update_thread(
        user_id=pair.operator.id, thread_id=pair.thread_id, status="closed", db=db
    )
    assert closed.status == "closed" and closed.unread_count == 0
    for who in (pair.operator, pair.owner):
        assert _ids(db, who, status="closed") == [pair.thread_id]
        assert _ids(db, who, status="active") == []
        history = messages.list_messages(user_id=who.id, thread_id=pair.thread_id, db=db)
        assert [(m.kind, m.body) for m in history] == [
            ("system", f"{operator_name} closed the conversation")
        ]
    assert (
        inbox.get_thread(user_id=pair.owner.id, thread_id=pair.thread_id, db=db).unread_count == 1
    )
    with pytest.raises(Invalid):
        messages.send_message(user_id=pair.owner.id, thread_id=pair.thread_id, body="hi", db=db)
    # Closing again changes nothing and says nothing.
    threads.update_thread(user_id=pair.owner.id, thread_id=pair.thread_id, status="closed", db=db)
    assert len(messages.list_messages(user_id=pair.owner.id, thread_id=pair.thread_id, db=db)) == 1


def test_reopen_is_shared_and_announced(db):
    pair = Pair(db)
    threads.update_thread(
        user_id=pair.operator.id, thread_id=pair.thread_id, status="closed", db=db
    )
    # My archive of a closed thread: it stays closed for both (closed comes first).
    threads.update_thread(user_id=pair.owner.id, thread_id=pair.thread_id, status="archived", db=db)
    assert _ids(db, pair.owner, status="closed") == [pair.thread_id]
    reopened = threads.update_thread(
        user_id=pair.owner.id, thread_id=pair.thread_id, status="active", db=db
    )
    assert reopened.status == "active"
    owner_name = inbox.get_thread(
        user_id=pair.operator.id, thread_id=pair.thread_id, db=db
    ).counterparty_name
    history = messages.list_messages(user_id=pair.operator.id, thread_id=pair.thread_id, db=db)
    assert [m.body for m in history][-1] == f"{owner_name} reopened the conversation"
    assert _ids(db, pair.operator, status="active") == [pair.thread_id]
    messages.send_message(user_id=pair.operator.id, thread_id=pair.thread_id, body="ok", db=db)


@pytest.mark.parametrize("status", ["archived", "closed", "active"])
def test_a_stranger_gets_not_found(db, status):
    pair = Pair(db)
    stranger = factories.user(db, "operator")
    with pytest.raises(NotFound):
        threads.update_thread(user_id=stranger.id, thread_id=pair.thread_id, status=status, db=db)
    assert inbox.get_thread(user_id=pair.owner.id, thread_id=pair.thread_id, db=db).status == (
        "active"
    )


def test_tags_ignore_case_first_spelling_stays(db):
    pair = Pair(db)
    t = threads.update_thread(
        user_id=pair.operator.id,
        thread_id=pair.thread_id,
        add_tags=["lease review", "Lease Review", "LEASE review"],
        db=db,
    )
    assert t.tags == ["lease review"]
    t = threads.update_thread(
        user_id=pair.owner.id, thread_id=pair.thread_id, add_tags=["Lease Review"], db=db
    )
    assert t.tags == ["lease review"]
    for spelling in ("Lease Review", "lease review", "LEASE REVIEW"):
        assert _ids(db, pair.operator, tag=spelling) == [pair.thread_id]
    with pytest.raises(Invalid):
        threads.update_thread(
            user_id=pair.owner.id,
            thread_id=pair.thread_id,
            add_tags=["Hot"],
            remove_tags=["hot"],
            db=db,
        )
    t = threads.update_thread(
        user_id=pair.owner.id, thread_id=pair.thread_id, remove_tags=["LEASE REVIEW"], db=db
    )
    assert t.tags == []


def test_my_tags_cover_all_my_threads_not_others(db):
    pair = Pair(db)
    landlord = factories.user(db, "owner")
    prop2 = factories.listing(db, landlord, title="Second")
    other = threads.get_or_create_thread(
        user_id=pair.operator.id, property_id=prop2.id, owner_id=landlord.id, db=db
    ).id
    threads.update_thread(
        user_id=pair.operator.id, thread_id=pair.thread_id, add_tags=["lease review"], db=db
    )
    threads.update_thread(
        user_id=pair.operator.id, thread_id=other, add_tags=["Lease Review", "Hot"], db=db
    )
    # Not on any of the owner's threads: the other pair's tags.
    assert inbox.my_tags(user_id=pair.owner.id, db=db) == ["lease review"]
    assert inbox.my_tags(user_id=landlord.id, db=db) == ["Hot", "Lease Review"]
    mine = inbox.my_tags(user_id=pair.operator.id, db=db)
    assert [t.lower() for t in mine] == ["hot", "lease review"]
    stranger = factories.user(db, "operator")
    assert inbox.my_tags(user_id=stranger.id, db=db) == []
