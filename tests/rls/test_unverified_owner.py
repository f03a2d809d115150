"""An unverified owner changes nothing in a thread, also in raw SQL (alembic 0006), while
reading, marking read and read receipts stay open to them (services/policy.py's table)."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from tests.rls.conftest import World, attempt
from tests.rls.test_attacks import DENIED, attachment, seen, upd

pytestmark = pytest.mark.postgres


@pytest.fixture
def unverified(world: World) -> World:
    """own_a, owner in t_a, loses their verification (staff revoked it)."""
    with world.db.begin() as conn:
        conn.execute(text("update users set verified = false where id = :id"), {"id": world.own_a})
    return world


REFUSED = [
    pytest.param(upd("messaging_threads", "status = 'closed'", "id = :t_a"), DENIED, id="close"),
    pytest.param(upd("messaging_threads", "subject = 'x'", "id = :t_a"), DENIED, id="rename"),
    pytest.param(
        "insert into messaging_thread_tags (thread_id, tag, created_by, created_at)"
        " values (:t_a, 'urgent', :own_a, now())",
        DENIED,
        id="tag",
    ),
    pytest.param("delete from messaging_thread_tags where thread_id = :t_a", 0, id="untag"),
    pytest.param(attachment("t_a", "own_a"), DENIED, id="upload"),
]

ALLOWED = [
    pytest.param("select * from messaging_messages where thread_id = :t_a", 3, id="read"),
    pytest.param(
        upd("messaging_participants", "last_read_seq = 3", "thread_id = :t_a and user_id = :own_a"),
        1,
        id="mark-read",
    ),
    pytest.param(upd("messaging_messages", seen("own_a"), "id = :m_a3"), 1, id="receipt"),
]


@pytest.mark.parametrize(("sql", "expected"), REFUSED)
def test_an_unverified_owner_changes_nothing(unverified: World, sql: str, expected) -> None:
    assert attempt(unverified.db, unverified.own_a, sql, unverified.params()) == expected
    # The same statement as a verified owner (own_b in t_b) goes through: RLS refused the
    # caller, not the statement.
    as_verified = sql.replace(":t_a", ":t_b").replace(":own_a", ":own_b").replace("t_a", "t_b")
    as_verified = as_verified.replace("own_a", "own_b")
    assert attempt(unverified.db, unverified.own_b, as_verified, unverified.params()) not in (
        DENIED,
        0,
    )


@pytest.mark.parametrize(("sql", "expected"), ALLOWED)
def test_an_unverified_owner_still_reads_and_marks_read(
    unverified: World, sql: str, expected
) -> None:
    assert attempt(unverified.db, unverified.own_a, sql, unverified.params()) == expected
