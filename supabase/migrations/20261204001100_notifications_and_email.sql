-- ArbiBase messaging, 11: per-thread mute, notification settings, the e-mail outbox and reply
-- tokens (issue #12, parts 2 and 3). The same tables, columns, constraints and indexes as
-- Alembic revision 0010 (tests/supabase/test_supabase_schema.py compares them), with their
-- rules for direct clients:
--
-- * messaging_participants.muted_until: my mute of a thread (9999-12-31: until I unmute).
--   Migration 2's update policy already lets a participant update only their own row, and its
--   trigger refuses changes to the row's identity and last_message_at only: the mute needs no
--   new rule (tests/supabase/test_supabase_notifications.py checks both sides).
-- * messaging_notification_settings: my own choices (the global e-mail opt-out); each user
--   reads and writes only their own row.
-- * messaging_email_outbox: e-mails owed. A message makes one due to the other party when the
--   thread's operator is on Premium (app_metadata.tier; the app's TIER_FEATURES default gives
--   e-mail fallback to 'premium' only), written by a trigger in the message's transaction, so
--   a message sent by any client owes its e-mail; one pending row per thread and recipient
--   batches (the partial unique index; the app's own insert of the same row is then a no-op).
--   Clients may insert such a row for the other party of their thread and nothing else; they
--   never read or change the outbox. The dispatcher (the app, service role) does.
-- * messaging_email_tokens: SHA-256 of reply / unsubscribe tokens. No client access at all.

alter table public.messaging_participants add column muted_until timestamptz;

-- Live: a mute changes only my own inbox row and total (migration 4's channel, ids only).
create function messaging_private.messaging_notify_mute() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  perform messaging_private.messaging_notify(pg_catalog.jsonb_build_object(
    'kind', 'thread', 'thread_id', new.thread_id,
    'participants', pg_catalog.jsonb_build_array(new.user_id)));
  return null;
end
$$;
revoke all on function messaging_private.messaging_notify_mute() from public;
create trigger messaging_participants_notify_mute
  after update of muted_until on public.messaging_participants
  for each row when (old.muted_until is distinct from new.muted_until)
  execute function messaging_private.messaging_notify_mute();

-- --- tables ---------------------------------------------------------------------------------

create table public.messaging_notification_settings (
  user_id uuid primary key references auth.users (id) on delete cascade,
  email_enabled boolean not null default true,
  updated_at timestamptz not null default now()
);
comment on table public.messaging_notification_settings is
  'ArbiBase: a user''s own notification choices (RLS: only their own row).';

create table public.messaging_email_outbox (
  id uuid primary key default gen_random_uuid(),
  thread_id uuid not null references public.messaging_threads (id) on delete cascade,
  user_id uuid not null references auth.users (id) on delete cascade,
  first_seq integer not null,
  due_at timestamptz not null,
  state varchar(16) not null default 'pending',
  attempts integer not null default 0,
  claimed_at timestamptz,
  through_seq integer,
  sent_at timestamptz,
  email_message_id varchar(255),
  note varchar(300),
  created_at timestamptz not null default now(),
  constraint ck_messaging_email_outbox_state
    check (state in ('pending', 'sending', 'sent', 'skipped', 'failed'))
);
create unique index uq_messaging_email_outbox_pending
  on public.messaging_email_outbox (thread_id, user_id) where state = 'pending';
create index ix_messaging_email_outbox_due on public.messaging_email_outbox (state, due_at);
create index ix_messaging_email_outbox_recipient
  on public.messaging_email_outbox (user_id, thread_id);
comment on table public.messaging_email_outbox is
  'ArbiBase: e-mails owed to participants (the app''s dispatcher sends them; no client reads).';

create table public.messaging_email_tokens (
  token_hash varchar(64) primary key,
  user_id uuid not null references auth.users (id) on delete cascade,
  thread_id uuid not null references public.messaging_threads (id) on delete cascade,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null
);
create index ix_messaging_email_tokens_pair on public.messaging_email_tokens (user_id, thread_id);
comment on table public.messaging_email_tokens is
  'ArbiBase: SHA-256 of reply-by-e-mail / unsubscribe tokens (no client access).';

-- --- access ---------------------------------------------------------------------------------

revoke all on table public.messaging_notification_settings, public.messaging_email_outbox,
  public.messaging_email_tokens from anon, authenticated;
grant all on table public.messaging_notification_settings, public.messaging_email_outbox,
  public.messaging_email_tokens to service_role;
alter table public.messaging_notification_settings enable row level security;
alter table public.messaging_email_outbox enable row level security;
alter table public.messaging_email_tokens enable row level security;

grant select, insert, update (email_enabled, updated_at)
  on table public.messaging_notification_settings to authenticated;
create policy "notification settings: mine to read" on public.messaging_notification_settings
  for select to authenticated
  using (messaging_notification_settings.user_id = (select auth.uid()));
create policy "notification settings: mine to create" on public.messaging_notification_settings
  for insert to authenticated
  with check (messaging_notification_settings.user_id = (select auth.uid()));
create policy "notification settings: mine to change" on public.messaging_notification_settings
  for update to authenticated
  using (messaging_notification_settings.user_id = (select auth.uid()))
  with check (messaging_notification_settings.user_id = (select auth.uid()));

grant insert (id, thread_id, user_id, first_seq, due_at, state, attempts, created_at)
  on table public.messaging_email_outbox to authenticated;
create policy "email outbox: due to the other party of my thread"
  on public.messaging_email_outbox
  for insert to authenticated
  with check (
    messaging_email_outbox.state = 'pending'
    and messaging_email_outbox.attempts = 0
    and messaging_email_outbox.user_id <> (select auth.uid())
    and exists (
      select 1 from public.messaging_threads t
      where t.id = messaging_email_outbox.thread_id
        and (t.operator_id = (select auth.uid()) or t.owner_id = (select auth.uid()))
        and messaging_email_outbox.user_id in (t.operator_id, t.owner_id)
        and messaging_email_outbox.first_seq between 1 and t.last_seq
    )
  );
-- messaging_email_tokens: no grant, no policy.

-- --- the e-mail a message makes due ---------------------------------------------------------

-- SECURITY DEFINER: it reads the operator's tier in auth.users and writes a row the sender
-- could only insert, never see. The delay: setting `arbibase_chat.email_notify_delay_seconds`
-- (the app's EMAIL_NOTIFY_DELAY_SECONDS, default 120).
create function messaging_private.email_due_after_message()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  insert into public.messaging_email_outbox
    (id, thread_id, user_id, first_seq, due_at, state, attempts, created_at)
  select pg_catalog.gen_random_uuid(), new.thread_id,
         case when new.sender_id = t.operator_id then t.owner_id else t.operator_id end,
         new.seq,
         pg_catalog.now() + pg_catalog.make_interval(secs => coalesce(
           nullif(pg_catalog.current_setting('arbibase_chat.email_notify_delay_seconds', true),
                  '')::double precision,
           120)),
         'pending', 0, pg_catalog.now()
  from public.messaging_threads t
  join auth.users u on u.id = t.operator_id
  where t.id = new.thread_id
    and coalesce(u.raw_app_meta_data ->> 'tier', 'beta') = 'premium'
  on conflict do nothing;
  return null;
end
$$;
revoke all on function messaging_private.email_due_after_message() from public;
create trigger messaging_messages_email_due
  after insert on public.messaging_messages
  for each row execute function messaging_private.email_due_after_message();
