"""The hot policies check the row's thread with one primary-key probe (issue #14, target 7).

Up to 0013 a policy asked "is this row's thread mine?" as
`exists (select 1 from messaging_threads t where t.id = <row>.thread_id and <t is mine>)`.
PostgreSQL turns such an EXISTS into a *hashed* subplan: before the first row it reads every
thread of the caller into a hash table (the uncorrelated part), then probes it per row. For a
user in 10,000 threads that is ~4.6 ms per statement, paid by a 50-message history page
(0.06 ms without RLS) and by every mark-read and send (measured with EXPLAIN ANALYZE as
`authenticated` on bench.queries' database, bench/README.md "session 12").

The same question as a scalar subquery, `coalesce((select <t is mine> from messaging_threads t
where t.id = <row>.thread_id), false)`, cannot be hashed: the planner probes the thread's
primary key for each row it checks (~1 us; 50 for a page). Same answers: `t.id` is the
primary key, so the subquery has one row or none, and a missing or invisible thread is false
as EXISTS was. Only the policies on the paths that run all the time change: reads of
messages, participants, tags, attachments, offers and edits, the receipt / edit update, the
send, the cursor update and the offer decision. The inserts of threads, tags, attachments,
participants and offers (one row, rare) keep their EXISTS.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ME = "(select auth.uid())"
# The caller is a party of the row's thread.
PARTY = f"""coalesce((
      select t.operator_id = {ME} or t.owner_id = {ME}
      from public.messaging_threads t
      where t.id = {{table}}.thread_id
    ), false)"""
# The caller may write in the row's thread: not closed; its operator, or its owner once
# verified (0006's rule).
WRITABLE = f"""coalesce((
      select t.status <> 'closed'
        and (t.operator_id = {ME}
             or (t.owner_id = {ME}
                 and exists (select 1 from public.users u where u.id = {ME} and u.verified)))
      from public.messaging_threads t
      where t.id = {{table}}.thread_id
    ), false)"""

# What 0004 / 0006 / 0007 / 0009 wrote, for the downgrade.
OLD_PARTY = f"""exists (
      select 1 from public.messaging_threads t
      where t.id = {{table}}.thread_id
        and (t.operator_id = {ME} or t.owner_id = {ME})
    )"""
OLD_WRITABLE = f"""exists (
      select 1 from public.messaging_threads t
      where t.id = {{table}}.thread_id
        and t.status <> 'closed'
        and (
          t.operator_id = {ME}
          or (t.owner_id = {ME}
              and exists (select 1 from public.users u
                          where u.id = {ME} and u.verified))
        )
    )"""

# 0011's send policy (text and offers; system messages of a decision, a stage change, or the
# sender's own close / reopen), its last clause in the given form.
SEND_CHECK = """
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
          )
          or (
            messaging_messages.metadata ->> 'status' in ('closed', 'active')
            and messaging_messages.body = (
              select u.display_name from public.users u where u.id = (select auth.uid())
            ) || case messaging_messages.metadata ->> 'status'
                   when 'closed' then ' closed the conversation'
                   else ' reopened the conversation' end
          )
        )
      )
    )
    and messaging_messages.seen_by = '[]'::jsonb
    and messaging_messages.edited_at is null
    and messaging_messages.deleted_at is null
    and {writable}
"""


def _policies(party: str, writable: str) -> str:
    def p(table: str) -> str:
        return party.format(table=table)

    def w(table: str) -> str:
        return writable.format(table=table)

    m = "messaging_messages"
    return f"""
alter policy "messages: participants read" on public.{m}
  using ({p(m)});
alter policy "messages: receipts, and senders edit their own" on public.{m}
  using ({p(m)})
  with check ({p(m)} and ({m}.sender_id <> {ME} or {w(m)}));
alter policy "messages: participants send as themselves" on public.{m}
  with check ({SEND_CHECK.format(writable=w(m))});
alter policy "participants: participants read" on public.messaging_participants
  using (messaging_participants.user_id = {ME} or {p("messaging_participants")});
alter policy "participants: rows of my threads" on public.messaging_participants
  using ({p("messaging_participants")})
  with check ({p("messaging_participants")});
alter policy "tags: participants read" on public.messaging_thread_tags
  using ({p("messaging_thread_tags")});
alter policy "attachments: participants read" on public.messaging_attachments
  using ({p("messaging_attachments")});
alter policy "offers: participants read" on public.messaging_offers
  using ({p("messaging_offers")});
alter policy "offers: parties decide" on public.messaging_offers
  using ({p("messaging_offers")})
  with check ({w("messaging_offers")});
alter policy "message edits: participants read" on public.messaging_message_edits
  using ({p("messaging_message_edits")});
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_policies(PARTY, WRITABLE))


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_policies(OLD_PARTY, OLD_WRITABLE))
