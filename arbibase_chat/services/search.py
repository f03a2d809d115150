"""Message search: the words a user looks for, in the messages of their own threads, ranked.

The index and its query language are `fulltext`'s (alembic 0013): the user's text is cut into
words there, never passed to a query language.

Ranking: a common word matches hundreds of thousands of messages at 1M, and ranking them all
costs seconds; so the newest CANDIDATES matches are taken (an index walk, newest first: the
`created_at` index on PostgreSQL, the FTS rowid on SQLite) and ranked by relevance (ts_rank,
bm25), ties newest first. A rarer word has fewer matches than that: all of them are ranked.

Only messages of threads the user takes part in (the participant row, and RLS on PostgreSQL
through `reading(as_user=...)`), never a deleted one (it has no text, and no index entry).
Threads I archived are searched too; each hit says the thread's status as I see it.
"""

from __future__ import annotations

import unicodedata
import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Select, func, select
from sqlalchemy.engine import Engine
from sqlmodel import col

from arbibase_chat.models import (
    MessagingMessage,
    MessagingThread,
    Participant,
    Property,
    ThreadStatus,
    User,
)
from arbibase_chat.services import fulltext, validation
from arbibase_chat.services._tx import reading
from arbibase_chat.services.errors import Invalid
from arbibase_chat.services.inbox import viewer_status

M, T, P = MessagingMessage, MessagingThread, Participant
MAX_LIMIT = 50
# How many of the newest matches are ranked (see the module's docstring).
CANDIDATES = 500
SNIPPET_CHARS = 160


class SnippetPiece(BaseModel):
    text: str
    match: bool


class SearchHit(BaseModel):
    thread_id: uuid.UUID
    message_id: uuid.UUID
    seq: int
    sender_id: uuid.UUID
    sender_name: str
    created_at: datetime
    # Plain-text pieces, the matching words marked: a view renders them as text, never HTML.
    snippet: list[SnippetPiece]
    thread_title: str
    property_title: str
    status: ThreadStatus
    rank: float


def _mine(user_id: uuid.UUID) -> Select[Any]:
    return select(col(P.thread_id)).where(col(P.user_id) == user_id)


def _candidates(
    dialect: str, terms: list[str], user_id: uuid.UUID, before: datetime | None
) -> Select[Any]:
    """The newest CANDIDATES matching messages of my threads, each with its rank (higher is
    better)."""
    fields = (
        col(M.id),
        col(M.thread_id),
        col(M.seq),
        col(M.sender_id),
        col(M.created_at),
        col(M.body),
    )
    walk = fulltext.matching(dialect, terms, *fields).where(col(M.thread_id).in_(_mine(user_id)))
    if before is not None:
        walk = walk.where(col(M.created_at) < before)
    if dialect == "postgresql":
        newest = walk.order_by(col(M.created_at).desc()).limit(CANDIDATES).subquery("newest")
        # Ranked outside the walk: the vector is computed again for CANDIDATES rows only.
        rank = func.ts_rank(fulltext.pg_vector(newest.c.body), fulltext.pg_query(terms))
        return select(*newest.c, rank.label("rank"))
    newest = (
        walk.add_columns((-func.bm25(fulltext.FTS)).label("rank"))
        .order_by(fulltext.FTS_ROWID.desc())
        .limit(CANDIDATES)
        .subquery("newest")
    )
    return select(*newest.c)


def search_messages(
    *,
    user_id: uuid.UUID,
    query: Any,
    limit: Any = 20,
    before: Any = None,
    db: Engine | None = None,
) -> list[SearchHit]:
    """The best `limit` messages of my threads holding every word of `query` (see above).

    `before`: only messages sent before this time (an aware datetime or ISO text), to look
    further back than the newest matches."""
    terms = fulltext.words(query)
    size = validation.page_limit(limit, default=20, maximum=MAX_LIMIT)
    until = _as_time(before)
    if not terms:
        return []
    with reading(db, as_user=user_id) as session:
        dialect = session.get_bind().dialect.name
        hits = _candidates(dialect, terms, user_id, until).subquery("hits")
        sender = User
        query_rows = (
            select(
                hits.c.id,
                hits.c.thread_id,
                hits.c.seq,
                hits.c.sender_id,
                hits.c.created_at,
                hits.c.body,
                hits.c.rank,
                col(sender.display_name),
                col(T.subject),
                col(T.status),
                col(Property.title),
                col(P.archived_at),
            )
            .select_from(hits)
            .join(T, col(T.id) == hits.c.thread_id)
            .join(P, (col(P.thread_id) == hits.c.thread_id) & (col(P.user_id) == user_id))
            .join(Property, col(Property.id) == col(T.property_id))
            .join(sender, col(sender.id) == hits.c.sender_id)
            .order_by(hits.c.rank.desc(), hits.c.created_at.desc(), hits.c.id)
            .limit(size)
        )
        rows = session.execute(query_rows).all()
    return [
        SearchHit(
            thread_id=tid,
            message_id=mid,
            seq=seq,
            sender_id=sid,
            sender_name=name,
            created_at=at,
            snippet=snippet(body or "", terms),
            thread_title=subject or title,
            property_title=title,
            status=viewer_status(status, archived),
            rank=float(rank or 0.0),
        )
        for mid, tid, seq, sid, at, body, rank, name, subject, status, title, archived in rows
    ]


def _as_time(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise Invalid("before must be a date and time", field="before") from None
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise Invalid("before must be a date and time with its time zone", field="before")
    return value


# --- the snippet ---------------------------------------------------------------------------


def _fold(text: str) -> str:
    """Case and accents folded, as both indexes see a word (FTS5's remove_diacritics)."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _is_match(word: str, terms: list[str]) -> bool:
    folded = _fold(word)
    return any(folded == _fold(t) for t in terms[:-1]) or folded.startswith(_fold(terms[-1]))


def snippet(body: str, terms: list[str], width: int = SNIPPET_CHARS) -> list[SnippetPiece]:
    """Up to `width` characters of `body` around its first matching word, as plain-text
    pieces with the matching words marked (`match=True`)."""
    spans = [m.span() for m in fulltext.WORD.finditer(body) if _is_match(m.group(), terms)]
    start = 0
    if spans and spans[0][0] > width // 3:
        start = spans[0][0] - width // 3
        # Start at a word boundary, not in the middle of one.
        space = body.rfind(" ", 0, start)
        start = space + 1 if space >= 0 and start - space < 20 else start
    end = min(len(body), start + width)
    pieces: list[SnippetPiece] = []
    if start > 0:
        pieces.append(SnippetPiece(text="…", match=False))
    at = start
    for lo, hi in spans:
        if lo < start or hi > end:
            continue
        if lo > at:
            pieces.append(SnippetPiece(text=body[at:lo], match=False))
        pieces.append(SnippetPiece(text=body[lo:hi], match=True))
        at = hi
    if at < end:
        pieces.append(SnippetPiece(text=body[at:end], match=False))
    if end < len(body):
        pieces.append(SnippetPiece(text="…", match=False))
    return pieces
