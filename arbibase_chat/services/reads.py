"""Read cursors: mark read (forward only), unread totals, the Portfolio's per-property summary."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from arbibase_chat.db import utcnow
from arbibase_chat.models import (
    MessagingMessage,
    MessagingThread,
    Participant,
    Property,
    PropertyUnread,
    ReadState,
)
from arbibase_chat.services import _access, mutes, validation
from arbibase_chat.services._tx import Outbox, reading, transaction
from arbibase_chat.services.errors import NotFound
from arbibase_chat.services.events import ReadUpdated

T, P, M = MessagingThread, Participant, MessagingMessage


def unread(last_seq: int, last_read_seq: int) -> int:
    """How many messages of a thread are after the reader's cursor: the one unread formula
    (ARCHITECTURE.md, invariant 4), for the inbox rows, mark_read and realtime/rows.py."""
    return max(last_seq - last_read_seq, 0)


#: The same per participant row joined to its thread, in SQL (summed by the totals below).
#: No clamp: a cursor never passes its thread's `last_seq` (advance_cursor; on Postgres also
#: the cursor trigger), so each term is already `unread(...)`.
UNREAD = col(T.last_seq) - col(P.last_read_seq)


def _append_seen_by(session: Session, user_id: uuid.UUID) -> ColumnElement[Any]:
    uid = str(user_id)
    if session.get_bind().dialect.name == "postgresql":
        return col(M.seen_by).op("||", return_type=JSONB)(func.jsonb_build_array(uid))
    return func.json_insert(col(M.seen_by), "$[#]", uid)


def advance_cursor(
    session: Session,
    outbox: Outbox,
    *,
    thread: MessagingThread,
    user_id: uuid.UUID,
    to_seq: int,
    own_message: bool = False,
) -> int:
    """Move `user_id`'s cursor forward to `to_seq` (never back); returns the cursor.

    `own_message`: `to_seq` is the reader's own new message. Then nobody needs to hear about
    the move unless it passed over messages from the other side (their "Seen" changes).

    The messages passed over get the reader in `seen_by` (the seed's column), each once:
    the row lock on the cursor makes the ranges of concurrent mark-reads disjoint.
    """
    cursor = session.scalar(
        select(P)
        .where(col(P.thread_id) == thread.id, _access.is_mine(user_id))
        .with_for_update()
        # The row may already sit in the session from the participant check: reload it, or
        # a concurrent mark-read that committed while we waited for the lock goes unseen.
        .execution_options(populate_existing=True)
    )
    if cursor is None:
        raise NotFound("Thread not found")
    old = cursor.last_read_seq
    if to_seq <= old:
        return old
    # Stepping onto my own new message passes nothing of the other side's: no receipts.
    quiet = own_message and old == to_seq - 1
    cursor.last_read_seq = to_seq
    cursor.last_read_at = utcnow()
    session.add(cursor)
    if quiet:
        return to_seq
    session.execute(
        update(M)
        .where(
            col(M.thread_id) == thread.id,
            col(M.seq) > old,
            col(M.seq) <= to_seq,
            col(M.sender_id) != user_id,
        )
        .values(seen_by=_append_seen_by(session, user_id))
        .execution_options(synchronize_session=False)
    )
    outbox.append(
        ReadUpdated(
            thread_id=thread.id,
            user_id=user_id,
            last_read_seq=to_seq,
            participant_ids=_access.participants_of(thread),
        )
    )
    return to_seq


def mark_read(
    *,
    user_id: uuid.UUID,
    thread_id: Any,
    up_to_message_id: Any = None,
    db: Engine | None = None,
) -> ReadState:
    """Move my read cursor forward to a message (default: the newest). Never moves back."""
    tid = validation.as_uuid(thread_id, field="thread_id")
    with transaction(db, as_user=user_id) as (session, outbox):
        thread, _ = _access.participant_thread(session, user_id=user_id, thread_id=tid)
        target = thread.last_seq
        if up_to_message_id is not None:
            mid = validation.as_uuid(up_to_message_id, field="up_to_message_id")
            seq = session.scalar(
                select(col(M.seq)).where(col(M.id) == mid, col(M.thread_id) == thread.id)
            )
            if seq is None:
                raise NotFound("Message not found in this thread")
            target = seq
        cursor = advance_cursor(session, outbox, thread=thread, user_id=user_id, to_seq=target)
        return ReadState(
            thread_id=thread.id,
            user_id=user_id,
            last_read_seq=cursor,
            unread_count=unread(thread.last_seq, cursor),
        )


def unread_total(*, user_id: uuid.UUID, db: Engine | None = None) -> int:
    """The navbar total: unread messages of my threads, muted ones left out (services/mutes.py)."""
    query = (
        select(func.coalesce(func.sum(UNREAD), 0))
        .select_from(P)
        .join(T, col(T.id) == col(P.thread_id))
        .where(_access.is_mine(user_id), mutes.not_muted(utcnow()))
    )
    with reading(db, as_user=user_id) as session:
        return int(session.scalar(query) or 0)


def unread_by_property(*, user_id: uuid.UUID, db: Engine | None = None) -> list[PropertyUnread]:
    """Per property the user negotiates on: threads, messages, unread, latest activity."""
    query = (
        select(
            col(T.property_id),
            col(Property.title),
            func.count(col(T.id)),
            func.coalesce(func.sum(col(T.last_seq)), 0),
            func.coalesce(func.sum(UNREAD), 0),
            func.max(col(T.last_message_at)),
        )
        .select_from(P)
        .join(T, col(T.id) == col(P.thread_id))
        .join(Property, col(Property.id) == col(T.property_id))
        .where(_access.is_mine(user_id))
        .group_by(col(T.property_id), col(Property.title))
        .order_by(func.max(col(T.last_message_at)).desc())
    )
    with reading(db, as_user=user_id) as session:
        rows = session.execute(query).all()
    return [
        PropertyUnread(
            property_id=pid,
            property_title=title,
            thread_count=threads,
            message_count=messages,
            unread_count=unread,
            last_message_at=last,
        )
        for pid, title, threads, messages, unread, last in rows
    ]
