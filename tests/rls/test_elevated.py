"""Who the database sees acting: the user in every request transaction, the app's own role only
where docs/ARCHITECTURE.md ("Elevated access") says so; and the shape of the app's policies.
"""

from __future__ import annotations

import ast
import re
import uuid
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

from arbibase_chat import db as dbmod
from arbibase_chat.config import PROJECT_ROOT
from arbibase_chat.services._tx import ELEVATED, reading, transaction
from tests.rls.conftest import World

PACKAGE = PROJECT_ROOT / "arbibase_chat"
ARCHITECTURE = PROJECT_ROOT / "docs" / "ARCHITECTURE.md"

# Where the app may use elevated access: (module, reason). Adding one means adding it here, to
# _tx.ELEVATED and to the table in docs/ARCHITECTURE.md.
ALLOWED_ELEVATED = {
    ("services/accounts.py", "sign-up"),  # sign_up
    ("services/accounts.py", "sign-in"),  # authenticate
    ("services/accounts.py", "staff"),  # set_verified, set_staff, set_tier (CLI)
    ("services/verification.py", "staff"),  # approve / reject from the CLI (no staff id)
    # Supabase mode: a Supabase Auth user's first sight creates / refreshes the local row.
    ("services/identity.py", "sign-up"),
    # Maintenance: uploads never sent in a message, deleted after the grace period.
    ("services/attachments.py", "sweep-uploads"),
    # Maintenance: offers past their expiry expire; nobody decided them.
    ("services/offers.py", "expire-offers"),
    # The e-mail bridge: the dispatcher reads for the recipients it owes e-mails.
    ("services/email_outbox.py", "email-outbox"),
    # A reply or an unsubscribe carries a token, not a session.
    ("services/email_tokens.py", "email-tokens"),
    # A forgotten password: asked for and reset before anyone is signed in.
    ("services/password_resets.py", "password-reset"),
}
OPENERS = re.compile(r"(?<!\w)(?:read_session|write_session|Session)\(|\.(?:connect|begin)\(")
APP_TABLES = (
    "properties",
    "messaging_threads",
    "messaging_participants",
    "messaging_thread_tags",
    "messaging_messages",
    "messaging_attachments",
    "messaging_offers",
    "messaging_offer_numbers",
    "owner_verification_claims",
    "messaging_message_edits",
    "messaging_notification_settings",
    "messaging_email_outbox",
)
# RLS on and no policy at all: `authenticated` reaches nothing (only elevated code does).
ELEVATED_ONLY_TABLES = ("messaging_email_tokens", "password_reset_tokens")


