"""Row Level Security for the app's own requests (PostgreSQL only; SQLite: nothing).

Every user request's transaction runs as the role `authenticated` with the user's JWT claims
in `request.jwt.claims` (services/_tx.py), exactly as PostgREST runs a Supabase client. This
revision gives that role what the services need and nothing more, so a bug in the Python
authorization still cannot reach another pair's thread:

- roles `anon` / `authenticated` / `service_role` (NOLOGIN; created when missing, never
  dropped: roles are cluster-wide) and, when the database has none, schema `auth` with
  Supabase's `auth.uid()` (GoTrue's definition, reading `request.jwt.claims`);
- privileges: `anon` nothing; `authenticated` only the commands and columns the services use
  (no `password_hash`; a thread's parties, property and timestamps, a message's content and a
  participant's identity cannot be updated at all); `service_role` everything (BYPASSRLS);
- RLS on `properties` and the messaging tables, one permissive policy per command, all `to
  authenticated`, `auth.uid()` always as `(select auth.uid())`, every column qualified;
- two triggers for what a policy cannot say because it cannot see the old row: a participant
  moves only their own read cursor (forward, never past the newest message) and may only copy
  the thread's `last_message_at` onto the other row (the send path does); a reader may only add
  themselves to `seen_by` of the other side's messages (the mark-read path does).

RLS is enabled, not forced: requests never run as the tables' owner, and the owner is the
documented elevated path (migrations, seed bulk loads, account sign-up / sign-in, the realtime
listener's catch-up), see docs/ARCHITECTURE.md "Elevated access".

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "messaging_rls"
AUTH_MARK = "arbibase_chat 0004: auth.uid() for the RLS of the app (not Supabase)"
TABLES = (
    "messaging_threads",
    "messaging_participants",
    "messaging_thread_tags",
    "messaging_messages",
    "messaging_attachments",
)
RLS_TABLES = ("properties", *TABLES)

# "The thread of this row is one of mine": a correlated lookup of the thread by primary key
# (one index probe per row checked), rather than `thread_id in (select ... my threads)`, whose
# hashed subplan would collect all of a busy user's threads (10,000 in the bench) for every
# single-thread query. The threads policy applies inside it too (it says the same thing).
MINE = """exists (
      select 1 from public.messaging_threads t
      where t.id = {table}.thread_id
        and (t.operator_id = (select auth.uid()) or t.owner_id = (select auth.uid()))
    )"""

ROLES_SQL = """
do $$
begin
  if not exists (select 1 from pg_catalog.pg_roles where rolname = 'anon') then
    create role anon nologin noinherit;
  end if;
  if not exists (select 1 from pg_catalog.pg_roles where rolname = 'authenticated') then
    create role authenticated nologin noinherit;
  end if;
  if not exists (select 1 from pg_catalog.pg_roles where rolname = 'service_role') then
    create role service_role nologin noinherit bypassrls;
  end if;
  -- The app's login role switches to `authenticated` for each request (SET LOCAL ROLE), so it
  -- must be a member (a superuser, and Supabase's postgres, already may).
  if not pg_catalog.pg_has_role(current_user, 'authenticated', 'MEMBER') then
    execute pg_catalog.format('grant authenticated to %I', current_user);
  end if;
end
$$
"""

# Supabase's auth.uid() (GoTrue), created only where no auth schema exists (then granted as
# Supabase grants it); marked so that the downgrade removes only what this revision created.
# In a Supabase database all of this exists already and is left alone.
AUTH_SQL = f"""
do $$
begin
  if pg_catalog.to_regnamespace('auth') is null then
    create schema auth;
    comment on schema auth is '{AUTH_MARK}';
    grant usage on schema auth to anon, authenticated, service_role;
  end if;
  if pg_catalog.to_regprocedure('auth.uid()') is null then
    create function auth.uid()
    returns uuid
    language sql
    stable
    as $f$
      select
      coalesce(
        nullif(current_setting('request.jwt.claim.sub', true), ''),
        (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')
      )::uuid
    $f$;
    grant execute on function auth.uid() to anon, authenticated, service_role;
  end if;
end
$$
"""

HELPERS_SQL = f"""
create schema {SCHEMA};
revoke all on schema {SCHEMA} from public;
grant usage on schema {SCHEMA} to authenticated, service_role;

-- True when RLS does not bind the current role either: superusers, BYPASSRLS roles
-- (service_role), members of the table's owner (the app's elevated connection).
create function {SCHEMA}.caller_is_trusted(rel regclass)
returns boolean
language sql
stable
set search_path = ''
as $$
  select coalesce(
      (select r.rolsuper or r.rolbypassrls from pg_catalog.pg_roles r
       where r.rolname = current_user),
      false)
    or coalesce(
      (select pg_catalog.pg_has_role(current_user, c.relowner, 'MEMBER')
       from pg_catalog.pg_class c where c.oid = rel),
      false)
$$;

-- The send path copies the thread's last_message_at onto both participant rows; mark-read
-- moves the reader's own cursor. Nothing else changes a participant row (the column
-- privileges already keep thread_id, user_id and role fixed).
create function {SCHEMA}.participants_before_update()
returns trigger
language plpgsql
set search_path = ''
as $$
declare
  v_last_seq integer;
  v_last_at timestamptz;
