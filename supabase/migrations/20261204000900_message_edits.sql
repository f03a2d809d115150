-- Edit and delete own messages (issue #12, part 5), the same rules as the app's Alembic
-- revision 0009 (tests/supabase/test_supabase_schema.py compares the table):
--
-- * migration 2 already lets a sender edit the text of their own `text` message and delete
--   their own message ("messages: senders edit their own" + messaging_messages_before_update).
--   This adds what the app says too: only within the edit window (15 minutes by default,
--   setting `arbibase_chat.message_edit_window_seconds`, the app's
--   MESSAGE_EDIT_WINDOW_SECONDS), only `text` messages (offers and system messages are
--   withdrawn or stay: not deleted either), never after a delete.
-- * `messaging_message_edits`: the previous text of every edit and of the deletion, who and
--   when. Participants of the thread read it; nobody writes it but the SECURITY DEFINER
--   trigger below (no insert / update / delete privilege or policy for any client).
-- * A deleted message's file: the message keeps no link (the trigger clears attachment_url);
--   the attachment row and its object stay (the audit's), as in the app, which no longer
--   serves them.
-- * Live: migration 4's statement-level NOTIFY already announces a changed body, edited_at or
--   deleted_at as `messages_changed` (ids only).

create table public.messaging_message_edits (
  id uuid primary key default gen_random_uuid(),
  message_id uuid not null references public.messaging_messages (id) on delete cascade,
  thread_id uuid not null references public.messaging_threads (id) on delete cascade,
  editor_id uuid references auth.users (id) on delete set null,
  action varchar(16) not null,
  previous_body text,
  edited_at timestamptz not null default now(),
  constraint ck_messaging_message_edits_action check (action in ('edit', 'delete'))
);
create index ix_messaging_message_edits_message
  on public.messaging_message_edits (message_id, edited_at);
create index ix_messaging_message_edits_thread on public.messaging_message_edits (thread_id);
create index ix_messaging_message_edits_editor_id
  on public.messaging_message_edits (editor_id);
comment on table public.messaging_message_edits is
  'ArbiBase: the previous text of edited and deleted messages (RLS: participants read).';

revoke all on table public.messaging_message_edits from anon, authenticated;
grant all on table public.messaging_message_edits to service_role;
grant select on table public.messaging_message_edits to authenticated;
alter table public.messaging_message_edits enable row level security;

create policy "message edits: participants read" on public.messaging_message_edits
  for select to authenticated
  using (
    messaging_message_edits.thread_id in (
      select t.id
      from public.messaging_threads t
      where t.operator_id = (select auth.uid())
         or t.owner_id = (select auth.uid())
    )
  );
-- No insert / update / delete policy: only the trigger writes the audit.

-- --- the window ------------------------------------------------------------------------------

create function messaging_private.message_edit_window()
returns interval
language sql
stable
set search_path = ''
as $$
  select pg_catalog.make_interval(secs => coalesce(
    nullif(pg_catalog.current_setting('arbibase_chat.message_edit_window_seconds', true),
           '')::integer,
    900))
$$;

-- Migration 2's rules, plus: text messages only (offers and system messages are a record and
-- are not deleted either), within the window, never after a delete.
create or replace function messaging_private.messages_before_update()
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
  if old.kind <> 'text' then
    raise exception 'offers and system messages cannot be edited or deleted'
      using errcode = '42501';
  end if;
  if old.created_at < pg_catalog.now() - messaging_private.message_edit_window() then
    raise exception 'the edit window of this message has closed' using errcode = '42501';
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
    if old.body is null then
      raise exception 'a file without text can be deleted, not edited' using errcode = '42501';
    end if;
    new.edited_at := pg_catalog.now();
  else
    new.edited_at := old.edited_at;
  end if;
  return new;
end
$$;

-- --- the audit ---------------------------------------------------------------------------------

-- SECURITY DEFINER: clients may not write the audit; this writes it for every writer.
create function messaging_private.message_edits_audit()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  insert into public.messaging_message_edits (message_id, thread_id, editor_id, action,
                                              previous_body, edited_at)
  values (new.id, new.thread_id, coalesce((select auth.uid()), new.sender_id),
          case when new.deleted_at is not null then 'delete' else 'edit' end,
          old.body, pg_catalog.now());
  return null;
end
$$;
create trigger messaging_messages_edits_audit
  after update of body, deleted_at on public.messaging_messages
  for each row
  when (old.body is distinct from new.body
        or (old.deleted_at is null and new.deleted_at is not null))
  execute function messaging_private.message_edits_audit();

revoke all on function messaging_private.message_edit_window() from public;
revoke all on function messaging_private.message_edits_audit() from public;
grant execute on function messaging_private.message_edit_window() to authenticated, service_role;
