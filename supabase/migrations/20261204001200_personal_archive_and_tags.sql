-- ArbiBase messaging, 12: personal archive, shared close, case-insensitive tags (issue #13).
-- The same columns and indexes as Alembic revision 0011 (tests/supabase/test_supabase_schema.py
-- compares them), with their rules for direct clients:
--
-- * messaging_participants.archived_at: my archive of a thread (my inbox only). Migration 2's
--   update policy lets a participant update only their own row and migration 11's trigger
--   lets every column but the identity, role and last_message_at change, so a client archives
--   only for itself. A new message clears it for both parties (a trigger on the inbox copy of
--   last_message_at, which only the send path moves). The thread's shared status keeps
--   'active' | 'closed'; 'archived' is still accepted from direct clients and means archived
--   for both. Threads archived before this migration become archived for both participants
--   and active again (closed when their pair already has another active thread).
-- * uq_messaging_thread_tags_lower: one tag per thread whatever its case; existing duplicates
--   keep their first spelling (the oldest row).
-- * The send policy also lets a party post the system message of their own close / reopen
--   ("… closed the conversation", metadata status 'closed'; "… reopened the conversation",
--   'active'), posted while the thread is open, as the app does.

alter table public.messaging_participants add column archived_at timestamptz;

-- --- existing data --------------------------------------------------------------------------

update public.messaging_participants p
set archived_at = pg_catalog.now()
where p.thread_id in (select t.id from public.messaging_threads t where t.status = 'archived');

do $$
declare
  r record;
begin
  -- Newest first: of several archived threads of one pair, the newest becomes the active one.
  for r in
    select t.id, t.property_id, t.operator_id, t.owner_id
    from public.messaging_threads t
    where t.status = 'archived'
    order by t.last_message_at desc
  loop
    update public.messaging_threads t
    set status = case
      when exists (
        select 1 from public.messaging_threads o
        where o.property_id = r.property_id and o.operator_id = r.operator_id
          and o.owner_id = r.owner_id and o.status = 'active'
      ) then 'closed'
      else 'active' end
    where t.id = r.id;
  end loop;
end
$$;

delete from public.messaging_thread_tags d
where exists (
  select 1 from public.messaging_thread_tags f
  where f.thread_id = d.thread_id
    and pg_catalog.lower(f.tag) = pg_catalog.lower(d.tag)
    and (f.created_at < d.created_at or (f.created_at = d.created_at and f.tag < d.tag))
);

create unique index uq_messaging_thread_tags_lower
  on public.messaging_thread_tags (thread_id, lower(tag));

-- --- a new message un-archives ----------------------------------------------------------------

create function messaging_private.participants_unarchive_on_message()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if new.last_message_at > old.last_message_at then
    new.archived_at := null;
  end if;
  return new;
end
$$;
revoke all on function messaging_private.participants_unarchive_on_message() from public;
create trigger messaging_participants_unarchive_on_message
  before update of last_message_at on public.messaging_participants
  for each row execute function messaging_private.participants_unarchive_on_message();

-- Live: my archive changes only my own inbox row (migration 4's channel, ids only).
create function messaging_private.messaging_notify_archive() returns trigger
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
revoke all on function messaging_private.messaging_notify_archive() from public;
create trigger messaging_participants_notify_archive
  after update of archived_at on public.messaging_participants
  for each row when (old.archived_at is distinct from new.archived_at)
  execute function messaging_private.messaging_notify_archive();

-- --- the send policy: migration 7's, plus the close / reopen message ------------------------

drop policy if exists "messages: participants send as themselves" on public.messaging_messages;
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
    and (
      messaging_messages.kind in ('text', 'offer')
      or (
        messaging_messages.kind = 'system'
        and (
          exists (
            select 1
            from public.messaging_offers o
            where o.thread_id = messaging_messages.thread_id
              and o.id::text = messaging_messages.metadata ->> 'offer_id'
              and o.decided_by = (select auth.uid())
          )
          or exists (
            select 1
            from public.messaging_threads t
            where t.id = messaging_messages.thread_id
              and t.stage_changed_by = (select auth.uid())
              and t.stage = messaging_messages.metadata ->> 'stage'
          )
          or (
            messaging_messages.metadata ->> 'status' = 'closed'
            and messaging_messages.body like '% closed the conversation'
          )
          or (
            messaging_messages.metadata ->> 'status' = 'active'
            and messaging_messages.body like '% reopened the conversation'
          )
        )
      )
    )
    and messaging_messages.seen_by = '[]'::jsonb
    and messaging_messages.edited_at is null
    and messaging_messages.deleted_at is null
    and messaging_private.valid_message_content(
      messaging_messages.body, messaging_messages.attachment_url, messaging_messages.metadata)
  );
