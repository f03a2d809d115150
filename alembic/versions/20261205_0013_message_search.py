"""Message search (issue #14, target 6): a full-text index over the text of messages.

- PostgreSQL: a stored generated column `search_vector` = `to_tsvector('simple',
  coalesce(body, ''))` and a GIN index on it ('simple' because users write in several
  languages and no stemming dictionary fits all, and `unaccent` is not on every Supabase
  project), and a btree on `created_at` that lets a common word's search walk the newest
  messages first instead of ranking every match (services/search.py), and
  `messaging_rls.message_search(query, limit)`: the GIN lookup for a user under RLS (below).
  Stored, not an
  expression index: the walk and ts_rank read the vector instead of parsing each body again
  (measured: ~30 us a row under load). The database computes it: no writer sends it.
- SQLite: an FTS5 external-content table `messaging_messages_fts` over `body` (rowid = the
  message's rowid; unicode61 with diacritics removed), kept in step by triggers on insert,
  update and delete. A deleted message (body NULL, `deleted_at` set) has no entry, and an
  edit replaces the old text's entry.

Neither is in the ORM metadata (they are the search's, per backend): SEARCH_OBJECTS in
services/search.py lists them and tests/test_migrations.py leaves them out of its comparison.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Under RLS the planner may not use the GIN index for a user's `@@`: the operator is not
# LEAKPROOF, so it must run after the policy's check, i.e. as a filter on every row (a 1M-row
# scan for a word in none). This function does the index lookup as its owner, limited to the
# caller's own threads (`auth.uid()`, the claims every user transaction carries), and returns
# ids only; the service reads the rows themselves as the user, through RLS.
SEARCH_FUNCTION = """
create function {schema}.message_search(p_query tsquery, p_limit integer)
returns table (message_id uuid, thread_id uuid)
language plpgsql
stable
security definer
set search_path = ''
set enable_seqscan = off
set enable_nestloop = off
as $$
begin
  -- EXECUTE: planned for these values each call. A plan for any value (what a function's
  -- static statement gets) ANDs the GIN index with each thread's rows: 45 s for a common word.
  -- No nested loop: the planner's guess for a prefix ('zanzibar':*) is "common", on which it
  -- walked my 10,000 threads one by one (0.8 s for 40 matches); the GIN bitmap hash-joined
  -- to my participant rows takes 3 ms for those, 72 ms for 5,001 of "lease" (1M, loaded).
  return query execute
    'select m.id, m.thread_id from public.messaging_messages m'
    ' where m.search_vector operator(pg_catalog.@@) $1 and m.deleted_at is null'
    '   and exists (select 1 from public.messaging_participants p'
    '               where p.thread_id = m.thread_id and p.user_id = (select auth.uid()))'
    ' limit $2'
    using p_query, p_limit;
end
$$;
revoke all on function {schema}.message_search(tsquery, integer) from public;
grant execute on function {schema}.message_search(tsquery, integer) to authenticated, service_role;
"""

POSTGRES_UP = """
alter table public.messaging_messages add column search_vector tsvector
  generated always as (to_tsvector('simple'::regconfig, coalesce(body, ''))) stored;
create index if not exists ix_messaging_messages_search on public.messaging_messages
  using gin (search_vector);
create index if not exists ix_messaging_messages_created_at
  on public.messaging_messages (created_at);
"""
POSTGRES_DOWN = """
drop function if exists messaging_rls.message_search(tsquery, integer);
drop index if exists public.ix_messaging_messages_created_at;
drop index if exists public.ix_messaging_messages_search;
alter table public.messaging_messages drop column if exists search_vector;
"""

# What is indexed: the text of a message that has text and is not deleted. The 'delete'
# command of an external-content table must be given exactly what was indexed, so the
# triggers test the OLD row with the same condition.
INDEXED = "{row}.body IS NOT NULL AND {row}.deleted_at IS NULL"
SQLITE_UP = [
    "CREATE VIRTUAL TABLE messaging_messages_fts USING fts5("
    " body, content='messaging_messages', content_rowid='rowid',"
    " tokenize='unicode61 remove_diacritics 2')",
    "INSERT INTO messaging_messages_fts (rowid, body)"
    f" SELECT rowid, body FROM messaging_messages WHERE {INDEXED.format(row='messaging_messages')}",
    "CREATE TRIGGER messaging_messages_fts_insert AFTER INSERT ON messaging_messages"
    f" WHEN {INDEXED.format(row='new')} BEGIN"
    " INSERT INTO messaging_messages_fts (rowid, body) VALUES (new.rowid, new.body); END",
    "CREATE TRIGGER messaging_messages_fts_delete AFTER DELETE ON messaging_messages"
    f" WHEN {INDEXED.format(row='old')} BEGIN"
    " INSERT INTO messaging_messages_fts (messaging_messages_fts, rowid, body)"
    " VALUES ('delete', old.rowid, old.body); END",
    "CREATE TRIGGER messaging_messages_fts_update AFTER UPDATE OF body, deleted_at"
    " ON messaging_messages BEGIN"
    " INSERT INTO messaging_messages_fts (messaging_messages_fts, rowid, body)"
    f" SELECT 'delete', old.rowid, old.body WHERE {INDEXED.format(row='old')};"
    " INSERT INTO messaging_messages_fts (rowid, body)"
    f" SELECT new.rowid, new.body WHERE {INDEXED.format(row='new')}; END",
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS messaging_messages_fts_update",
    "DROP TRIGGER IF EXISTS messaging_messages_fts_delete",
    "DROP TRIGGER IF EXISTS messaging_messages_fts_insert",
    "DROP TABLE IF EXISTS messaging_messages_fts",
]


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(POSTGRES_UP)
        op.execute(SEARCH_FUNCTION.format(schema="messaging_rls"))
    else:
        for statement in SQLITE_UP:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(POSTGRES_DOWN)
    else:
        for statement in SQLITE_DOWN:
            op.execute(statement)
