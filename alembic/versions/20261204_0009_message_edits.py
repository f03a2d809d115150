"""Edit and delete own messages (issue #12, part 5): the audit table and its RLS.

- `messaging_message_edits`: one row per edit or deletion of a message, with the text it had
  before (`previous_body`), who (`editor_id`) and when (`edited_at`).
- PostgreSQL: the sender may update `body` / `edited_at` / `deleted_at` (and clear
  `attachment_url` / `metadata` on a delete) of their own text message, within the edit window,
  in a thread they may still write in (not closed; an owner once verified), never after a
  delete. The column privileges, one update policy (0004's receipts policy, widened: receipts
  on the other side's messages, edits of my own) and 0004's trigger, which now has two branches:
  a receipt (unchanged) or my own message (the window, the kind, the tombstone; the database
  stamps `edited_at` / `deleted_at` with `now()`).
- The audit row is written by a SECURITY DEFINER trigger after every change of a message's
  text or its deletion, whoever writes (the app, an elevated caller, plain SQL): `authenticated`
  may only read the audit of its threads, never write it.
- The window: `arbibase_chat.message_edit_window_seconds` (a database or role setting; default
  900 = the app's MESSAGE_EDIT_WINDOW_SECONDS default). Change both together.

0003's statement-level NOTIFY already announces a changed body / edited_at / deleted_at as
`messages_changed`: the other party's open views reload (no change needed here).

SQLite: the table only (the service writes the audit row itself).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)
TABLE = "messaging_message_edits"
SCHEMA = "messaging_rls"

MINE = """exists (
      select 1 from public.messaging_threads t
      where t.id = {table}.thread_id
        and (t.operator_id = (select auth.uid()) or t.owner_id = (select auth.uid()))
    )"""
# The thread is mine to write in: not closed; its operator, or its owner once verified.
WRITABLE = """exists (
      select 1 from public.messaging_threads t
      where t.id = messaging_messages.thread_id
        and t.status <> 'closed'
        and (
          t.operator_id = (select auth.uid())
          or (t.owner_id = (select auth.uid())
              and exists (select 1 from public.users u
                          where u.id = (select auth.uid()) and u.verified))
        )
    )"""

POSTGRES_UP = f"""
revoke all on table public.{TABLE} from anon, authenticated;
grant all on table public.{TABLE} to service_role;
grant select on table public.{TABLE} to authenticated;
alter table public.{TABLE} enable row level security;
create policy "message edits: participants read" on public.{TABLE}
  for select to authenticated
  using ({MINE.format(table=TABLE)});
-- No insert / update / delete policy (and no privilege): only the trigger below writes.

-- The window, in one place for the triggers (the app: MESSAGE_EDIT_WINDOW_SECONDS).
create function {SCHEMA}.message_edit_window()
returns interval
language sql
stable
set search_path = ''
as $$
  select pg_catalog.make_interval(secs => coalesce(
    nullif(pg_catalog.current_setting('arbibase_chat.message_edit_window_seconds',
                                                 true), '')::integer,
    900))
$$;

-- Receipts (0004, unchanged): a reader adds themselves once to seen_by of the other side's
-- messages and changes nothing else. My own message (0009): an edit of a text message's body
-- or its deletion, within the window, never after a delete; nothing else.
create or replace function {SCHEMA}.messages_before_update()
returns trigger
language plpgsql
set search_path = ''
as $$
declare
  v_me text := (select auth.uid())::text;
begin
  if {SCHEMA}.caller_is_trusted(tg_relid) then
    return new;
  end if;
  if v_me is null then
    raise exception 'only your own receipt can be added to the other side''s messages'
      using errcode = '42501';
  end if;
  if old.sender_id::text <> v_me then
    if new.seen_by is distinct from old.seen_by || pg_catalog.jsonb_build_array(v_me)
       or (new.body, new.attachment_url, new.metadata::text, new.edited_at, new.deleted_at)
          is distinct from
          (old.body, old.attachment_url, old.metadata::text, old.edited_at, old.deleted_at) then
      raise exception 'only your own receipt can be added to the other side''s messages'
        using errcode = '42501';
    end if;
    return new;
  end if;
  if new.seen_by is distinct from old.seen_by then
    raise exception 'receipts are the reader''s' using errcode = '42501';
  end if;
  if old.deleted_at is not null then
    raise exception 'a deleted message cannot be changed' using errcode = '42501';
  end if;
  if old.kind <> 'text' then
    raise exception 'offers and system messages cannot be edited' using errcode = '42501';
  end if;
  if old.created_at < pg_catalog.now() - {SCHEMA}.message_edit_window() then
    raise exception 'the edit window of this message has closed' using errcode = '42501';
  end if;
  if new.deleted_at is not null then
    -- A tombstone: the content goes (the audit keeps the text), the time is the database's.
    new.deleted_at := pg_catalog.now();
    new.body := null;
    new.attachment_url := null;
    new.metadata := null;
    new.edited_at := old.edited_at;
    return new;
  end if;
  if (new.attachment_url, new.metadata::text) is distinct from
     (old.attachment_url, old.metadata::text) then
    raise exception 'only the text of your own message can be edited' using errcode = '42501';
  end if;
  if new.body is not distinct from old.body then
    new.edited_at := old.edited_at;
    return new;
  end if;
  if old.body is null or new.body is null or pg_catalog.btrim(new.body) = ''
     or pg_catalog.char_length(new.body) > 10000 then
    raise exception 'an edit replaces the text with text (at most 10,000 characters)'
      using errcode = '42501';
  end if;
  new.edited_at := pg_catalog.now();
  return new;
