"""Mute, notification settings, the e-mail outbox and tokens in the Supabase schema (migration
11), as each user: op1 and own1 negotiate in t1; op2 with own1 in t3; op1 with own2 in t2."""

from __future__ import annotations

import psycopg
import pytest

from tests.supabase.harness import World, acting_as, attempt, scalar

pytestmark = pytest.mark.postgres

DENIED = "42501"
P = "public.messaging_participants"
SETTINGS = "public.messaging_notification_settings"
OUTBOX = "public.messaging_email_outbox"
TOKENS = "public.messaging_email_tokens"


def _owe(recipient: str, thread: str = "t1", state: str = "pending") -> str:
    return (
        f"insert into {OUTBOX} (thread_id, user_id, first_seq, due_at, state)"
        f" values (%({thread})s, %({recipient})s, 1, now(), '{state}')"
    )


def _tier(conn: psycopg.Connection, world: World, user: str, tier: str) -> None:
    conn.execute(
        "update auth.users set raw_app_meta_data = raw_app_meta_data || jsonb_build_object("
        "'tier', %s::text) where id = %s",
        [tier, world.user(user)],
    )


def _send(conn: psycopg.Connection, world: World, thread: str, sender: str) -> None:
    with acting_as(conn, world.user(sender)):
        conn.execute(
            "insert into public.messaging_messages (thread_id, sender_id, body, kind)"
            " values (%s, %s, 'news', 'text')",
            [world.ids[thread], world.user(sender)],
        )


def _owed(conn: psycopg.Connection, world: World, thread: str) -> list[tuple]:
    return conn.execute(
        f"select user_id, state, first_seq from {OUTBOX} where thread_id = %s order by created_at",
        [world.ids[thread]],
    ).fetchall()


def test_a_mute_is_my_own(conn: psycopg.Connection, world: World) -> None:
    mine = f"update {P} set muted_until = now() + interval '1 day' where thread_id = %(t1)s"
    params = world.params()
    assert attempt(conn, world.own1, mine + " and user_id = %(own1)s", params) == 1
    assert attempt(conn, world.own1, mine + " and user_id = %(op1)s", params) == 0
    assert attempt(conn, world.stranger, mine, params) == 0


def test_settings_are_mine_only(conn: psycopg.Connection, world: World) -> None:
    insert = f"insert into {SETTINGS} (user_id, email_enabled) values (%(who)s, false)"
    assert attempt(conn, world.own1, insert, {"who": world.own1}) == 1
    assert attempt(conn, world.own1, insert, {"who": world.op1}) == DENIED
    conn.execute(f"insert into {SETTINGS} (user_id, email_enabled) values (%s, true)", [world.op1])
    assert attempt(conn, world.own1, f"select * from {SETTINGS}", None) == 0
    assert attempt(conn, world.op1, f"select * from {SETTINGS}", None) == 1
    assert attempt(conn, world.own1, f"update {SETTINGS} set email_enabled = false", None) == 0
    assert attempt(conn, None, f"select * from {SETTINGS}", None) == DENIED  # anon


def test_the_outbox_takes_only_a_pending_row_for_the_other_party(
    conn: psycopg.Connection, world: World
) -> None:
    params = world.params()
    assert attempt(conn, world.op1, _owe("own1"), params) == 1
    assert attempt(conn, world.op1, _owe("op1"), params) == DENIED  # myself
    assert attempt(conn, world.op1, _owe("own1", thread="t3"), params) == DENIED  # not mine
    assert attempt(conn, world.op1, _owe("stranger"), params) == DENIED
    assert attempt(conn, world.op1, _owe("own1", state="sent"), params) == DENIED
    for sql in (
        f"select * from {OUTBOX}",
        f"update {OUTBOX} set state = 'skipped'",
        f"delete from {OUTBOX}",
        f"select * from {TOKENS}",
    ):
        assert attempt(conn, world.op1, sql, None) == DENIED, sql
        assert attempt(conn, None, sql, None) == DENIED, sql


def test_a_premium_threads_message_owes_one_batched_email(
    conn: psycopg.Connection, world: World
) -> None:
    _tier(conn, world, "op1", "premium")
    _send(conn, world, "t1", "op1")
    _send(conn, world, "t1", "op1")
    owed = _owed(conn, world, "t1")
    assert [(u, s) for u, s, _ in owed] == [(world.own1, "pending")]
    last = scalar(conn, "select last_seq from public.messaging_threads where id = %s", [world.t1])
    assert owed[0][2] == last - 1  # the batch starts at the first unread message
    # The owner answers: the operator is owed one too.
    _send(conn, world, "t1", "own1")
    assert sorted((u, s) for u, s, _ in _owed(conn, world, "t1")) == sorted(
        [(world.own1, "pending"), (world.op1, "pending")]
    )


def test_below_premium_no_email_is_owed(conn: psycopg.Connection, world: World) -> None:
    _tier(conn, world, "op1", "pro")
    _send(conn, world, "t1", "op1")
    assert _owed(conn, world, "t1") == []
