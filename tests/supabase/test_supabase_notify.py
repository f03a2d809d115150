"""A direct Supabase client's writes (RLS, `authenticated`) are announced on `arbibase_chat`
with ids only, so the app's listener shows them live; rolled-back ones are not."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from arbibase_chat.realtime import pg_listener
from tests.supabase.harness import (
    World,
    acting_as,
    build_supabase_database,
    build_world,
    throwaway_database,
)

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def own_world() -> Iterator[World]:
    """A world of this module alone: these tests commit, the shared one must stay as it is."""
    with throwaway_database("arbibase_supabase_notify") as url:
        build_supabase_database(url)
        yield build_world(url)


def _drain(listener: psycopg.Connection[Any]) -> list[dict[str, Any]]:
    return [json.loads(n.payload) for n in listener.notifies(timeout=0.3, stop_after=None)]


def test_direct_client_writes_are_announced_with_ids_only(own_world: World):
    w = own_world
    with (
        psycopg.connect(w.url, autocommit=True) as listener,
        psycopg.connect(w.url) as conn,
    ):
        listener.execute(f'LISTEN "{pg_listener.CHANNEL}"')
        with conn.transaction(), acting_as(conn, w.own1):
            row = conn.execute(
                "insert into public.messaging_messages (thread_id, sender_id, body)"
                " values (%s, %s, 'counter: 2,350 a month') returning id, seq",
                [w.t1, w.own1],
            ).fetchone()
        assert row is not None
        message_id, seq = row
        (notice,) = [n for n in _drain(listener) if n["kind"] == "message"]
        assert notice == {
            "kind": "message",
            "thread_id": str(w.t1),
            "message_id": str(message_id),
            "seq": seq,
            "sender_id": str(w.own1),
            "participants": [str(w.op1), str(w.own1)],
        }
        assert pg_listener.parse(json.dumps(notice)) is not None

        # The other side reads: one "read" notice for the cursor.
        with conn.transaction(), acting_as(conn, w.op1):
            conn.execute(
                "update public.messaging_participants set last_read_seq = %s"
                " where thread_id = %s and user_id = %s",
                [seq, w.t1, w.op1],
            )
        got = _drain(listener)
        assert [n["kind"] for n in got] == ["read"]
        assert got[0]["user_id"] == str(w.op1) and got[0]["seq"] == seq
        assert "2,350" not in json.dumps(got)

        # A write that is rolled back announces nothing.
        with pytest.raises(RuntimeError), conn.transaction(), acting_as(conn, w.own1):
            conn.execute(
                "insert into public.messaging_messages (thread_id, sender_id, body)"
                " values (%s, %s, 'never mind')",
                [w.t1, w.own1],
            )
            raise RuntimeError("roll back")
        assert _drain(listener) == []


def test_a_stage_change_is_announced_like_a_status_change(own_world: World):
    w = own_world
    with (
        psycopg.connect(w.url, autocommit=True) as listener,
        psycopg.connect(w.url) as conn,
    ):
        listener.execute(f'LISTEN "{pg_listener.CHANNEL}"')
        with conn.transaction(), acting_as(conn, w.op1):
            conn.execute(
                "update public.messaging_threads set stage = 'lease_drafted',"
                " stage_changed_by = %s where id = %s",
                [w.op1, w.t2],
            )
        assert _drain(listener) == [
            {"kind": "thread", "thread_id": str(w.t2), "participants": [str(w.op1), str(w.own2)]}
        ]
        # The same stage again is no news.
        with conn.transaction(), acting_as(conn, w.op1):
            conn.execute(
                "update public.messaging_threads set stage = 'lease_drafted' where id = %s",
                [w.t2],
            )
        assert _drain(listener) == []
