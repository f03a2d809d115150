"""Defense in depth: raw SQL inside the app's own user transaction (services/_tx.py
`transaction(as_user=...)`), i.e. with every Python check bypassed, still cannot see or change
another pair's thread, nor more of one's own thread than the services change.

Each row: who acts, the SQL (world ids as :name, see conftest.py), and the outcome: the number
of rows it returned or changed (0: RLS hid them) or the SQLSTATE of the refusal (42501:
policy, privilege or one of the two column triggers). Every 0-row attack is also run on the
app's elevated connection, which must see rows: the statement is sound and only RLS hid them.
"""

from __future__ import annotations

import pytest

from tests.rls.conftest import World, attempt

pytestmark = pytest.mark.postgres

DENIED = "42501"
NONE = 0


def send(thread: str, sender: str, **extra: str) -> str:
    cols = {"id": ":new", "thread_id": f":{thread}", "seq": "99", "sender_id": f":{sender}"}
    cols |= {"body": "'x'", "seen_by": "'[]'::jsonb", "kind": "'text'", "created_at": "now()"}
    cols |= extra
    return f"insert into messaging_messages ({', '.join(cols)}) values ({', '.join(cols.values())})"


def new_thread(prop: str, operator: str, owner: str) -> str:
    return (
        "insert into messaging_threads (id, property_id, operator_id, owner_id, status, last_seq,"
        " last_message_at, created_at)"
        f" values (:new, :{prop}, :{operator}, :{owner}, 'active', 0, now(), now())"
    )


def participant(thread: str, user: str, role: str) -> str:
    return (
        "insert into messaging_participants (thread_id, user_id, role, last_read_seq,"
        f" last_message_at) values (:{thread}, :{user}, '{role}', 0, now())"
    )


def attachment(thread: str, uploader: str, key: str = "") -> str:
    key = key or f"cast(:{thread} as text) || '/' || cast(:new as text)"
    return (
        "insert into messaging_attachments (id, thread_id, uploader_id, filename, content_type,"
        " size_bytes, storage_key, created_at)"
        f" values (cast(:new as uuid), cast(:{thread} as uuid), :{uploader}, 'x.pdf', 'application/pdf', 10,"
        f" {key}, now())"
    )


def upd(table: str, assignment: str, where: str) -> str:
    return f"update {table} set {assignment} where {where}"


def seen(user: str) -> str:
    return f"seen_by = seen_by || jsonb_build_array(cast(:{user} as text))"