begin
  if {SCHEMA}.caller_is_trusted(tg_relid) then
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
  end if;
  return new;
end
$$;

-- Receipts: a reader adds themselves (once) to seen_by of the other side's messages; the column
-- privileges allow nothing else to change on a message.
create function {SCHEMA}.messages_before_update()
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

revoke all on all functions in schema {SCHEMA} from public;
grant execute on function {SCHEMA}.caller_is_trusted(regclass) to authenticated, service_role;

create trigger messaging_participants_rls_update
  before update on public.messaging_participants
  for each row execute function {SCHEMA}.participants_before_update();
create trigger messaging_messages_rls_update
  before update on public.messaging_messages
  for each row execute function {SCHEMA}.messages_before_update();
"""

_ALL = ", ".join(f"public.{t}" for t in ("users", *RLS_TABLES))
_MSG = ", ".join(f"public.{t}" for t in TABLES)

GRANTS_SQL = f"""
grant usage on schema public to anon, authenticated, service_role;
revoke all on table {_ALL} from anon, authenticated;
grant all on table {_ALL} to service_role;

-- users: no RLS (display names and roles of counter-parties are joined into the inbox), but
-- never the password hash, and no writes (sign-up and verification are elevated).
grant select (id, email, display_name, role, tier, verified, created_at)
  on table public.users to authenticated;
grant select, insert on table public.properties to authenticated;

