"""The e-mail bridge's durable outbox (issue #12, part 2): what is owed, claimed, sent once.

A message in a thread whose operator's plan includes `email_fallback` makes an e-mail due to
the other participant EMAIL_NOTIFY_DELAY_SECONDS later: `enqueue_in` writes the row in the
message's own transaction, so a message is never stored without its e-mail being owed (and a
rolled-back send owes nothing). One *pending* row per (thread, recipient) batches what
arrives until it is sent (the partial unique index; later messages find the row and add
nothing). Whether the e-mail is still wanted — read meanwhile, muted, opted out, no longer
Premium — is decided when it is due, by the dispatcher.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from arbibase_chat.config import get_settings
from arbibase_chat.models import EmailOutbox, MessagingThread
from arbibase_chat.services import policy

O = EmailOutbox  # noqa: E741 (the table, as T / P / M elsewhere)


def _insert_pending(dialect: str) -> Any:
    """INSERT ... ON CONFLICT DO NOTHING on the one-pending-row index (both dialects)."""
    table = O.__table__  # type: ignore[attr-defined]
    return postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)


def enqueue_in(
    session: Session,
    *,
    thread: MessagingThread,
    sender_id: uuid.UUID,
    seq: int,
    now: datetime,
) -> None:
    """Inside the message's transaction: owe the other party an e-mail about message `seq`.

    Nothing when the thread's plan has no e-mail fallback. Under RLS the sender may only insert
    a fresh pending row for the other participant (alembic 0010): the columns written here."""
    if "email_fallback" not in policy.tier_features(policy.operator_tier(session, thread)):
        return
    due = now + timedelta(seconds=get_settings().email_notify_delay_seconds)
    dialect = session.get_bind().dialect.name
    for recipient in (thread.operator_id, thread.owner_id):
        if recipient == sender_id:
            continue
        statement = (
            _insert_pending(dialect)
            .values(
                id=uuid.uuid4(),
                thread_id=thread.id,
                user_id=recipient,
                first_seq=seq,
                due_at=due,
                state="pending",
                created_at=now,
            )
            # No conflict target: naming the partial index would need SELECT on the outbox,
            # which a sender must not have. The only other unique key is the fresh id.
            .on_conflict_do_nothing()
        )
        session.execute(statement)
