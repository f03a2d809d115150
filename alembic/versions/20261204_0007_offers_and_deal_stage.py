"""Offers (versioned, with a state machine) and the deal stage of a thread (issue #11).

- `messaging_threads` gains `stage` (inquiry → offer_sent → countered → agreed →
  lease_drafted → signed, or lost), `stage_reason` and `stage_changed_by`.
- `messaging_offers`: one row per version of an offer in a thread, numbered per thread; at
  most one open (`status = 'sent'`) per thread.
- `messaging_offer_numbers`: the operator's frozen ROI snapshot of an offer, private to the
  operator unless shared.

On PostgreSQL the new tables get RLS (one policy per command, participants only) and a
trigger that enforces the state machine where a policy cannot (it needs the old row): only
an open offer changes; the party who did not make it accepts, declines or counters; its
maker withdraws it; it expires only once due; its maker links it once to their own message
of the thread. A second trigger keeps the stage in the caller's own name (or nobody's), and
who set it changes only with it. The message insert policy now also lets a party post the
system message of a transition they made (and of a stage they set). The new tables' privileges
are revoked from anon / authenticated first (a Supabase database's default privileges grant
them everything on new tables).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)
SCHEMA = "messaging_rls"
STAGES = "'inquiry', 'offer_sent', 'countered', 'agreed', 'lease_drafted', 'signed', 'lost'"
STATUSES = "'sent', 'accepted', 'declined', 'countered', 'withdrawn', 'expired'"
JSON = sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql")

MINE = """exists (
      select 1 from public.messaging_threads t
      where t.id = {table}.thread_id
        and (t.operator_id = (select auth.uid()) or t.owner_id = (select auth.uid()))
    )"""
# The operator, or the owner once verified, of a thread that is not closed.
MINE_TO_ACT = """exists (
      select 1 from public.messaging_threads t
      where t.id = {table}.thread_id
        and t.status <> 'closed'
        and (
          t.operator_id = (select auth.uid())
          or (t.owner_id = (select auth.uid())
              and exists (select 1 from public.users u
                          where u.id = (select auth.uid()) and u.verified))
        )
    )"""

SEND_POLICY = """
drop policy if exists "messages: participants send as themselves" on public.messaging_messages;
create policy "messages: participants send as themselves" on public.messaging_messages
  for insert to authenticated
  with check (
    messaging_messages.sender_id = (select auth.uid())
    and (
      messaging_messages.kind in ('text', 'offer')
      {system}
    )
    and messaging_messages.seen_by = '[]'::jsonb
    and messaging_messages.edited_at is null
    and messaging_messages.deleted_at is null
    and exists (
      select 1 from public.messaging_threads t
      where t.id = messaging_messages.thread_id
        and t.status <> 'closed'
        and (
          t.operator_id = (select auth.uid())
          or (t.owner_id = (select auth.uid())
              and exists (
                select 1 from public.users u
                where u.id = (select auth.uid()) and u.verified
              ))
        )
    )
  );
"""
# A system message tells of a transition its sender made (the offer it names was decided by
# them) or of the stage they set; nothing else may speak as the system.
SYSTEM_MESSAGES = """or (
        messaging_messages.kind = 'system'
        and (
          exists (
            select 1 from public.messaging_offers o
            where o.thread_id = messaging_messages.thread_id
              and o.id::text = messaging_messages.metadata ->> 'offer_id'
              and o.decided_by = (select auth.uid())
          )
          or exists (
            select 1 from public.messaging_threads t
            where t.id = messaging_messages.thread_id
              and t.stage_changed_by = (select auth.uid())
              and t.stage = messaging_messages.metadata ->> 'stage'
          )
        )
      )"""

RLS_SQL = f"""
-- Nothing but what follows: in a Supabase database (0004 leaves its roles and default
-- privileges alone) the default privileges have just granted ALL on the new tables to anon
-- and authenticated, TRUNCATE included, which RLS does not filter.
revoke all on table public.messaging_offers, public.messaging_offer_numbers
  from anon, authenticated;
grant select, insert on table public.messaging_offers, public.messaging_offer_numbers
  to authenticated;
grant all on table public.messaging_offers, public.messaging_offer_numbers to service_role;
-- A version's terms, number, maker and thread never change; only its decision does.
grant update (status, message_id, decided_by, decided_at, reason)
  on table public.messaging_offers to authenticated;
grant update (stage, stage_reason, stage_changed_by)
  on table public.messaging_threads to authenticated;

alter table public.messaging_offers enable row level security;
alter table public.messaging_offer_numbers enable row level security;

