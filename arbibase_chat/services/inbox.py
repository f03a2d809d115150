"""The inbox read model: a user's threads as rows (listing, filters, search, one row).

Reads only; the commands that change a thread are in `threads.py`. Kept apart because the
inbox is the one query that must stay fast at 10,000 threads (bench/queries.py), and its shape
(one range scan, then the joins) is easy to break while editing a command.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    Subquery,
    and_,
    case,
    exists,
    func,
    or_,
    select,
    tuple_,
)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import aliased
from sqlmodel import Session, col

from arbibase_chat.db import get_engine
from arbibase_chat.models import (
    DEAL_STAGES,
    ROLES,
    THREAD_STATUSES,
    MessagePreview,
    MessagingMessage,
    MessagingThread,
    Participant,
    Property,
    ThreadPage,
    ThreadPublic,
    ThreadStatus,
    ThreadTag,
    User,
)
from arbibase_chat.services import _access, fulltext, validation
from arbibase_chat.services._tx import reading
from arbibase_chat.services.errors import Invalid, NotFound
from arbibase_chat.services.reads import unread

PREVIEW_CHARS = 160

T, P, M = MessagingThread, Participant, MessagingMessage
Counterparty = aliased(User, name="counterparty")
Other = aliased(Participant, name="other_participant")


def encode_cursor(last_message_at: datetime, thread_id: uuid.UUID) -> str:
    raw = f"{last_message_at.isoformat()}|{thread_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        stamp, tid = base64.urlsafe_b64decode(padded).decode().split("|")
        when = datetime.fromisoformat(stamp)
        if when.tzinfo is None:
            raise ValueError("naive cursor time")
        return when, uuid.UUID(tid)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise Invalid("cursor is not valid", field="cursor") from None


def _my_threads(user_id: uuid.UUID) -> Select[Any, Any, Any, Any, Any, Any]:
    """The caller's participant rows (`_access`), newest activity first.

    Filters and the keyset cursor go on this query, so the page is chosen by one range scan of
    `ix_participants_inbox` before anything is joined to it. (Joining first let Postgres
    hash-join the whole inbox and sort it: 98 ms for a user in 10,000 threads.)
    """
    return _access.my_participations(user_id).order_by(
        col(P.last_message_at).desc(), col(P.thread_id).desc()
    )


def _inbox_rows(page: Subquery) -> Select[Any]:
    """Everything an inbox row shows for a page of participant rows (no N+1)."""
    counterparty_id = case((page.c.role == "operator", col(T.owner_id)), else_=col(T.operator_id))
    return (
        select(
            T,
            page.c.role,
            page.c.last_read_seq,
            page.c.last_message_at,
            page.c.muted_until,
            page.c.archived_at,
            col(Property.title),
            col(Counterparty.display_name),
            col(Other.last_read_seq),
            col(M.id),
            col(M.sender_id),
            func.substr(col(M.body), 1, PREVIEW_CHARS),
            col(M.kind),
            col(M.attachment_url),
            col(M.created_at),
        )
        .select_from(page)
        .join(T, col(T.id) == page.c.thread_id)
        .join(Property, col(Property.id) == col(T.property_id))
        .join(Counterparty, col(Counterparty.id) == counterparty_id)
        .join(Other, and_(col(Other.thread_id) == col(T.id), col(Other.user_id) == counterparty_id))
        .outerjoin(M, and_(col(M.thread_id) == col(T.id), col(M.seq) == col(T.last_seq)))
        .order_by(page.c.last_message_at.desc(), page.c.thread_id.desc())
    )


def _tags_for(session: Session, thread_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, list[str]]:
    ids = list(thread_ids)
    tags: dict[uuid.UUID, list[str]] = defaultdict(list)
    if ids:
        rows = session.execute(
            select(col(ThreadTag.thread_id), col(ThreadTag.tag))
            .where(col(ThreadTag.thread_id).in_(ids))
            .order_by(col(ThreadTag.tag))
        )
        for thread_id, tag in rows:
            tags[thread_id].append(tag)
    return tags


def _to_public(row: Sequence[Any], tags: list[str]) -> ThreadPublic:
    (
        thread,
        role,
        last_read,
        _lma,
        muted,
        archived_at,
        title,
        cp_name,
        cp_read,
        mid,
        sender,
        body,
        kind,
        url,
        at,
    ) = row
    preview = None
    if mid is not None:
        preview = MessagePreview(
            id=mid,
            sender_id=sender,
            body=body,
            kind=kind,
            has_attachment=url is not None,
            created_at=at,
        )
    return ThreadPublic(
        id=thread.id,
        property_id=thread.property_id,
        operator_id=thread.operator_id,
        owner_id=thread.owner_id,
        subject=thread.subject,
        status=viewer_status(thread.status, archived_at),
        last_message_at=thread.last_message_at,
        created_at=thread.created_at,
        message_count=thread.last_seq,
        unread_count=unread(thread.last_seq, last_read),
        last_read_seq=last_read,
        counterparty_last_read_seq=cp_read,
        tags=tags,
        my_role=role,
        property_title=title,
        stage=thread.stage,
        muted_until=muted,
        archived_at=archived_at,
        counterparty_id=thread.owner_id if role == "operator" else thread.operator_id,
        counterparty_name=cp_name,
        last_message=preview,
    )


def list_threads(
    *,
    user_id: uuid.UUID,
    role: str | None = None,
    property_id: Any = None,
    status: str | None = None,
    tag: str | None = None,
    search: str | None = None,
    cursor: str | None = None,
    limit: int | None = None,
    stage: str | None = None,
    db: Engine | None = None,
) -> ThreadPage:
    """The user's threads, newest activity first, keyset-paginated.

    `search` matches (case-insensitively) the subject, the property, the counter-party's name
    and the text of the thread's messages.
    """
    size = validation.page_limit(limit)
    query = _my_threads(user_id)
    if role is not None:
        query = query.where(col(P.role) == validation.choice(role, field="role", allowed=ROLES))
    thread_filters = []
    if property_id is not None:
        pid = validation.as_uuid(property_id, field="property_id")
        thread_filters.append(col(T.property_id) == pid)
    if status is not None:
        wanted = validation.choice(status, field="status", allowed=THREAD_STATUSES)
        thread_filters.append(_status_is(wanted))
    if stage is not None:
        chosen = validation.choice(stage, field="stage", allowed=DEAL_STAGES)
        thread_filters.append(col(T.stage) == chosen)
    if tag is not None:
        clean_tag = validation.tag(tag).lower()
        thread_filters.append(
            exists().where(
                col(ThreadTag.thread_id) == col(T.id), func.lower(col(ThreadTag.tag)) == clean_tag
            )
        )
    if search:
        dialect = (db or get_engine()).dialect.name
        thread_filters.append(_matches(search, dialect))
    if thread_filters:
        query = query.join(T, col(T.id) == col(P.thread_id))
        if search:  # it also matches the property and the counter-party's name
            counterparty_id = case(
                (col(P.role) == "operator", col(T.owner_id)), else_=col(T.operator_id)
            )
            query = query.join(Property, col(Property.id) == col(T.property_id)).join(
                Counterparty, col(Counterparty.id) == counterparty_id
            )
        query = query.where(*thread_filters)
    if cursor:
        when, after_id = decode_cursor(cursor)
        # A row comparison, not `a < x OR (a = x AND b < y)`: Postgres' generic plan of the
        # OR form read all the user's older rows (a BitmapOr, 10,000 at the bench's size) and
        # sorted them; the row form is one backward range scan of the index that stops at 51.
        query = query.where(
            tuple_(col(P.last_message_at), col(P.thread_id)) < tuple_(when, after_id)
        )
    rows_query = _inbox_rows(query.limit(size + 1).subquery("page"))
    with reading(db, as_user=user_id) as session:
        if search:
            fulltext.prefer_the_index(session)
        rows = session.execute(rows_query).all()
        page, more = rows[:size], len(rows) > size
        tags = _tags_for(session, (row[0].id for row in page))
    items = [_to_public(row, tags.get(row[0].id, [])) for row in page]
    next_cursor = None
    if more and page:
        last = page[-1]
        next_cursor = encode_cursor(last[3], last[0].id)
    return ThreadPage(items=items, next_cursor=next_cursor)


def viewer_status(shared: str, archived_at: datetime | None) -> ThreadStatus:
    """The status one participant sees: closed (shared) > archived (by me) > active.

    A shared 'archived' is a thread archived before revision 0011 or by a direct client."""
    if shared == "closed":
        return "closed"
    return "archived" if archived_at is not None or shared == "archived" else "active"


def _status_is(wanted: str) -> ColumnElement[bool]:
    """The status filter, as `viewer_status` computes it (my row `P`, the shared `T`)."""
    if wanted == "closed":
        return col(T.status) == "closed"
    if wanted == "archived":
        return and_(
            col(T.status) != "closed",
            or_(col(P.archived_at).is_not(None), col(T.status) == "archived"),
        )
    return and_(col(T.status) == "active", col(P.archived_at).is_(None))


def my_tags(*, user_id: uuid.UUID, db: Engine | None = None) -> list[str]:
    """Every tag on any thread of mine, once whatever its case (the first spelling
    alphabetically), in case-insensitive order: what the inbox's tag filter offers."""
    mine = _access.my_participations(user_id).subquery("mine")
    query = (
        select(func.min(col(ThreadTag.tag)))
        .join(mine, mine.c.thread_id == col(ThreadTag.thread_id))
        .group_by(func.lower(col(ThreadTag.tag)))
        .order_by(func.lower(col(ThreadTag.tag)))
    )
    with reading(db, as_user=user_id) as session:
        return [tag for tag in session.scalars(query).all() if tag is not None]


