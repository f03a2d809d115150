"""Participants carry their thread's `last_seq` (issue #14, target 7: the navbar total).

`reads.unread_total` summed `thread.last_seq - participant.last_read_seq` over a join of the
caller's participant rows with their threads. Under RLS Postgres cannot see whose threads
`(select auth.uid())` selects, estimates 20 rows and probes the participants' primary key
10,000 times for the bench's busiest user (13 ms of execution; 25 ms p95 end to end); SQLite
joined 10,000 rows by CHAR(32) keys (27 ms p50 in session 6). With the thread's number copied
onto both participant rows, the total reads participant rows alone.

The database keeps the copies: a trigger after a thread's `last_seq` moves (a new message)
sets both participant rows' `last_seq` and `last_message_at` from it and clears their archive
(a new message brings the thread back into both inboxes). The send path did the last two in a
statement of its own; now it is one round trip shorter, and a message stored by plain SQL
that numbers itself on the thread (tests/realtime/test_pg_listener.py) keeps the inbox and
the total right as well. On PostgreSQL the trigger runs as the sender (under RLS); the
participants' update trigger keeps `last_seq` equal to the thread's, as it does
`last_message_at`, and `authenticated` may write the column.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "messaging_rls"
TABLE = "messaging_participants"

BACKFILL = f"""
UPDATE {TABLE} SET last_seq = (
  SELECT t.last_seq FROM messaging_threads t WHERE t.id = {TABLE}.thread_id
)
"""

# 0004's trigger function, with the thread's last_seq checked like its last_message_at.
TRIGGER = """
create or replace function {schema}.participants_before_update()
returns trigger
language plpgsql
set search_path = ''
as $$
declare
  v_last_seq integer;
  v_last_at timestamptz;
begin
  if {schema}.caller_is_trusted(tg_relid) then
    return new;
  end if;
  if new.last_read_seq < old.last_read_seq then
    raise exception 'read cursors only move forward (% -> %)', old.last_read_seq,
      new.last_read_seq using errcode = '42501';
  end if;
  if (new.last_read_seq, new.last_read_at) is distinct from (old.last_read_seq, old.last_read_at)
     and new.user_id is distinct from (select auth.uid()) then
    raise exception 'only your own read cursor can be moved' using errcode = '42501';
  end if;
  select t.last_seq, t.last_message_at into v_last_seq, v_last_at
  from public.messaging_threads t
  where t.id = new.thread_id;
  if new.last_read_seq > v_last_seq then
    raise exception 'a read cursor cannot pass the newest message of its thread'
      using errcode = '42501';
  end if;
  if new.last_message_at is distinct from old.last_message_at
     and new.last_message_at is distinct from v_last_at then
    raise exception 'last_message_at is the thread''s' using errcode = '42501';
  end if;{last_seq_check}
  return new;
end
$$;
"""
LAST_SEQ_CHECK = """
  if new.last_seq is distinct from old.last_seq and new.last_seq is distinct from v_last_seq then
    raise exception 'last_seq is the thread''s' using errcode = '42501';
  end if;"""


# After a thread's number moves: both participant rows follow it (Postgres, as the caller).
FOLLOW_POSTGRES = """
create function public.messaging_participants_follow_thread()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  update public.messaging_participants p
  set last_seq = new.last_seq, last_message_at = new.last_message_at, archived_at = null
  where p.thread_id = new.id;
  return null;
end
$$;
create trigger messaging_threads_participants_follow
  after update of last_seq on public.messaging_threads
  for each row when (new.last_seq is distinct from old.last_seq)
  execute function public.messaging_participants_follow_thread();
"""
FOLLOW_SQLITE = """
CREATE TRIGGER messaging_threads_participants_follow
AFTER UPDATE OF last_seq ON messaging_threads
WHEN NEW.last_seq IS NOT OLD.last_seq
BEGIN
  UPDATE messaging_participants
  SET last_seq = NEW.last_seq, last_message_at = NEW.last_message_at, archived_at = NULL
  WHERE thread_id = NEW.id;
END
"""


def upgrade() -> None:
    op.add_column(TABLE, sa.Column("last_seq", sa.Integer(), nullable=False, server_default="0"))
    op.execute(BACKFILL)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(TRIGGER.format(schema=SCHEMA, last_seq_check=LAST_SEQ_CHECK))
        op.execute(f"grant update (last_seq) on table public.{TABLE} to authenticated")
        op.execute(FOLLOW_POSTGRES)
    else:
        op.execute(FOLLOW_SQLITE)


def downgrade() -> None:
    op.execute(
        "drop trigger if exists messaging_threads_participants_follow"
        + (" on public.messaging_threads" if op.get_bind().dialect.name == "postgresql" else "")
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("drop function if exists public.messaging_participants_follow_thread()")
        op.execute(f"revoke update (last_seq) on table public.{TABLE} from authenticated")
        op.execute(TRIGGER.format(schema=SCHEMA, last_seq_check=""))
    op.drop_column(TABLE, "last_seq")
