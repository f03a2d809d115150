-- Owner verification (issue #11, part 2): an unverified owner submits a claim with a proof
-- document; ArbiBase staff approve or reject it. The same table as the app's Alembic revision
-- 0008 (tests/supabase/test_supabase_schema.py compares them), with auth.users for users.
--
-- Who is who lives in auth.users.raw_app_meta_data, which only the service role sets:
--   verified   (true once approved: what caller_is_verified() and the app's sign-in read)
--   is_staff   (ArbiBase staff: they read every claim and decide them)
--   role       ('owner' submits claims)
--
-- * RLS, one permissive policy per command, `to authenticated`: an owner reads their own
--   claims, staff read all; an unverified owner account inserts their own, pending,
--   undecided, the proof under `verification/<owner_id>/<claim id>` (the app stores it there
--   with the service key, in the private bucket); only staff decide a pending claim of someone
--   else, in their own name, a rejection with a reason (and only the decision's columns:
--   column privileges); nobody deletes.
-- * Approval sets app_metadata.verified of the owner in the same transaction (a SECURITY
--   DEFINER trigger), as the app also does through the Auth admin API.
-- * NOTIFY {"kind": "account", "user_id", "participants": [user_id]} on channel arbibase_chat
--   when a claim is submitted or decided, or a user's verified / is_staff / role / tier
--   app_metadata changes (the app's listener re-reads that user's identity, live).

create table public.owner_verification_claims (
  id uuid primary key default gen_random_uuid(),
  owner_id uuid not null references auth.users (id) on delete cascade,
  status varchar(16) not null default 'pending',
  proof_filename varchar(255),
  proof_content_type varchar(127),
  proof_size_bytes bigint,
  proof_key varchar(200),
  note varchar(1000),
  reason varchar(1000),
  decided_by uuid references auth.users (id) on delete set null,
  decided_at timestamptz,
  created_at timestamptz not null default now(),
  constraint ck_owner_verification_claims_status
    check (status in ('pending', 'approved', 'rejected'))
);
-- At most one claim under review per owner.
create unique index uq_owner_verification_claims_one_pending
  on public.owner_verification_claims (owner_id) where status = 'pending';
create index ix_owner_verification_claims_owner
  on public.owner_verification_claims (owner_id, created_at);
comment on table public.owner_verification_claims is
  'ArbiBase: owners'' ownership verification claims (RLS: the owner and staff; staff decide).';

-- --- helpers (SECURITY DEFINER: `authenticated` cannot read auth.users) ---------------------

create function messaging_private.caller_is_staff()
returns boolean
language sql
stable
security definer
set search_path = ''
as $$
  select coalesce(
    (select (u.raw_app_meta_data -> 'is_staff') = 'true'::jsonb
     from auth.users u
     where u.id = (select auth.uid())),
    false)
$$;

create function messaging_private.caller_is_unverified_owner()
returns boolean
language sql
stable
security definer
set search_path = ''
as $$
  select coalesce(
    (select (u.raw_app_meta_data ->> 'role') = 'owner'
        and (u.raw_app_meta_data -> 'verified') is distinct from 'true'::jsonb
     from auth.users u
     where u.id = (select auth.uid())),
    false)
$$;

-- Approval verifies the owner in the approving transaction.
create function messaging_private.claim_approved()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  update auth.users u
  set raw_app_meta_data = coalesce(u.raw_app_meta_data, '{}'::jsonb)
    || pg_catalog.jsonb_build_object('verified', true)
  where u.id = new.owner_id;
  return null;
end
$$;

create function messaging_private.messaging_notify_claim() returns trigger
language plpgsql security definer set search_path = '' as $$
begin
  perform messaging_private.messaging_notify(pg_catalog.jsonb_build_object(
    'kind', 'account', 'user_id', new.owner_id,
    'participants', pg_catalog.jsonb_build_array(new.owner_id)));
  return null;
end $$;

create function messaging_private.messaging_notify_account() returns trigger
language plpgsql security definer set search_path = '' as $$
begin
  perform messaging_private.messaging_notify(pg_catalog.jsonb_build_object(
    'kind', 'account', 'user_id', new.id,
    'participants', pg_catalog.jsonb_build_array(new.id)));
  return null;
end $$;

revoke all on function messaging_private.caller_is_staff(),
  messaging_private.caller_is_unverified_owner(), messaging_private.claim_approved(),
  messaging_private.messaging_notify_claim(), messaging_private.messaging_notify_account()
  from public, anon, authenticated, service_role;
grant execute on function messaging_private.caller_is_staff(),
  messaging_private.caller_is_unverified_owner() to authenticated, service_role;

create trigger owner_verification_claims_before_insert
  before insert on public.owner_verification_claims
  for each row execute function messaging_private.stamp_created_at();
create trigger owner_verification_claims_approved
  after insert or update of status on public.owner_verification_claims
  for each row when (new.status = 'approved')
  execute function messaging_private.claim_approved();
create trigger owner_verification_claims_notify
  after insert or update of status on public.owner_verification_claims
  for each row execute function messaging_private.messaging_notify_claim();
create trigger users_notify_account
  after update of raw_app_meta_data on auth.users
  for each row when (
    (old.raw_app_meta_data -> 'verified', old.raw_app_meta_data -> 'is_staff',
     old.raw_app_meta_data -> 'role', old.raw_app_meta_data -> 'tier')
    is distinct from
    (new.raw_app_meta_data -> 'verified', new.raw_app_meta_data -> 'is_staff',
     new.raw_app_meta_data -> 'role', new.raw_app_meta_data -> 'tier'))
  execute function messaging_private.messaging_notify_account();

-- --- privileges and policies ------------------------------------------------------------------

alter table public.owner_verification_claims enable row level security;
revoke all on table public.owner_verification_claims from anon, authenticated;
grant all on table public.owner_verification_claims to service_role;
grant select, insert on table public.owner_verification_claims to authenticated;
grant update (status, reason, decided_by, decided_at)
  on table public.owner_verification_claims to authenticated;

create policy "claims: owners read their own, staff all" on public.owner_verification_claims
  for select to authenticated
  using (
    owner_verification_claims.owner_id = (select auth.uid())
    or (select messaging_private.caller_is_staff())
  );
create policy "claims: unverified owners submit their own" on public.owner_verification_claims
  for insert to authenticated
  with check (
    owner_verification_claims.owner_id = (select auth.uid())
    and owner_verification_claims.status = 'pending'
    and owner_verification_claims.reason is null
    and owner_verification_claims.decided_by is null
    and owner_verification_claims.decided_at is null
    and (
      owner_verification_claims.proof_key is null
      or owner_verification_claims.proof_key = 'verification/'
        || owner_verification_claims.owner_id::text || '/' || owner_verification_claims.id::text
    )
    and (select messaging_private.caller_is_unverified_owner())
  );
create policy "claims: staff decide" on public.owner_verification_claims
  for update to authenticated
  using (
    owner_verification_claims.status = 'pending'
    and owner_verification_claims.owner_id <> (select auth.uid())
    and (select messaging_private.caller_is_staff())
  )
  with check (
    owner_verification_claims.status in ('approved', 'rejected')
    and owner_verification_claims.decided_by = (select auth.uid())
    and owner_verification_claims.decided_at is not null
    and owner_verification_claims.owner_id <> (select auth.uid())
    and (
      owner_verification_claims.status = 'approved'
      or coalesce(pg_catalog.btrim(owner_verification_claims.reason), '') <> ''
    )
    and (select messaging_private.caller_is_staff())
  );
-- No delete policy (and no privilege): claims are the record of decisions.
