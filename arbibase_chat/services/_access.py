"""The one participant check. A stranger is told NotFound, exactly as for a missing id.

Everything a user reaches inside a thread is reached through here: the thread itself
(`participant_thread`), one message (`participant_message`), one attachment
(`participant_attachment`), and the listings, which start from the caller's own participant
rows (`my_participations`: the inbox, one inbox row). All of them rest on one predicate,
`is_mine`: the participant row is the caller's. Nothing else in services/ filters
participants by user; RLS (alembic 0004) is the second line behind it.

Ids arrive already validated (`uuid.UUID`): the public services parse raw input.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, select
from sqlmodel import Session, col

from arbibase_chat.models import MessagingAttachment, MessagingMessage, MessagingThread, Participant
from arbibase_chat.services.errors import NotFound

THREAD_NOT_FOUND = "Thread not found"
MESSAGE_NOT_FOUND = "Message not found"
ATTACHMENT_NOT_FOUND = "Attachment not found"

T, P, M, A = MessagingThread, Participant, MessagingMessage, MessagingAttachment


def is_mine(user_id: uuid.UUID) -> ColumnElement[bool]:
    """The participant row (`messaging_participants`) is the caller's."""
    return col(P.user_id) == user_id


def participant_thread(
    session: Session, *, user_id: uuid.UUID, thread_id: uuid.UUID, for_update: bool = False
) -> tuple[MessagingThread, Participant]:
    """The thread and the caller's participant row (membership + read cursor)."""
    query = (
        select(T, P)
        .join(P, col(P.thread_id) == col(T.id))
        .where(col(T.id) == thread_id, is_mine(user_id))
    )
    if for_update:
        query = query.with_for_update(of=T)
    row = session.execute(query).first()
    if row is None:
        raise NotFound(THREAD_NOT_FOUND)
    return row[0], row[1]


def participant_thread_with(
    session: Session,
    *,
    user_id: uuid.UUID,
    thread_id: uuid.UUID,
    columns: tuple[ColumnElement[Any], ...],
    params: dict[str, Any],
    for_update: bool = False,
) -> tuple[MessagingThread, tuple[Any, ...]]:
    """`participant_thread`'s check, with more `columns` (correlated to the thread, binding
    `params`) read in the same statement: one round trip where the caller's checks would
    each have made their own (the send's hot path)."""
    query = (
        select(T, *columns)
        .join(P, col(P.thread_id) == col(T.id))
        .where(col(T.id) == thread_id, is_mine(user_id))
    )
    if for_update:
        query = query.with_for_update(of=T)
    row = session.execute(query, params).first()
    if row is None:
        raise NotFound(THREAD_NOT_FOUND)
    return row[0], tuple(row[1:])


def thread_messages(user_id: uuid.UUID, thread_id: uuid.UUID) -> Select[MessagingMessage]:
    """The messages of one of the caller's threads, as one statement (joined to the caller's
    participant row). No rows does not say why: ask `participant_thread` for the 404."""
    return (
        select(M)
        .join(P, and_(col(P.thread_id) == col(M.thread_id), is_mine(user_id)))
        .where(col(M.thread_id) == thread_id)
    )


def participant_message(
    session: Session, *, user_id: uuid.UUID, message_id: uuid.UUID
) -> MessagingMessage:
    """A message in one of the caller's threads (one query: joined to the caller's row)."""
    message = session.scalar(
        select(M)
        .join(P, col(P.thread_id) == col(M.thread_id))
        .where(col(M.id) == message_id, is_mine(user_id))
    )
    if message is None:
        # Missing, or in another pair's thread: the same answer.
        raise NotFound(MESSAGE_NOT_FOUND)
    return message


def participant_attachment(
    session: Session, *, user_id: uuid.UUID, attachment_id: uuid.UUID
) -> MessagingAttachment:
    """An attachment uploaded to one of the caller's threads (sent in a message or not); the
    file of a deleted message is gone for both parties (services/message_edits.py)."""
    row = session.scalar(
        select(A)
        .join(P, and_(col(P.thread_id) == col(A.thread_id), is_mine(user_id)))
        .outerjoin(M, col(M.id) == col(A.message_id))
        .where(col(A.id) == attachment_id, col(M.deleted_at).is_(None))
    )
    if row is None:
        raise NotFound(ATTACHMENT_NOT_FOUND)
    return row


def my_participations(user_id: uuid.UUID) -> Select[Any, Any, Any, Any, Any, Any]:
    """The caller's participant rows: thread, role, read cursor, latest activity (labelled).

    The listings start here and add their filters, order and joins (services/inbox.py).
    """
    return select(
        col(P.thread_id).label("thread_id"),
        col(P.role).label("role"),
        col(P.last_read_seq).label("last_read_seq"),
        col(P.last_message_at).label("last_message_at"),
        col(P.muted_until).label("muted_until"),
        col(P.archived_at).label("archived_at"),
    ).where(is_mine(user_id))


def participants_of(thread: MessagingThread) -> tuple[uuid.UUID, uuid.UUID]:
    return (thread.operator_id, thread.owner_id)
