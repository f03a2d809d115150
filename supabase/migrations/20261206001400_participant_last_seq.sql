-- ArbiBase messaging, 14: participants carry their thread's last_seq (issue #14). The same
-- column as Alembic revision 0015 (tests/supabase/test_supabase_schema.py compares them):
--
-- * messaging_participants.last_seq: the thread's newest message number, copied onto both
--   participant rows by the send path together with last_message_at, so a user's unread total
--   is a sum over their own participant rows (last_seq - last_read_seq), without a join to
--   messaging_threads (10,000 key probes for a user in 10,000 threads under RLS).
--   Clients never write it: a new row copies it from its thread, and an update that changes
--   it is refused like one that changes last_message_at.

alter table public.messaging_participants add column last_seq integer not null default 0;

update public.messaging_participants p
set last_seq = t.last_seq
from public.messaging_threads t
where t.id = p.thread_id;

-- Migration 2's functions, each with last_seq beside last_message_at.
create or replace function messaging_private.participants_before_insert()
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
    new.last_seq := coalesce(
      (select t.last_seq from public.messaging_threads t where t.id = new.thread_id), 0);
  end if;
  return new;
end
$$;

create or replace function messaging_private.participants_before_update()
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
  if (new.thread_id, new.user_id, new.role, new.last_message_at, new.last_seq)
     is distinct from (old.thread_id, old.user_id, old.role, old.last_message_at, old.last_seq) then
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

-- The send path: the thread's number, and its copy on both participant rows.
create or replace function messaging_private.append_message(
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
  set last_message_at = v_now,
      last_seq = v_seq
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
