"""Owner verification: `users.is_staff` and `owner_verification_claims` (issue #11, part 2).

An unverified owner submits a claim with a proof document; ArbiBase staff approve or reject
it (services/verification.py). On PostgreSQL the database says the same as the service:

- `authenticated` may read `users.is_staff` (never write `users`, as before);
- RLS on the claims, one policy per command: an owner reads their own claims, staff read all;
  only an unverified owner account inserts, for themselves, pending, undecided, the proof
  under `verification/<owner_id>/<claim id>`; only staff decide a pending claim, never their
  own, in their own name, a rejection with a reason (the column privileges: only the decision's
  columns); no delete;
- approving a claim sets the owner's `users.verified` in the same transaction (a SECURITY
  DEFINER trigger: `authenticated` cannot write `users`, and must not be able to);
- NOTIFY `{"kind": "account", "user_id", "participants": [user_id]}` (0003's channel and
  payload shape) when a user's verified / is_staff / tier / role changes or a claim of theirs
  is submitted or decided, from any client (the CLI too): the listener makes it an
  `AccountUpdated`, and the owner's open pages re-read who they are.

SQLite: the column and the table only (the service sets `verified` itself there).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)
TABLE = "owner_verification_claims"

IS_STAFF = "exists (select 1 from public.users u where u.id = (select auth.uid()) and u.is_staff)"

POSTGRES_UP = f"""
grant select (is_staff) on table public.users to authenticated;
revoke all on table public.{TABLE} from anon, authenticated;
grant all on table public.{TABLE} to service_role;
grant select, insert on table public.{TABLE} to authenticated;
-- A decision changes these and nothing else (owner, proof, note, created_at stay).
grant update (status, reason, decided_by, decided_at) on table public.{TABLE} to authenticated;
alter table public.{TABLE} enable row level security;

create policy "claims: owners read their own, staff all" on public.{TABLE}
  for select to authenticated
  using (
    {TABLE}.owner_id = (select auth.uid())
    or {IS_STAFF}
  );
create policy "claims: unverified owners submit their own" on public.{TABLE}
  for insert to authenticated
  with check (
    {TABLE}.owner_id = (select auth.uid())
    and {TABLE}.status = 'pending'
    and {TABLE}.reason is null
    and {TABLE}.decided_by is null
    and {TABLE}.decided_at is null
    and (
      {TABLE}.proof_key is null
      or {TABLE}.proof_key
        = 'verification/' || {TABLE}.owner_id::text || '/' || {TABLE}.id::text
    )
    and exists (
      select 1 from public.users u
      where u.id = (select auth.uid()) and u.role = 'owner' and not u.verified
    )
  );
-- USING: staff, on a pending claim of someone else; WITH CHECK: decided, by me, with a reason
-- when rejected.
create policy "claims: staff decide" on public.{TABLE}
  for update to authenticated
  using (
    {TABLE}.status = 'pending'
    and {TABLE}.owner_id <> (select auth.uid())
    and {IS_STAFF}
  )
  with check (
    {TABLE}.status in ('approved', 'rejected')
    and {TABLE}.decided_by = (select auth.uid())
    and {TABLE}.decided_at is not null
    and {TABLE}.owner_id <> (select auth.uid())
    and ({TABLE}.status = 'approved' or coalesce(btrim({TABLE}.reason), '') <> '')
    and {IS_STAFF}
  );
-- No delete policy (and no privilege): claims are the record of decisions.

-- Approval verifies the owner, in the approving transaction. SECURITY DEFINER (the table's
-- owner): `authenticated` may not write users; the policy above already decided who approves.
create function messaging_rls.claim_approved()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  update public.users set verified = true where id = new.owner_id and not verified;
  return null;
end
$$;
revoke all on function messaging_rls.claim_approved() from public;
create trigger {TABLE}_approved
  after insert or update of status on public.{TABLE}
  for each row when (new.status = 'approved')
  execute function messaging_rls.claim_approved();

-- Live: a user's account changed (0003's channel; ids only).
-- Qualified, search_path fixed: also fires inside claim_approved (search_path '').
create function public.messaging_notify_account() returns trigger
language plpgsql set search_path = '' as $$
begin
  perform public.messaging_notify(jsonb_build_object(
    'kind', 'account', 'user_id', new.id, 'participants', jsonb_build_array(new.id)));
  return null;
end $$;
create function public.messaging_notify_claim() returns trigger
language plpgsql set search_path = '' as $$
begin
  perform public.messaging_notify(jsonb_build_object(
    'kind', 'account', 'user_id', new.owner_id,
    'participants', jsonb_build_array(new.owner_id)));
  return null;
end $$;
create trigger users_notify_account
  after update of verified, is_staff, tier, role on public.users
  for each row when ((old.verified, old.is_staff, old.tier, old.role)
                     is distinct from (new.verified, new.is_staff, new.tier, new.role))
  execute function public.messaging_notify_account();
create trigger {TABLE}_notify
  after insert or update of status on public.{TABLE}
  for each row execute function public.messaging_notify_claim();
"""

POSTGRES_DOWN = f"""
drop trigger if exists {TABLE}_notify on public.{TABLE};
drop trigger if exists users_notify_account on public.users;
drop function if exists public.messaging_notify_claim();
drop function if exists public.messaging_notify_account();
drop trigger if exists {TABLE}_approved on public.{TABLE};
drop function if exists messaging_rls.claim_approved();
revoke select (is_staff) on table public.users from authenticated;
"""


def upgrade() -> None:
    op.add_column(
        "users",
        sa.Column("is_staff", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.create_table(
        TABLE,
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column(
            "owner_id", sa.Uuid(), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("proof_filename", sa.String(255)),
        sa.Column("proof_content_type", sa.String(127)),
        sa.Column("proof_size_bytes", sa.BigInteger()),
        sa.Column("proof_key", sa.String(200)),
        sa.Column("note", sa.String(1000)),
        sa.Column("reason", sa.String(1000)),
        sa.Column("decided_by", sa.Uuid(), sa.ForeignKey("users.id", ondelete="SET NULL")),
        sa.Column("decided_at", TS),
        sa.Column("created_at", TS, nullable=False),
        sa.CheckConstraint(
            "status IN ('pending', 'approved', 'rejected')",
            name="ck_owner_verification_claims_status",
        ),
    )
    # At most one pending claim per owner (a second submit is a Conflict).
    op.create_index(
        "uq_owner_verification_claims_one_pending",
        TABLE,
        ["owner_id"],
        unique=True,
        sqlite_where=sa.text("status = 'pending'"),
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_index("ix_owner_verification_claims_owner", TABLE, ["owner_id", "created_at"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(POSTGRES_UP)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(POSTGRES_DOWN)
    op.drop_table(TABLE)
    # Plain ALTER on both (SQLite >= 3.35): a batch copy of `users` would cascade-delete
    # every row that references it while foreign keys are on.
    op.execute("ALTER TABLE users DROP COLUMN is_staff")