create policy "offers: participants read" on public.messaging_offers
  for select to authenticated
  using ({MINE.format(table="messaging_offers")});
create policy "offers: parties make offers as themselves" on public.messaging_offers
  for insert to authenticated
  with check (
    messaging_offers.made_by = (select auth.uid())
    and messaging_offers.status = 'sent'
    and messaging_offers.decided_by is null
    and messaging_offers.decided_at is null
    and {MINE_TO_ACT.format(table="messaging_offers")}
  );
-- Who may make which transition is the trigger's business (it sees the old row).
create policy "offers: parties decide" on public.messaging_offers
  for update to authenticated
  using ({MINE.format(table="messaging_offers")})
  with check ({MINE_TO_ACT.format(table="messaging_offers")});

create policy "offer numbers: the operator, or both once shared" on public.messaging_offer_numbers
  for select to authenticated
  using (
    messaging_offer_numbers.operator_id = (select auth.uid())
    or (
      messaging_offer_numbers.shared
      and exists (
        select 1 from public.messaging_offers o
        join public.messaging_threads t on t.id = o.thread_id
        where o.id = messaging_offer_numbers.offer_id
          and (t.operator_id = (select auth.uid()) or t.owner_id = (select auth.uid()))
      )
    )
  );
-- The thread's operator, for an offer they made (an owner's counter has no operator numbers).
create policy "offer numbers: the maker of the offer" on public.messaging_offer_numbers
  for insert to authenticated
  with check (
    messaging_offer_numbers.operator_id = (select auth.uid())
    and exists (
      select 1 from public.messaging_offers o
      join public.messaging_threads t on t.id = o.thread_id
      where o.id = messaging_offer_numbers.offer_id
        and o.made_by = (select auth.uid())
        and t.operator_id = (select auth.uid())
    )
  );

create function {SCHEMA}.offers_before_update()
returns trigger
language plpgsql
set search_path = ''
as $$
declare
  v_me uuid := (select auth.uid());
begin
  if {SCHEMA}.caller_is_trusted(tg_relid) then
    return new;
  end if;
  -- The maker links the version to the message that carries it (their own, in the same
  -- thread), once.
  if new.status = old.status and old.message_id is null
     and new.made_by = v_me
     and (new.decided_by, new.decided_at, new.reason)
         is not distinct from (old.decided_by, old.decided_at, old.reason)
     and (new.message_id is null
          or exists (select 1 from public.messaging_messages m
                     where m.id = new.message_id
                       and m.thread_id = new.thread_id
                       and m.sender_id = v_me)) then
    return new;
  end if;
  if old.status <> 'sent' then
    raise exception 'offer % is % and can no longer change', old.id, old.status
      using errcode = '42501';
  end if;
  if new.decided_by is distinct from v_me or new.message_id is distinct from old.message_id then
    raise exception 'a decision is recorded in your own name only' using errcode = '42501';
  end if;
  if new.status in ('accepted', 'declined', 'countered') and old.made_by = v_me then
    raise exception 'only the other party accepts, declines or counters an offer'
      using errcode = '42501';
  end if;
  if new.status = 'withdrawn' and old.made_by <> v_me then
    raise exception 'only its maker withdraws an offer' using errcode = '42501';
  end if;
  if new.status = 'expired' and old.expires_at > pg_catalog.now() then
    raise exception 'offer % is not due to expire yet', old.id using errcode = '42501';
  end if;
  if new.status = 'sent' then
    raise exception 'an open offer changes only by a decision' using errcode = '42501';
  end if;
  return new;
end
$$;
revoke all on function {SCHEMA}.offers_before_update() from public;
create trigger messaging_offers_rls_update
  before update on public.messaging_offers
  for each row execute function {SCHEMA}.offers_before_update();

-- A stage is set in the caller's own name, or in nobody's (a stage derived from the offers);
-- who set it changes only with it: nobody writes the other party's name, nor takes over (or
-- erases) the stage they set, which would let them post its system message. The column
-- privileges keep the rest of the thread as 0004 left it.
create function {SCHEMA}.threads_before_update()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if {SCHEMA}.caller_is_trusted(tg_relid) then
    return new;
  end if;
  if new.stage_changed_by is distinct from old.stage_changed_by
     and (new.stage, new.stage_reason) is not distinct from (old.stage, old.stage_reason) then
    raise exception 'who set the stage changes only with the stage' using errcode = '42501';
  end if;
  if (new.stage, new.stage_reason) is distinct from (old.stage, old.stage_reason)
     and new.stage_changed_by is not null
     and new.stage_changed_by is distinct from (select auth.uid()) then
    raise exception 'a stage is set in your own name (stage_changed_by) or in nobody''s'
      using errcode = '42501';
  end if;
  return new;
