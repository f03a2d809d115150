-- ArbiBase messaging, 1/3: tables, constraints, indexes.
--
-- The same schema as the app's Alembic head (alembic/versions/20261124_0001_initial_schema.py
-- and 20261124_0002_attachments.py): same table, column, constraint and index names and types,
-- with Supabase's auth.users in place of the app's own `users` table and ArbiBase's existing
-- public.properties. tests/supabase/test_supabase_schema.py compares the two and fails on any
-- drift. The server defaults below are Supabase-only (the app always sends every value; direct
-- Supabase clients rely on the defaults); the triggers in 2/3 overwrite whatever a client may
-- not choose (numbers, timestamps).

-- public.properties is ArbiBase's listings table: this migration references it, never creates it.
do $$
begin
  if pg_catalog.to_regclass('public.properties') is null then
    raise exception 'public.properties does not exist: apply ArbiBase''s own migrations first '
      '(messaging_threads.property_id references it)';
  end if;
  if not exists (
    select 1
    from pg_catalog.pg_attribute a
    where a.attrelid = 'public.properties'::regclass
      and a.attname = 'owner_id'
      and a.atttypid = 'uuid'::regtype
      and not a.attisdropped
  ) then
    raise exception 'public.properties.owner_id (uuid, the listing owner''s auth.users id) is '
      'required: the thread policies check that the owner of a thread owns its property';
  end if;
end
$$;

-- One negotiation per property per operator-owner pair (at most one of them active).
create table public.messaging_threads (
  id uuid primary key default gen_random_uuid(),
  property_id uuid not null references public.properties (id) on delete cascade,
  operator_id uuid not null references auth.users (id) on delete cascade,
  owner_id uuid not null references auth.users (id) on delete cascade,
  subject varchar(200),
  status varchar(16) not null default 'active',
  -- Number of the newest message (messages are numbered 1, 2, 3... per thread).
  last_seq integer not null default 0,
  last_message_at timestamptz not null default now(),
  created_at timestamptz not null default now(),
  constraint ck_messaging_threads_status check (status in ('active', 'archived', 'closed')),
  constraint ck_messaging_threads_two_parties check (operator_id <> owner_id)
);
create index ix_messaging_threads_property_id on public.messaging_threads (property_id);
create index ix_messaging_threads_operator_id on public.messaging_threads (operator_id);
create index ix_messaging_threads_owner_id on public.messaging_threads (owner_id);
create unique index uq_messaging_threads_one_active
  on public.messaging_threads (property_id, operator_id, owner_id)
  where status = 'active';

-- Membership and read cursor: one row per (thread, participant); exactly the thread's operator
-- and owner. unread = thread.last_seq - last_read_seq.
create table public.messaging_participants (
  thread_id uuid not null references public.messaging_threads (id) on delete cascade,
  user_id uuid not null references auth.users (id) on delete cascade,
  role varchar(16) not null,
  last_read_seq integer not null default 0,
  last_read_at timestamptz,
  -- A copy of the thread's last_message_at: the inbox is one index range scan per user.
  last_message_at timestamptz not null default now(),
  primary key (thread_id, user_id),
  constraint ck_messaging_participants_role check (role in ('operator', 'owner')),
  constraint ck_messaging_participants_cursor check (last_read_seq >= 0)
);
create index ix_participants_inbox
  on public.messaging_participants (user_id, last_message_at, thread_id);
create index ix_participants_inbox_role
  on public.messaging_participants (user_id, role, last_message_at, thread_id);

create table public.messaging_thread_tags (
  thread_id uuid not null references public.messaging_threads (id) on delete cascade,
  tag varchar(40) not null,
  created_by uuid references auth.users (id) on delete set null,
  created_at timestamptz not null default now(),
  primary key (thread_id, tag)
);
create index ix_messaging_thread_tags_created_by on public.messaging_thread_tags (created_by);

create table public.messaging_messages (
  id uuid primary key default gen_random_uuid(),
  thread_id uuid not null references public.messaging_threads (id) on delete cascade,
  seq integer not null,
  sender_id uuid not null references auth.users (id) on delete cascade,
  body text,
  attachment_url varchar(2048),
  -- The seed's read receipts, as a JSON array of user ids (filled from the read cursors).
  seen_by jsonb not null default '[]'::jsonb,
  kind varchar(16) not null default 'text',
  -- Idempotent sends: a retry with the same client_msg_id finds the first message.
  client_msg_id varchar(64),
  metadata jsonb,
  edited_at timestamptz,
  deleted_at timestamptz,
  created_at timestamptz not null default now(),
  constraint ck_messaging_messages_kind check (kind in ('text', 'offer', 'system')),
  constraint ck_messaging_messages_seq check (seq > 0)
);
create unique index uq_messaging_messages_thread_seq on public.messaging_messages (thread_id, seq);
create unique index uq_messaging_messages_client_msg
  on public.messaging_messages (thread_id, sender_id, client_msg_id);
create index ix_messaging_messages_sender_id on public.messaging_messages (sender_id);

-- Uploaded files of a thread; the bytes live in the private Storage bucket
-- `message_attachments` under `{thread_id}/{id}` (see 3/3).
create table public.messaging_attachments (
  id uuid primary key default gen_random_uuid(),
  thread_id uuid not null references public.messaging_threads (id) on delete cascade,
  uploader_id uuid not null references auth.users (id) on delete cascade,
  message_id uuid references public.messaging_messages (id) on delete set null,
  filename varchar(255) not null,
  content_type varchar(127) not null,
  size_bytes bigint not null,
  storage_key varchar(200) not null,
  thumbnail_key varchar(200),
  created_at timestamptz not null default now(),
  constraint ck_messaging_attachments_size check (size_bytes >= 0)
);
create index ix_messaging_attachments_thread
  on public.messaging_attachments (thread_id, created_at);
create index ix_messaging_attachments_uploader_id on public.messaging_attachments (uploader_id);
create unique index uq_messaging_attachments_message on public.messaging_attachments (message_id);

comment on table public.messaging_threads is
  'ArbiBase messaging: one negotiation per property and operator-owner pair (RLS: participants only).';
comment on table public.messaging_participants is
  'ArbiBase messaging: membership (the thread''s operator and owner) and forward-only read cursors.';
comment on table public.messaging_thread_tags is 'ArbiBase messaging: tags of a thread.';
comment on table public.messaging_messages is
  'ArbiBase messaging: messages, numbered per thread by the database (seq).';
comment on table public.messaging_attachments is
  'ArbiBase messaging: files in the private bucket message_attachments under {thread_id}/{id}.';
