"""Forgotten passwords of local accounts (issue #13): a one-time reset link by e-mail.

- `request_reset`: rate-limited per client and per address (`ratelimit.check_password_reset`),
  then, if the address has a local account, a new token: 32 random bytes in hex, of which only
  the SHA-256 is stored (`password_reset_tokens`; a copy of the database resets nothing). It
  works for PASSWORD_RESET_TTL_SECONDS (1 hour) and voids the user's earlier links. It returns
  the e-mail to send (`ResetMail`) or None: the caller sends it and shows the same words either
  way, so the page never tells whether an account exists. Both paths read the same row and
  the unknown one skips only a small insert; the e-mail is sent off the request
  (`mail/password_reset.py`), so SMTP's time does not tell either.
- `reset_password`: the password rules of sign-up (`accounts.hash_password`), then, in one
  transaction, the token checked (unknown, expired, used or voided: one error,
  `InvalidResetToken`), the new argon2 hash computed and written, the token used and the user's other
  links voided. Call it through `aio.call_password` (argon2).

Sessions: access tokens are JWTs with no revocation list; a reset stamps
`users.password_changed_at`, and `identity.resolve_session` refuses the app's tokens issued
before it, so every session of the old password ends (a page session at its next check: at
once where the account event reaches it, else within `session.RECHECK_SECONDS`).

Supabase mode (SUPABASE_URL): passwords live at Supabase Auth; both raise `ResetsElsewhere`.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.engine import Engine
from sqlmodel import col

from arbibase_chat.adapters.auth import get_auth
from arbibase_chat.config import get_settings
from arbibase_chat.db import utcnow
from arbibase_chat.models import PasswordResetToken, User, UserPublic
from arbibase_chat.services import accounts, events, ratelimit, validation
from arbibase_chat.services._tx import transaction
from arbibase_chat.services.errors import InvalidResetToken, ResetsElsewhere

TOKEN_BYTES = 32
TOKEN_RE = re.compile(r"[0-9a-f]{64}")
_ELEVATED = "password-reset"
INVALID_LINK = "This reset link is invalid, expired or already used. Ask for a new one."
SENT = "If an account exists for that address, we sent a link to reset its password."
ELSEWHERE = (
    "Passwords are kept by Supabase Auth here: reset yours through the project's password "
    "recovery (ask your administrator)."
)


@dataclass(frozen=True)
class ResetMail:
    """What the reset e-mail needs. Never shown to the one who asked."""

    email: str
    display_name: str
    token: str
    expires_at: datetime


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def local_accounts() -> bool:
    """True when this app keeps the passwords (not Supabase Auth): resets happen here."""
    return get_auth().kind == "local"


def _require_local() -> None:
    if not local_accounts():
        raise ResetsElsewhere(ELSEWHERE)


def request_reset(
    *, email: Any, client: str, db: Engine | None = None, now: datetime | None = None
) -> ResetMail | None:
    """Issue a reset link for `email` when it has a local account (see the module doc).

    Invalid for a malformed address and RateLimited for too many requests, the same for known
    and unknown addresses; otherwise the e-mail to send, or None (no such account).
    """
    _require_local()
    normalized = validation.normalize_email(email)
    ratelimit.check_password_reset(email=normalized, client=client)
    now = now or utcnow()
    token = secrets.token_hex(TOKEN_BYTES)
    with transaction(db, elevated=_ELEVATED) as (session, _events):
        user = session.scalar(select(User).where(col(User.email) == normalized))
        # A Supabase user's local row has no password of ours to reset.
        if user is None or not user.password_hash.startswith("$argon2"):
            return None
        session.execute(
            delete(PasswordResetToken).where(col(PasswordResetToken.user_id) == user.id)
        )
        expires_at = now + timedelta(seconds=get_settings().password_reset_ttl_seconds)
        session.add(
            PasswordResetToken(
                token_hash=digest(token), user_id=user.id, created_at=now, expires_at=expires_at
            )
        )
        return ResetMail(
            email=user.email, display_name=user.display_name, token=token, expires_at=expires_at
        )


def reset_password(
    *, token: Any, new_password: Any, db: Engine | None = None, now: datetime | None = None
) -> UserPublic:
    """Set a new password with a reset link's token; the token is used up.

    InvalidResetToken for a token that is malformed, unknown, expired, used or voided; Invalid
    (field "password") for a password that breaks the sign-up rules, checked first (no link is
    used up by a typo).
    """
    _require_local()
    if not isinstance(token, str) or not TOKEN_RE.fullmatch(token):
        raise InvalidResetToken(INVALID_LINK, field="token")
    password = accounts._check_password(new_password)  # cheap; no link is used up by a typo
    now = now or utcnow()
    with transaction(db, elevated=_ELEVATED) as (session, outbox):
        row = session.get(PasswordResetToken, digest(token), with_for_update=True)
        if row is None or row.used_at is not None or row.expires_at <= now:
            raise InvalidResetToken(INVALID_LINK, field="token")
        user = session.get(User, row.user_id, with_for_update=True)
        if user is None:  # the row goes with its user (ON DELETE CASCADE); a race at most
            raise InvalidResetToken(INVALID_LINK, field="token")
        # Hashed only for a valid link: made-up tokens cost no argon2 time.
        user.password_hash = accounts.hash_password(password)
        user.password_changed_at = now  # ends the sessions of the old password
        row.used_at = now
        session.add_all([user, row])
        session.execute(
            delete(PasswordResetToken).where(
                col(PasswordResetToken.user_id) == user.id,
                col(PasswordResetToken.token_hash) != row.token_hash,
            )
        )
        session.flush()
        outbox.append(events.account_updated(user.id))
        return accounts.public(user)
