-- ArbiBase messaging, 2/3: who may do what. Row Level Security, the rules that compare OLD and
-- NEW (triggers), and the bookkeeping SQL does for direct Supabase clients.
--
-- Conventions (supabase/README.md explains each rule and why):
-- * RLS is on for every messaging table; at most ONE permissive policy per table and command,
--   always `to authenticated`; `anon` has neither privileges nor policies.
-- * auth.uid() is always wrapped as `(select auth.uid())` (evaluated once per statement, not
--   per row), and every column inside a policy is qualified with its table or alias.
-- * "My threads" is always `select t.id from public.messaging_threads t where t.operator_id =
--   (select auth.uid()) or t.owner_id = (select auth.uid())`: both columns are indexed, and the
--   threads policy does not look at any other messaging table, so no policy recurses.
-- * "Trusted" callers are the roles RLS does not bind either: superusers, roles with BYPASSRLS
--   (service_role) and members of the tables' owner (postgres: migrations, the app's elevated
--   connection, background workers). The triggers' column rules bind everyone else
--   (authenticated, anon, any other login role), exactly like the policies do.
-- * Helper functions live in schema messaging_private, which PostgREST does not expose; the
--   SECURITY DEFINER ones have `set search_path = ''` and are listed at the end of the README.

create schema if not exists messaging_private;
revoke all on schema messaging_private from public;
grant usage on schema messaging_private to authenticated, service_role;

-- --- helpers -----------------------------------------------------------------------------

-- True when RLS does not bind the current role on `rel` either (see the header).
create function messaging_private.caller_is_trusted(rel regclass)
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

-- Owners must be verified before they write in a thread. The flag is the caller's
-- app_metadata.verified in auth.users: only the service role (Auth admin API) can set
-- app_metadata, while user_metadata is writable by the user and therefore never consulted.
-- Read from auth.users rather than from the JWT so that revoking takes effect at once.
-- SECURITY DEFINER because `authenticated` cannot read auth.users.
create function messaging_private.caller_is_verified()
returns boolean
language sql
stable
security definer
set search_path = ''
as $$
  select coalesce(
    (select (u.raw_app_meta_data -> 'verified') = 'true'::jsonb
     from auth.users u
     where u.id = (select auth.uid())),
    false)
$$;

-- Only operator accounts open negotiations (the app's users.role; owners answer in the threads
-- operators open). The account's role is app_metadata.role ('operator' | 'owner') in
-- auth.users, set with the service key like `verified`; user_metadata is never consulted.
-- SECURITY DEFINER because `authenticated` cannot read auth.users.
create function messaging_private.caller_is_operator()
returns boolean
language sql
stable
security definer
set search_path = ''
as $$
  select coalesce(
    (select (u.raw_app_meta_data ->> 'role') = 'operator'
     from auth.users u
     where u.id = (select auth.uid())),
    false)
$$;

