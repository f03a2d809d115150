"""Edits and deletes under the app's RLS (alembic 0009), in raw SQL inside the app's own user
transaction: every Python check bypassed, the column privileges, the update policy and the
trigger still say what services/message_edits.py says.

The world of conftest.py (op_a sent m_a1 and m_a3, own_a sent m_a2; pair B and t_x are
others'). Each row: who acts, the SQL, and the outcome (rows changed, 0: RLS hid them, or the
SQLSTATE: 42501 policy / privilege / trigger).
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import text

from arbibase_chat import db as dbmod
from arbibase_chat.services import message_edits
from arbibase_chat.services._tx import transaction
from tests.rls.conftest import World, attempt
from tests.rls.test_attacks import DENIED, NONE, upd

pytestmark = pytest.mark.postgres

MSG = "messaging_messages"
EDITS = "messaging_message_edits"


def audit_row(message: str, thread: str, editor: str) -> str:
    return (
        f"insert into {EDITS} (id, message_id, thread_id, editor_id, action, previous_body,"
        f" edited_at) values (cast(:new as uuid), :{message}, :{thread}, :{editor}, 'edit',"
        " 'forged', now())"
    )


ATTACKS = [
    # --- someone else's message ---------------------------------------------------------------
    pytest.param("own_a", upd(MSG, "body = 'forged'", "id = :m_a1"), DENIED, id="edit-theirs"),
    pytest.param("own_a", upd(MSG, "deleted_at = now()", "id = :m_a1"), DENIED, id="delete-theirs"),
    pytest.param(
        "own_a",
        upd(MSG, "edited_at = now()", "id = :m_a1"),
        DENIED,
        id="label-theirs-edited",
    ),
    pytest.param("op_a", upd(MSG, "body = 'forged'", "id = :m_b1"), NONE, id="edit-other-pair"),
    pytest.param(
        "op_a", upd(MSG, "deleted_at = now()", "id = :m_x1"), NONE, id="delete-other-pair"
    ),
    # --- my own message, beyond an edit ------------------------------------------------------
    pytest.param("op_a", upd(MSG, "kind = 'system'", "id = :m_a1"), DENIED, id="change-kind"),
    pytest.param("op_a", upd(MSG, "seq = 42", "id = :m_a1"), DENIED, id="renumber"),
    pytest.param("op_a", upd(MSG, "sender_id = :own_a", "id = :m_a1"), DENIED, id="re-sign"),
    pytest.param(
        "op_a", upd(MSG, "created_at = now()", "id = :m_a1"), DENIED, id="reopen-the-window"
    ),
    pytest.param(
        "op_a",
        upd(MSG, "seen_by = '[]'::jsonb", "id = :m_a1"),
        DENIED,
        id="erase-their-receipt-on-my-own",
    ),
    pytest.param("op_a", upd(MSG, "body = ''", "id = :m_a1"), DENIED, id="edit-to-blank"),
    pytest.param(
        "op_a", upd(MSG, "body = repeat('x', 10001)", "id = :m_a1"), DENIED, id="edit-too-long"
    ),
    pytest.param(
        "op_a",
        upd(MSG, "attachment_url = 'https://evil.example/x'", "id = :m_a1"),
        DENIED,
        id="add-a-link",
    ),
    pytest.param(
        "op_a",
        upd(MSG, """metadata = '{"offer_id": "x"}'::jsonb""", "id = :m_a1"),
        DENIED,
        id="add-metadata",
    ),
    pytest.param("op_a", f"delete from {MSG} where id = :m_a1", DENIED, id="hard-delete"),
    # --- the audit: nobody but the trigger writes it ------------------------------------------
    pytest.param("op_a", audit_row("m_a1", "t_a", "op_a"), DENIED, id="forge-audit"),
    pytest.param("op_a", upd(EDITS, "previous_body = 'x'", "true"), DENIED, id="rewrite-audit"),
    pytest.param("op_a", f"delete from {EDITS}", DENIED, id="erase-audit"),
]


@pytest.mark.parametrize(("actor", "sql", "expected"), ATTACKS)
def test_attack_is_refused(world: World, actor: str, sql: str, expected: int | str) -> None:
    assert attempt(world.db, world.ids[actor], sql, world.params()) == expected, sql


@pytest.mark.parametrize(("actor", "sql", "expected"), [a for a in ATTACKS if a.values[2] == NONE])
def test_zero_row_attacks_aim_at_real_rows(world: World, actor: str, sql: str, expected: int):
    rows = attempt(world.db, None, sql, world.params())
    assert isinstance(rows, int) and rows > 0, rows


def _as(world: World, user: str, sql: str) -> list[Any]:
    """Run as `user`, commit, return the rows."""
    with transaction(world.db, as_user=world.ids[user]) as (session, _):
        return list(session.execute(text(sql), world.params()).all())


def _elevated(world: World, sql: str) -> None:
    with dbmod.write_session(world.db) as session:
        session.execute(text(sql), world.params())


def test_the_sender_edits_and_the_database_stamps_and_audits(world: World) -> None:
    (row,) = _as(
        world,
        "op_a",
        "update messaging_messages set body = 'edited', edited_at = '2000-01-01'"
        " where id = :m_a1 returning body, edited_at, deleted_at",
    )
    assert row.body == "edited" and row.edited_at.year > 2000 and row.deleted_at is None
    audit = _as(world, "own_a", "select action, previous_body, editor_id from " + EDITS)
    assert [(a.action, a.previous_body, a.editor_id) for a in audit] == [
        ("edit", "hello", world.op_a)
    ]
    # Pair B sees none of it; op_a's own audit read, controlled.
    assert _as(world, "op_b", "select * from " + EDITS) == []


def test_a_delete_is_a_tombstone_whatever_the_client_sends(world: World) -> None:
    (row,) = _as(
        world,
        "op_a",
        "update messaging_messages set deleted_at = '2000-01-01', body = 'kept?'"
        " where id = :m_a1 returning body, deleted_at, attachment_url, metadata",
    )
    assert row.body is None and row.deleted_at.year > 2000
    assert row.attachment_url is None and row.metadata is None
    sql = "update messaging_messages set deleted_at = null, body = 'back' where id = :m_a1"
    assert attempt(world.db, world.op_a, sql, world.params()) == DENIED
    sql = "update messaging_messages set body = 'again' where id = :m_a1"
    assert attempt(world.db, world.op_a, sql, world.params()) == DENIED
    audit = _as(world, "op_a", "select action, previous_body from " + EDITS)
    assert [(a.action, a.previous_body) for a in audit] == [("delete", "hello")]


def test_the_window_closes_in_the_database_too(world: World) -> None:
    _elevated(
        world,
        "update messaging_messages set created_at = now() - interval '16 minutes' where id = :m_a1",
    )
    for sql in (
        "update messaging_messages set body = 'late' where id = :m_a1",
        "update messaging_messages set deleted_at = now() where id = :m_a1",
    ):
        assert attempt(world.db, world.op_a, sql, world.params()) == DENIED


def test_offers_and_system_messages_never_change(world: World) -> None:
    for kind in ("offer", "system"):
        _elevated(world, f"update messaging_messages set kind = '{kind}' where id = :m_a1")
        for sql in (
            "update messaging_messages set body = 'x' where id = :m_a1",
            "update messaging_messages set deleted_at = now() where id = :m_a1",
        ):
            assert attempt(world.db, world.op_a, sql, world.params()) == DENIED, kind


def test_an_unverified_owner_or_a_closed_thread_changes_nothing(world: World) -> None:
    sql = "update messaging_messages set body = 'x' where id = :m_a2"
    _elevated(world, "update users set verified = false where id = :own_a")
    assert attempt(world.db, world.own_a, sql, world.params()) == DENIED
    _elevated(world, "update users set verified = true where id = :own_a")
    assert attempt(world.db, world.own_a, sql, world.params()) == 1
    _elevated(world, "update messaging_threads set status = 'closed' where id = :t_a")
    assert attempt(world.db, world.own_a, sql, world.params()) == DENIED


def test_receipts_still_work_and_touch_nothing_else(world: World) -> None:
    """0004's receipt on the other side's message passes; with an edit riding along, not."""
    own = "seen_by = seen_by || jsonb_build_array(cast(:own_a as text))"
    assert attempt(world.db, world.own_a, upd(MSG, own, "id = :m_a3"), world.params()) == 1
    sql = upd(MSG, own + ", body = 'forged'", "id = :m_a3")
    assert attempt(world.db, world.own_a, sql, world.params()) == DENIED


def test_the_service_under_rls_writes_one_audit_row(world: World) -> None:
    message_edits.edit_message(
        user_id=world.op_a, thread_id=world.t_a, message_id=world.m_a1, body="v2", db=world.db
    )
    message_edits.delete_message(
        user_id=world.op_a, thread_id=world.t_a, message_id=world.m_a1, db=world.db
    )
    rows = message_edits.list_edits(
        user_id=world.own_a, thread_id=world.t_a, message_id=world.m_a1, db=world.db
    )
    assert [(r.action, r.previous_body) for r in rows] == [("edit", "hello"), ("delete", "v2")]
    assert all(r.editor_id == world.op_a and isinstance(r.id, uuid.UUID) for r in rows)
