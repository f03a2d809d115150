"""Personal archive, shared close, case-insensitive tags (issue #13).

- `messaging_participants.archived_at`: my archive of a thread (my inbox only). The thread's
  shared `status` keeps 'active' | 'closed'; a thread archived before this revision becomes
  archived for both participants and active again (closed when its pair already has another
  active thread: the one-active unique index).
- `uq_messaging_thread_tags_lower`: one tag per thread whatever its case; existing duplicates
  keep their first spelling (the oldest row).
- PostgreSQL: `authenticated` may update the column; a trigger lets a user set only their own
  row's archive, and clear the other row's only together with a new message (the send path
  un-archives the thread for both). A change of my archive is announced to me alone. The send
  policy also lets a party post the system message of their own close / reopen.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)
SCHEMA = "messaging_rls"

POSTGRES_UP = f"""
grant update (archived_at) on table public.messaging_participants to authenticated;

-- My own archive only (0004's update policy lets me update both rows of my threads). The one
-- exception is the send path, which clears both rows' archive along with last_message_at.
create function {SCHEMA}.participants_archive_own()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if {SCHEMA}.caller_is_trusted(tg_relid) then
    return new;
  end if;
  if new.archived_at is distinct from old.archived_at
     and new.user_id is distinct from (select auth.uid())
     and not (new.archived_at is null and new.last_message_at is distinct from old.last_message_at)
  then
    raise exception 'only your own archive can be changed' using errcode = '42501';
  end if;
  return new;
end
$$;
revoke all on function {SCHEMA}.participants_archive_own() from public;
create trigger messaging_participants_archive_own
  before update of archived_at on public.messaging_participants
  for each row execute function {SCHEMA}.participants_archive_own();

-- Live: my archive changes my own inbox row (0003's channel, ids only; to me alone).
create function public.messaging_notify_archive() returns trigger
language plpgsql set search_path = '' as $$
begin
  perform public.messaging_notify(jsonb_build_object(
    'kind', 'thread', 'thread_id', new.thread_id,
    'participants', jsonb_build_array(new.user_id)));
  return null;
end $$;
create trigger messaging_participants_notify_archive
  after update of archived_at on public.messaging_participants
  for each row when (old.archived_at is distinct from new.archived_at)
  execute function public.messaging_notify_archive();
"""

# 0007's send policy, its system messages plus "<my name> closed / reopened the conversation"
# (the service posts it as the closer / reopener, while the thread is open).
SEND_POLICY = """
drop policy if exists "messages: participants send as themselves" on public.messaging_messages;
create policy "messages: participants send as themselves" on public.messaging_messages
  for insert to authenticated
  with check (
    messaging_messages.sender_id = (select auth.uid())
    and (
      messaging_messages.kind in ('text', 'offer')
      or (
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
          ){status}
        )
      )
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
STATUS_MESSAGES = """
          or (
            messaging_messages.metadata ->> 'status' in ('closed', 'active')
            and messaging_messages.body = (
              select u.display_name from public.users u where u.id = (select auth.uid())
            ) || case messaging_messages.metadata ->> 'status'
                   when 'closed' then ' closed the conversation'
                   else ' reopened the conversation' end
          )"""

POSTGRES_DOWN = f"""
drop trigger if exists messaging_participants_notify_archive on public.messaging_participants;
drop function if exists public.messaging_notify_archive();
drop trigger if exists messaging_participants_archive_own on public.messaging_participants;
drop function if exists {SCHEMA}.participants_archive_own();
revoke update (archived_at) on table public.messaging_participants from authenticated;
"""

# Duplicates by case: every row but the oldest spelling of a tag in its thread.
DEDUPE_TAGS = """
DELETE FROM messaging_thread_tags
WHERE EXISTS (
  SELECT 1 FROM messaging_thread_tags AS first
  WHERE first.thread_id = messaging_thread_tags.thread_id
    AND lower(first.tag) = lower(messaging_thread_tags.tag)
    AND (first.created_at < messaging_thread_tags.created_at
         OR (first.created_at = messaging_thread_tags.created_at
             AND first.tag < messaging_thread_tags.tag))
)
"""


def _archive_per_participant() -> None:
    bind = op.get_bind()
    now = datetime.now(UTC)
    bind.execute(
        sa.text(
            "UPDATE messaging_participants SET archived_at = :now WHERE thread_id IN"
            " (SELECT id FROM messaging_threads WHERE status = 'archived')"
        ).bindparams(sa.bindparam("now", value=now, type_=TS))
    )
    # Newest first: of several archived threads of one pair, the newest becomes the active one.
    rows = bind.execute(
        sa.text(
            "SELECT id, property_id, operator_id, owner_id FROM messaging_threads"
            " WHERE status = 'archived' ORDER BY last_message_at DESC"
        )
    ).all()
    for tid, pid, oid, wid in rows:
        taken = bind.execute(
            sa.text(
                "SELECT 1 FROM messaging_threads WHERE property_id = :p AND operator_id = :o"
                " AND owner_id = :w AND status = 'active'"
            ),
            {"p": pid, "o": oid, "w": wid},
        ).first()
        bind.execute(
            sa.text("UPDATE messaging_threads SET status = :s WHERE id = :t"),
            {"s": "closed" if taken else "active", "t": tid},
        )


def upgrade() -> None:
    op.add_column("messaging_participants", sa.Column("archived_at", TS))
    _archive_per_participant()
    op.execute(DEDUPE_TAGS)
    op.create_index(
        "uq_messaging_thread_tags_lower",
        "messaging_thread_tags",
        ["thread_id", sa.text("lower(tag)")],
        unique=True,
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(POSTGRES_UP)
        op.execute(SEND_POLICY.format(status=STATUS_MESSAGES))


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(SEND_POLICY.format(status=""))
        op.execute(POSTGRES_DOWN)
    op.drop_index("uq_messaging_thread_tags_lower", table_name="messaging_thread_tags")
    # A thread I archived goes back to being archived for both (the shared status of 0010).
    op.execute(
        "UPDATE messaging_threads SET status = 'archived' WHERE status = 'active' AND EXISTS"
        " (SELECT 1 FROM messaging_participants p WHERE p.thread_id = messaging_threads.id"
        " AND p.archived_at IS NOT NULL)"
    )
    # Plain ALTER (SQLite >= 3.35): a batch copy would cascade-delete what references the table.
    op.execute("ALTER TABLE messaging_participants DROP COLUMN archived_at")
