"""Who the caller is, whichever auth backend holds the passwords and signs the tokens
(`adapters/auth.py`: `get_auth()` is LocalAuth, or SupabaseAuth when SUPABASE_URL is set).

The rules are here; the backend only checks credentials and tokens.

- `password_sign_in` / `password_sign_up`: check the input, apply the caller's sign-in /
  sign-up rate limits (`ratelimit.check_sign_in` / `check_sign_up`, by `client`, the IP
  address) before any password is hashed or Supabase is asked, then ask the backend.
- `resolve_session` / `authenticate_token`: the user of a Bearer/cookie token. When the
  account lives at the provider (Supabase) it also makes sure the local `users` row exists
  (`sync_supabase_user`), because every table refers to it.
- `sync_supabase_user`: the one place a Supabase Auth user becomes / refreshes a local row.

What the local row takes from Supabase (kept minimal on purpose):

| column | from |
|---|---|
| id | the token's `sub` / the Auth user's id |
| email | `email` (lower-cased); a user without an e-mail address is refused |
| display_name | `user_metadata.display_name`, else `full_name`, else `name`, else the e-mail's local part |
| role | `user_metadata.role` (operator / owner, as chosen at sign-up; default operator), **on first sight only**: a role never changes under existing threads |
| verified | operators always; owners when `app_metadata.verified` is true (only the service role can set app_metadata; the same flag the RLS policies read) |
| tier | `app_metadata.tier` when it is beta / pro / premium, else unchanged (default beta) |
| password_hash | `EXTERNAL_PASSWORD_HASH`, which no password matches: Supabase users sign in only through Supabase |

The row is written only when one of these differs (first sight, or a changed name / e-mail /
verification), so an ordinary request costs one primary-key read.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import col

from arbibase_chat.adapters import auth
from arbibase_chat.adapters.auth import AuthSession, ExternalUser, get_auth
from arbibase_chat.models import ROLES, TIERS, User, UserPublic
from arbibase_chat.services import accounts, ratelimit, validation
from arbibase_chat.services._tx import reading, transaction
from arbibase_chat.services.errors import (
    AuthenticationFailed,
    Conflict,
    Invalid,
    NotFound,
    Unavailable,
)

log = logging.getLogger(__name__)

# Not an argon2 hash: `accounts.authenticate` can never match it.
EXTERNAL_PASSWORD_HASH = "!supabase-auth"
WRONG_CREDENTIALS = "Wrong e-mail or password."
PASSWORD_CHANGED = "The password was changed since this sign-in: log in again."
# The first-sight write happens before the user has a row to act as (like a sign-up).
_ELEVATED = "sign-up"


@dataclass(frozen=True)
class SignedIn:
    user: UserPublic
    access_token: str
    expires_in: int  # seconds


@contextmanager
def backend_errors() -> Iterator[None]:
    """The auth backend's failures as domain errors (the API's 401 / 409 / 422 / 503)."""
    try:
        yield
    except (auth.InvalidToken, auth.SignInRefused) as exc:
        raise AuthenticationFailed(exc.message) from None
    except auth.SignUpRefused as exc:
        if exc.taken:
            raise Conflict(exc.message, field=exc.field) from None
        raise Invalid(exc.message, field=exc.field) from None
    except auth.AuthUnavailable as exc:
        raise Unavailable(exc.message) from None


# --- tokens ---------------------------------------------------------------------------------


def authenticate_token(*, token: Any, db: Engine | None = None) -> uuid.UUID:
    """The caller's user id; AuthenticationFailed for a missing, bad or expired token, and for
    a token whose account no longer exists.

    Supabase mode: verified against the project's secret / JWKS (may fetch the JWKS: call from
    a worker thread), and the local row is created or refreshed from the claims.
    """
    return resolve_session(token=token, db=db).user.id


@dataclass(frozen=True)
class SessionIdentity:
    """Who holds a verified token, and until when (Unix time; 0: the token has no `exp`)."""

    user: UserPublic
    expires_at: int


def resolve_session(*, token: Any, db: Engine | None = None) -> SessionIdentity:
    """Verify `token` and load its user: the one check behind every page session and request.

    AuthenticationFailed for a missing, forged or expired token, for a user who is gone (a
    deleted account's unexpired token must not keep working anywhere), and for a token of
    the app's own issued before the password was last reset (`password_resets`): a reset ends
    every session signed in with the old password. A token issued in the same second as the
    reset is kept (`iat` counts whole seconds; the new sign-in right after must work).
    """
    with backend_errors():
        verified = get_auth().verify(token)
    if verified.external is None:
        try:
            user, changed_at = accounts.get_session_user(user_id=verified.user_id, db=db)
        except NotFound:
            raise AuthenticationFailed("This account no longer exists.") from None
        issued = verified.claims.get("iat")
        if changed_at is not None and (
            not isinstance(issued, int) or issued < int(changed_at.timestamp())
        ):
            raise AuthenticationFailed(PASSWORD_CHANGED)
        return SessionIdentity(user=user, expires_at=verified.expires_at)
    try:
        user = sync_supabase_user(identity=verified.external, db=db)
    except (Conflict, Invalid) as exc:
        log.warning("Supabase user %s refused: %s", verified.user_id, exc.message)
        raise AuthenticationFailed(exc.message) from None
    return SessionIdentity(user=user, expires_at=verified.expires_at)


# --- the local row of a Supabase user -------------------------------------------------------


def _display_name(identity: ExternalUser, email: str) -> str:
    meta = identity.user_metadata
    for key in ("display_name", "full_name", "name"):
        value = meta.get(key)
        if isinstance(value, str) and value.strip():
            try:
                return validation.clean_text(
                    value, field="display_name", max_chars=80, single_line=True
                )
            except Invalid:
                continue
    return email.split("@", 1)[0][:80] or "user"


def _profile(identity: ExternalUser) -> tuple[str, Callable[[str, str], dict[str, Any]]]:
    """The role a new row gets, and the other columns as the Supabase user says they are
    (given the row's role and current tier)."""
    if not identity.email:
        raise Invalid("This Supabase user has no e-mail address.", field="email")
    email = validation.normalize_email(identity.email)
    name = _display_name(identity, email)
    # app_metadata (service key only) is what the Supabase policies trust to open threads
    # (messaging_private.caller_is_operator): when staff or a sign-up hook set it, it wins over
    # the role the user picked at sign-up (user_metadata). Either way, fixed after first sight.
    app_role = identity.app_metadata.get("role")
    meta_role = identity.user_metadata.get("role")
    first_role = next((r for r in (app_role, meta_role) if r in ROLES), "operator")
    app_verified = identity.app_metadata.get("verified") is True
    app_tier = identity.app_metadata.get("tier")

    def wanted(role: str, tier: str) -> dict[str, Any]:
        return {
            "email": email,
            "display_name": name,
            "verified": role == "operator" or app_verified,
            "tier": app_tier if app_tier in TIERS else tier,
        }

    return first_role, wanted


def _preview(identity: ExternalUser) -> UserPublic:
    """What the local row will be at first sight, without writing it."""
    role, wanted = _profile(identity)
    return UserPublic.model_validate({"id": identity.id, "role": role, **wanted(role, "beta")})


def sync_supabase_user(*, identity: ExternalUser, db: Engine | None = None) -> UserPublic:
    """Create or refresh the local `users` row of a Supabase Auth user (see the module doc).

    Conflict when the e-mail address belongs to another local account; Invalid when the
    Supabase user has no usable e-mail address.
    """
    first_role, wanted = _profile(identity)
    with reading(db, elevated=_ELEVATED) as session:
        existing = session.get(User, identity.id)
        if existing is not None:
            current = accounts.public(existing)
            target = wanted(current.role, current.tier)
            if all(getattr(current, k) == v for k, v in target.items()):
                return current
    for attempt in (1, 2):
        try:
            return _write(identity.id, first_role, wanted, db)
        except IntegrityError:
            # Lost a race with a concurrent first sight of the same user (same id), or the
            # e-mail is taken: the second pass sees the winner's row and decides.
            if attempt == 2:
                raise Conflict(accounts.ACCOUNT_EXISTS, field="email") from None
    raise AssertionError("unreachable")


def _write(
    user_id: uuid.UUID,
    first_role: str,
    wanted: Callable[[str, str], dict[str, Any]],
    db: Engine | None,
) -> UserPublic:
    with transaction(db, elevated=_ELEVATED) as (session, _events):
        user = session.get(User, user_id, with_for_update=True)
        if user is None:
            target = wanted(first_role, "beta")
            user = User(
                id=user_id,
                role=first_role,
                password_hash=EXTERNAL_PASSWORD_HASH,
                **target,
            )
        else:
            target = wanted(user.role, user.tier)
            for key, value in target.items():
                setattr(user, key, value)
        taken = session.scalar(
            select(col(User.id)).where(col(User.email) == target["email"], col(User.id) != user_id)
        )
        if taken is not None:
            raise Conflict(
                "The e-mail address of this Supabase user belongs to another account.",
                field="email",
            )
        session.add(user)
        session.flush()
        return accounts.public(user)


# --- password sign-in / sign-up -------------------------------------------------------------


def password_sign_in(
    *, email: Any, password: Any, client: str, db: Engine | None = None
) -> SignedIn:
    """Sign in with e-mail and password: a local account, or Supabase Auth when configured.

    `client` is who is asking (the IP address the caller saw; see `ratelimit.client_key`).
    AuthenticationFailed("Wrong e-mail or password.") for wrong credentials in both modes;
    RateLimited before any password is hashed or Supabase is asked when this account, this
    client, or this account from this client tried too often (`ratelimit.check_sign_in`).
    """
    accounts.refuse_unencodable(email=email, password=password)  # 422, not a 500
    try:
        normalized = validation.normalize_email(email)
    except Invalid:
        raise AuthenticationFailed(WRONG_CREDENTIALS) from None
    if not isinstance(password, str) or not password:
        raise AuthenticationFailed(WRONG_CREDENTIALS)
    # Nothing above costs anything; everything below does (argon2, or a call to Supabase).
    ratelimit.check_sign_in(email=normalized, client=client)
    with backend_errors():
        session = get_auth().sign_in(email=normalized, password=password, accounts=accounts, db=db)
    signed = _signed_in(session, db)
    ratelimit.signed_in(email=normalized, client=client)
    return signed


def _signed_in(session: AuthSession, db: Engine | None) -> SignedIn:
    """A backend's sign-in as the app's: with the local row of a provider's account."""
    user = session.user
    if isinstance(user, ExternalUser):
        try:
            user = sync_supabase_user(identity=user, db=db)
        except (Conflict, Invalid) as exc:
            raise AuthenticationFailed(exc.message) from None
    return SignedIn(user=user, access_token=session.access_token, expires_in=session.expires_in)


@dataclass(frozen=True)
class SignedUp:
    user: UserPublic
    # None when Supabase wants the e-mail address confirmed before the first sign-in.
    signed_in: SignedIn | None


def password_sign_up(
    *,
    email: Any,
    password: Any,
    display_name: Any,
    role: Any = "operator",
    client: str,
    db: Engine | None = None,
) -> SignedUp:
    """Create an account: a local one, or a Supabase Auth user (with its local row).

    `client` as for `password_sign_in`: RateLimited when it signed up too often
    (`ratelimit.check_sign_up`), checked once the input is valid and before the password is
    hashed or Supabase is asked. Invalid input takes nothing from the limit.
    """
    # The same rules in both modes, checked before the limit and before Supabase is asked.
    normalized = validation.normalize_email(email)
    name = validation.clean_text(display_name, field="display_name", max_chars=80, single_line=True)
    chosen = validation.choice(role, field="role", allowed=ROLES)
    checked = accounts._check_password(password)
    ratelimit.check_sign_up(client=client)
    with backend_errors():
        result = get_auth().sign_up(
            email=normalized,
            password=checked,
            display_name=name,
            role=chosen,
            accounts=accounts,
            db=db,
        )
    if result.session is not None:
        signed = _signed_in(result.session, db)
        return SignedUp(user=signed.user, signed_in=signed)
    # No session: the address is not confirmed yet. No local row now (it is made at the first
    # sign-in): a project that confirms addresses answers a sign-up for an address already
    # registered with a look-alike user under a random id, which must not claim the e-mail.
    if isinstance(result.user, ExternalUser):
        return SignedUp(user=_preview(result.user), signed_in=None)
    return SignedUp(user=result.user, signed_in=None)