-- What a participant may put in a message (the app's validation.py / messages.py rules):
-- some text or an attachment, at most 10,000 characters, an http(s) or site-path URL only
-- (no javascript: links in the seed's <a href>), metadata a JSON object of at most 16 KB.
create function messaging_private.valid_message_content(
  p_body text, p_attachment_url text, p_metadata jsonb
)
returns boolean
language sql
immutable
set search_path = ''
as $$
  select (p_body is null or pg_catalog.char_length(p_body) <= 10000)
    and (p_body ~ '[^[:space:]]' or p_attachment_url is not null)
    and (p_attachment_url is null or p_attachment_url ~ '^(https?://|/(?!/))[^[:space:]]*$')
    and (p_metadata is null
         or (pg_catalog.jsonb_typeof(p_metadata) = 'object'
             and pg_catalog.octet_length(p_metadata::text) <= 16384))
$$;

-- The next number of a thread for a new message by p_sender_id: moves the thread (last_seq,
-- last_message_at; an archived thread becomes active again) and the participants' inbox copy,
-- and moves the sender's read cursor to their own message (replying means having read
-- everything before it). A retry (same client_msg_id) gets the first delivery's number and
-- changes nothing, so the unique index refuses it or ON CONFLICT DO NOTHING skips it.
-- Returns no row when the sender is not a party of the thread (the insert policy then refuses).
-- SECURITY DEFINER because participants may not write these columns themselves; only the
-- messages trigger may call it (pg_trigger_depth), and PostgREST does not expose its schema.
create function messaging_private.append_message(
  p_thread_id uuid, p_sender_id uuid, p_client_msg_id text
)
returns table (out_seq integer, out_at timestamptz)
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  v_thread public.messaging_threads%rowtype;
  v_seq integer;
  v_now timestamptz := pg_catalog.now();
begin
  if pg_catalog.pg_trigger_depth() < 1 then
    raise exception 'messaging_private.append_message is internal to the messages trigger'
      using errcode = '42501';
  end if;
  -- The row lock queues concurrent senders of this thread.
  select t.* into v_thread
  from public.messaging_threads t
  where t.id = p_thread_id
  for update;
  if not found
     or (p_sender_id is distinct from v_thread.operator_id
         and p_sender_id is distinct from v_thread.owner_id) then
    return;
  end if;
  if p_client_msg_id is not null then
    select m.seq into v_seq
    from public.messaging_messages m
    where m.thread_id = p_thread_id
      and m.sender_id = p_sender_id
      and m.client_msg_id = p_client_msg_id;
    if found then
      out_seq := v_seq;
      out_at := v_now;
      return next;
      return;
    end if;
  end if;
  update public.messaging_threads t
  set last_seq = t.last_seq + 1,
      last_message_at = v_now,
      status = case when t.status = 'archived' then 'active' else t.status end
  where t.id = p_thread_id
  returning t.last_seq into v_seq;
  update public.messaging_participants p
  set last_message_at = v_now
  where p.thread_id = p_thread_id;
  update public.messaging_participants p
  set last_read_seq = v_seq,
      last_read_at = v_now
  where p.thread_id = p_thread_id
    and p.user_id = p_sender_id
    and p.last_read_seq < v_seq;
  out_seq := v_seq;
  out_at := v_now;
  return next;
end
$$;

-- How many tags a thread of the caller has (0 for anyone else's). SECURITY DEFINER because the
-- tags insert policy cannot read messaging_thread_tags itself: a policy that queries its own
-- table is refused as infinite recursion.
create function messaging_private.thread_tag_count(p_thread_id uuid)
returns integer
language sql
stable
security definer
set search_path = ''
as $$
  select pg_catalog.count(*)::integer
  from public.messaging_thread_tags x
  where x.thread_id = p_thread_id
    and exists (
      select 1
      from public.messaging_threads t
      where t.id = p_thread_id
        and (t.operator_id = (select auth.uid()) or t.owner_id = (select auth.uid()))
    )
$$;

-- --- triggers: messaging_threads ------------------------------------------------------------

create function messaging_private.threads_before_insert()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if not messaging_private.caller_is_trusted(tg_relid) then
    new.created_at := pg_catalog.now();
    new.last_message_at := new.created_at;
  end if;
  return new;
end
$$;

-- A thread's parties, property, counters and timestamps never change; participants may change
-- the subject and the status (the one-active unique index still applies).
create function messaging_private.threads_before_update()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if messaging_private.caller_is_trusted(tg_relid) then
    return new;
  end if;
  if (new.id, new.property_id, new.operator_id, new.owner_id, new.last_seq,
      new.last_message_at, new.created_at)
     is distinct from
     (old.id, old.property_id, old.operator_id, old.owner_id, old.last_seq,
      old.last_message_at, old.created_at) then
    raise exception 'only the subject and the status of a thread can be changed'
      using errcode = '42501';
  end if;
  return new;
end
$$;

-- Membership follows the thread: its operator and its owner, created when the transaction that
-- opened the thread commits (deferred, so a client that inserts only the thread gets both rows,
-- and one that inserts the rows itself, as the app does, keeps its own).
create function messaging_private.threads_add_participants()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  insert into public.messaging_participants (thread_id, user_id, role, last_read_seq, last_message_at)
  select t.id, x.user_id, x.role, 0, t.last_message_at
  from public.messaging_threads t
  cross join lateral (values (t.operator_id, 'operator'), (t.owner_id, 'owner')) as x (user_id, role)
  where t.id = new.id
  on conflict (thread_id, user_id) do nothing;
  return null;
end
$$;

create trigger messaging_threads_before_insert
  before insert on public.messaging_threads
  for each row execute function messaging_private.threads_before_insert();
create trigger messaging_threads_before_update
  before update on public.messaging_threads
  for each row execute function messaging_private.threads_before_update();
create constraint trigger messaging_threads_participants
  after insert on public.messaging_threads
  deferrable initially deferred
  for each row execute function messaging_private.threads_add_participants();

-- --- triggers: messaging_participants -------------------------------------------------------

create function messaging_private.participants_before_insert()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if not messaging_private.caller_is_trusted(tg_relid) then
    new.last_read_at := null;
    new.last_message_at := coalesce(
      (select t.last_message_at from public.messaging_threads t where t.id = new.thread_id),
      pg_catalog.now());
  end if;
  return new;
end
$$;

-- Cursors only move forward and never past the newest message, for everyone. Participants may
-- move only their own cursor (the policy) and change nothing else on the row.
create function messaging_private.participants_before_update()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if new.last_read_seq < old.last_read_seq then
    raise exception 'read cursors only move forward (% -> %)', old.last_read_seq, new.last_read_seq
      using errcode = '23514';
  end if;
  if new.last_read_seq > old.last_read_seq
     and new.last_read_seq > (select t.last_seq from public.messaging_threads t
                              where t.id = new.thread_id) then
    raise exception 'a read cursor cannot pass the newest message of its thread'
      using errcode = '23514';
  end if;
  if messaging_private.caller_is_trusted(tg_relid) then
    return new;
  end if;
  if (new.thread_id, new.user_id, new.role, new.last_message_at)
     is distinct from (old.thread_id, old.user_id, old.role, old.last_message_at) then
    raise exception 'only your read cursor (last_read_seq) can be changed'
      using errcode = '42501';
  end if;
  if new.last_read_seq > old.last_read_seq then
    new.last_read_at := pg_catalog.now();
  else
    new.last_read_at := old.last_read_at;
  end if;
  return new;
end
$$;

-- The seed's seen_by receipts follow the cursor: the reader is added (once) to the other side's
-- messages it passed over. Nobody writes seen_by directly. SECURITY DEFINER because those are
-- the other participant's rows.
create function messaging_private.participants_after_read()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  update public.messaging_messages m
  set seen_by = m.seen_by || pg_catalog.jsonb_build_array(new.user_id::text)
  where m.thread_id = new.thread_id
    and m.seq > old.last_read_seq
    and m.seq <= new.last_read_seq
    and m.sender_id <> new.user_id
    and not m.seen_by @> pg_catalog.jsonb_build_array(new.user_id::text);
  return null;
end
$$;

create trigger messaging_participants_before_insert
  before insert on public.messaging_participants
  for each row execute function messaging_private.participants_before_insert();
create trigger messaging_participants_before_update
  before update on public.messaging_participants
  for each row execute function messaging_private.participants_before_update();
create trigger messaging_participants_seen
  after update of last_read_seq on public.messaging_participants
  for each row when (new.last_read_seq > old.last_read_seq)
  execute function messaging_private.participants_after_read();

-- --- triggers: messaging_messages -----------------------------------------------------------

-- Numbers come from the database. A client leaves seq out; a trusted caller may give its own
-- (the app's services bump the thread themselves, then insert with that number).
create function messaging_private.messages_before_insert()
returns trigger
language plpgsql
set search_path = ''
as $$
declare
  v_trusted boolean := messaging_private.caller_is_trusted(tg_relid);
  v_next record;
begin
  if new.seq is not null then
    if v_trusted then
      return new;
    end if;
    raise exception 'messaging_messages.seq is assigned by the database: leave it out'
      using errcode = '42501';
  end if;
  if not v_trusted then
    new.created_at := pg_catalog.now();
    -- Only a sender writing as themselves into a thread they can see gets a number; anything
    -- else keeps seq empty and the insert policy refuses it, with the same error for a thread
    -- that exists and one that does not.
    if new.sender_id is distinct from (select auth.uid())
       or not exists (select 1 from public.messaging_threads t where t.id = new.thread_id) then
      return new;
    end if;
  end if;
  select a.out_seq, a.out_at into v_next
  from messaging_private.append_message(new.thread_id, new.sender_id, new.client_msg_id) a;
  if v_next.out_seq is not null then
    new.seq := v_next.out_seq;
    new.created_at := v_next.out_at;
  end if;
  return new;
end
$$;

-- The sender may edit the text of their own text messages (edited_at is stamped) and delete
-- their own messages (deleted_at is stamped, the content is cleared). Nothing else changes:
-- not the thread, number, sender, kind, receipts or timestamps; offers and system messages are
-- a record of the negotiation and never change.
create function messaging_private.messages_before_update()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if messaging_private.caller_is_trusted(tg_relid) then
    return new;
  end if;
  if (new.id, new.thread_id, new.seq, new.sender_id, new.seen_by, new.kind, new.client_msg_id,
      new.created_at)
     is distinct from
     (old.id, old.thread_id, old.seq, old.sender_id, old.seen_by, old.kind, old.client_msg_id,
      old.created_at) then
    raise exception 'only the body of your own message can be edited, or the message deleted'
      using errcode = '42501';
  end if;
  if old.deleted_at is not null then
    raise exception 'a deleted message cannot be changed' using errcode = '42501';
  end if;
  if new.deleted_at is not null then
    new.deleted_at := pg_catalog.now();
    new.body := null;
    new.attachment_url := null;
    new.metadata := null;
    new.edited_at := old.edited_at;
    return new;
  end if;
  if (new.attachment_url, new.metadata) is distinct from (old.attachment_url, old.metadata) then
    raise exception 'only the body of your own message can be edited, or the message deleted'
      using errcode = '42501';
  end if;
  if new.body is distinct from old.body then
    if old.kind <> 'text' then
      raise exception 'offers and system messages cannot be edited' using errcode = '42501';
    end if;
    new.edited_at := pg_catalog.now();
  else
    new.edited_at := old.edited_at;
  end if;
  return new;
end
$$;

create trigger messaging_messages_before_insert
  before insert on public.messaging_messages
  for each row execute function messaging_private.messages_before_insert();
create trigger messaging_messages_before_update
  before update on public.messaging_messages
  for each row execute function messaging_private.messages_before_update();

-- --- triggers: tags and attachments ---------------------------------------------------------

create function messaging_private.stamp_created_at()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if not messaging_private.caller_is_trusted(tg_relid) then
    new.created_at := pg_catalog.now();
  end if;
  return new;
end
$$;

-- An uploader may link their attachment to a message once (message_id: null -> their message,
-- checked by the policy); the file's record itself never changes.
create function messaging_private.attachments_before_update()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if messaging_private.caller_is_trusted(tg_relid) then
    return new;
  end if;
  if old.message_id is not null
     or (new.id, new.thread_id, new.uploader_id, new.filename, new.content_type, new.size_bytes,
         new.storage_key, new.thumbnail_key, new.created_at)
        is distinct from
        (old.id, old.thread_id, old.uploader_id, old.filename, old.content_type, old.size_bytes,
         old.storage_key, old.thumbnail_key, old.created_at) then
    raise exception 'an attachment can only be linked to a message, once'
      using errcode = '42501';
  end if;
  return new;
end
$$;

create trigger messaging_thread_tags_before_insert
  before insert on public.messaging_thread_tags
  for each row execute function messaging_private.stamp_created_at();
create trigger messaging_attachments_before_insert
  before insert on public.messaging_attachments
  for each row execute function messaging_private.stamp_created_at();
create trigger messaging_attachments_before_update
  before update on public.messaging_attachments
  for each row execute function messaging_private.attachments_before_update();

-- --- privileges -----------------------------------------------------------------------------

-- Functions: nobody may call them (PUBLIC gets EXECUTE by default, and per-schema default
-- privileges cannot take that away), except the helpers that policies and the invoker
-- triggers call as `authenticated`. Trigger functions need no grant to fire.
revoke all on all functions in schema messaging_private
  from public, anon, authenticated, service_role;
grant execute on function messaging_private.caller_is_trusted(regclass)
  to authenticated, service_role;
grant execute on function messaging_private.caller_is_verified() to authenticated, service_role;
grant execute on function messaging_private.caller_is_operator() to authenticated, service_role;
grant execute on function messaging_private.thread_tag_count(uuid) to authenticated, service_role;
grant execute on function messaging_private.valid_message_content(text, text, jsonb)
  to authenticated, service_role;
grant execute on function messaging_private.append_message(uuid, uuid, text)
  to authenticated, service_role;


-- anon: nothing at all (and no policy either, should a later grant bring privileges back).
-- authenticated: the four commands, filtered by the policies; never TRUNCATE (which RLS does
-- not filter), REFERENCES or TRIGGER.
revoke all on table
  public.messaging_threads, public.messaging_participants, public.messaging_thread_tags,
  public.messaging_messages, public.messaging_attachments
  from anon;
revoke truncate, references, trigger on table
  public.messaging_threads, public.messaging_participants, public.messaging_thread_tags,
  public.messaging_messages, public.messaging_attachments
  from authenticated;
grant select, insert, update, delete on table
  public.messaging_threads, public.messaging_participants, public.messaging_thread_tags,
  public.messaging_messages, public.messaging_attachments
  to authenticated;
grant all on table
  public.messaging_threads, public.messaging_participants, public.messaging_thread_tags,
  public.messaging_messages, public.messaging_attachments
  to service_role;

alter table public.messaging_threads enable row level security;
alter table public.messaging_participants enable row level security;
alter table public.messaging_thread_tags enable row level security;
alter table public.messaging_messages enable row level security;
alter table public.messaging_attachments enable row level security;

-- --- policies: messaging_threads ------------------------------------------------------------

create policy "threads: participants read" on public.messaging_threads
  for select to authenticated
  using (
    messaging_threads.operator_id = (select auth.uid())
    or messaging_threads.owner_id = (select auth.uid())
  );

-- An operator account opens a thread as its operator, with the owner of the property, never
-- with themselves, active and empty (the one-active unique index refuses a second active thread).
create policy "threads: operators open with the property owner" on public.messaging_threads
  for insert to authenticated
  with check (
    messaging_threads.operator_id = (select auth.uid())
    and (select messaging_private.caller_is_operator())
    and messaging_threads.owner_id <> messaging_threads.operator_id
    and messaging_threads.status = 'active'
    and messaging_threads.last_seq = 0
    and exists (
      select 1
      from public.properties p
      where p.id = messaging_threads.property_id
        and p.owner_id = messaging_threads.owner_id
    )
  );

-- Either party may change the subject or the status (the trigger keeps everything else).
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

-- No delete policy: threads are closed or archived, never deleted by a participant.

-- --- policies: messaging_participants -------------------------------------------------------

-- Both rows of my threads: my cursor and the other side's (for "Seen").
create policy "participants: participants read" on public.messaging_participants
  for select to authenticated
  using (
    messaging_participants.thread_id in (
      select t.id
      from public.messaging_threads t
      where t.operator_id = (select auth.uid())
         or t.owner_id = (select auth.uid())
    )
  );

-- A party of the thread may add the thread's own two rows (the trigger adds them anyway), with
-- the right role and a fresh cursor; nobody can join a thread they are not a party of.
create policy "participants: the thread's parties only" on public.messaging_participants
  for insert to authenticated
  with check (
    messaging_participants.last_read_seq = 0
    and messaging_participants.thread_id in (
      select t.id
      from public.messaging_threads t
      where (t.operator_id = (select auth.uid()) or t.owner_id = (select auth.uid()))
        and (
          (messaging_participants.user_id = t.operator_id
           and messaging_participants.role = 'operator')
          or (messaging_participants.user_id = t.owner_id
              and messaging_participants.role = 'owner')
        )
    )
  );

-- My own cursor only (the trigger: forward only, nothing else on the row).
create policy "participants: move my own cursor" on public.messaging_participants
  for update to authenticated
  using (messaging_participants.user_id = (select auth.uid()))
  with check (messaging_participants.user_id = (select auth.uid()));

-- No delete policy: membership follows the thread.

-- --- policies: messaging_thread_tags --------------------------------------------------------

create policy "tags: participants read" on public.messaging_thread_tags
  for select to authenticated
  using (
    messaging_thread_tags.thread_id in (
      select t.id
      from public.messaging_threads t
      where t.operator_id = (select auth.uid())
         or t.owner_id = (select auth.uid())
    )
  );

-- Tags on my threads, in my name, trimmed, at most 20 per thread.
create policy "tags: participants add" on public.messaging_thread_tags
  for insert to authenticated
  with check (
    messaging_thread_tags.created_by = (select auth.uid())
    and messaging_thread_tags.tag = pg_catalog.btrim(messaging_thread_tags.tag)
    and messaging_thread_tags.tag <> ''
    and messaging_thread_tags.thread_id in (
      select t.id
      from public.messaging_threads t
      where t.operator_id = (select auth.uid())
         or t.owner_id = (select auth.uid())
    )
    and messaging_private.thread_tag_count(messaging_thread_tags.thread_id) < 20
  );

-- Either party may remove any tag of their thread (as in the app). No update policy: a tag is
-- removed and added.
create policy "tags: participants remove" on public.messaging_thread_tags
  for delete to authenticated
  using (
    messaging_thread_tags.thread_id in (
      select t.id
      from public.messaging_threads t
      where t.operator_id = (select auth.uid())
         or t.owner_id = (select auth.uid())
    )
  );

-- --- policies: messaging_messages -----------------------------------------------------------

create policy "messages: participants read" on public.messaging_messages
  for select to authenticated
  using (
    messaging_messages.thread_id in (
      select t.id
      from public.messaging_threads t
      where t.operator_id = (select auth.uid())
         or t.owner_id = (select auth.uid())
    )
  );

-- As myself, into my thread unless it is closed; an owner only once verified; text or offers
-- (system messages are the service's), no receipts, no edit/delete stamps, valid content.
-- The trigger has already numbered the row and stamped created_at.
create policy "messages: participants send as themselves" on public.messaging_messages
  for insert to authenticated
  with check (
    messaging_messages.sender_id = (select auth.uid())
    and messaging_messages.thread_id in (
      select t.id
      from public.messaging_threads t
      where t.status <> 'closed'
        and (
          t.operator_id = (select auth.uid())
          or (t.owner_id = (select auth.uid())
              and (select messaging_private.caller_is_verified()))
        )
    )
    and messaging_messages.kind in ('text', 'offer')
    and messaging_messages.seen_by = '[]'::jsonb
    and messaging_messages.edited_at is null
    and messaging_messages.deleted_at is null
    and messaging_private.valid_message_content(
      messaging_messages.body, messaging_messages.attachment_url, messaging_messages.metadata)
  );

-- My own messages, with the same right to write in the thread as for sending (the trigger:
-- only the body of text messages, or a delete).
create policy "messages: senders edit their own" on public.messaging_messages
  for update to authenticated
  using (messaging_messages.sender_id = (select auth.uid()))
  with check (
    messaging_messages.sender_id = (select auth.uid())
    and messaging_messages.thread_id in (
      select t.id
      from public.messaging_threads t
      where t.status <> 'closed'
        and (
          t.operator_id = (select auth.uid())
          or (t.owner_id = (select auth.uid())
              and (select messaging_private.caller_is_verified()))
        )
    )
    and (
      messaging_messages.deleted_at is not null
      or messaging_private.valid_message_content(
        messaging_messages.body, messaging_messages.attachment_url, messaging_messages.metadata)
    )
  );

-- No delete policy: a message is deleted by setting deleted_at (the row, its number and the
-- thread's history stay).

-- --- policies: messaging_attachments --------------------------------------------------------

create policy "attachments: participants read" on public.messaging_attachments
  for select to authenticated
  using (
    messaging_attachments.thread_id in (
      select t.id
      from public.messaging_threads t
      where t.operator_id = (select auth.uid())
         or t.owner_id = (select auth.uid())
    )
  );

-- The record of a file I uploaded to my thread: stored at {thread_id}/{id} in the bucket
-- (thumbnail: {thread_id}/{id}.thumb.webp), so a record can never point into another thread's
-- folder; one of the app's allowed types (the app serves files with this content type);
-- at most 25 MB (the bucket's limit); not on a message yet.
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
    and messaging_attachments.content_type in (
      'application/pdf', 'image/png', 'image/jpeg', 'image/gif', 'image/webp',
      'application/msword',
      'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
      'application/vnd.ms-excel',
      'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
      'text/csv', 'text/plain'
    )
    and messaging_attachments.size_bytes <= 26214400
    and messaging_attachments.thread_id in (
      select t.id
      from public.messaging_threads t
      where t.operator_id = (select auth.uid())
         or t.owner_id = (select auth.uid())
    )
  );

-- The uploader links the file to one of their own messages in the same thread.
create policy "attachments: uploaders link to their message" on public.messaging_attachments
  for update to authenticated
  using (messaging_attachments.uploader_id = (select auth.uid()))
  with check (
    messaging_attachments.uploader_id = (select auth.uid())
    and messaging_attachments.message_id in (
      select m.id
      from public.messaging_messages m
      where m.thread_id = messaging_attachments.thread_id
        and m.sender_id = (select auth.uid())
    )
  );

-- No delete policy: attachment records stay with the thread.