grant select, insert on table {_MSG} to authenticated;
-- What the services change, and nothing else (a thread's pair and property, a message's
-- content and sender, a participant's identity are not updatable by this role at all).
grant update (subject, status, last_seq, last_message_at)
  on table public.messaging_threads to authenticated;
grant update (last_read_seq, last_read_at, last_message_at)
  on table public.messaging_participants to authenticated;
grant update (seen_by) on table public.messaging_messages to authenticated;
grant update (message_id) on table public.messaging_attachments to authenticated;
grant delete on table public.messaging_thread_tags to authenticated;
"""

POLICIES_SQL = f"""
-- --- properties: listings are browsable; owner accounts list their own ----------------------
create policy "properties: signed-in users browse" on public.properties
  for select to authenticated
  using (true);
create policy "properties: owners list their own" on public.properties
  for insert to authenticated
  with check (
    properties.owner_id = (select auth.uid())
    and exists (
      select 1 from public.users u
      where u.id = (select auth.uid()) and u.role = 'owner'
    )
  );

-- --- messaging_threads ------------------------------------------------------------------------
create policy "threads: participants read" on public.messaging_threads
  for select to authenticated
  using (
    messaging_threads.operator_id = (select auth.uid())
    or messaging_threads.owner_id = (select auth.uid())
  );
-- Only operator accounts open threads, as the operator, with the property's owner, active and
-- empty (services/threads.py get_or_create_thread).
create policy "threads: operators open with the property owner" on public.messaging_threads
  for insert to authenticated
  with check (
    messaging_threads.operator_id = (select auth.uid())
    and messaging_threads.owner_id <> messaging_threads.operator_id
    and messaging_threads.status = 'active'
    and messaging_threads.last_seq = 0
    and exists (
      select 1 from public.users u
      where u.id = (select auth.uid()) and u.role = 'operator'
    )
    and exists (
      select 1 from public.properties p
      where p.id = messaging_threads.property_id
        and p.owner_id = messaging_threads.owner_id
    )
  );
-- Status / subject, and the send path's last_seq / last_message_at (the column privileges).
create policy "threads: participants update" on public.messaging_threads
  for update to authenticated
  using (
    messaging_threads.operator_id = (select auth.uid())
    or messaging_threads.owner_id = (select auth.uid())
  )
  with check (
    messaging_threads.operator_id = (select auth.uid())
    or messaging_threads.owner_id = (select auth.uid())
  );
-- No delete policy (and no privilege): threads are closed or archived.

-- --- messaging_participants -------------------------------------------------------------------
-- My row, and the other side's row of my threads (its cursor is "Seen").
create policy "participants: participants read" on public.messaging_participants
  for select to authenticated
  using (
    messaging_participants.user_id = (select auth.uid())
    or {MINE.format(table="messaging_participants")}
  );
-- The opener adds the thread's own two rows, with the right roles and fresh cursors.
create policy "participants: the thread's parties only" on public.messaging_participants
  for insert to authenticated
  with check (
    messaging_participants.last_read_seq = 0
    and exists (
      select 1 from public.messaging_threads t
      where t.id = messaging_participants.thread_id
        and (t.operator_id = (select auth.uid()) or t.owner_id = (select auth.uid()))
        and (
          (messaging_participants.user_id = t.operator_id
           and messaging_participants.role = 'operator')
          or (messaging_participants.user_id = t.owner_id
              and messaging_participants.role = 'owner')
        )
    )
  );
-- Rows of my threads: the send path copies last_message_at onto both; the trigger lets only
-- my own cursor move.
create policy "participants: rows of my threads" on public.messaging_participants
  for update to authenticated
  using ({MINE.format(table="messaging_participants")})
  with check ({MINE.format(table="messaging_participants")});

-- --- messaging_thread_tags --------------------------------------------------------------------
create policy "tags: participants read" on public.messaging_thread_tags
  for select to authenticated
  using ({MINE.format(table="messaging_thread_tags")});
create policy "tags: participants add" on public.messaging_thread_tags
  for insert to authenticated
  with check (
    messaging_thread_tags.created_by = (select auth.uid())
    and {MINE.format(table="messaging_thread_tags")}
  );
create policy "tags: participants remove" on public.messaging_thread_tags
  for delete to authenticated
  using ({MINE.format(table="messaging_thread_tags")});

-- --- messaging_messages -----------------------------------------------------------------------
create policy "messages: participants read" on public.messaging_messages
  for select to authenticated
  using ({MINE.format(table="messaging_messages")});
-- As myself, into my thread unless it is closed, an owner only once verified, text or offers,
-- no receipts yet (services/messages.py send_message).
create policy "messages: participants send as themselves" on public.messaging_messages
  for insert to authenticated
  with check (
    messaging_messages.sender_id = (select auth.uid())
    and messaging_messages.kind in ('text', 'offer')
    and messaging_messages.seen_by = '[]'::jsonb
    and messaging_messages.edited_at is null
    and messaging_messages.deleted_at is null
    and exists (
      select 1 from public.messaging_threads t
      where t.id = messaging_messages.thread_id
        and t.status <> 'closed'
        and (
          t.operator_id = (select auth.uid())
          or (t.owner_id = (select auth.uid())
              and exists (
                select 1 from public.users u
                where u.id = (select auth.uid()) and u.verified
              ))
        )
    )
  );
-- Receipts on messages of my threads (seen_by only: the column privilege; only mine: the
-- trigger).
create policy "messages: receipts in my threads" on public.messaging_messages
  for update to authenticated
  using ({MINE.format(table="messaging_messages")})
  with check ({MINE.format(table="messaging_messages")});
-- No delete policy (and no privilege).

-- --- messaging_attachments --------------------------------------------------------------------
create policy "attachments: participants read" on public.messaging_attachments
  for select to authenticated
  using ({MINE.format(table="messaging_attachments")});
-- My upload to my thread, stored under the thread's folder (thumbnail next to it), not on a
-- message yet.
create policy "attachments: participants upload" on public.messaging_attachments
  for insert to authenticated
  with check (
    messaging_attachments.uploader_id = (select auth.uid())
    and messaging_attachments.message_id is null
    and messaging_attachments.storage_key
      = messaging_attachments.thread_id::text || '/' || messaging_attachments.id::text
    and (
      messaging_attachments.thumbnail_key is null
      or messaging_attachments.thumbnail_key
        = messaging_attachments.storage_key || '.thumb.webp'
    )
    and {MINE.format(table="messaging_attachments")}
  );
-- The uploader links the file to their own message in the same thread (message_id only: the
-- column privilege).
create policy "attachments: uploaders link to their message" on public.messaging_attachments
  for update to authenticated
  using (messaging_attachments.uploader_id = (select auth.uid()))
  with check (
    messaging_attachments.uploader_id = (select auth.uid())
    and exists (
      select 1 from public.messaging_messages m
      where m.id = messaging_attachments.message_id
        and m.thread_id = messaging_attachments.thread_id
        and m.sender_id = (select auth.uid())
    )
  );
"""

POLICY_NAMES = {
    "properties": ("properties: signed-in users browse", "properties: owners list their own"),
    "messaging_threads": (
        "threads: participants read",
        "threads: operators open with the property owner",
        "threads: participants update",
    ),
    "messaging_participants": (
        "participants: participants read",
        "participants: the thread's parties only",
        "participants: rows of my threads",
    ),
    "messaging_thread_tags": (
        "tags: participants read",
        "tags: participants add",
        "tags: participants remove",
    ),
    "messaging_messages": (
        "messages: participants read",
        "messages: participants send as themselves",
        "messages: receipts in my threads",
    ),
    "messaging_attachments": (
        "attachments: participants read",
        "attachments: participants upload",
        "attachments: uploaders link to their message",
    ),
}


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(ROLES_SQL)
    op.execute(AUTH_SQL)
    op.execute(HELPERS_SQL)
    op.execute(GRANTS_SQL)
    for table in RLS_TABLES:
        op.execute(f"alter table public.{table} enable row level security")
    op.execute(POLICIES_SQL)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, names in POLICY_NAMES.items():
        for name in names:
            op.execute(f'drop policy if exists "{name}" on public.{table}')
        op.execute(f"alter table public.{table} disable row level security")
    op.execute("drop trigger if exists messaging_participants_rls_update on messaging_participants")
    op.execute("drop trigger if exists messaging_messages_rls_update on messaging_messages")
    op.execute(f"drop schema if exists {SCHEMA} cascade")
    op.execute(f"revoke all on table {_ALL} from anon, authenticated, service_role")
    # auth.uid() and schema auth only if this revision created them (never Supabase's).
    op.execute(
        f"""
do $$
begin
  if pg_catalog.obj_description(pg_catalog.to_regnamespace('auth'), 'pg_namespace')
     = '{AUTH_MARK}' then
    drop schema auth cascade;
  end if;
end
$$
"""
    )
    # The roles stay: they are cluster-wide and may serve other databases.