def _matches(search: str, dialect: str) -> ColumnElement[bool]:
    """The subject, the property or the counter-party's name holds the text (LIKE, on the
    page's small rows), or a message of the thread holds its words (the full-text index,
    `fulltext`: word prefixes, not any substring)."""
    needle = validation.clean_text(search, field="search", max_chars=100, single_line=True)
    escaped = needle.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    pattern = f"%{escaped}%"

    def like(column: Any) -> ColumnElement[bool]:
        return func.lower(column).like(pattern, escape="\\")

    found = [
        like(col(T.subject)),
        like(col(Property.title)),
        like(col(Property.city)),
        like(col(Counterparty.display_name)),
    ]
    terms = fulltext.words(needle, field="search")
    if terms:
        found.append(col(T.id).in_(fulltext.thread_ids(dialect, terms).correlate(None)))
    return or_(*found)


def read_thread_in(session: Session, *, user_id: uuid.UUID, thread_id: uuid.UUID) -> ThreadPublic:
    """One inbox row, inside the caller's transaction (e.g. the result of a change)."""
    mine = _my_threads(user_id).where(col(P.thread_id) == thread_id).subquery("page")
    row = session.execute(_inbox_rows(mine)).first()
    if row is None:
        raise NotFound(_access.THREAD_NOT_FOUND)
    return _to_public(row, _tags_for(session, [thread_id]).get(thread_id, []))


def get_thread(*, user_id: uuid.UUID, thread_id: Any, db: Engine | None = None) -> ThreadPublic:
    """One inbox row. `thread_id` is raw input (validated here)."""
    tid = validation.as_uuid(thread_id, field="thread_id")
    with reading(db, as_user=user_id) as session:
        return read_thread_in(session, user_id=user_id, thread_id=tid)
