"""The shape of the policies, read back from the database (and, for what the database rewrites,
from the migration files): one permissive policy per command and `to authenticated`, wrapped
auth.uid(), qualified columns, indexed filters, pinned search_path, and the app's limits."""

from __future__ import annotations

import re
from collections import Counter

import psycopg
import pytest

from arbibase_chat.config import Settings
from arbibase_chat.services import attachments, messages, threads, validation
from tests.supabase.harness import BUCKET, World, acting_as, migration_files, scalar

pytestmark = pytest.mark.postgres

TABLES = (
    "messaging_threads",
    "messaging_participants",
    "messaging_thread_tags",
    "messaging_messages",
    "messaging_attachments",
    "messaging_offers",
    "messaging_offer_numbers",
    "messaging_message_edits",
    "messaging_notification_settings",
    "messaging_email_outbox",
    "messaging_email_tokens",
)
OUR_POLICIES = """
    select p.schemaname, p.tablename, p.policyname, p.permissive, p.cmd, p.roles,
           coalesce(p.qual, ''), coalesce(p.with_check, '')
    from pg_policies p
    where (p.schemaname = 'public' and p.tablename like 'messaging\\_%%')
       or (p.schemaname = 'public' and p.tablename = 'owner_verification_claims')
       or (p.schemaname = 'storage' and p.policyname like 'message\\_attachments:%%')
"""
# What each table lets a participant do (anything missing is refused to everyone but the
# trusted roles).
COMMANDS = {
    "messaging_threads": {"SELECT", "INSERT", "UPDATE"},
    "messaging_participants": {"SELECT", "INSERT", "UPDATE"},
    "messaging_thread_tags": {"SELECT", "INSERT", "DELETE"},
    "messaging_messages": {"SELECT", "INSERT", "UPDATE"},
    "messaging_attachments": {"SELECT", "INSERT", "UPDATE"},
    "messaging_offers": {"SELECT", "INSERT", "UPDATE"},
    "messaging_offer_numbers": {"SELECT", "INSERT"},
    "messaging_message_edits": {"SELECT"},  # the audit: only its trigger writes
    "messaging_notification_settings": {"SELECT", "INSERT", "UPDATE"},  # my own row
    "messaging_email_outbox": {"INSERT"},  # owe the other party an e-mail; never read it
    # messaging_email_tokens: none at all (the app's dispatcher and listener only).
    "owner_verification_claims": {"SELECT", "INSERT", "UPDATE"},
    "objects": {"SELECT", "INSERT", "UPDATE", "DELETE"},
}
# Every column a policy filters rows on (USING clauses and the subqueries they run), with the
# table it lives in. Each must lead an index.
FILTER_COLUMNS = {
    ("public", "messaging_threads"): ("id", "operator_id", "owner_id"),
    ("public", "messaging_participants"): ("thread_id", "user_id"),
    ("public", "messaging_thread_tags"): ("thread_id",),
    ("public", "messaging_messages"): ("id", "thread_id", "sender_id"),
    ("public", "messaging_attachments"): ("thread_id", "uploader_id", "message_id"),
    ("public", "messaging_offers"): ("id", "thread_id", "made_by"),
    ("public", "messaging_offer_numbers"): ("offer_id", "operator_id"),
    ("public", "messaging_message_edits"): ("thread_id",),
    ("public", "messaging_notification_settings"): ("user_id",),
    ("public", "properties"): ("id",),
    ("public", "owner_verification_claims"): ("owner_id",),
    ("storage", "objects"): ("bucket_id",),
}


@pytest.fixture
def policies(conn) -> list[tuple[str, ...]]:
    return conn.execute(OUR_POLICIES).fetchall()


def test_migration_files_are_timestamped():
    names = [p.name for p in migration_files()]
    assert len(names) >= 3
    assert all(re.fullmatch(r"\d{14}_[a-z0-9_]+\.sql", n) for n in names), names


def test_rls_is_enabled_on_every_messaging_table(conn):
    rows = dict(
        conn.execute(
            "select c.relname, c.relrowsecurity from pg_class c"
            " where c.relnamespace = 'public'::regnamespace and c.relkind = 'r'"
            " and c.relname like 'messaging\\_%%'"
        ).fetchall()
    )
    assert rows == dict.fromkeys(TABLES, True)


def test_one_permissive_policy_per_command_and_only_to_authenticated(policies):
    permissive = [p for p in policies if p[3] == "PERMISSIVE"]
    assert all(p[5] == ["authenticated"] for p in permissive), permissive
    assert all(p[4] != "ALL" for p in permissive)
    per_command = Counter((p[1], p[4]) for p in permissive)
    assert max(per_command.values()) == 1, per_command
    commands: dict[str, set[str]] = {}
    for _schema, table, _name, _perm, cmd, *_ in permissive:
        commands.setdefault(table, set()).add(cmd)
    assert commands == COMMANDS
    # The one restrictive policy: the storage guard (see the storage migration).
    restrictive = [(p[0], p[1], p[4], p[5]) for p in policies if p[3] == "RESTRICTIVE"]
    assert restrictive == [("storage", "objects", "ALL", ["public"])]


