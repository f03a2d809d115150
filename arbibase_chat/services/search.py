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
from sqlmodel import Session, col

from arbibase_chat.models import (
    MessagingMessage,
    MessagingThread,
    Participant,
    Property,
    ThreadStatus,
    User,
)
from arbibase_chat.services import _access, fulltext, validation
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
    """My threads' ids (`_access`: the one participant check)."""
    return select(col(P.thread_id)).where(_access.is_mine(user_id))


_FIELDS = (
    col(M.id),
    col(M.thread_id),
    col(M.seq),
    col(M.sender_id),
    col(M.created_at),
)
# PostgreSQL: a user with up to SMALL_USER messages is searched thread by thread; a bigger one
# through the GIN index while a word has up to PROBE matches, else by walking the newest
# messages back (see `_pg_candidates`).
SMALL_USER = 20_000
PROBE = 5_000
# Before the probe, my newest RECENT_ROWS messages: a common word has CANDIDATES matches there
# (measured at 1M: the probe alone is ~70 ms for "lease", this ~5 ms).
RECENT_ROWS = 3_000
# A word whose share of my recent messages says the walk needs at most this many rows.
WALK_ROWS = 20_000


def _walk(
    dialect: str, terms: list[str], user_id: uuid.UUID, before: datetime | None
) -> Select[Any]:
    walk = fulltext.matching(dialect, terms, *_FIELDS).where(col(M.thread_id).in_(_mine(user_id)))
    if before is not None:
        walk = walk.where(col(M.created_at) < before)
    return walk


def _my_volume(session: Session, user_id: uuid.UUID) -> int:
    """How many messages my threads hold, counted up to SMALL_USER + 1 threads' worth."""
    mine = _mine(user_id).limit(SMALL_USER + 1).subquery("mine")
    total = session.scalar(
        select(func.coalesce(func.sum(col(T.last_seq)), 0)).join(
            mine, mine.c.thread_id == col(T.id)
        )
    )
    return int(total or 0)


def _pg_candidates(
    session: Session, terms: list[str], user_id: uuid.UUID, before: datetime | None
) -> list[Any]:
    """PostgreSQL: the newest CANDIDATES matches of my threads, by the cheapest of three
    paths, chosen here because the planner cannot: its estimate for a prefix query
    (`'lea':*`) is a fixed guess, on which it walked 50,000 messages for a word in none.

    - A user with few messages: their threads one by one (`thread_id` index), whatever the
      word: the GIN index would visit everyone's matches, each through RLS.
    - Else my newest RECENT_ROWS messages: a common word has CANDIDATES matches there.
    - Else the GIN index, up to PROBE matches: a rare word's matches are all there.
    - Past PROBE (a common word), the newest messages walked back on `created_at`: a common
      word fills CANDIDATES after a few thousand."""
    # Custom plans only: psycopg prepares a statement at its 5th run on a connection, and
    # Postgres' generic plan of these (the words unknown) walked far more rows: 115 ms
    # instead of 7 for "my newest 3,000 messages" (bench/README.md, session 13).
    fulltext.planner(session, jit=False, plan_cache_mode="force_custom_plan")
    walk = _walk("postgresql", terms, user_id, before)
    newest = walk.order_by(col(M.created_at).desc()).limit(CANDIDATES)
    if _my_volume(session, user_id) <= SMALL_USER:
        fulltext.planner(session, enable_seqscan=False, enable_bitmapscan=False)
        rows = list(session.execute(walk).all())
        fulltext.planner(session, enable_seqscan=True, enable_bitmapscan=True)
        rows.sort(key=lambda r: r.created_at, reverse=True)
        return rows[:CANDIDATES]
    recent = _recent_matches(session, terms, user_id, before)
    if len(recent) >= CANDIDATES:
        return recent
    # Common enough that the walk finds CANDIDATES within WALK_ROWS: no probe (~65 ms at 1M).
    if len(recent) * WALK_ROWS >= CANDIDATES * RECENT_ROWS:
        return _newest(session, newest)
    if fulltext.under_rls("postgresql"):
        # Through alembic 0013's function: under RLS `@@` cannot use the index directly.
        probe: Any = fulltext.indexed(terms, PROBE + 1)
        count = session.scalar(select(func.count()).select_from(probe))
        wanted = walk.where(col(M.id).in_(select(probe.c.message_id)))
    else:
        # MATERIALIZED and no sequential scan: planned alone, where the GIN index is the only
        # way to the matches (on its guess the planner would read the table until PROBE).
        probe = (
            fulltext.matching("postgresql", terms, col(M.id))
            .limit(PROBE + 1)
            .cte("probe")
            .prefix_with("MATERIALIZED")
        )
        fulltext.planner(session, enable_seqscan=False)
        count = session.scalar(select(func.count()).select_from(probe))
        wanted = walk.where(col(M.id).in_(select(probe.c.id)))
    # Counted in the database: a common word's PROBE rows never travel to Python.
    if (count or 0) <= PROBE:
        found = session.execute(wanted).all()
        fulltext.planner(session, enable_seqscan=True)
        return sorted(found, key=lambda r: r.created_at, reverse=True)[:CANDIDATES]
    fulltext.planner(session, enable_seqscan=True)
    return _newest(session, newest)