end
$$;
revoke all on function {SCHEMA}.threads_before_update() from public;
create trigger messaging_threads_rls_update
  before update on public.messaging_threads
  for each row execute function {SCHEMA}.threads_before_update();
"""

DROP_RLS_SQL = f"""
drop trigger if exists messaging_threads_rls_update on public.messaging_threads;
drop function if exists {SCHEMA}.threads_before_update();
drop trigger if exists messaging_offers_rls_update on public.messaging_offers;
drop function if exists {SCHEMA}.offers_before_update();
revoke update (stage, stage_reason, stage_changed_by)
  on table public.messaging_threads from authenticated;
"""


def upgrade() -> None:
    # Plain ADD COLUMN, no batch mode: on SQLite a batch copy drops the old table, and with
    # foreign keys on that deletes every message of every thread (ON DELETE CASCADE).
    pg = op.get_bind().dialect.name == "postgresql"
    op.add_column(
        "messaging_threads",
        sa.Column("stage", sa.String(16), nullable=False, server_default="inquiry"),
    )
    op.add_column("messaging_threads", sa.Column("stage_reason", sa.String(500)))
    # No foreign key: who set the stage is always one of the thread's two parties, and the
    # thread goes with either of them (ON DELETE CASCADE on operator_id / owner_id).
    op.add_column("messaging_threads", sa.Column("stage_changed_by", sa.Uuid()))
    if pg:  # SQLite cannot add a constraint to an existing table; the services check it too
        op.create_check_constraint(
            "ck_messaging_threads_stage", "messaging_threads", f"stage IN ({STAGES})"
        )
    op.create_table(
        "messaging_offers",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column(
            "thread_id",
            sa.Uuid(),
            sa.ForeignKey("messaging_threads.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column(
            "parent_id", sa.Uuid(), sa.ForeignKey("messaging_offers.id", ondelete="SET NULL")
        ),
        sa.Column(
            "made_by", sa.Uuid(), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("terms", JSON, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.Column(
            "message_id", sa.Uuid(), sa.ForeignKey("messaging_messages.id", ondelete="SET NULL")
        ),
        sa.Column("decided_by", sa.Uuid(), sa.ForeignKey("users.id", ondelete="SET NULL")),
        sa.Column("decided_at", TS),
        sa.Column("reason", sa.String(500)),
        sa.Column("created_at", TS, nullable=False),
        sa.CheckConstraint(f"status IN ({STATUSES})", name="ck_messaging_offers_status"),
        sa.CheckConstraint("version > 0", name="ck_messaging_offers_version"),
    )
    op.create_index(
        "uq_messaging_offers_thread_version",
        "messaging_offers",
        ["thread_id", "version"],
        unique=True,
    )
    op.create_index(
        "uq_messaging_offers_one_open",
        "messaging_offers",
        ["thread_id"],
        unique=True,
        sqlite_where=sa.text("status = 'sent'"),
        postgresql_where=sa.text("status = 'sent'"),
    )
    op.create_index(
        "ix_messaging_offers_open_expiry",
        "messaging_offers",
        ["expires_at"],
        sqlite_where=sa.text("status = 'sent'"),
        postgresql_where=sa.text("status = 'sent'"),
    )
    op.create_index("ix_messaging_offers_made_by", "messaging_offers", ["made_by"])
    op.create_table(
        "messaging_offer_numbers",
        sa.Column(
            "offer_id",
            sa.Uuid(),
            sa.ForeignKey("messaging_offers.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column(
            "operator_id",
            sa.Uuid(),
            sa.ForeignKey("users.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("inputs", JSON, nullable=False),
        sa.Column("roi", JSON, nullable=False),
        sa.Column("shared", sa.Boolean(), nullable=False),
    )
    op.create_index(
        "ix_messaging_offer_numbers_operator_id", "messaging_offer_numbers", ["operator_id"]
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(RLS_SQL)
        op.execute(SEND_POLICY.format(system=SYSTEM_MESSAGES))


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(SEND_POLICY.format(system=""))
        op.execute(DROP_RLS_SQL)
    op.drop_table("messaging_offer_numbers")
    op.drop_table("messaging_offers")
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint("ck_messaging_threads_stage", "messaging_threads", type_="check")
    for column in ("stage_changed_by", "stage_reason", "stage"):
        op.drop_column("messaging_threads", column)