def test_auth_uid_is_always_wrapped_in_a_select(policies):
    for policy in policies:
        name, using, check = policy[2], policy[6], policy[7]
        for clause in (using, check):
            bare = clause.replace("( SELECT auth.uid() AS uid)", "")
            assert "auth.uid()" not in bare, (name, clause)
            assert "auth.jwt()" not in bare and "auth.role()" not in bare, (name, clause)


def _policy_statements() -> list[str]:
    """The policies in effect: a later migration that recreates a policy (same name, same
    table) replaces the earlier statement."""
    latest: dict[tuple[str, str], str] = {}
    for path in migration_files():
        text = re.sub(r"--[^\n]*", "", path.read_text())
        for statement in re.findall(r"create policy .*?;", text, flags=re.S | re.I):
            key = re.match(r'create policy\s+"([^"]+)"\s+on\s+([\w.]+)', statement, re.I)
            assert key is not None, statement[:80]
            latest[(key.group(1), key.group(2))] = statement
    return list(latest.values())


def test_every_column_inside_a_policy_is_qualified(conn, policies):
    """Checked on the source: the database prints its own qualification back."""
    columns = {
        r[0]
        for r in conn.execute(
            "select column_name from information_schema.columns"
            " where (table_schema = 'public' and (table_name like 'messaging\\_%%'"
            "        or table_name in ('properties', 'owner_verification_claims')))"
            "    or (table_schema = 'storage' and table_name = 'objects')"
        )
    }
    statements = _policy_statements()
    assert len(statements) == len(policies)  # every policy in the database was read
    unqualified = []
    for statement in statements:
        body = re.sub(r"'[^']*'|\"[^\"]*\"", "''", statement)  # literals and policy names
        for match in re.finditer(r"(?<![.\w])([a-z_][a-z0-9_]*)\b(?!\s*\()", body):
            word = match.group(1)
            before = body[: match.start()].rstrip()
            if word in columns and not before.endswith("::"):
                unqualified.append((word, statement.splitlines()[0]))
    assert unqualified == []


def test_columns_the_policies_filter_on_are_indexed(conn):
    leading = {
        (schema, table, column)
        for schema, table, column in conn.execute(
            "select n.nspname, c.relname, a.attname"
            " from pg_index i"
            " join pg_class c on c.oid = i.indrelid"
            " join pg_namespace n on n.oid = c.relnamespace"
            " join pg_attribute a on a.attrelid = c.oid and a.attnum = i.indkey[0]"
        )
    }
    missing = [
        (schema, table, column)
        for (schema, table), cols in FILTER_COLUMNS.items()
        for column in cols
        if (schema, table, column) not in leading
    ]
    assert missing == []


def test_helper_functions_pin_search_path_and_anon_cannot_call_them(conn):
    rows = conn.execute(
        "select p.proname, p.prosecdef, p.proconfig,"
        " has_function_privilege('anon', p.oid, 'execute'),"
        " has_function_privilege('public', p.oid, 'execute')"
        " from pg_proc p where p.pronamespace = 'messaging_private'::regnamespace"
    ).fetchall()
    assert len(rows) >= 10
    for name, _definer, config, anon_may, public_may in rows:
        assert config == ['search_path=""'], name
        assert not anon_may and not public_may, name
    definers = {name for name, definer, *_ in rows if definer}
    # Each SECURITY DEFINER exists for one reason (supabase/README.md, "Helper functions").
    assert definers == {
        "caller_is_verified",  # reads auth.users, which authenticated cannot
        "caller_is_operator",  # reads auth.users, which authenticated cannot
        "thread_tag_count",  # a policy may not query its own table (recursion)
        "append_message",  # writes the thread's counters the caller may not write
        "threads_add_participants",  # adds the other party's membership row
        "participants_after_read",  # writes receipts on the other party's messages
        # NOTIFY (migration 4): the notice must not depend on what the writer may read back
        "messaging_notify",
        "messaging_notify_message_insert",
        "messaging_notify_messages_changed",
        "messaging_notify_read",
        "messaging_notify_thread",
        "messaging_notify_tags",
        # Owner verification (migration 8)
        "caller_is_staff",  # reads auth.users, which authenticated cannot
        "caller_is_unverified_owner",  # reads auth.users, which authenticated cannot
        "claim_approved",  # sets the owner's app_metadata.verified on approval
        "messaging_notify_claim",  # NOTIFY, as above
        "messaging_notify_account",  # NOTIFY from a trigger on auth.users
        # Message edits (migration 9): clients may not write the audit
        "message_edits_audit",
        # Tier gating (migration 10): the thread's operator's app_metadata.tier
        "thread_shares_files",  # reads auth.users, which authenticated cannot
        # E-mail bridge (migration 11): the operator's tier, and an outbox row clients can't see
        "email_due_after_message",
        "messaging_notify_mute",  # NOTIFY, as above
    }
    # Nothing SECURITY DEFINER in the exposed schema.
    assert not scalar(
        conn,
        "select count(*) from pg_proc where pronamespace = 'public'::regnamespace and prosecdef",
    )


