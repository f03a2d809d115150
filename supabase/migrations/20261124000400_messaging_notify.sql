-- ArbiBase messaging, 4: NOTIFY channel `arbibase_chat` after every committed message, read
-- cursor move, thread and tag change, whoever wrote it (the Reflex app's workers, the Next.js
-- pages through PostgREST, SQL). Payloads carry ids and sequence numbers only, never text: each
-- worker's listener (arbibase_chat/realtime/pg_listener.py) reads the rest under the usual
-- participant checks. Same triggers as the app's alembic revision 0003.
--
-- SECURITY DEFINER with `set search_path = ''`: the notice must not depend on what the writer's
-- policies let it read back (e.g. the thread row inside the trigger). Nothing is returned to
-- the caller, and NOTIFY is transactional (a rolled-back write announces nothing).
-- Supabase's own Realtime (postgres_changes) is not used: it would need the publication and
-- sends whole rows, text included, to subscribed browsers.
create function messaging_private.messaging_notify(payload jsonb) returns void
language sql security definer set search_path = '' as $$ select pg_catalog.pg_notify('arbibase_chat', payload::text) $$;

create function messaging_private.messaging_notify_message_insert() returns trigger
language plpgsql security definer set search_path = '' as $$
declare t record;
begin
  select operator_id, owner_id into t from public.messaging_threads where id = new.thread_id;
  perform messaging_private.messaging_notify(jsonb_build_object(
    'kind', 'message', 'thread_id', new.thread_id, 'message_id', new.id, 'seq', new.seq,
    'sender_id', new.sender_id, 'participants', jsonb_build_array(t.operator_id, t.owner_id)));
  return null;
end $$;

-- Statement level, one notice per thread: a read cursor passing 500 messages rewrites 500
-- seen_by values, which is not news (the cursor's own notice says it). Only content changes
-- (edits, deletions, attachment links, metadata) are.
create function messaging_private.messaging_notify_messages_changed() returns trigger
language plpgsql security definer set search_path = '' as $$
declare r record;
begin
  for r in
    select distinct n.thread_id, t.operator_id, t.owner_id
    from new_rows n
    join old_rows o on o.id = n.id
    join public.messaging_threads t on t.id = n.thread_id
    where n.body is distinct from o.body
       or n.deleted_at is distinct from o.deleted_at
       or n.edited_at is distinct from o.edited_at
       or n.attachment_url is distinct from o.attachment_url
       or n.metadata::text is distinct from o.metadata::text
  loop
    perform messaging_private.messaging_notify(jsonb_build_object(
      'kind', 'messages_changed', 'thread_id', r.thread_id,
      'participants', jsonb_build_array(r.operator_id, r.owner_id)));
  end loop;
  return null;
end $$;

-- Quiet when the cursor only stepped onto the reader's own new message (every send does
-- that): nothing the other side can see changed.
create function messaging_private.messaging_notify_read() returns trigger
language plpgsql security definer set search_path = '' as $$
declare t record;
begin
  if new.last_read_seq = old.last_read_seq + 1 and exists (
    select 1 from public.messaging_messages m
    where m.thread_id = new.thread_id and m.seq = new.last_read_seq
      and m.sender_id = new.user_id
  ) then
    return null;
  end if;
  select operator_id, owner_id into t from public.messaging_threads where id = new.thread_id;
  perform messaging_private.messaging_notify(jsonb_build_object(
    'kind', 'read', 'thread_id', new.thread_id, 'user_id', new.user_id,
    'seq', new.last_read_seq, 'participants', jsonb_build_array(t.operator_id, t.owner_id)));
  return null;
end $$;

create function messaging_private.messaging_notify_thread() returns trigger
language plpgsql security definer set search_path = '' as $$
begin
  perform messaging_private.messaging_notify(jsonb_build_object(
    'kind', 'thread', 'thread_id', new.id,
    'participants', jsonb_build_array(new.operator_id, new.owner_id)));
  return null;
end $$;

create function messaging_private.messaging_notify_tags() returns trigger
language plpgsql security definer set search_path = '' as $$
declare r record;
begin
  for r in
    select distinct t.id, t.operator_id, t.owner_id
    from (select thread_id from changed_tags) c
    join public.messaging_threads t on t.id = c.thread_id
  loop
    perform messaging_private.messaging_notify(jsonb_build_object(
      'kind', 'thread', 'thread_id', r.id,
      'participants', jsonb_build_array(r.operator_id, r.owner_id)));
  end loop;
  return null;
end $$;

create trigger messaging_messages_notify_insert
  after insert on public.messaging_messages
  for each row execute function messaging_private.messaging_notify_message_insert();
create trigger messaging_messages_notify_update
  after update on public.messaging_messages
  referencing old table as old_rows new table as new_rows
  for each statement execute function messaging_private.messaging_notify_messages_changed();
create trigger messaging_participants_notify_read
  after update of last_read_seq on public.messaging_participants
  for each row when (new.last_read_seq > old.last_read_seq)
  execute function messaging_private.messaging_notify_read();
create trigger messaging_threads_notify_insert
  after insert on public.messaging_threads
  for each row execute function messaging_private.messaging_notify_thread();
create trigger messaging_threads_notify_update
  after update of status, subject on public.messaging_threads
  for each row when (old.status is distinct from new.status
                     or old.subject is distinct from new.subject)
  execute function messaging_private.messaging_notify_thread();
create trigger messaging_thread_tags_notify_insert
  after insert on public.messaging_thread_tags
  referencing new table as changed_tags
  for each statement execute function messaging_private.messaging_notify_tags();
create trigger messaging_thread_tags_notify_delete
  after delete on public.messaging_thread_tags
  referencing old table as changed_tags
  for each statement execute function messaging_private.messaging_notify_tags();

-- Only the triggers call these (as their owner): nobody may announce things by hand.
revoke all on function messaging_private.messaging_notify(jsonb) from public, anon, authenticated;
revoke all on function messaging_private.messaging_notify_message_insert() from public, anon, authenticated;
revoke all on function messaging_private.messaging_notify_messages_changed() from public, anon, authenticated;
revoke all on function messaging_private.messaging_notify_read() from public, anon, authenticated;
revoke all on function messaging_private.messaging_notify_thread() from public, anon, authenticated;
revoke all on function messaging_private.messaging_notify_tags() from public, anon, authenticated;
