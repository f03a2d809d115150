"""Notifications (issue #12, parts 2 and 3): per-thread mute, settings, the e-mail outbox, tokens.

- `messaging_participants.muted_until`: my mute of a thread (1 hour, 1 day, or 9999-12-31 for
  "until I unmute"). PostgreSQL: `authenticated` may update the column, and a trigger lets a
  user change only their own row's mute (the cursor rules of 0004 stay as they are).
- `messaging_notification_settings`: my own choices (the global e-mail opt-out); under RLS a
  user reads and writes only their own row.
- `messaging_email_outbox`: e-mails owed, written in the transaction of the message that makes
  them due (one pending row per thread and recipient batches). A sender may insert a pending
  row for the *other* party of a thread of theirs and nothing else: they can neither read nor
  change the outbox (the dispatcher is elevated, `_tx.ELEVATED["email-outbox"]`).
- `messaging_email_tokens`: SHA-256 of reply / unsubscribe tokens; no access for
  `authenticated` at all (issued by the dispatcher, resolved by the inbound listener and the
  unsubscribe route, both elevated).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)
SCHEMA = "messaging_rls"
SETTINGS = "messaging_notification_settings"
OUTBOX = "messaging_email_outbox"
TOKENS = "messaging_email_tokens"

POSTGRES_UP = f"""
grant update (muted_until) on table public.messaging_participants to authenticated;

-- Only my own mute: the update policy of 0004 lets me update both rows of my threads (the send
-- path copies last_message_at onto both), so the column needs its own rule.
create function {SCHEMA}.participants_mute_own()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if {SCHEMA}.caller_is_trusted(tg_relid) then
    return new;
  end if;
  if new.muted_until is distinct from old.muted_until
     and new.user_id is distinct from (select auth.uid()) then
    raise exception 'only your own mute can be changed' using errcode = '42501';
  end if;
  return new;
end
$$;
revoke all on function {SCHEMA}.participants_mute_own() from public;
create trigger messaging_participants_mute_own
  before update of muted_until on public.messaging_participants
  for each row execute function {SCHEMA}.participants_mute_own();

-- Live: a mute changes my own inbox row and navbar total, in my other tabs and workers too
-- (0003's channel, ids only; to me alone: the other party sees nothing of it).
create function public.messaging_notify_mute() returns trigger
language plpgsql set search_path = '' as $$
begin
  perform public.messaging_notify(jsonb_build_object(
    'kind', 'thread', 'thread_id', new.thread_id,
    'participants', jsonb_build_array(new.user_id)));
  return null;
end $$;
create trigger messaging_participants_notify_mute
  after update of muted_until on public.messaging_participants
  for each row when (old.muted_until is distinct from new.muted_until)
  execute function public.messaging_notify_mute();

revoke all on table public.{SETTINGS}, public.{OUTBOX}, public.{TOKENS} from anon, authenticated;
grant all on table public.{SETTINGS}, public.{OUTBOX}, public.{TOKENS} to service_role;
alter table public.{SETTINGS} enable row level security;
alter table public.{OUTBOX} enable row level security;
alter table public.{TOKENS} enable row level security;

grant select, insert, update (email_enabled, updated_at) on table public.{SETTINGS}
  to authenticated;
create policy "notification settings: mine to read" on public.{SETTINGS}
  for select to authenticated
  using ({SETTINGS}.user_id = (select auth.uid()));
create policy "notification settings: mine to create" on public.{SETTINGS}
  for insert to authenticated
  with check ({SETTINGS}.user_id = (select auth.uid()));
create policy "notification settings: mine to change" on public.{SETTINGS}
  for update to authenticated
  using ({SETTINGS}.user_id = (select auth.uid()))
  with check ({SETTINGS}.user_id = (select auth.uid()));

-- A new message makes an e-mail due to the other party: insert only, a fresh pending row,
-- for the other participant of a thread of mine. No select, update or delete.
grant insert (id, thread_id, user_id, first_seq, due_at, state, attempts, created_at)
  on table public.{OUTBOX} to authenticated;
create policy "email outbox: due to the other party of my thread" on public.{OUTBOX}
  for insert to authenticated
  with check (
    {OUTBOX}.state = 'pending'
    and {OUTBOX}.attempts = 0
    and {OUTBOX}.user_id <> (select auth.uid())
    and exists (
      select 1 from public.messaging_threads t
      where t.id = {OUTBOX}.thread_id
        and (t.operator_id = (select auth.uid()) or t.owner_id = (select auth.uid()))
        and {OUTBOX}.user_id in (t.operator_id, t.owner_id)
        and {OUTBOX}.first_seq between 1 and t.last_seq
    )
  );
-- messaging_email_tokens: no grant, no policy (elevated only).
"""

POSTGRES_DOWN = f"""
drop trigger if exists messaging_participants_notify_mute on public.messaging_participants;
drop function if exists public.messaging_notify_mute();
drop trigger if exists messaging_participants_mute_own on public.messaging_participants;
drop function if exists {SCHEMA}.participants_mute_own();
revoke update (muted_until) on table public.messaging_participants from authenticated;
"""


def upgrade() -> None:
    op.add_column("messaging_participants", sa.Column("muted_until", TS))
    op.create_table(
        SETTINGS,
        sa.Column(
            "user_id",
            sa.Uuid(),
            sa.ForeignKey("users.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("email_enabled", sa.Boolean(), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_table(
        OUTBOX,
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column(
            "thread_id",
            sa.Uuid(),
            sa.ForeignKey("messaging_threads.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "user_id", sa.Uuid(), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("first_seq", sa.Integer(), nullable=False),
        sa.Column("due_at", TS, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("claimed_at", TS),
        sa.Column("through_seq", sa.Integer()),
        sa.Column("sent_at", TS),
        sa.Column("email_message_id", sa.String(255)),
        sa.Column("note", sa.String(300)),
        sa.Column("created_at", TS, nullable=False),
        sa.CheckConstraint(
            "state IN ('pending', 'sending', 'sent', 'skipped', 'failed')",
            name="ck_messaging_email_outbox_state",
        ),
    )
    op.create_index(
        "uq_messaging_email_outbox_pending",
        OUTBOX,
        ["thread_id", "user_id"],
        unique=True,
        sqlite_where=sa.text("state = 'pending'"),
        postgresql_where=sa.text("state = 'pending'"),
    )
    op.create_index("ix_messaging_email_outbox_due", OUTBOX, ["state", "due_at"])
    op.create_index("ix_messaging_email_outbox_recipient", OUTBOX, ["user_id", "thread_id"])
    op.create_table(
        TOKENS,
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column(
            "user_id", sa.Uuid(), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column(
            "thread_id",
            sa.Uuid(),
            sa.ForeignKey("messaging_threads.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
    )
    op.create_index("ix_messaging_email_tokens_pair", TOKENS, ["user_id", "thread_id"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(POSTGRES_UP)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(POSTGRES_DOWN)
    op.drop_table(TOKENS)
    op.drop_table(OUTBOX)
    op.drop_table(SETTINGS)
    # Plain ALTER (SQLite >= 3.35): a batch copy would cascade-delete what references the table.
    op.execute("ALTER TABLE messaging_participants DROP COLUMN muted_until")