def _newest(session: Session, newest: Select[Any]) -> list[Any]:
    """The walk back on `created_at` (a common word: CANDIDATES match soon)."""
    fulltext.planner(session, enable_seqscan=False, enable_bitmapscan=False)
    rows = list(session.execute(newest).all())
    fulltext.planner(session, enable_seqscan=True, enable_bitmapscan=True)
    return rows


def _recent_matches(
    session: Session, terms: list[str], user_id: uuid.UUID, before: datetime | None
) -> list[Any]:
    """The newest CANDIDATES matches among my newest RECENT_ROWS messages (the `created_at`
    index walked back; fewer when the word is not that common)."""
    window = select(*_FIELDS, fulltext.SEARCH_VECTOR.label("vector")).where(
        col(M.thread_id).in_(_mine(user_id)), col(M.deleted_at).is_(None)
    )
    if before is not None:
        window = window.where(col(M.created_at) < before)
    recent = window.order_by(col(M.created_at).desc()).limit(RECENT_ROWS).subquery("recent")
    query = (
        select(*(c for c in recent.c if c.name != "vector"))
        .where(recent.c.vector.op("@@")(fulltext.pg_query(terms)))
        .order_by(recent.c.created_at.desc())
        .limit(CANDIDATES)
    )
    fulltext.planner(session, enable_seqscan=False, enable_bitmapscan=False)
    rows = list(session.execute(query).all())
    fulltext.planner(session, enable_seqscan=True, enable_bitmapscan=True)
    return rows


def _pg_ranks(
    session: Session, terms: list[str], ids: list[uuid.UUID]
) -> dict[uuid.UUID, tuple[str | None, float]]:
    """The text and ts_rank of each candidate."""
    rank = func.ts_rank(fulltext.SEARCH_VECTOR, fulltext.pg_query(terms))
    rows = session.execute(select(col(M.id), col(M.body), rank).where(col(M.id).in_(ids)))
    return {mid: (body, float(value)) for mid, body, value in rows}


def _sqlite_candidates(
    session: Session, terms: list[str], user_id: uuid.UUID, before: datetime | None
) -> list[Any]:
    """SQLite: the newest CANDIDATES matches in FTS5's rowid order (newest last), with bm25.

    A user in few threads still walks everyone's matches of the word (1M messages: ~1 s for
    a common word). Looking each of their messages up in FTS5 by rowid was worse: each lookup
    reads the word's whole doclist."""
    query = (
        _walk("sqlite", terms, user_id, before)
        .add_columns(col(M.body), (-func.bm25(fulltext.FTS)).label("rank"))
        .order_by(fulltext.FTS_ROWID.desc())
        .limit(CANDIDATES)
    )
    return list(session.execute(query).all())


def _details(session: Session, user_id: uuid.UUID, ids: list[uuid.UUID]) -> dict[uuid.UUID, Any]:
    """For each message: its sender's name and its thread as I see it (one query, by id)."""
    rows = session.execute(
        select(
            col(M.id),
            col(User.display_name),
            col(T.subject),
            col(T.status),
            col(Property.title),
            col(P.archived_at),
        )
        .join(T, col(T.id) == col(M.thread_id))
        .join(P, (col(P.thread_id) == col(M.thread_id)) & _access.is_mine(user_id))
        .join(Property, col(Property.id) == col(T.property_id))
        .join(User, col(User.id) == col(M.sender_id))
        .where(col(M.id).in_(ids))
    )
    return {row[0]: row[1:] for row in rows}


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
        if session.get_bind().dialect.name == "postgresql":
            found = _pg_candidates(session, terms, user_id, until)
            ranks = _pg_ranks(session, terms, [r.id for r in found]) if found else {}
        else:
            found = _sqlite_candidates(session, terms, user_id, until)
            ranks = {r.id: (r.body, float(r.rank or 0.0)) for r in found}
        # Best first; equal ranks newest first (the id: a stable order for equal times).
        found.sort(key=lambda r: (-ranks[r.id][1], -r.created_at.timestamp(), str(r.id)))
        best = found[:size]
        details = _details(session, user_id, [r.id for r in best])
    hits = []
    for r in best:
        name, subject, status, title, archived = details[r.id]
        body, rank = ranks[r.id]
        hits.append(
            SearchHit(
                thread_id=r.thread_id,
                message_id=r.id,
                seq=r.seq,
                sender_id=r.sender_id,
                sender_name=name,
                created_at=r.created_at,
                snippet=snippet(body or "", terms),
                thread_title=subject or title,
                property_title=title,
                status=viewer_status(status, archived),
                rank=rank,
            )
        )
    return hits


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
