"""Mute, notification settings, the e-mail outbox and tokens under the app's RLS (alembic
0010), in raw SQL inside the app's own user transaction: every Python check bypassed.

The world of conftest.py: pair A (op_a, own_a, t_a), pair B (op_b, own_b, t_b), t_x (op_b with
own_a). Each row: who acts, the SQL, and the outcome (rows changed, 0: RLS hid them, or the
SQLSTATE 42501: policy / privilege / trigger).
"""

from __future__ import annotations

import pytest

from arbibase_chat import db as dbmod
from arbibase_chat.models import NotificationSettings
from tests.rls.conftest import World, attempt
from tests.rls.test_attacks import DENIED, NONE, upd

pytestmark = pytest.mark.postgres

P = "messaging_participants"
SETTINGS = "messaging_notification_settings"
OUTBOX = "messaging_email_outbox"
TOKENS = "messaging_email_tokens"


def owe(thread: str, recipient: str, *, state: str = "pending", seq: str = "1") -> str:
    return (
        f"insert into {OUTBOX} (id, thread_id, user_id, first_seq, due_at, state, attempts,"
        f" created_at) values (cast(:new as uuid), :{thread}, :{recipient}, {seq}, now(),"
        f" '{state}', 0, now())"
    )


def setting(user: str) -> str:
    return (
        f"insert into {SETTINGS} (user_id, email_enabled, updated_at)"
        f" values (:{user}, false, now())"
    )


ALLOWED = [
    pytest.param(
        "own_a",
        upd(P, "muted_until = now()", "thread_id = :t_a and user_id = :own_a"),
        1,
        id="mute-my-own",
    ),
    pytest.param("op_a", owe("t_a", "own_a"), 1, id="owe-the-other-party"),
    pytest.param("op_a", setting("op_a"), 1, id="my-own-settings"),
]

ATTACKS = [
    # --- mute: only my own row ---------------------------------------------------------------
    pytest.param(
        "op_a",
        upd(P, "muted_until = now()", "thread_id = :t_a and user_id = :own_a"),
        DENIED,
        id="mute-for-the-other-party",
    ),
    pytest.param(
        "op_a",
        upd(P, "muted_until = now()", "thread_id = :t_b"),
        NONE,
        id="mute-another-pairs-thread",
    ),
    # --- settings: mine only --------------------------------------------------------------------
    pytest.param("op_a", setting("own_a"), DENIED, id="settings-for-someone-else"),
    pytest.param(
        "op_a",
        f"select * from {SETTINGS} where user_id = :own_a",
        NONE,
        id="read-someone-elses-settings",
    ),
    pytest.param(
        "op_a",
        upd(SETTINGS, "email_enabled = true", "user_id = :own_a"),
        NONE,
        id="change-someone-elses-settings",
    ),
    pytest.param(
        "op_a",
        upd(SETTINGS, "user_id = :own_a", "user_id = :op_a"),
        DENIED,
        id="move-my-settings-row",
    ),
    # --- outbox: insert a fresh pending row for the other party of my thread, nothing else ------
    pytest.param("op_a", owe("t_a", "op_a"), DENIED, id="owe-myself"),
    pytest.param("op_a", owe("t_b", "own_b"), DENIED, id="owe-in-another-pairs-thread"),
    pytest.param("op_a", owe("t_a", "op_b"), DENIED, id="owe-a-stranger"),
    pytest.param("op_a", owe("t_a", "own_a", state="sent"), DENIED, id="owe-already-sent"),
    pytest.param("op_a", owe("t_a", "own_a", seq="999"), DENIED, id="owe-a-future-message"),
    pytest.param("op_a", f"select * from {OUTBOX}", DENIED, id="read-the-outbox"),
    pytest.param("op_a", upd(OUTBOX, "state = 'skipped'", "true"), DENIED, id="cancel-e-mails"),
    pytest.param("op_a", f"delete from {OUTBOX}", DENIED, id="delete-e-mails"),
    # --- tokens: nothing at all -------------------------------------------------------------------
    pytest.param("op_a", f"select * from {TOKENS}", DENIED, id="read-tokens"),
    pytest.param(
        "op_a",
        f"insert into {TOKENS} (token_hash, user_id, thread_id, created_at, expires_at)"
        " values (repeat('a', 64), :own_a, :t_a, now(), now() + interval '1 day')",
        DENIED,
        id="forge-a-token",
    ),
]


@pytest.fixture
def world(world: World) -> World:
    """conftest's world, plus own_a's settings row (so hiding it is RLS, not absence)."""
    with dbmod.write_session(world.db) as session:
        session.add(NotificationSettings(user_id=world.ids["own_a"], email_enabled=True))
    return world


@pytest.mark.parametrize(("actor", "sql", "expected"), ALLOWED + ATTACKS)
def test_notification_rows_follow_the_rules(
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
