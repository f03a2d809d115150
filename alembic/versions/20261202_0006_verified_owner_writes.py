"""RLS follows services/policy.py: an unverified owner changes nothing in a thread.

Revision 0004 refused an unverified owner's messages only. The policy module (issue #9,
finding 9) also refuses their status / subject changes, tags and uploads; this makes the
database's second line say the same: updating a thread, adding or removing a tag and storing
an attachment need the caller to be the thread's operator or its *verified* owner (for thread
updates as WITH CHECK: see `_policies`). Reading,
marking read (the caller's own cursor) and read receipts stay open to every participant.
PostgreSQL only (no RLS on SQLite). Downgrade restores 0004's policies.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The thread of `{table}` row is mine as its operator, or as its owner once verified.
MINE_TO_CHANGE = """exists (
      select 1 from public.messaging_threads t
      where t.id = {table}.thread_id
        and (
          t.operator_id = (select auth.uid())
          or (t.owner_id = (select auth.uid())
              and exists (select 1 from public.users u
                          where u.id = (select auth.uid()) and u.verified))
        )
    )"""
MINE = """exists (
      select 1 from public.messaging_threads t
      where t.id = {table}.thread_id
        and (t.operator_id = (select auth.uid()) or t.owner_id = (select auth.uid()))
    )"""
THREAD_MINE_TO_CHANGE = """(
    messaging_threads.operator_id = (select auth.uid())
    or (messaging_threads.owner_id = (select auth.uid())
        and exists (select 1 from public.users u
                    where u.id = (select auth.uid()) and u.verified))
  )"""
THREAD_MINE = """(
    messaging_threads.operator_id = (select auth.uid())
    or messaging_threads.owner_id = (select auth.uid())
  )"""


def _policies(thread: str, row: str) -> str:
    # The thread update's USING stays "any participant": the services lock the thread row
    # (SELECT ... FOR UPDATE, which must pass USING) before they ask policy.py, so that an
    # unverified owner gets "verify ownership", not "thread not found". WITH CHECK refuses.
    tags = row.format(table="messaging_thread_tags")
    files = row.format(table="messaging_attachments")
    return f"""
drop policy if exists "threads: participants update" on public.messaging_threads;
create policy "threads: participants update" on public.messaging_threads
  for update to authenticated
  using ({THREAD_MINE})
  with check ({thread});

drop policy if exists "tags: participants add" on public.messaging_thread_tags;
create policy "tags: participants add" on public.messaging_thread_tags
  for insert to authenticated
  with check (
    messaging_thread_tags.created_by = (select auth.uid())
    and {tags}
  );
drop policy if exists "tags: participants remove" on public.messaging_thread_tags;
create policy "tags: participants remove" on public.messaging_thread_tags
  for delete to authenticated
  using ({tags});

drop policy if exists "attachments: participants upload" on public.messaging_attachments;
create policy "attachments: participants upload" on public.messaging_attachments
  for insert to authenticated
  with check (
    messaging_attachments.uploader_id = (select auth.uid())
    and messaging_attachments.message_id is null
    and messaging_attachments.storage_key
      = messaging_attachments.thread_id::text || '/' || messaging_attachments.id::text
    and (
      messaging_attachments.thumbnail_key is null
      or messaging_attachments.thumbnail_key
        = messaging_attachments.storage_key || '.thumb.webp'
    )
    and {files}
  );
"""


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(_policies(THREAD_MINE_TO_CHANGE, MINE_TO_CHANGE))


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(_policies(THREAD_MINE, MINE))
