"""Personal archive, the close / reopen message and case-insensitive tags in the Supabase
schema (migration 12), as each user: op1 and own1 negotiate in t1; op2 with own1 in t3."""

from __future__ import annotations

import psycopg
import pytest

from tests.supabase.harness import World, acting_as, attempt, scalar

pytestmark = pytest.mark.postgres

DENIED = "42501"
P = "public.messaging_participants"


def _archived(conn: psycopg.Connection, world: World, thread: str, user: str) -> bool:
    return (
        scalar(
            conn,
            f"select archived_at is not null from {P} where thread_id = %s and user_id = %s",
            [world.ids[thread], world.user(user)],
        )
        is True
    )


def test_an_archive_is_my_own(conn: psycopg.Connection, world: World) -> None:
    mine = f"update {P} set archived_at = now() where thread_id = %(t1)s"
    params = world.params()
    assert attempt(conn, world.own1, mine + " and user_id = %(own1)s", params) == 1
    assert attempt(conn, world.own1, mine + " and user_id = %(op1)s", params) == 0
    assert attempt(conn, world.stranger, mine, params) == 0
    assert attempt(conn, world.op2, mine, params) == 0


def test_a_new_message_unarchives_for_both(conn: psycopg.Connection, world: World) -> None:
    for user in ("op1", "own1"):
        with acting_as(conn, world.user(user)):
            conn.execute(
                f"update {P} set archived_at = now() where thread_id = %s and user_id = %s",
                [world.t1, world.user(user)],
            )
    assert _archived(conn, world, "t1", "op1") and _archived(conn, world, "t1", "own1")
    with acting_as(conn, world.own1):
        conn.execute(
            "insert into public.messaging_messages (thread_id, sender_id, body, kind)"
            " values (%s, %s, 'back', 'text')",
            [world.t1, world.own1],
        )
    assert not _archived(conn, world, "t1", "op1")
    assert not _archived(conn, world, "t1", "own1")


def _system(body: str, status: str) -> str:
    return (
        "insert into public.messaging_messages (thread_id, sender_id, body, kind, metadata)"
        f" values (%(t1)s, %(me)s, '{body}', 'system', '{{\"status\": \"{status}\"}}'::jsonb)"
    )


def test_the_close_message_and_nothing_else_as_the_system(
    conn: psycopg.Connection, world: World
) -> None:
    params = world.params() | {"me": world.op1}
    assert (
        attempt(conn, world.op1, _system("Olivia closed the conversation", "closed"), params) == 1
    )
    assert (
        attempt(conn, world.op1, _system("Olivia reopened the conversation", "active"), params) == 1
    )
    # Any other system text, or the close message's text with another status.
    assert attempt(conn, world.op1, _system("You won a prize", "closed"), params) == DENIED
    assert (
        attempt(conn, world.op1, _system("Olivia closed the conversation", "active"), params)
        == DENIED
    )
    # Not in someone else's thread.
    stranger = world.params() | {"me": world.stranger}
    assert (
        attempt(conn, world.stranger, _system("S closed the conversation", "closed"), stranger)
        == DENIED
    )


def test_tags_are_one_whatever_their_case(conn: psycopg.Connection, world: World) -> None:
    add = (
        "insert into public.messaging_thread_tags (thread_id, tag, created_by)"
        " values (%(t1)s, %(tag)s, %(op1)s)"
    )
    params = world.params()
    # t1 already has "offer-sent" (conftest.py).
    assert attempt(conn, world.op1, add, params | {"tag": "Offer-Sent"}) == "23505"
    assert attempt(conn, world.op1, add, params | {"tag": "lease review"}) == 1
