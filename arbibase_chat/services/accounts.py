"""Local accounts: sign up, authenticate, look up. Passwords hashed with argon2id."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import col

from arbibase_chat.models import ROLES, TIERS, User, UserPublic
from arbibase_chat.services import events, validation
from arbibase_chat.services._tx import reading, transaction
from arbibase_chat.services.errors import AuthenticationFailed, Conflict, Invalid, NotFound

MIN_PASSWORD_CHARS = 10
# The sign-up page recognises this Conflict (code "conflict", field "email") and offers to log in.
ACCOUNT_EXISTS = "An account with this e-mail already exists."
MAX_PASSWORD_CHARS = 256

_hasher = PasswordHasher()
# Verified against when the e-mail is unknown, so both failures take the same time.
_DUMMY_HASH = _hasher.hash("arbibase-chat-timing-equaliser")


def _check_password(password: Any) -> str:
    if not isinstance(password, str):
        raise Invalid("Password must be text", field="password")
    validation.require_unicode(password, field="password")
    if "\x00" in password:
        raise Invalid("Password must not contain NUL characters", field="password")
    if len(password) < MIN_PASSWORD_CHARS or not password.strip():
        raise Invalid(
            f"Password must have at least {MIN_PASSWORD_CHARS} characters", field="password"
        )
    if len(password) > MAX_PASSWORD_CHARS:
        raise Invalid(
            f"Password must have at most {MAX_PASSWORD_CHARS} characters", field="password"
        )
    return password


def hash_password(password: Any) -> str:
    """The argon2id hash of a new password that passes the rules (Invalid otherwise): for
    sign-up and password resets alike. ~0.3 s of CPU: call through `aio.call_password`."""
    return _hasher.hash(_check_password(password))


def public(user: User) -> UserPublic:
    return UserPublic.model_validate(user, from_attributes=True)


def sign_up(
    *,
    email: Any,
    password: Any,
    display_name: Any,
    role: Any = "operator",
    tier: str = "beta",
    verified: bool = False,
    db: Engine | None = None,
) -> UserPublic:
    normalized = validation.normalize_email(email)
    name = validation.clean_text(display_name, field="display_name", max_chars=80, single_line=True)
    role = validation.choice(role, field="role", allowed=ROLES)
    password_hash = hash_password(password)
    user = User(
        email=normalized,
        display_name=name,
        role=role,
        tier=tier,
        # Operators need no ownership proof; owners start unverified.
        verified=verified or role == "operator",
        password_hash=password_hash,
    )
    try:
        with transaction(db, elevated="sign-up") as (session, _events):
            if (
                session.scalar(select(col(User.id)).where(col(User.email) == normalized))
                is not None
            ):
                raise Conflict(ACCOUNT_EXISTS, field="email")
            session.add(user)
            session.flush()
            result = public(user)
    except IntegrityError:
        raise Conflict(ACCOUNT_EXISTS, field="email") from None
    return result


def refuse_unencodable(*, email: Any, password: Any) -> None:
    """Sign-in input that is not Unicode text is a malformed request (422 naming the field),
    not wrong credentials: argon2 and Supabase could not even encode it."""
    validation.require_unicode(email, field="email")
    validation.require_unicode(password, field="password")


def authenticate(*, email: Any, password: Any, db: Engine | None = None) -> UserPublic:
    failure = AuthenticationFailed("Wrong e-mail or password.")
    refuse_unencodable(email=email, password=password)
    try:
        normalized = validation.normalize_email(email)
    except Invalid:
        raise failure from None
    if not isinstance(password, str) or not password:
        raise failure
    with reading(db, elevated="sign-in") as session:
        user = session.scalar(select(User).where(col(User.email) == normalized))
    try:
        _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        raise failure from None
    if user is None:
        raise failure
    return public(user)


def get_user(*, user_id: Any, db: Engine | None = None) -> UserPublic:
    """The signed-in user's own account (the caller is `user_id`)."""
    return get_session_user(user_id=user_id, db=db)[0]


def get_session_user(
    *, user_id: Any, db: Engine | None = None
) -> tuple[UserPublic, datetime | None]:
    """`get_user`, and when a password reset last set the password (None: never), in one
    read: what `identity.resolve_session` checks a token against."""
    uid = validation.as_uuid(user_id, field="user_id")
    with reading(db, as_user=uid) as session:
        # Columns, not the entity: requests may not read password hashes (alembic 0004).
        row = session.execute(
            select(
                *(col(getattr(User, name)) for name in UserPublic.model_fields),
                col(User.password_changed_at),
            ).where(col(User.id) == uid)
        ).first()
        if row is None:
            raise NotFound("User not found")
        values = dict(row._mapping)
        changed_at = values.pop("password_changed_at")
        return UserPublic.model_validate(values), changed_at


def set_verified(*, user_id: uuid.UUID, verified: bool, db: Engine | None = None) -> UserPublic:
    """Ownership verification is done by ArbiBase staff; this records the outcome."""
    with transaction(db, elevated="staff") as (session, outbox):
        user = session.get(User, user_id)
        if user is None:
            raise NotFound("User not found")
        user.verified = verified
        session.add(user)
        session.flush()
        outbox.append(events.account_updated(user.id))
        return public(user)


def _by_email(session: Any, email: Any) -> User:
    normalized = validation.normalize_email(email)
    user = session.scalar(select(User).where(col(User.email) == normalized).with_for_update())
    if user is None:
        raise NotFound(f"No account with the e-mail address {normalized}", field="email")
    return user


def set_staff(*, email: Any, is_staff: bool = True, db: Engine | None = None) -> UserPublic:
    """Make an account ArbiBase staff (or not): they then review verification claims. Only
    the CLI calls this; no request may write `users`."""
    with transaction(db, elevated="staff") as (session, outbox):
        user = _by_email(session, email)
        user.is_staff = is_staff
        session.add(user)
        session.flush()
        outbox.append(events.account_updated(user.id))
        return public(user)


def set_tier(*, email: Any, tier: Any, db: Engine | None = None) -> UserPublic:
    """Set an account's tier (beta / pro / premium): the stand-in for billing, from the CLI."""
    chosen = validation.choice(tier, field="tier", allowed=TIERS)
    with transaction(db, elevated="staff") as (session, outbox):
        user = _by_email(session, email)
        user.tier = chosen
        session.add(user)
        session.flush()
        outbox.append(events.account_updated(user.id))
        return public(user)
