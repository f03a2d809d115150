"""The e-mail outbox is written with the message (issue #12, part 2): Premium threads only,
for the other party only, one pending row per thread and recipient batching what arrives."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlmodel import col

from arbibase_chat import db as dbmod
from arbibase_chat.config import get_settings
from arbibase_chat.models import EmailOutbox
from arbibase_chat.services import accounts, messages
from tests import factories


def _outbox(db) -> list[EmailOutbox]:
    with dbmod.read_session(db) as session:
        return list(session.scalars(select(EmailOutbox).order_by(col(EmailOutbox.created_at))))


def _premium_pair(db) -> factories.Pair:
    pair = factories.Pair(db)
    accounts.set_tier(email=pair.operator.email, tier="premium", db=db)
    return pair


def test_a_message_owes_the_other_party_one_batched_email(db) -> None:
    pair = _premium_pair(db)
    first = messages.send_message(
        user_id=pair.operator.id, thread_id=pair.thread_id, body="one", db=db
    )
    messages.send_message(user_id=pair.operator.id, thread_id=pair.thread_id, body="two", db=db)
    rows = _outbox(db)
    assert [(r.user_id, r.thread_id, r.state, r.first_seq) for r in rows] == [
        (pair.owner.id, pair.thread_id, "pending", first.seq)
    ]
    delay = timedelta(seconds=get_settings().email_notify_delay_seconds)
    assert rows[0].due_at - first.created_at == delay
    # The owner answers: the operator is owed one too; the owner's own row stays one.
    messages.send_message(user_id=pair.owner.id, thread_id=pair.thread_id, body="three", db=db)
    assert sorted((r.user_id, r.state) for r in _outbox(db)) == sorted(
        [(pair.owner.id, "pending"), (pair.operator.id, "pending")]
    )


def test_below_premium_nothing_is_owed(db) -> None:
    pair = factories.Pair(db)  # Pro
    messages.send_message(user_id=pair.operator.id, thread_id=pair.thread_id, body="hi", db=db)
    assert _outbox(db) == []


def test_a_retried_send_owes_nothing_more(db) -> None:
    pair = _premium_pair(db)
    for _ in range(2):
        messages.send_message(
            user_id=pair.operator.id,
            thread_id=pair.thread_id,
            body="once",
            client_msg_id="retry-1",
            db=db,
        )
    assert len(_outbox(db)) == 1
