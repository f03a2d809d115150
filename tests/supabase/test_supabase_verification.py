"""Owner verification claims in the Supabase schema (migration 8), as each user: own2 (an
unverified owner) claims; op2 is made staff (app_metadata.is_staff); own1 is verified already."""

from __future__ import annotations

import uuid

import psycopg
import pytest

from tests.supabase.harness import World, acting_as, attempt, scalar

pytestmark = pytest.mark.postgres

DENIED = "42501"
CLAIMS = "public.owner_verification_claims"


def _staff(conn: psycopg.Connection, world: World) -> None:
    conn.execute(
        "update auth.users set raw_app_meta_data = raw_app_meta_data || '{\"is_staff\": true}'"
        " where id = %s",
        [world.op2],
    )


def _claim(conn: psycopg.Connection, world: World, owner: str = "own2") -> uuid.UUID:
    claim_id = uuid.uuid4()
    with acting_as(conn, world.user(owner)):
        conn.execute(
            f"insert into {CLAIMS} (id, owner_id, proof_key, note) values (%s, %s, %s, 'deed')",
            [claim_id, world.user(owner), f"verification/{world.user(owner)}/{claim_id}"],
        )
    return claim_id


def _decide(status: str, reason: str = "null") -> str:
    return (
        f"update {CLAIMS} set status = '{status}', decided_by = (select auth.uid()),"
        f" decided_at = now(), reason = {reason} where id = %(claim)s"
    )


def _verified(conn: psycopg.Connection, world: World, name: str) -> bool:
    return bool(
        scalar(
            conn,
            "select coalesce((raw_app_meta_data -> 'verified') = 'true'::jsonb, false)"
            " from auth.users where id = %s",
            [world.user(name)],
        )
    )


def test_only_the_owner_and_staff_read_a_claim(conn: psycopg.Connection, world: World) -> None:
    _staff(conn, world)
    claim = _claim(conn, world)
    read = f"select * from {CLAIMS} where id = %(claim)s"
    for name, rows in (("own2", 1), ("op2", 1), ("op1", 0), ("own1", 0), ("stranger", 0)):
        assert attempt(conn, world.user(name), read, {"claim": claim}) == rows, name
    assert attempt(conn, None, read, {"claim": claim}) == DENIED  # anon


def test_only_unverified_owners_claim_for_themselves(conn: psycopg.Connection, world: World):
    new = uuid.uuid4()
    insert = (
        f"insert into {CLAIMS} (id, owner_id, proof_key) values (%(new)s, %(owner)s,"
        " 'verification/' || %(owner)s::text || '/' || %(new)s::text)"
    )
    for actor, owner in (("own1", "own1"), ("op1", "op1"), ("own2", "own1")):
        params = {"new": new, "owner": world.user(owner)}
        assert attempt(conn, world.user(actor), insert, params) == DENIED, actor
    approved = insert.replace("(id, owner_id, proof_key)", "(id, owner_id, proof_key, status)")
    approved = approved.replace("'/' || %(new)s::text)", "'/' || %(new)s::text, 'approved')")
    assert attempt(conn, world.own2, approved, {"new": new, "owner": world.own2}) == DENIED
    assert attempt(conn, world.own2, insert, {"new": new, "owner": world.own2}) == 1


def test_only_staff_decide_and_approval_verifies(conn: psycopg.Connection, world: World) -> None:
    claim = _claim(conn, world)
    params = {"claim": claim}
    for name in ("own2", "op1", "own1", "op2"):  # op2 is not staff yet
        assert attempt(conn, world.user(name), _decide("approved"), params) == 0, name
    _staff(conn, world)
    assert attempt(conn, world.op2, _decide("rejected"), params) == DENIED  # no reason
    assert attempt(conn, world.op2, f"delete from {CLAIMS}", params) == DENIED
    assert attempt(conn, world.op2, "update auth.users set raw_app_meta_data = '{}'") == DENIED
    with acting_as(conn, world.op2):
        assert conn.execute(_decide("approved"), params).rowcount == 1
    assert _verified(conn, world, "own2")
