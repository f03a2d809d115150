"""The full-text index's query language, for the message search and the inbox's search.

alembic 0013 indexes the text of messages: a GIN index over `to_tsvector('simple', body)` on
PostgreSQL, the FTS5 table `messaging_messages_fts` on SQLite. Neither query language ever sees
the user's text: a search is cut into words (letters and digits, `words`), each goes in quoted
(`'word'` in a tsquery, `"word"` in FTS5), all required, the last one as a prefix ("lea" finds
"lease" while typing). So `"`, `*`, `NEAR(`, `:*`, `&`, `!`, `\\` are only separators.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import ColumnElement, Select, column, func, literal_column, select, table, text
from sqlalchemy.sql.elements import ColumnClause
from sqlmodel import Session, col

from arbibase_chat.config import get_settings
from arbibase_chat.models import MessagingMessage
from arbibase_chat.services import validation
from arbibase_chat.services.errors import Invalid

M = MessagingMessage
MAX_QUERY_CHARS = 100
MAX_WORDS = 8
FTS_TABLE = "messaging_messages_fts"
# Database objects of the index (alembic 0013), per backend; not in the ORM metadata
# (tests/test_migrations.py leaves them out of its comparison).
SEARCH_OBJECTS = frozenset(
    {
        "search_vector",
        "ix_messaging_messages_search",
        "ix_messaging_messages_created_at",
        FTS_TABLE,
        *(f"{FTS_TABLE}_{part}" for part in ("data", "idx", "content", "docsize", "config")),
    }
)

WORD = re.compile(r"[^\W_]+")
_SIMPLE: ColumnClause[Any] = literal_column("'simple'::regconfig")
# PostgreSQL: the stored, generated vector of the body (alembic 0013), outside the ORM model.
SEARCH_VECTOR: ColumnClause[Any] = literal_column("messaging_messages.search_vector")
FTS_FROM = table(FTS_TABLE, column("rowid"))
FTS: ColumnClause[Any] = literal_column(
    FTS_TABLE
)  # the table's own column, MATCH's left side and bm25's argument
FTS_ROWID = FTS_FROM.c.rowid
MESSAGE_ROWID: ColumnClause[Any] = literal_column("messaging_messages.rowid")


def words(query: Any, *, field: str = "q") -> list[str]:
    """The words of a search (1-100 characters of text, else Invalid), lower-cased, at most
    MAX_WORDS. Punctuation and query syntax are separators, never operators."""
    if not isinstance(query, str) or not query.strip() or len(query) > MAX_QUERY_CHARS:
        raise Invalid(f"Search text must be 1 to {MAX_QUERY_CHARS} characters", field=field)
    text = validation.clean_text(query, field=field, max_chars=MAX_QUERY_CHARS, single_line=True)
    return [w.casefold() for w in WORD.findall(text)][:MAX_WORDS]


def fts5_query(terms: list[str]) -> str:
    """An FTS5 MATCH expression: each word a quoted string, the last a prefix."""
    quoted = [f'"{t}"' for t in terms]  # letters and digits only: nothing to escape
    quoted[-1] += "*"
    return " ".join(quoted)


def tsquery(terms: list[str]) -> str:
    """A to_tsquery expression: each word a quoted lexeme, all required, the last a prefix."""
    quoted = [f"'{t}'" for t in terms]  # letters and digits only: no quote, no backslash
    quoted[-1] += ":*"
    return " & ".join(quoted)


def pg_query(terms: list[str]) -> ColumnElement[Any]:
    return func.to_tsquery(_SIMPLE, tsquery(terms))


def under_rls(dialect: str) -> bool:
    """Does a user transaction run under RLS (PostgreSQL, `_tx.act_as`)?"""
    return dialect == "postgresql" and get_settings().db_rls


def indexed(terms: list[str], limit: int) -> Any:
    """PostgreSQL under RLS: (message_id, thread_id) of up to `limit` live messages of the
    caller's threads holding the words, through the GIN index (alembic 0013's
    `messaging_rls.message_search`: RLS keeps `@@` off the index, its operator not being
    LEAKPROOF). Ids only; the rows are read as the user."""
    return func.messaging_rls.message_search(pg_query(terms), limit).table_valued(
        "message_id", "thread_id"
    )


def thread_ids(dialect: str, terms: list[str]) -> Select[Any]:
    """The threads holding a live message with every word (the inbox's search)."""
    if under_rls(dialect):
        found = indexed(terms, 10_000_000)
        return select(found.c.thread_id)
    return matching(dialect, terms, col(M.thread_id))


def matching(dialect: str, terms: list[str], *fields: Any) -> Select[Any]:
    """`fields` of the messages holding every word, not deleted, through the index."""
    if dialect == "postgresql":
        return select(*fields).where(
            SEARCH_VECTOR.op("@@")(pg_query(terms)), col(M.deleted_at).is_(None)
        )
    return (
        select(*fields)
        .select_from(FTS_FROM)
        .join_from(FTS_FROM, M, MESSAGE_ROWID == FTS_ROWID)
        .where(FTS.op("MATCH")(fts5_query(terms)), col(M.deleted_at).is_(None))
    )


def prefer_the_index(session: Session) -> None:
    """PostgreSQL: no sequential scan in this transaction. The planner's estimate for a prefix
    query (`'lea':*`) is a fixed guess, on which it reads the whole table rather than the GIN
    index (the inbox's search: ~0.7 s at 50,000 messages under load). And custom plans only:
    a prepared statement's generic plan does not know the words."""
    if session.get_bind().dialect.name == "postgresql":
        planner(session, enable_seqscan=False, plan_cache_mode="force_custom_plan")


def planner(session: Session, **settings: bool | str) -> None:
    """PostgreSQL planner settings for the rest of the transaction, in one round trip."""

    def value(setting: bool | str) -> str:
        return setting if isinstance(setting, str) else "on" if setting else "off"

    assignments = ", ".join(  # fixed names and values from the code, never input
        f"set_config('{name}', '{value(setting)}', true)" for name, setting in settings.items()
    )
    session.execute(text(f"select {assignments}"))
