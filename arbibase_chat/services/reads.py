"""Read cursors: mark read (forward only), unread totals, the Portfolio's per-property summary."""

from __future__ import annotations

import uuid
from typing import Any, Protocol

from sqlalchemy import ColumnElement, bindparam, func, select, update
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


class ThreadKeys(Protocol):
    """What a cursor move needs of its thread: a `MessagingThread`, or a Core row of these."""

    @property
    def id(self) -> uuid.UUID: ...

    @property
    def operator_id(self) -> uuid.UUID: ...

    @property
    def owner_id(self) -> uuid.UUID: ...


# The hot path (every send and every read) runs prebuilt Core statements: building and
# ORM-executing them cost more CPU than the database spent on them (bench/README.md, #14).
_CURSOR_FOR_UPDATE = (
    select(col(P.last_read_seq))
    .where(col(P.thread_id) == bindparam("thread"), col(P.user_id) == bindparam("user"))
    .with_for_update()
)
_MOVE_CURSOR = (
    update(P)
    .where(col(P.thread_id) == bindparam("thread"), col(P.user_id) == bindparam("user"))
    .values(last_read_seq=bindparam("to_seq"), last_read_at=bindparam("read_at"))
)
# My own new message right after the last one I had read: one statement, no receipts. The
# condition is checked on the locked row (Postgres re-checks an UPDATE's WHERE once it has
# the lock; SQLite's writer is alone), so a concurrent mark-read can not slip between.
_STEP_ONTO_OWN = (
    update(P)
    .where(
        col(P.thread_id) == bindparam("thread"),
        col(P.user_id) == bindparam("user"),
        col(P.last_read_seq) == bindparam("to_seq") - 1,
    )
    .values(last_read_seq=bindparam("to_seq"), last_read_at=bindparam("read_at"))
)
# mark_read's first statement: the thread and the reader's cursor, the cursor's row locked
# (one round trip for what advance_cursor would otherwise read apart). Postgres returns the
# locked row's newest version when it had to wait for a concurrent mark-read.
_READER_CURSOR = (
    select(col(T.id), col(T.last_seq), col(T.operator_id), col(T.owner_id), col(P.last_read_seq))
    .join(P, col(P.thread_id) == col(T.id))
    .where(col(T.id) == bindparam("thread"), col(P.user_id) == bindparam("user"))
    .with_for_update(of=P)
)


def advance_cursor(
    session: Session,
    outbox: Outbox,
    *,
    thread: ThreadKeys,
    user_id: uuid.UUID,
    to_seq: int,
    own_message: bool = False,
    locked_cursor: int | None = None,
) -> int:
    """Move `user_id`'s cursor forward to `to_seq` (never back); returns the cursor.

    `own_message`: `to_seq` is the reader's own new message. Then nobody needs to hear about
    the move unless it passed over messages from the other side (their "Seen" changes).

    The messages passed over get the reader in `seen_by` (the seed's column), each once:
    the row lock on the cursor makes the ranges of concurrent mark-reads disjoint.
    `locked_cursor`: the cursor as the caller read it under that lock, in this transaction.
    """
    conn = session.connection()
    keys = {"thread": thread.id, "user": user_id}
    if own_message:
        stepped = conn.execute(_STEP_ONTO_OWN, {**keys, "to_seq": to_seq, "read_at": utcnow()})
        if stepped.rowcount == 1:
            _expire_cursor(session, thread.id, user_id)
            return to_seq
    # Read under the row lock, from the database (not an ORM copy that a concurrent
    # mark-read may have outdated while we waited for the lock).
    old = locked_cursor
    if old is None:
        old = conn.execute(_CURSOR_FOR_UPDATE, keys).scalar()
    if old is None:
        raise NotFound("Thread not found")
    if to_seq <= old:
        return old
    move = {**keys, "to_seq": to_seq, "read_at": utcnow()}
    # Stepping onto my own new message passes nothing of the other side's: no receipts.
    if own_message and old == to_seq - 1:
        conn.execute(_MOVE_CURSOR, move)
        _expire_cursor(session, thread.id, user_id)
        return to_seq
    receipts = (
        update(M)
        .where(
            col(M.thread_id) == thread.id,
            col(M.seq) > old,
            col(M.seq) <= to_seq,
            col(M.sender_id) != user_id,
        )
        .values(seen_by=_append_seen_by(session, user_id))
    )
    if conn.dialect.name == "postgresql":
        # The cursor's move rides along as a data-modifying CTE: one round trip for both.
        conn.execute(receipts.add_cte(_MOVE_CURSOR.cte("moved")), move)
    else:
        conn.execute(_MOVE_CURSOR, move)
        conn.execute(receipts)
    _expire_cursor(session, thread.id, user_id)
    outbox.append(
        ReadUpdated(
            thread_id=thread.id,
            user_id=user_id,
            last_read_seq=to_seq,
            participant_ids=(thread.operator_id, thread.owner_id),
        )
    )
    return to_seq


def _expire_cursor(session: Session, thread_id: uuid.UUID, user_id: uuid.UUID) -> None:
    """The caller's transaction may hold the participant row as an ORM object: it is stale
    now, reload it if read again."""
    for held in list(session.identity_map.values()):
        if isinstance(held, P) and held.thread_id == thread_id and held.user_id == user_id:
            session.expire(held, ["last_read_seq", "last_read_at"])


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
        row = session.connection().execute(_READER_CURSOR, {"thread": tid, "user": user_id}).first()
        if row is None:
            raise NotFound(_access.THREAD_NOT_FOUND)
        target = row.last_seq
        if up_to_message_id is not None:
            mid = validation.as_uuid(up_to_message_id, field="up_to_message_id")
            seq = session.scalar(
                select(col(M.seq)).where(col(M.id) == mid, col(M.thread_id) == row.id)
            )
            if seq is None:
                raise NotFound("Message not found in this thread")
            target = seq
        cursor = advance_cursor(
            session,
            outbox,
            thread=row,
            user_id=user_id,
            to_seq=target,
            locked_cursor=row.last_read_seq,
        )
        return ReadState(
            thread_id=row.id,
            user_id=user_id,
            last_read_seq=cursor,
            unread_count=unread(row.last_seq, cursor),
        )


def unread_total(*, user_id: uuid.UUID, db: Engine | None = None) -> int:
    """The navbar total: unread messages of my threads, muted ones left out (services/mutes.py)."""
    # My participant rows alone: each carries its thread's last_seq (alembic 0015). A join
    # with the threads was 10,000 key probes for a user in 10,000 threads under RLS.
    query = select(func.coalesce(func.sum(col(P.last_seq) - col(P.last_read_seq)), 0)).where(
        _access.is_mine(user_id), mutes.not_muted(utcnow())
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