end
$$;

-- The audit, whoever writes: SECURITY DEFINER (the table's owner), since `authenticated` may
-- not write it.
create function {SCHEMA}.message_edits_audit()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  insert into public.{TABLE} (id, message_id, thread_id, editor_id, action, previous_body,
                              edited_at)
  values (gen_random_uuid(), new.id, new.thread_id,
          coalesce((select auth.uid()), new.sender_id),
          case when new.deleted_at is not null then 'delete' else 'edit' end,
          old.body, pg_catalog.now());
  return null;
end
$$;
revoke all on function {SCHEMA}.message_edits_audit() from public;
revoke all on function {SCHEMA}.message_edit_window() from public;
grant execute on function {SCHEMA}.message_edit_window() to authenticated, service_role;
create trigger messaging_messages_edits_audit
  after update of body, deleted_at on public.messaging_messages
  for each row
  when (old.body is distinct from new.body
        or (old.deleted_at is null and new.deleted_at is not null))
  execute function {SCHEMA}.message_edits_audit();

-- What an edit and a delete change (the trigger above says which, when and by whom).
grant update (body, attachment_url, metadata, edited_at, deleted_at)
  on table public.messaging_messages to authenticated;

-- One update policy: receipts in my threads (0004), and my own messages while I may write in
-- the thread (the same rule as a send).
drop policy if exists "messages: receipts in my threads" on public.messaging_messages;
create policy "messages: receipts, and senders edit their own" on public.messaging_messages
  for update to authenticated
  using ({MINE.format(table="messaging_messages")})
  with check (
    {MINE.format(table="messaging_messages")}
    and (
      messaging_messages.sender_id <> (select auth.uid())
      or {WRITABLE}
    )
  );
"""

# 0004's receipts-only trigger and policy, as they were.
POSTGRES_DOWN = f"""
drop policy if exists "messages: receipts, and senders edit their own"
  on public.messaging_messages;
create policy "messages: receipts in my threads" on public.messaging_messages
  for update to authenticated
  using ({MINE.format(table="messaging_messages")})
  with check ({MINE.format(table="messaging_messages")});
revoke update (body, attachment_url, metadata, edited_at, deleted_at)
  on table public.messaging_messages from authenticated;
drop trigger if exists messaging_messages_edits_audit on public.messaging_messages;
drop function if exists {SCHEMA}.message_edits_audit();
create or replace function {SCHEMA}.messages_before_update()
returns trigger
language plpgsql
set search_path = ''
as $$
declare
  v_me text := (select auth.uid())::text;
begin
  if {SCHEMA}.caller_is_trusted(tg_relid) then
    return new;
  end if;
  if v_me is null
     or old.sender_id::text = v_me
     or new.seen_by is distinct from old.seen_by || pg_catalog.jsonb_build_array(v_me) then
    raise exception 'only your own receipt can be added to the other side''s messages'
      using errcode = '42501';
  end if;
  return new;
end
$$;
drop function if exists {SCHEMA}.message_edit_window();
"""


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column(
            "message_id",
            sa.Uuid(),
            sa.ForeignKey("messaging_messages.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "thread_id",
            sa.Uuid(),
            sa.ForeignKey("messaging_threads.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("editor_id", sa.Uuid(), sa.ForeignKey("users.id", ondelete="SET NULL")),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("previous_body", sa.Text()),
        sa.Column("edited_at", TS, nullable=False),
        sa.CheckConstraint(
            "action IN ('edit', 'delete')", name="ck_messaging_message_edits_action"
        ),
    )
    op.create_index("ix_messaging_message_edits_message", TABLE, ["message_id", "edited_at"])
    op.create_index("ix_messaging_message_edits_thread", TABLE, ["thread_id"])
    op.create_index("ix_messaging_message_edits_editor_id", TABLE, ["editor_id"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(POSTGRES_UP)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(POSTGRES_DOWN)
    op.drop_table(TABLE)