def test_privileges_anon_none_authenticated_no_truncate(conn):
    for table in TABLES:
        for privilege in (
            "select",
            "insert",
            "update",
            "delete",
            "truncate",
            "references",
            "trigger",
        ):
            assert not scalar(
                conn, "select has_table_privilege('anon', %s, %s)", [f"public.{table}", privilege]
            ), (table, privilege)
        for privilege in ("truncate", "references", "trigger"):
            assert not scalar(
                conn,
                "select has_table_privilege('authenticated', %s, %s)",
                [f"public.{table}", privilege],
            ), (table, privilege)


def test_bucket_is_private_with_the_apps_limits(conn, world: World):
    public, size, types = conn.execute(
        "select public, file_size_limit, allowed_mime_types from storage.buckets where id = %s",
        [BUCKET],
    ).fetchone()
    assert public is False
    assert size == Settings.model_fields["max_attachment_bytes"].default
    assert set(types) == set(attachments.ALLOWED) | {attachments.THUMBNAIL_TYPE}


def test_policies_use_the_apps_limits(conn, policies):
    by_name = {p[2]: p for p in policies}
    upload = by_name["attachments: participants upload"][7]
    assert set(re.findall(r"'([a-z]+/[^']+)'", upload)) == set(attachments.ALLOWED)
    assert str(Settings.model_fields["max_attachment_bytes"].default) in upload
    tags = by_name["tags: participants add"][7]
    assert f"< {threads.MAX_TAGS_PER_THREAD}" in tags

    def valid(body: str | None, url: str | None = None, meta: str | None = None) -> bool:
        return bool(
            scalar(
                conn,
                "select messaging_private.valid_message_content(%s, %s, %s::jsonb)",
                [body, url, meta],
            )
        )

    most = validation.MAX_MESSAGE_CHARS
    assert valid("x" * most) and not valid("x" * (most + 1))
    pad = messages.MAX_METADATA_BYTES - len('{"p": ""}')
    assert valid("x", meta='{"p": "' + "y" * pad + '"}')
    assert not valid("x", meta='{"p": "' + "y" * (pad + 1) + '"}')
    file = "/api/attachments/0b8f4a4e-54a1-4d5e-9a52-1c1f1b2a3c4d"
    assert valid(None, file) and valid(None, file + "?variant=thumbnail")
    assert valid(None, "https://a.example/x?y=1#z")
    for bad in (
        "javascript:alert(1)",
        "//evil.example",
        "https://a.example/x y",
        "data:,x",
        "/\\evil.example/lease.pdf",  # a browser opens /\ like //
        "/%5Cevil.example",
        "/lease.pdf",
        "/api/attachments/1",
        file + "/../x",
        "https://a.example/a\\b",
        "https://a.example/\tx",
        "https://a.example/\u200bx",
        "/\n/evil.example",
    ):
        assert not valid("x", bad), bad
    # The app's depth limit (validation.MAX_JSON_DEPTH): 32 levels pass, 33 do not.
    depth = validation.MAX_JSON_DEPTH
    assert valid("x", meta='{"a": ' * (depth - 1) + "[1]" + "}" * (depth - 1))
    assert not valid("x", meta='{"a": ' * depth + "{}" + "}" * depth)
    assert not valid("x", meta='{"a": ' + "[" * 300 + "]" * 300 + "}")


def test_policies_read_auth_uid_once_per_statement(conn, world: World):
    """(select auth.uid()) is an InitPlan: the plan of a participant's history query says so."""
    with acting_as(conn, world.op1):
        plan = "\n".join(
            r[0]
            for r in conn.execute(
                "explain select * from public.messaging_messages where thread_id = %s", [world.t1]
            )
        )
    assert "InitPlan" in plan


@pytest.mark.parametrize(
    ("break_it", "message"),
    [
        ("drop table public.properties cascade", "public.properties does not exist"),
        (
            "alter table public.properties rename column owner_id to landlord_id",
            "public.properties.owner_id (uuid",
        ),
    ],
)
def test_schema_migration_needs_arbibase_properties(conn, break_it: str, message: str):
    """The migration refers to ArbiBase's listings and never creates them."""
    conn.execute(break_it)
    first = migration_files()[0]
    with (
        pytest.raises(psycopg.errors.RaiseException, match=re.escape(message)),
        conn.transaction(),
    ):
        conn.execute(first.read_text())
