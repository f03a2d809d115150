"""supabase/migrations and the Alembic head describe the same messaging schema.

Alembic head goes into one new database, harness + supabase/migrations into another (the
session's), and the messaging tables are compared through the catalogs: which tables, their
columns (name, type, nullability), indexes (columns, uniqueness, partial predicate: the whole
index definition), and constraints (primary keys, uniques, checks, foreign keys with their
ON DELETE). A change to one side without the other fails here.
"""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from arbibase_chat import migrations
from tests.supabase.harness import World, throwaway_database

pytestmark = pytest.mark.postgres

# --- the intended differences, all of them -------------------------------------------------
# 1. The app's own `users` table is Supabase's `auth.users`: every foreign key to users(id)
#    points at auth.users(id) instead (same column, same ON DELETE).
INTENDED = {"REFERENCES users(id)": "REFERENCES auth.users(id)"}
# 2. Not compared, Supabase-only by design: RLS and its policies, the triggers and the
#    messaging_private functions, grants, and server defaults (the app sends every value; the
#    Supabase side has defaults for direct clients, which the triggers then overrule).
# 3. Only the messaging_* tables and owner_verification_claims are compared: users / properties / alembic_version are the
#    app's own; auth.*, storage.* and ArbiBase's properties belong to the Supabase project.

MESSAGING = (
    "c.relnamespace = 'public'::regnamespace"
    " and (c.relname like 'messaging\\_%%' or c.relname = 'owner_verification_claims')"
)


def describe(url: str) -> dict[str, Any]:
    with psycopg.connect(url) as conn:
        tables = sorted(
            r[0]
            for r in conn.execute(
                f"select c.relname from pg_class c where c.relkind = 'r' and {MESSAGING}"
            )
        )
        columns = {
            (table, column): (type_, nullable)
            for table, column, type_, nullable in conn.execute(
                "select c.relname, a.attname, format_type(a.atttypid, a.atttypmod), not a.attnotnull"
                " from pg_attribute a join pg_class c on c.oid = a.attrelid"
                f" where c.relkind = 'r' and {MESSAGING} and a.attnum > 0 and not a.attisdropped"
            )
        }
        indexes = {
            (table, name): definition
            for table, name, definition in conn.execute(
                "select tablename, indexname, indexdef from pg_indexes"
                " where schemaname = 'public' and (tablename like 'messaging\\_%%'"
                " or tablename = 'owner_verification_claims')"
            )
        }
        constraints = {
            (table, name): definition
            for table, name, definition in conn.execute(
                "select c.relname, k.conname, pg_get_constraintdef(k.oid)"
                " from pg_constraint k join pg_class c on c.oid = k.conrelid"
                f" where {MESSAGING} and k.contype in ('p', 'u', 'c', 'f')"
            )
        }
    return {"tables": tables, "columns": columns, "indexes": indexes, "constraints": constraints}


def as_supabase(schema: dict[str, Any]) -> dict[str, Any]:
    """The Alembic description with the intended differences applied."""

    def fix(text: str) -> str:
        for app, supabase in INTENDED.items():
            text = text.replace(app, supabase)
        return text

    return {**schema, "constraints": {k: fix(v) for k, v in schema["constraints"].items()}}


@pytest.fixture(scope="module")
def alembic_schema() -> dict[str, Any]:
    with throwaway_database("arbibase_supabase_alembic") as url:
        migrations.upgrade(url)
        return describe(url)


@pytest.mark.parametrize("part", ["tables", "columns", "indexes", "constraints"])
def test_alembic_and_supabase_migrations_agree(alembic_schema, world: World, part: str):
    expected = as_supabase(alembic_schema)[part]
    actual = describe(world.url)[part]
    assert actual == expected


def test_the_comparison_sees_what_it_compares(alembic_schema):
    """Guard against a vacuous pass (an empty catalog query on both sides)."""
    assert alembic_schema["tables"] == [
        "messaging_attachments",
        "messaging_email_outbox",
        "messaging_email_tokens",
        "messaging_message_edits",
        "messaging_messages",
        "messaging_notification_settings",
        "messaging_offer_numbers",
        "messaging_offers",
        "messaging_participants",
        "messaging_thread_tags",
        "messaging_threads",
        "owner_verification_claims",
    ]
    assert len(alembic_schema["columns"]) > 40
    assert ("messaging_threads", "uq_messaging_threads_one_active") in alembic_schema["indexes"]
    assert (
        "WHERE"
        in alembic_schema["indexes"][("messaging_threads", "uq_messaging_threads_one_active")]
    )
    fks = [v for v in alembic_schema["constraints"].values() if "REFERENCES users(id)" in v]
    assert len(fks) == 15  # every one of them becomes auth.users
    # Migration 7: the partial one-open index and the thread's stage check.
    assert (
        "WHERE" in alembic_schema["indexes"][("messaging_offers", "uq_messaging_offers_one_open")]
    )
    assert ("messaging_threads", "ck_messaging_threads_stage") in alembic_schema["constraints"]