def _transaction_calls() -> list[tuple[str, str, ast.Call, dict[str, Any]]]:
    """Every transaction(...) / reading(...) call in the app, with its module's constants."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        constants = {
            target.id: node.value.value
            for node in tree.body
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
            for target in node.targets
            if isinstance(target, ast.Name)
        }
        for func in ast.walk(tree):
            if not isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for node in ast.walk(func):
                if (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Name)
                    and node.func.id in ("transaction", "reading")
                ):
                    found.append((str(path.relative_to(PACKAGE)), func.name, node, constants))
    return found


def test_every_transaction_says_who_it_acts_for() -> None:
    calls = _transaction_calls()
    assert len(calls) >= 15
    elevated = set()
    for module, function, call, constants in calls:
        if module == "services/_tx.py":
            continue
        keywords = {k.arg: k.value for k in call.keywords}
        assert ("as_user" in keywords) != ("elevated" in keywords), (module, function)
        if "elevated" in keywords:
            reason = keywords["elevated"]
            if isinstance(reason, ast.Name):  # a module-level constant
                reason = ast.Constant(constants[reason.id])
            assert isinstance(reason, ast.Constant), (module, function)
            elevated.add((module, reason.value))
    assert elevated <= ALLOWED_ELEVATED, elevated - ALLOWED_ELEVATED
    assert {e for e in ALLOWED_ELEVATED if e[0] == "services/accounts.py"} <= elevated


def test_elevated_reasons_are_documented() -> None:
    doc = ARCHITECTURE.read_text()
    assert {reason for _, reason in ALLOWED_ELEVATED} == set(ELEVATED)
    section = doc[doc.index("**Elevated access**") :]
    for module, reason in ALLOWED_ELEVATED:
        name = module.removeprefix("services/").removesuffix(".py")
        rows = [line for line in section.splitlines() if f'`elevated="{reason}"`' in line]
        assert any(f"`{name}." in row for row in rows), (module, reason)


def test_sessions_are_opened_only_by_the_transaction_helper() -> None:
    """No module of the app opens a database session or connection around _tx."""
    for path in sorted(PACKAGE.rglob("*.py")):
        module = str(path.relative_to(PACKAGE))
        if module in ("db.py", "services/_tx.py"):
            continue
        source = path.read_text()
        for needle in OPENERS.findall(source):
            # The realtime listener's own LISTEN connection (ids only, documented).
            if (module, needle) != ("realtime/pg_listener.py", ".connect("):
                raise AssertionError(f"{module} uses {needle}")


def test_a_transaction_must_say_who_it_acts_for() -> None:
    with pytest.raises(TypeError), transaction():
        pass
    with pytest.raises(TypeError), reading(as_user=uuid.uuid4(), elevated="sign-in"):
        pass
    with pytest.raises(TypeError), reading(as_user=str(uuid.uuid4())):  # type: ignore[arg-type]
        pass
    with pytest.raises(ValueError, match="undocumented"), reading(elevated="because"):
        pass


WHO = (
    "select current_user, cast(auth.uid() as text),"
    " coalesce(current_setting('request.jwt.claims', true), '')"
)


@pytest.mark.postgres
def test_user_transactions_run_as_authenticated_with_the_users_claims(world: World) -> None:
    with reading(world.db, as_user=world.op_a) as session:
        role, uid, claims = session.execute(text(WHO)).one()
    assert (role, uid) == ("authenticated", str(world.op_a))
    assert f'"sub": "{world.op_a}"' in claims
    with transaction(world.db, as_user=world.own_b) as (session, _outbox):
        role, uid, _ = session.execute(text(WHO)).one()
    assert (role, uid) == ("authenticated", str(world.own_b))
    with reading(world.db, elevated="sign-in") as session:
        role, uid, claims = session.execute(text(WHO)).one()
    assert role != "authenticated" and uid is None and claims == ""


@pytest.mark.postgres
def test_the_role_and_claims_end_with_the_transaction(postgres_url: str, world: World) -> None:
    """One pooled connection: after a user's transaction (committed, failed or read-only) the
    next transaction on it is not that user."""
    engine = create_engine(
        dbmod.get_engine(postgres_url).url, pool_size=1, max_overflow=0, pool_pre_ping=True
    )
    try:
        with transaction(engine, as_user=world.op_a):
            pass
        _assert_elevated(engine)
        with pytest.raises(RuntimeError), reading(engine, as_user=world.op_a):
            raise RuntimeError("the request failed")
        _assert_elevated(engine)
        with pytest.raises(RuntimeError), transaction(engine, as_user=world.op_a):
            raise RuntimeError("the request failed")
        _assert_elevated(engine)
        with reading(engine, as_user=world.own_a) as session:
            assert session.execute(text(WHO)).one()[1] == str(world.own_a)
    finally:
        engine.dispose()


def _assert_elevated(engine: Engine) -> None:
    with dbmod.read_session(engine) as session:
        role, uid, claims = session.execute(text(WHO)).one()
    assert role != "authenticated" and uid is None and claims == ""


@pytest.mark.postgres
def test_db_rls_off_runs_requests_on_the_apps_role(world: World, monkeypatch) -> None:
    from arbibase_chat.config import get_settings

    monkeypatch.setattr(get_settings(), "db_rls", False)
    with reading(world.db, as_user=world.op_a) as session:
        assert session.execute(text(WHO)).one()[0] != "authenticated"


@pytest.mark.postgres
def test_policies_one_per_command_to_authenticated_with_wrapped_uid(pg: Engine) -> None:
    with dbmod.read_session(pg) as session:
        enabled = dict(
            session.execute(
                text(
                    "select relname, relrowsecurity from pg_class"
                    " where relnamespace = 'public'::regnamespace and relname = any(:t)"
                ),
                {"t": [*APP_TABLES, *ELEVATED_ONLY_TABLES]},
            ).all()
        )
        policies = session.execute(
            text(
                "select tablename, cmd, roles, permissive, coalesce(qual, '') || ' '"
                " || coalesce(with_check, '') from pg_policies where schemaname = 'public'"
            )
        ).all()
        anon_privileges = session.execute(
            text(
                "select count(*) from information_schema.role_table_grants"
                " where grantee = 'anon' and table_schema = 'public'"
            )
        ).scalar_one()
        hash_readable = session.execute(
            text(
                "select has_column_privilege('authenticated', 'public.users', 'password_hash',"
                " 'select')"
            )
        ).scalar_one()
        elevated_only_grants = session.execute(
            text(
                "select count(*) from information_schema.role_table_grants"
                " where grantee = 'authenticated' and table_schema = 'public'"
                " and table_name = any(:t)"
            ),
            {"t": list(ELEVATED_ONLY_TABLES)},
        ).scalar_one()
    assert enabled == dict.fromkeys([*APP_TABLES, *ELEVATED_ONLY_TABLES], True)
    assert elevated_only_grants == 0
    seen: set[tuple[str, str]] = set()
    for table, cmd, roles, permissive, expressions in policies:
        assert (table, cmd) not in seen, (table, cmd)
        seen.add((table, cmd))
        assert roles == ["authenticated"] and permissive == "PERMISSIVE", (table, cmd)
        bare = expressions.replace("( SELECT auth.uid() AS uid)", "")
        assert "auth.uid()" not in bare, (table, cmd, expressions)
    assert {table for table, _ in seen} == set(APP_TABLES)
    assert anon_privileges == 0
    assert hash_readable is False