ATTACKS = [
    # --- reading another pair's thread ---------------------------------------------------------
    pytest.param("op_a", "select * from messaging_threads where id = :t_b", NONE, id="read-thread"),
    pytest.param(
        "op_a",
        "select * from messaging_threads where id = :t_x",
        NONE,
        id="read-my-counterpartys-other-thread",
    ),
    pytest.param(
        "op_a",
        "select * from messaging_messages where thread_id in (:t_b, :t_x)",
        NONE,
        id="read-messages",
    ),
    pytest.param(
        "op_a", "select * from messaging_messages where id = :m_b1", NONE, id="read-message-by-id"
    ),
    pytest.param(
        "op_a",
        "select * from messaging_participants where thread_id in (:t_b, :t_x)",
        NONE,
        id="read-participants-cursors",
    ),
    pytest.param(
        "op_a",
        "select * from messaging_participants where user_id = :own_a and thread_id = :t_x",
        NONE,
        id="read-counterpartys-row-in-other-thread",
    ),
    pytest.param(
        "op_a",
        "select * from messaging_attachments where thread_id = :t_b",
        NONE,
        id="read-attachments",
    ),
    pytest.param(
        "op_a",
        "select * from messaging_thread_tags where thread_id = :t_b",
        NONE,
        id="read-tags",
    ),
    pytest.param(
        "op_a",
        "select m.* from messaging_participants p"
        " join messaging_messages m on m.thread_id = p.thread_id where p.user_id = :op_b",
        NONE,
        id="read-through-a-join",
    ),
    pytest.param("op_a", "select password_hash from users", DENIED, id="read-password-hashes"),
    # --- writing into another pair's thread ----------------------------------------------------
    pytest.param("op_a", send("t_b", "op_a"), DENIED, id="send-into-other-pairs-thread"),
    pytest.param("op_a", send("t_x", "op_a"), DENIED, id="send-into-counterpartys-other-thread"),
    pytest.param("op_a", send("t_b", "op_b"), DENIED, id="send-as-them-into-their-thread"),
    pytest.param(
        "op_a",
        upd("messaging_messages", seen("op_a"), "thread_id = :t_b"),
        NONE,
        id="receipt-on-other-pairs-messages",
    ),
    pytest.param(
        "op_a", upd("messaging_threads", "status = 'closed'", "id = :t_b"), NONE, id="close-thread"
    ),
    pytest.param(
        "op_a",
        upd("messaging_threads", "last_seq = last_seq + 1", "id = :t_b"),
        NONE,
        id="bump-their-thread",
    ),
    pytest.param(
        "op_a",
        upd("messaging_participants", "last_read_seq = 1", "thread_id = :t_x"),
        NONE,
        id="move-cursor-in-other-thread",
    ),
    pytest.param(
        "op_a",
        upd("messaging_participants", "last_message_at = now()", "thread_id = :t_b"),
        NONE,
        id="reorder-their-inbox",
    ),
    pytest.param(
        "op_a", participant("t_b", "op_a", "operator"), DENIED, id="join-other-pairs-thread"
    ),
    pytest.param(
        "op_a",
        "insert into messaging_thread_tags values (:t_b, 'x', :op_a, now())",
        DENIED,
        id="tag-their-thread",
    ),
    pytest.param(
        "op_a",
        "delete from messaging_thread_tags where thread_id = :t_b",
        NONE,
        id="untag-their-thread",
    ),
    pytest.param("op_a", attachment("t_b", "op_a"), DENIED, id="upload-into-their-thread"),
    pytest.param(
        "op_a",
        attachment("t_a", "op_a", key="cast(:t_b as text) || '/' || cast(:new as text)"),
        DENIED,
        id="file-record-pointing-into-their-folder",
    ),
    pytest.param(
        "op_a",
        upd("messaging_attachments", "message_id = :m_a1", "id = :f_b"),
        NONE,
        id="take-their-file-onto-my-message",
    ),
    pytest.param(
        "op_a",
        upd("messaging_attachments", "message_id = :m_b1", "id = :f_a"),
        DENIED,
        id="put-my-file-on-their-message",
    ),
    # --- my own thread: only what the services do ----------------------------------------------
    pytest.param("op_a", send("t_a", "own_a"), DENIED, id="send-as-the-other-party"),
    pytest.param("op_a", send("t_a", "op_a", kind="'system'"), DENIED, id="send-system-message"),
    pytest.param(
        "op_a",
        send("t_a", "op_a", seen_by="jsonb_build_array(cast(:own_a as text))"),
        DENIED,
        id="send-with-a-receipt-of-the-other",
    ),
    pytest.param(
        "op_a",
        upd("messaging_messages", "body = 'forged'", "id = :m_a2"),
        DENIED,
        id="rewrite-the-other-partys-message",
    ),
    pytest.param(
        "op_a",
        upd("messaging_messages", "thread_id = :t_b", "id = :m_a1"),
        DENIED,
        id="move-a-message-to-another-thread",
    ),
    pytest.param(
        "op_a",
        upd("messaging_messages", seen("own_a"), "id = :m_a3"),
        DENIED,
        id="receipt-for-the-other-user",
    ),
    pytest.param(
        "op_a",
        upd("messaging_messages", "seen_by = '[]'::jsonb", "id = :m_a2"),
        DENIED,
        id="erase-my-receipt",
    ),
    pytest.param(
        "op_a", "delete from messaging_messages where id = :m_a2", DENIED, id="delete-message"
    ),
    pytest.param(
        "op_a",
        upd("messaging_participants", "last_read_seq = 3", "thread_id = :t_a and user_id = :own_a"),
        DENIED,
        id="move-the-other-partys-cursor",
    ),
    pytest.param(
        "op_a",
        upd("messaging_participants", "last_read_seq = 0", "thread_id = :t_a and user_id = :op_a"),
        DENIED,
        id="move-my-cursor-back",
    ),
    pytest.param(
        "own_a",
        upd("messaging_participants", "last_read_seq = 9", "thread_id = :t_a and user_id = :own_a"),
        DENIED,
        id="move-my-cursor-past-the-newest",
    ),
    pytest.param(
        "op_a",
        upd(
            "messaging_participants",
            "last_message_at = now() + interval '1 year'",
            "thread_id = :t_a and user_id = :own_a",
        ),
        DENIED,
        id="pin-the-thread-atop-the-other-inbox",
    ),
    pytest.param(
        "op_a",
        upd("messaging_participants", "last_seq = 0", "thread_id = :t_a and user_id = :op_a"),
        DENIED,
        id="hide-my-unread-from-my-total",
    ),
    pytest.param(
        "op_a",
        upd("messaging_participants", "last_seq = 99", "thread_id = :t_a and user_id = :own_a"),
        DENIED,
        id="inflate-the-other-sides-unread-total",
    ),
    pytest.param(
        "op_a",
        upd("messaging_participants", "user_id = :op_b", "thread_id = :t_a and user_id = :op_a"),
        DENIED,
        id="hand-my-membership-to-someone",
    ),
    pytest.param(
        "op_a", participant("t_a", "op_b", "operator"), DENIED, id="add-a-third-participant"
    ),
    pytest.param(
        "op_a",
        upd("messaging_threads", "owner_id = :own_b", "id = :t_a"),
        DENIED,
        id="swap-the-counterparty",
    ),
    pytest.param(
        "op_a",
        upd("messaging_threads", "property_id = :prop_b", "id = :t_a"),
        DENIED,
        id="move-the-thread-to-another-property",
    ),
    pytest.param(
        "op_a", "delete from messaging_threads where id = :t_a", DENIED, id="delete-thread"
    ),
    pytest.param(
        "op_a",
        "insert into messaging_thread_tags values (:t_a, 'x', :own_a, now())",
        DENIED,
        id="tag-in-the-other-partys-name",
    ),
    pytest.param(
        "op_a",
        upd("messaging_attachments", "storage_key = :new", "id = :f_a"),
        DENIED,
        id="repoint-a-file-record",
    ),
    pytest.param("op_a", "truncate messaging_messages", DENIED, id="truncate"),
    # --- opening threads, listing properties, accounts -----------------------------------------
    pytest.param(
        "op_a", new_thread("prop_b", "op_b", "own_b"), DENIED, id="open-thread-for-another-operator"
    ),
    pytest.param(
        "op_a",
        new_thread("prop_b", "op_a", "own_a"),
        DENIED,
        id="open-thread-with-someone-not-owning-the-property",
    ),
    pytest.param(
        "own_a",
        new_thread("prop_b", "own_a", "own_b"),
        DENIED,
        id="owner-account-opens-as-operator",
    ),
    pytest.param(
        "op_a",
        "insert into properties (id, owner_id, title, address, city, created_at)"
        " values (:new, :op_a, 't', 'a', 'c', now())",
        DENIED,
        id="operator-lists-a-property",
    ),
    pytest.param(
        "own_a",
        "insert into properties (id, owner_id, title, address, city, created_at)"
        " values (:new, :own_b, 't', 'a', 'c', now())",
        DENIED,
        id="list-a-property-in-anothers-name",
    ),
    pytest.param(
        "own_a", upd("users", "verified = true", "id = :own_a"), DENIED, id="verify-myself"
    ),
]


