-- A Supabase-shaped PostgreSQL database for the migrations in supabase/migrations: the parts of
-- a Supabase project they touch, defined as Supabase defines them, and nothing else.
-- Applied by tests/supabase/conftest.py as the superuser, before the migrations, to a
-- database created for the run.

-- --- roles (cluster-wide: created once, kept; NOLOGIN like Supabase's) ----------------------
do $$
begin
  begin
    create role anon nologin noinherit;
  exception when duplicate_object then null;
  end;
  begin
    create role authenticated nologin noinherit;
  exception when duplicate_object then null;
  end;
  begin
    create role service_role nologin noinherit bypassrls;
  exception when duplicate_object then null;
  end;
end
$$;
alter role service_role bypassrls;

-- Supabase's default privileges: the API roles may use schema public and get every privilege
-- on what the migration role (postgres) creates there; RLS is what restricts them.
grant usage on schema public to anon, authenticated, service_role;
alter default privileges in schema public grant all on tables to anon, authenticated, service_role;
alter default privileges in schema public grant all on sequences to anon, authenticated, service_role;
alter default privileges in schema public grant all on functions to anon, authenticated, service_role;

-- --- auth (GoTrue) -------------------------------------------------------------------------
create schema auth;
grant usage on schema auth to anon, authenticated, service_role;

-- The columns of GoTrue's auth.users that matter here (no table privileges for the API roles,
-- as in Supabase).
create table auth.users (
  instance_id uuid,
  id uuid not null primary key,
  aud varchar(255),
  role varchar(255),
  email varchar(255),
  encrypted_password varchar(255),
  email_confirmed_at timestamptz,
  raw_app_meta_data jsonb,
  raw_user_meta_data jsonb,
  is_super_admin boolean,
  created_at timestamptz,
  updated_at timestamptz,
  is_anonymous boolean not null default false
);

-- GoTrue's definitions: the claim GUCs PostgREST sets per request (the older per-claim
-- setting first, then the JSON of all claims).
create function auth.uid()
returns uuid
language sql
stable
as $$
  select
  coalesce(
    nullif(current_setting('request.jwt.claim.sub', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')
  )::uuid
$$;

create function auth.role()
returns text
language sql
stable
as $$
  select
  coalesce(
    nullif(current_setting('request.jwt.claim.role', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role')
  )::text
$$;

create function auth.email()
returns text
language sql
stable
as $$
  select
  coalesce(
    nullif(current_setting('request.jwt.claim.email', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'email')
  )::text
$$;

create function auth.jwt()
returns jsonb
language sql
stable
as $$
  select
  coalesce(
    nullif(current_setting('request.jwt.claim', true), ''),
    nullif(current_setting('request.jwt.claims', true), '')
  )::jsonb
$$;

grant execute on function auth.uid(), auth.role(), auth.email(), auth.jwt()
  to anon, authenticated, service_role;

-- --- ArbiBase's listings (exists before the messaging migrations) ---------------------------
create table public.properties (
  id uuid primary key default gen_random_uuid(),
  owner_id uuid not null references auth.users (id) on delete cascade,
  title varchar(200) not null,
  address varchar(300) not null default '',
  city varchar(120) not null default '',
  state varchar(60),
  monthly_rent_cents integer,
  bedrooms integer,
  bathrooms double precision,
  square_feet integer,
  created_at timestamptz not null default now()
);
create index ix_properties_owner_id on public.properties (owner_id);
alter table public.properties enable row level security;
-- Listings are browsable by everyone signed in; owners manage their own.
create policy "properties: signed-in users browse" on public.properties
  for select to authenticated using (true);
create policy "properties: owners list" on public.properties
  for insert to authenticated with check (properties.owner_id = (select auth.uid()));
create policy "properties: owners edit" on public.properties
  for update to authenticated
  using (properties.owner_id = (select auth.uid()))
  with check (properties.owner_id = (select auth.uid()));
create policy "properties: owners delete" on public.properties
  for delete to authenticated using (properties.owner_id = (select auth.uid()));

-- --- storage (storage-api) -----------------------------------------------------------------
create schema storage;
grant usage on schema storage to anon, authenticated, service_role;

create table storage.buckets (
  id text not null primary key,
  name text not null,
  owner uuid,
  owner_id text,
  created_at timestamptz default now(),
  updated_at timestamptz default now(),
  public boolean default false,
  avif_autodetection boolean default false,
  file_size_limit bigint,
  allowed_mime_types text[]
);
create unique index bname on storage.buckets using btree (name);

create table storage.objects (
  id uuid not null default gen_random_uuid() primary key,
  bucket_id text references storage.buckets (id),
  name text,
  owner uuid,
  owner_id text,
  created_at timestamptz default now(),
  updated_at timestamptz default now(),
  last_accessed_at timestamptz default now(),
  metadata jsonb,
  path_tokens text[] generated always as (string_to_array(name, '/')) stored,
  version text,
  user_metadata jsonb
);
create unique index bucketid_objname on storage.objects using btree (bucket_id, name);
create index name_prefix_search on storage.objects using btree (name text_pattern_ops);

alter table storage.buckets enable row level security;
alter table storage.objects enable row level security;
grant all on storage.buckets, storage.objects to anon, authenticated, service_role;

-- storage-api's definition: the folders of an object's name (all segments but the last).
create function storage.foldername(name text)
returns text[]
language plpgsql
immutable
as $$
declare
  _parts text[];
begin
  select string_to_array(name, '/') into _parts;
  return _parts[1 : array_length(_parts, 1) - 1];
end
$$;
grant execute on function storage.foldername(text) to anon, authenticated, service_role;
