"""Personal archive, the close / reopen message and case-insensitive tags under the app's RLS
(alembic 0011), in raw SQL inside the app's own user transaction: every Python check bypassed.

The world of conftest.py: pair A (op_a, own_a, t_a), pair B (op_b, own_b, t_b), t_x (op_b with
own_a). Each row: who acts, the SQL, and the outcome (rows changed, 0: RLS hid them, or the
SQLSTATE 42501: policy / privilege / trigger).
"""

from __future__ import annotations

import pytest
from sqlalchemy import text

from arbibase_chat import db as dbmod
from tests.rls.conftest import World, attempt
from tests.rls.test_attacks import DENIED, NONE, send, upd

pytestmark = pytest.mark.postgres

P = "messaging_participants"
MY_NAME = "(select display_name from users where id = :op_a)"


def status_message(text: str, status: str, name: str = MY_NAME) -> str:
    return send(
        "t_a",
        "op_a",
        kind="'system'",
        body=f"{name} || '{text}'",
        metadata=f'\'{{"status": "{status}"}}\'::jsonb',
    )


ALLOWED = [
    pytest.param(
        "own_a",
        upd(P, "archived_at = now()", "thread_id = :t_a and user_id = :own_a"),
        1,
        id="archive-my-own",
    ),
    pytest.param(
        "op_a", status_message(" closed the conversation", "closed"), 1, id="announce-my-close"
    ),
    pytest.param(
        "op_a", status_message(" reopened the conversation", "active"), 1, id="announce-reopen"
    ),
]

ATTACKS = [
    pytest.param(
        "op_a",
        upd(P, "archived_at = now()", "thread_id = :t_a and user_id = :own_a"),
        DENIED,
        id="archive-for-the-other-party",
    ),
    pytest.param(
        "op_a", upd(P, "archived_at = now()", "thread_id = :t_b"), NONE, id="archive-others"
    ),
    pytest.param(
        "op_a",
        status_message(" closed the conversation", "closed", name="'Olivia'"),
        DENIED,
        id="announce-in-someone-elses-name",
    ),
    pytest.param(
        "op_a",
        status_message(" closed the conversation", "active"),
        DENIED,
        id="announce-with-the-wrong-status",
    ),
    pytest.param(
        "op_a",
        status_message(" won a prize", "closed"),
        DENIED,
        id="other-system-text",
    ),
    pytest.param(
        "op_a",
        "insert into messaging_thread_tags (thread_id, tag, created_by, created_at)"
        " values (:t_a, 'HOT', :op_a, now()), (:t_a, 'hot', :op_a, now())",
        "23505",
        id="one-tag-in-two-cases",
    ),
]


@pytest.mark.parametrize(("actor", "sql", "expected"), ALLOWED + ATTACKS)
def test_archive_and_status_rows_follow_the_rules(
    world: World, actor: str, sql: str, expected: int | str
) -> None:
    assert attempt(world.db, world.ids[actor], sql, world.params()) == expected, sql


@pytest.mark.parametrize(
    ("actor", "sql", "expected"),
    [p for p in ATTACKS if p.values[2] == NONE],
)
def test_zero_row_attacks_aim_at_real_rows(world: World, actor: str, sql: str, expected: int):
    """The app's own connection sees the rows those attacks aimed at (no vacuous zero)."""
    rows = attempt(world.db, None, sql, world.params())
    assert isinstance(rows, int) and rows >= 1, rows


def test_the_other_partys_archive_is_not_mine_to_clear(world: World) -> None:
    params = world.params()
    archive = upd(P, "archived_at = now()", "thread_id = :t_a and user_id = :own_a")
    with dbmod.write_session(world.db) as session:
        session.execute(text(archive), params)
    clear = upd(P, "archived_at = null", "thread_id = :t_a and user_id = :own_a")
    assert attempt(world.db, world.ids["op_a"], clear, params) == DENIED
    # The send path clears it along with a new message's time: tests/services/
    # test_archive_close.py::test_a_new_message_unarchives_for_both runs it under RLS.
