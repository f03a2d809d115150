-- ArbiBase messaging, 7: offers (versioned, with a state machine), the operator's private ROI
-- numbers of an offer, and the deal stage of a thread (issue #11). The same tables, columns,
-- constraints and indexes as Alembic revision 0007 (tests/supabase/test_supabase_schema.py
-- compares them), with its rules for direct clients:
--
-- * messaging_threads gains `stage` (inquiry -> offer_sent -> countered -> agreed ->
--   lease_drafted -> signed, or lost), `stage_reason` and `stage_changed_by`. Either party
--   (an owner once verified: the thread update policy of migration 6) changes the stage, in
--   their own name only: `stage_changed_by` is the caller or empty (a stage derived from the
--   offers), and changes only with the stage or its reason; the trigger refuses anyone else's
--   name, and taking over the other party's stage. A stage change is announced like a status
--   change (NOTIFY `arbibase_chat`, migration 4).
-- * messaging_offers: one row per version of an offer in a thread, numbered per thread; at most
--   one open (`status = 'sent'`) per thread (a partial unique index: a counter first marks the
--   open version `countered`, then inserts the next one). A version never changes except for
--   its decision; the party who did NOT make it accepts, declines or counters it, its maker
--   withdraws it, either party expires it once `expires_at` has passed; a decided version
--   never changes again. Only the thread's operator or its verified owner acts, in a thread
--   that is not closed. The trigger records the decision as the caller's, at now().
-- * messaging_offer_numbers: the operator's frozen ROI snapshot of their offer; readable by the
--   operator, and by the owner only when `shared`. Neither changed nor deleted by clients.
-- * A party may post a `kind = 'system'` message only about a transition they decided
--   (`metadata ->> 'offer_id'` names an offer of the thread with `decided_by` = them) or a
--   stage they set (the thread's `stage_changed_by` = them and its `stage` =
--   `metadata ->> 'stage'`). Offers themselves need no NOTIFY: every offer change comes with
--   such a message (or an `offer` message) in the same transaction, and that message is
--   announced.

-- --- tables ---------------------------------------------------------------------------------

alter table public.messaging_threads
  add column stage varchar(16) not null default 'inquiry',
  add column stage_reason varchar(500),
  -- No foreign key: always one of the two parties, whose deletion deletes the thread.
  add column stage_changed_by uuid,
  add constraint ck_messaging_threads_stage check (
    stage in ('inquiry', 'offer_sent', 'countered', 'agreed', 'lease_drafted', 'signed', 'lost')
  );

create table public.messaging_offers (
  id uuid primary key default gen_random_uuid(),
  thread_id uuid not null references public.messaging_threads (id) on delete cascade,
  -- 1, 2, 3... per thread; a counter names the version it answers (parent_id).
  version integer not null,
  parent_id uuid references public.messaging_offers (id) on delete set null,
  made_by uuid not null references auth.users (id) on delete cascade,
  -- What both parties see (rent, term, deposit, ...).
  terms jsonb not null,
  status varchar(16) not null default 'sent',
  expires_at timestamptz not null,
  -- The `offer` message that carries this version.
  message_id uuid references public.messaging_messages (id) on delete set null,
  decided_by uuid references auth.users (id) on delete set null,
  decided_at timestamptz,
  reason varchar(500),
  created_at timestamptz not null default now(),
  constraint ck_messaging_offers_status check (
    status in ('sent', 'accepted', 'declined', 'countered', 'withdrawn', 'expired')
  ),
  constraint ck_messaging_offers_version check (version > 0)
);
create unique index uq_messaging_offers_thread_version
  on public.messaging_offers (thread_id, version);
create unique index uq_messaging_offers_one_open
  on public.messaging_offers (thread_id)
  where status = 'sent';
-- The expiry sweep's range scan.
create index ix_messaging_offers_open_expiry
  on public.messaging_offers (expires_at)
  where status = 'sent';
create index ix_messaging_offers_made_by on public.messaging_offers (made_by);

create table public.messaging_offer_numbers (
  offer_id uuid primary key references public.messaging_offers (id) on delete cascade,
  operator_id uuid not null references auth.users (id) on delete cascade,
  inputs jsonb not null,
  roi jsonb not null,
  shared boolean not null default false
);
create index ix_messaging_offer_numbers_operator_id
  on public.messaging_offer_numbers (operator_id);

comment on table public.messaging_offers is
  'ArbiBase messaging: versions of an offer in a thread; only the decision of an open (sent) one changes.';
comment on table public.messaging_offer_numbers is
  'ArbiBase messaging: the operator''s ROI snapshot of an offer; the owner reads it only when shared.';

-- --- triggers -------------------------------------------------------------------------------

-- migration 2's rule (only subject and status change, besides the database's own counters),
-- plus: the deal stage is set in the caller's own name, or in nobody's (a derived stage), and
-- who set it changes only with it (nobody takes over, or erases, the other party's stage).
create or replace function messaging_private.threads_before_update()
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
    raise exception 'only the subject, the status and the stage of a thread can be changed'
      using errcode = '42501';
  end if;
  if new.stage_changed_by is distinct from old.stage_changed_by
     and (new.stage, new.stage_reason) is not distinct from (old.stage, old.stage_reason) then
    raise exception 'who set the stage changes only with the stage' using errcode = '42501';
  end if;
  if (new.stage, new.stage_reason) is distinct from (old.stage, old.stage_reason)
     and new.stage_changed_by is distinct from (select auth.uid())
     and new.stage_changed_by is not null then
    raise exception 'a stage is set in your own name (stage_changed_by) or in nobody''s'
      using errcode = '42501';
  end if;
  return new;
end
$$;

-- The state machine, which a policy cannot enforce (it needs the old row). A version's terms,
-- number, maker, thread, parent, expiry and creation never change. Its maker may link it once
-- to their own message of the thread that carries it. Otherwise only an open version changes,
-- by a decision: accepted / declined / countered by the other party, withdrawn by its maker,
-- expired by either once due. The decision is the caller's (decided_by empty or the caller),
-- at now().
create function messaging_private.offers_before_update()
returns trigger
language plpgsql
set search_path = ''
as $$
declare
  v_me uuid := (select auth.uid());
begin
  if messaging_private.caller_is_trusted(tg_relid) then
    return new;
  end if;
  if (new.id, new.thread_id, new.version, new.parent_id, new.made_by, new.terms,
      new.expires_at, new.created_at)
     is distinct from
     (old.id, old.thread_id, old.version, old.parent_id, old.made_by, old.terms,
      old.expires_at, old.created_at) then
    raise exception 'an offer version never changes; only its decision is recorded'
      using errcode = '42501';
  end if;
  if new is not distinct from old then
    return new;
  end if;
  if new.status = old.status then
    if old.message_id is null
       and old.made_by = v_me
       and (new.decided_by, new.decided_at, new.reason)
           is not distinct from (old.decided_by, old.decided_at, old.reason)
       and exists (
         select 1 from public.messaging_messages m
         where m.id = new.message_id
           and m.thread_id = old.thread_id
           and m.sender_id = v_me
       ) then
      return new;
    end if;
    raise exception 'offer % changes only by a decision (or its maker links its message once)',
      old.id using errcode = '42501';
  end if;
  if old.status <> 'sent' then
    raise exception 'offer % is % and can no longer change', old.id, old.status
      using errcode = '42501';
  end if;
  if new.message_id is distinct from old.message_id then
    raise exception 'a decision does not change the message of an offer' using errcode = '42501';
  end if;
  if new.decided_by is not null and new.decided_by is distinct from v_me then
    raise exception 'a decision is recorded in your own name only' using errcode = '42501';
  end if;
  if new.status in ('accepted', 'declined', 'countered') and old.made_by = v_me then
    raise exception 'only the other party accepts, declines or counters an offer'
      using errcode = '42501';
  end if;
  if new.status = 'withdrawn' and old.made_by is distinct from v_me then
    raise exception 'only its maker withdraws an offer' using errcode = '42501';
  end if;
  if new.status = 'expired' and old.expires_at > pg_catalog.now() then
    raise exception 'offer % is not due to expire yet', old.id using errcode = '42501';
  end if;
  if new.status = 'sent' then
    raise exception 'a decided offer does not reopen' using errcode = '42501';
  end if;
  new.decided_by := v_me;
  new.decided_at := pg_catalog.now();
  return new;
end
$$;

create trigger messaging_offers_before_insert
  before insert on public.messaging_offers
  for each row execute function messaging_private.stamp_created_at();
create trigger messaging_offers_before_update
  before update on public.messaging_offers
  for each row execute function messaging_private.offers_before_update();

-- A stage change is news like a status change (migration 4's notice, ids only).
drop trigger messaging_threads_notify_update on public.messaging_threads;
create trigger messaging_threads_notify_update
  after update of status, subject, stage on public.messaging_threads
  for each row when (old.status is distinct from new.status
                     or old.subject is distinct from new.subject
                     or old.stage is distinct from new.stage)
  execute function messaging_private.messaging_notify_thread();

revoke all on function messaging_private.offers_before_update()
  from public, anon, authenticated, service_role;

-- --- privileges -----------------------------------------------------------------------------

-- anon: nothing (Supabase's default privileges gave it everything on the new tables).
-- authenticated: read and insert; of an offer only the decision columns are updatable (the
-- trigger says the same, should a later `grant all` bring the other columns back); numbers
-- are never updated or deleted by a client; no TRUNCATE, REFERENCES or TRIGGER.
revoke all on table public.messaging_offers, public.messaging_offer_numbers
  from anon, authenticated;
grant select, insert on table public.messaging_offers, public.messaging_offer_numbers
  to authenticated;
grant update (status, message_id, decided_by, decided_at, reason)
  on table public.messaging_offers to authenticated;
grant all on table public.messaging_offers, public.messaging_offer_numbers to service_role;

alter table public.messaging_offers enable row level security;
alter table public.messaging_offer_numbers enable row level security;

-- --- policies: messaging_offers -------------------------------------------------------------

create policy "offers: participants read" on public.messaging_offers
  for select to authenticated
  using (
    messaging_offers.thread_id in (
      select t.id
      from public.messaging_threads t
      where t.operator_id = (select auth.uid())
         or t.owner_id = (select auth.uid())
    )
  );

-- A new version, open, undecided, in my name, in my thread unless it is closed; an owner only
-- once verified. The one-open index refuses a second open version in the thread.
create policy "offers: parties make offers as themselves" on public.messaging_offers
  for insert to authenticated
  with check (
    messaging_offers.made_by = (select auth.uid())
    and messaging_offers.status = 'sent'
    and messaging_offers.decided_by is null
    and messaging_offers.decided_at is null
    and messaging_offers.reason is null
    and messaging_offers.thread_id in (
      select t.id
      from public.messaging_threads t
      where t.status <> 'closed'
        and (
          t.operator_id = (select auth.uid())
          or (t.owner_id = (select auth.uid())
              and (select messaging_private.caller_is_verified()))
        )
    )
  );

-- USING: either party finds the row (a lock before the decision must see it); WITH CHECK: the
-- operator or the verified owner, in a thread that is not closed. Which transition is the
-- trigger's business.
create policy "offers: parties decide" on public.messaging_offers
  for update to authenticated
  using (
    messaging_offers.thread_id in (
      select t.id
      from public.messaging_threads t
      where t.operator_id = (select auth.uid())
         or t.owner_id = (select auth.uid())
    )
  )
  with check (
    messaging_offers.thread_id in (
      select t.id
      from public.messaging_threads t
      where t.status <> 'closed'
        and (
          t.operator_id = (select auth.uid())
          or (t.owner_id = (select auth.uid())
              and (select messaging_private.caller_is_verified()))
        )
    )
  );

-- No delete policy: the versions are the record of the negotiation.

-- --- policies: messaging_offer_numbers ------------------------------------------------------

-- The operator's own numbers; the other party's only once shared.
create policy "offer numbers: the operator, or both once shared"
  on public.messaging_offer_numbers
  for select to authenticated
  using (
    messaging_offer_numbers.operator_id = (select auth.uid())
    or (
      messaging_offer_numbers.shared
      and messaging_offer_numbers.offer_id in (
        select o.id
        from public.messaging_offers o
        where o.thread_id in (
          select t.id
          from public.messaging_threads t
          where t.operator_id = (select auth.uid())
             or t.owner_id = (select auth.uid())
        )
      )
    )
  );

-- The operator of the thread, for an offer they made.
create policy "offer numbers: the maker of the offer" on public.messaging_offer_numbers
  for insert to authenticated
  with check (
    messaging_offer_numbers.operator_id = (select auth.uid())
    and messaging_offer_numbers.offer_id in (
      select o.id
      from public.messaging_offers o
      where o.made_by = (select auth.uid())
        and o.thread_id in (
          select t.id
          from public.messaging_threads t
          where t.operator_id = (select auth.uid())
        )
    )
  );

-- No update or delete policy: a snapshot is frozen when its offer is made.

-- --- policies: messaging_messages (system messages) -----------------------------------------

-- Migration 2's send policy, plus `system` messages about a decision or a stage of the sender.
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
        )
      )
    )
    and messaging_messages.seen_by = '[]'::jsonb
    and messaging_messages.edited_at is null
    and messaging_messages.deleted_at is null
    and messaging_private.valid_message_content(
      messaging_messages.body, messaging_messages.attachment_url, messaging_messages.metadata)
  );
