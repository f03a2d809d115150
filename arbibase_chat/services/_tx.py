"""The one transaction helper every service uses, and who the database sees acting.

Every transaction says who it acts for, and must:

- `as_user=<id>`: a user's request. On PostgreSQL the transaction runs as the role
  `authenticated` with the user's JWT claims in `request.jwt.claims` (what PostgREST does for
  a Supabase client), so Row Level Security (alembic 0004) binds it: even if a Python check
  were wrong, the database shows and lets change only that user's threads.
- `elevated=<reason>`: the app's own database role, which RLS does not bind. Only for the
  reasons in ELEVATED (documented in docs/ARCHITECTURE.md, "Elevated access";
  tests/rls/test_elevated.py keeps the code, this table and the document in step).

On SQLite (no roles, no RLS) both run the same plain transaction. DB_RLS=0 turns the role
switch off (the bench's "RLS off" figure; never in production).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from arbibase_chat.config import get_settings
from arbibase_chat.db import read_session, write_session
from arbibase_chat.services import events as domain_events

# The reasons a service may run with the app's own role, and why it must.
ELEVATED: dict[str, str] = {
    "sign-up": "accounts.sign_up: the new user has no identity yet, and users are written by "
    "the app only",
    "sign-in": "accounts.authenticate: looks up the password hash by e-mail before anyone is "
    "signed in; `authenticated` may never read password hashes",
    "staff": "accounts.set_verified / set_staff / set_tier, verification.approve / reject "
    "without a staff id: ArbiBase staff record an owner's verification, a staff account or a "
    "tier from the command line (`cli verify-owner`, `make-staff`, `set-tier`)",
    "expire-offers": "offers.expire_due: an offer past its expiry is expired and announced in "
    "its thread; nobody decided it, so no user acts (maintenance task, or before an action on "
    "an offer found due)",
    "email-outbox": "email_outbox: claims the e-mails due to participants, reads the thread, the "
    "recipient's cursor, mute and opt-out, and issues reply tokens; runs for no user "
    "(maintenance task in every worker)",
    "email-tokens": "email_tokens.resolve: an inbound reply or an unsubscribe link carries a "
    "token, not a session; the token says which user acts, who then acts as themselves",
    "password-reset": "password_resets.request_reset / reset_password: a forgotten password is "
    "reset before anyone is signed in; the link's token says which user, whose password hash "
    "(never writable by `authenticated`) is then replaced",
    "sweep-uploads": "attachments.sweep_pending_uploads: deletes every user's uploads never "
    "sent in a message after the grace period; runs for no user (maintenance task, CLI)",
}

_ACT_AS = text(
    "select set_config('role', 'authenticated', true),"
    " set_config('request.jwt.claims', :claims, true)"
)


class Outbox(list[domain_events.DomainEvent]):
    """Events collected during a transaction; published only if it commits."""


def claims(user_id: uuid.UUID) -> str:
    """The JWT claims a Supabase access token of this user carries (the parts RLS reads)."""
    return json.dumps({"sub": str(user_id), "role": "authenticated", "aud": "authenticated"})


def _check(as_user: uuid.UUID | None, elevated: str | None) -> None:
    if (as_user is None) == (elevated is None):
        raise TypeError("say who the transaction acts for: as_user=<user id> or elevated=<reason>")
    if as_user is not None and not isinstance(as_user, uuid.UUID):
        raise TypeError(f"as_user must be a uuid.UUID, not {type(as_user).__name__}")
    if elevated is not None and elevated not in ELEVATED:
        raise ValueError(f"undocumented elevated access {elevated!r} (see _tx.ELEVATED)")


def act_as(session: Session, user_id: uuid.UUID) -> None:
    """Make the session's current transaction act as `user_id` (PostgreSQL; else nothing)."""
    if session.get_bind().dialect.name != "postgresql" or not get_settings().db_rls:
        return
    session.execute(_ACT_AS, {"claims": claims(user_id)})


@contextmanager
def transaction(
    db: Engine | None = None,
    *,
    as_user: uuid.UUID | None = None,
    elevated: str | None = None,
) -> Iterator[tuple[Session, Outbox]]:
    _check(as_user, elevated)
    outbox = Outbox()
    with write_session(db) as session:
        if as_user is not None:
            act_as(session, as_user)
        yield session, outbox
        domain_events.committing(outbox)
    domain_events.publish(outbox)


@contextmanager
def reading(
    db: Engine | None = None,
    *,
    as_user: uuid.UUID | None = None,
    elevated: str | None = None,
) -> Iterator[Session]:
    _check(as_user, elevated)
    with read_session(db) as session:
        if as_user is not None:
            act_as(session, as_user)
        yield session
