"""services/opening.py: a thread and its first message are written in one transaction."""

import uuid

import pytest
from sqlalchemy import func, select
from sqlmodel import col

from arbibase_chat import db as dbmod
from arbibase_chat.models import MessagingMessage, MessagingThread
from arbibase_chat.services import events, inbox, opening
from arbibase_chat.services.errors import Forbidden, Invalid
from tests import factories


@pytest.fixture
def published():
    seen: list[events.DomainEvent] = []
    unsubscribe = events.subscribe(seen.append)
    yield seen
    unsubscribe()


@pytest.fixture
def strangers(db):
    """An operator and a verified owner with a listing, who have no thread yet."""
    operator = factories.user(db, "operator")
    owner = factories.user(db, "owner")
    return operator, owner, factories.listing(db, owner)


def _counts(db, property_id: uuid.UUID) -> tuple[int, int]:
    with dbmod.read_session(db) as session:
        threads = session.scalar(
            select(func.count()).where(col(MessagingThread.property_id) == property_id)
        )
        message_rows = session.scalar(
            select(func.count())
            .select_from(MessagingMessage)
            .join(MessagingThread, col(MessagingThread.id) == col(MessagingMessage.thread_id))
            .where(col(MessagingThread.property_id) == property_id)
        )
    return int(threads or 0), int(message_rows or 0)


def test_opens_the_thread_and_posts_the_offer(db, strangers, published):
    operator, owner, prop = strangers
    opened, message = opening.open_with_message(
        user_id=operator.id,
        property_id=prop.id,
        owner_id=owner.id,
        subject="ROI offer",
        body="I can offer $3,200 a month",
        kind="offer",
        metadata={"rent_cents": 320_000},
        db=db,
    )
    assert opened.created and message.thread_id == opened.id and message.seq == 1
    assert message.kind == "offer" and message.metadata == {"rent_cents": 320_000}
    assert _counts(db, prop.id) == (1, 1)
    row = inbox.get_thread(user_id=owner.id, thread_id=opened.id, db=db)
    assert row.subject == "ROI offer" and row.message_count == 1 and row.unread_count == 1
    # The thread's creation is announced before the message, both after the commit.
    kinds = [type(e) for e in published]
    assert kinds == [events.ThreadUpdated, events.MessageCreated]

    # The pair's thread exists now: the next offer goes into it.
    again, second = opening.open_with_message(
        user_id=operator.id, property_id=prop.id, owner_id=owner.id, body="or $3,300", db=db
    )
    assert (again.id, again.created, second.seq) == (opened.id, False, 2)
    assert _counts(db, prop.id) == (1, 2)


def test_a_refused_message_leaves_no_thread(db, strangers, published):
    operator, owner, prop = strangers
    # Refused inside the transaction, after the thread was inserted: not a file of theirs.
    with pytest.raises(Invalid) as refused:
        opening.open_with_message(
            user_id=operator.id,
            property_id=prop.id,
            owner_id=owner.id,
            body="see attached",
            attachment_id=uuid.uuid4(),
            db=db,
        )
    assert refused.value.field == "attachment_id"
    assert _counts(db, prop.id) == (0, 0)
    assert inbox.list_threads(user_id=operator.id, db=db).items == []
    assert published == []


def test_a_refused_thread_writes_no_message(db, strangers):
    operator, owner, prop = strangers
    other_owner = factories.user(db, "owner")
    with pytest.raises(Invalid):
        opening.open_with_message(
            user_id=operator.id, property_id=prop.id, owner_id=other_owner.id, body="hi", db=db
        )
    with pytest.raises(Forbidden):  # owners do not start negotiations
        opening.open_with_message(
            user_id=other_owner.id, property_id=prop.id, owner_id=owner.id, body="hi", db=db
        )
    assert _counts(db, prop.id) == (0, 0)


def test_a_retried_offer_is_stored_once(db, strangers):
    operator, owner, prop = strangers
    first = opening.open_with_message(
        user_id=operator.id,
        property_id=prop.id,
        owner_id=owner.id,
        body="offer",
        client_msg_id="roi-1",
        db=db,
    )
    retry = opening.open_with_message(
        user_id=operator.id,
        property_id=prop.id,
        owner_id=owner.id,
        body="offer",
        client_msg_id="roi-1",
        db=db,
    )
    assert retry[0].id == first[0].id and retry[1].id == first[1].id
    assert _counts(db, prop.id) == (1, 1)
