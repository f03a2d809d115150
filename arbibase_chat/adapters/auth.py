"""Who holds the passwords and signs the access tokens: one interface, two backends, chosen
once by configuration (like `storage.get_storage()`).

- `LocalAuth` (default): argon2 accounts in the app's own `users` table
  (`services/accounts.py`) and tokens the app signs itself, HS256 with JWT_SECRET, shaped like
  Supabase's (sub, role="authenticated", aud, exp).
- `supabase_auth.SupabaseAuth` (SUPABASE_URL set): Supabase Auth signs users in and up
  (supabase-py) and issues the tokens; the app only verifies them (the project's JWT secret or
  its JWKS). The account lives at Supabase: a verified token or a sign-in hands back an
  `ExternalUser`, from which `services/identity.py` makes / refreshes the local `users` row.

`services/identity.py` keeps the rules (input checks, sign-in / sign-up limits, the local row,
`resolve_session`) and calls the backend for the credentials. Either backend checks the same
things in a token: `aud="authenticated"`, an `exp` in the future, `role="authenticated"` (so
Supabase's anon and service-role keys, which are JWTs too, are refused) and a uuid `sub`.

Nothing here imports the services (they import this): a backend's failures are the
exceptions below, which `services/identity.py` turns into domain errors, and LocalAuth is
handed the app's account table (`LocalAccounts`: `services/accounts.py`) by its caller.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import jwt
from sqlalchemy.engine import Engine

from arbibase_chat.adapters import supabase_config
from arbibase_chat.config import Settings, get_settings
from arbibase_chat.models import UserPublic

AUDIENCE = "authenticated"
ISSUER = "arbibase_chat"
MAX_TOKEN_CHARS = 8192
REQUIRED_CLAIMS = ("sub", "exp", "aud")
ASYMMETRIC_ALGORITHMS = ("RS256", "ES256")


class AuthFailure(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidToken(AuthFailure):
    """Missing, malformed, forged or expired token, or not a user's token."""


class SignInRefused(AuthFailure):
    """The provider refused the e-mail and password (the message says why, for the user)."""


class SignUpRefused(AuthFailure):
    """The provider refused the new account: `taken` when the e-mail is already registered,
    else the input (`field`, when known) broke one of its rules."""

    def __init__(self, message: str, *, field: str | None = None, taken: bool = False) -> None:
        super().__init__(message)
        self.field = field
        self.taken = taken


class AuthUnavailable(AuthFailure):
    """The provider, or its signing keys, could not be reached."""


@dataclass(frozen=True)
class ExternalUser:
    """An account that lives at the auth provider (Supabase Auth): the parts of the user (or
    of its access token's claims) the app's local `users` row is made from."""

    id: uuid.UUID
    email: str | None
    user_metadata: dict[str, Any] = field(default_factory=dict)
    app_metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class VerifiedToken:
    user_id: uuid.UUID
    claims: dict[str, Any]
    # The account as the provider describes it (Supabase): the local row follows it.
    # None: the local `users` row is the account itself.
    external: ExternalUser | None = None

    @property
    def expires_at(self) -> int:
        """The token's `exp` (Unix time); 0 if it has none."""
        exp = self.claims.get("exp")
        return exp if isinstance(exp, int) else 0


@dataclass(frozen=True)
class AuthSession:
    """A successful password sign-in: the token the browser keeps, for how long, and whose.

    `user`: the local account (LocalAuth), or the provider's account (an ExternalUser) whose
    local row the caller makes or refreshes.
    """

    access_token: str
    expires_in: int  # seconds
    user: UserPublic | ExternalUser


@dataclass(frozen=True)
class SignUpResult:
    user: UserPublic | ExternalUser
    # None when the provider wants the e-mail address confirmed before the first sign-in.
    session: AuthSession | None


class LocalAccounts(Protocol):
    """The app's own account table (`services/accounts.py`), where LocalAuth checks passwords;
    the domain errors it raises (wrong password, e-mail taken...) pass through unchanged."""

    def authenticate(
        self, *, email: Any, password: Any, db: Engine | None = None
    ) -> UserPublic: ...

    def sign_up(
        self,
        *,
        email: Any,
        password: Any,
        display_name: Any,
        role: Any = "operator",
        db: Engine | None = None,
    ) -> UserPublic: ...