@pytest.mark.parametrize(("actor", "sql", "expected"), ATTACKS)
def test_attack_is_refused(world: World, actor: str, sql: str, expected: int | str) -> None:
    outcome = attempt(world.db, world.ids[actor], sql, world.params())
    assert outcome == expected, f"{actor}: {sql}"


@pytest.mark.parametrize(("actor", "sql", "expected"), [a for a in ATTACKS if a.values[2] == NONE])
def test_zero_row_attacks_aim_at_real_rows(world: World, actor: str, sql: str, expected: int):
    """Control: on the app's elevated connection the same statement finds its rows."""
    rows = attempt(world.db, None, sql, world.params())
    assert isinstance(rows, int) and rows > 0, rows


def test_a_user_sees_exactly_their_own_rows(world: World) -> None:
    """The whole tables, as each user: their threads and nothing else."""
    p = world.params()
    expected = {
        "op_a": {p["t_a"]},
        "own_a": {p["t_a"], p["t_x"]},
        "op_b": {p["t_b"], p["t_x"]},
        "own_b": {p["t_b"]},
    }
    for user, threads in expected.items():
        for table, column in (
            ("messaging_threads", "id"),
            ("messaging_participants", "thread_id"),
            ("messaging_messages", "thread_id"),
        ):
            sql = f"select distinct cast({column} as text) from {table}"
            seen = _rows(world, user, sql)
            assert seen == threads, (user, table)
    assert _rows(world, "op_a", "select cast(thread_id as text) from messaging_attachments") == {
        p["t_a"]
    }
    assert _rows(world, "op_a", "select tag from messaging_thread_tags") == {"mine"}


def _rows(world: World, user: str, sql: str) -> set[str]:
    from sqlalchemy import text

    from arbibase_chat.services._tx import reading

    with reading(world.db, as_user=world.ids[user]) as session:
        return {row[0] for row in session.execute(text(sql))}
