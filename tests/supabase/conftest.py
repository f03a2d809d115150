"""A Supabase-shaped database with the messaging migrations applied, and a small world in it.

Once per run: a new database on the local PostgreSQL, `harness.sql` (roles, auth, storage,
ArbiBase's properties, as Supabase defines them), then every file of supabase/migrations in
name order, then the world below, built by its users themselves through the policies. Each test
runs in one transaction that is rolled back, and acts as a user the way PostgREST does: `set
local role authenticated` plus the JWT claims in `request.jwt.claims`.

The world (built by harness.build_world; messages numbered as the database numbered them):

    prop1 (own1): t1 op1-own1 active   m1 op1 "hello" (1), m2 own1 "hi" (2), m3 op1 offer (3)
                                        tag "offer-sent" by op1; a1 op1 (linked to m1), a2 own1
                  t3 op2-own1 active   m4 op2 (1), m7 own1 (2); tag "hot" by op2; a3 op2
                  t_arch op1-own1 archived (no messages)
    prop2 (own2): t2 op1-own2 active   m5 op1 (1)
    prop3 (own1): t_closed op1-own1 closed   m6 op1 (1)

Offers (migration 7): o1 op1's open v1 in t1 (carried by m3; op1's numbers, not shared), o2
op1's open v1 in t2, o3 op2's v1 in t3, declined by own1 (op2's numbers, shared); t3's stage
is "lost", set by own1.

op1, op2 and stranger are operator accounts, own1 and own2 owner accounts (app_metadata.role).
own1 is a verified owner (app_metadata.verified); own2 is not, although their user_metadata
(which users can edit themselves) says so, and claims role operator there too. stranger takes
part in nothing.
Storage: message_attachments/{t1}/{a1} (op1), {t1}/{a2} (own1), {t3}/{a3} (op2), and
other_bucket/{stranger}/notes.txt (stranger).
"""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from tests.supabase.harness import World, build_supabase_database, build_world, throwaway_database


@pytest.fixture(scope="session")
def world() -> Iterator[World]:
    with throwaway_database("arbibase_supabase") as url:
        build_supabase_database(url)
        yield build_world(url)


@pytest.fixture(scope="session")
def _session_conn(world: World) -> Iterator[psycopg.Connection]:
    with psycopg.connect(world.url, autocommit=True) as conn:
        yield conn


@pytest.fixture
def conn(_session_conn: psycopg.Connection) -> Iterator[psycopg.Connection]:
    """The test's transaction (as the superuser until `become`); rolled back afterwards."""
    with _session_conn.transaction(force_rollback=True):
        yield _session_conn