class AuthBackend(Protocol):
    kind: str  # "local" | "supabase"
    # True: passwords are hashed in this process (argon2: `aio.call_password`'s threads);
    # False: the provider hashes them and a sign-in only waits on the network.
    hashes_passwords: bool

    def verify(self, token: Any) -> VerifiedToken:
        """The user id and claims of a valid token; InvalidToken for anything else,
        AuthUnavailable when the signing keys cannot be fetched (may block: worker thread)."""
        ...

    def sign_in(
        self, *, email: str, password: str, accounts: LocalAccounts, db: Engine | None
    ) -> AuthSession:
        """Check a (normalized) e-mail and password; SignInRefused, AuthUnavailable, or (local)
        the account table's own errors."""
        ...

    def sign_up(
        self,
        *,
        email: str,
        password: str,
        display_name: str,
        role: str,
        accounts: LocalAccounts,
        db: Engine | None,
    ) -> SignUpResult:
        """Create the account from checked input; SignUpRefused, AuthUnavailable, or (local)
        the account table's own errors."""
        ...

    def expiry(self, token: str) -> int:
        """The `exp` of a token that was already verified (read, not verified); 0 if none."""
        ...

    def set_verified(self, user_id: uuid.UUID, verified: bool) -> None:
        """Record an owner's verification where the provider keeps it (Supabase: the user's
        `app_metadata.verified`, with the service key); AuthUnavailable if it did not answer.
        Local accounts: nothing (the `users` row is the record)."""
        ...


def token_expiry(token: str) -> int:
    try:
        exp = jwt.decode(token, options={"verify_signature": False}).get("exp")
    except jwt.PyJWTError:
        return 0
    return exp if isinstance(exp, int) else 0


def checked_claims(token: Any, decode: Callable[[str], dict[str, Any]]) -> dict[str, Any]:
    """`decode(token)`'s claims, with the checks every backend makes (see module doc)."""
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_CHARS:
        raise InvalidToken("missing or malformed access token")
    try:
        claims = decode(token)
    except jwt.PyJWKClientConnectionError as exc:
        raise AuthUnavailable(f"Supabase signing keys could not be fetched: {exc}") from None
    except jwt.PyJWTError:
        raise InvalidToken("invalid or expired access token") from None
    if claims.get("role") != "authenticated":
        raise InvalidToken("token is not a user token")
    return claims


def subject(claims: dict[str, Any]) -> uuid.UUID:
    try:
        return uuid.UUID(str(claims["sub"]))
    except ValueError:
        raise InvalidToken("invalid subject in access token") from None


def issue_local_token(
    *, secret: str, ttl_seconds: int, user_id: uuid.UUID, email: str | None = None
) -> str:
    """A token signed by the app itself (HS256), shaped like Supabase's."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": str(user_id),
        "role": "authenticated",
        "aud": AUDIENCE,
        "iss": ISSUER,
        "iat": now,
        "exp": now + ttl_seconds,
    }
    if email:
        claims["email"] = email
    return jwt.encode(claims, secret, algorithm="HS256")


class LocalAuth:
    """argon2 accounts in the `users` table; tokens signed HS256 with JWT_SECRET."""

    kind = "local"
    hashes_passwords = True

    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    def issue(self, *, user_id: uuid.UUID, email: str | None = None) -> str:
        return issue_local_token(
            secret=self._settings.signing_secret(),
            ttl_seconds=self._settings.access_token_ttl_seconds,
            user_id=user_id,
            email=email,
        )

    def _decode(self, token: str) -> dict[str, Any]:
        claims: dict[str, Any] = jwt.decode(
            token,
            self._settings.signing_secret(),
            algorithms=["HS256"],
            audience=AUDIENCE,
            options={"require": list(REQUIRED_CLAIMS)},
        )
        return claims

    def verify(self, token: Any) -> VerifiedToken:
        claims = checked_claims(token, self._decode)
        return VerifiedToken(user_id=subject(claims), claims=claims)

    def _session(self, user: UserPublic) -> AuthSession:
        return AuthSession(
            access_token=self.issue(user_id=user.id, email=user.email),
            expires_in=self._settings.access_token_ttl_seconds,
            user=user,
        )

    def sign_in(
        self, *, email: str, password: str, accounts: LocalAccounts, db: Engine | None
    ) -> AuthSession:
        return self._session(accounts.authenticate(email=email, password=password, db=db))

    def sign_up(
        self,
        *,
        email: str,
        password: str,
        display_name: str,
        role: str,
        accounts: LocalAccounts,
        db: Engine | None,
    ) -> SignUpResult:
        user = accounts.sign_up(
            email=email, password=password, display_name=display_name, role=role, db=db
        )
        return SignUpResult(user=user, session=self._session(user))

    def expiry(self, token: str) -> int:
        return token_expiry(token)

    def set_verified(self, user_id: uuid.UUID, verified: bool) -> None:
        return None  # `users.verified` is the record, written by the service


_lock = threading.Lock()
_current: tuple[Settings, AuthBackend] | None = None


def get_auth(settings: Settings | None = None) -> AuthBackend:
    """The configured backend (one per settings object: tests that change the settings and
    clear `get_settings`' cache get a new one, with fresh JWKS clients)."""
    global _current
    settings = settings or get_settings()
    with _lock:
        if _current is None or _current[0] is not settings:
            _current = (settings, _build(settings))
        return _current[1]


def _build(settings: Settings) -> AuthBackend:
    config = supabase_config(settings)
    if config is None:
        return LocalAuth(settings)
    from arbibase_chat.adapters.supabase_auth import SupabaseAuth

    return SupabaseAuth(config)
