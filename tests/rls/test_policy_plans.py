"""The policies on the hot paths check a row's thread with a primary-key probe, never a hash
of all the caller's threads (alembic 0014; issue #14, target 7).

A hashed subplan reads every thread of the caller before the first row: ~4.6 ms per statement
for a user in 10,000 threads, against ~1 us per row checked by a probe. The statements below
are the shapes the services run all the time (a history page, the inbox's participant rows,
a thread's tags, files, offers and edits, the receipts update); EXPLAIN shows the policy's
check as the planner will run it.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text

from arbibase_chat.services._tx import transaction
from tests.rls.conftest import World

pytestmark = pytest.mark.postgres

HOT_STATEMENTS = {
    "history page": "select id from messaging_messages where thread_id = :t_a"
    " order by seq desc limit 50",
    "participant rows": "select thread_id from messaging_participants where thread_id = :t_a",
    "tags": "select tag from messaging_thread_tags where thread_id = :t_a",
    "files": "select id from messaging_attachments where thread_id = :t_a",
    "offers": "select id from messaging_offers where thread_id = :t_a",
    "edits": "select id from messaging_message_edits where message_id = :m_a1",
    "receipts": "update messaging_messages set seen_by = seen_by where thread_id = :t_a"
    " and seq > 1",
    "cursor": "update messaging_participants set last_read_seq = last_read_seq"
    " where thread_id = :t_a and user_id = :op_a",
}


def _plan(world: World, sql: str) -> str:
    with transaction(world.db, as_user=world.op_a) as (session, _outbox):
        # A few rows only here: plan as for the big tables the question is about.
        session.execute(text("set local enable_seqscan = off"))
        rows: Any = session.execute(text("explain (costs off) " + sql), world.params()).all()
        session.rollback()
    return "\n".join(row[0] for row in rows)


@pytest.mark.parametrize("name", sorted(HOT_STATEMENTS))
def test_a_hot_statement_probes_its_thread_instead_of_hashing_all_of_mine(
    world: World, name: str
) -> None:
    plan = _plan(world, HOT_STATEMENTS[name])
    assert "hashed SubPlan" not in plan, plan
    assert "messaging_threads_pkey" in plan, plan
