"""Supabase Auth (GoTrue) as the auth backend (`auth.AuthBackend`), with supabase-py.

Sign-in and sign-up: each call makes its own short-lived client with the anon key (a
supabase-py client holds the session it signed in, so one shared client would mix users), with
no refresh timer and no persisted session: the app keeps only the access token, in the same
cookie / Bearer header as in local mode. GoTrue's error codes become `auth`'s refusals here
(with the words the user reads); the accounts live at Supabase, so `accounts` is not used.

Tokens are Supabase Auth's; the app only verifies them. HS256 tokens with SUPABASE_JWT_SECRET
(the project's legacy/shared secret), RS256 and ES256 tokens with the project's public keys
from its JWKS (SUPABASE_JWKS_URL, default `<SUPABASE_URL>/auth/v1/.well-known/jwks.json`),
fetched by PyJWT's PyJWKClient and cached (5 minutes; an unknown `kid` refetches at most every
30 s), plus the checks every backend makes (`auth.checked_claims`).

Everything here may block (HTTP, the JWKS): call it from a worker thread, as the services are
(`aio.call`), never on the event loop.
"""

from __future__ import annotations

import threading
import uuid
from typing import Any

import httpx
import jwt
from sqlalchemy.engine import Engine

from arbibase_chat.adapters import SupabaseConfig, client_options
from arbibase_chat.adapters.auth import (
    ASYMMETRIC_ALGORITHMS,
    AUDIENCE,
    REQUIRED_CLAIMS,
    AuthSession,
    AuthUnavailable,
    ExternalUser,
    LocalAccounts,
    SignInRefused,
    SignUpRefused,
    SignUpResult,
    VerifiedToken,
    checked_claims,
    subject,
    token_expiry,
)

JWKS_CACHE_SECONDS = 300
JWKS_TIMEOUT_SECONDS = 5
WRONG_CREDENTIALS = "Wrong e-mail or password."


class AuthRefused(Exception):
    """Supabase Auth answered with an error (wrong password, user exists, weak password...)."""

    def __init__(self, message: str, *, code: str | None, status: int | None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status


class SupabaseAuth:
    """Supabase Auth signs users in and up and issues the tokens; the app verifies them."""

    kind = "supabase"
    hashes_passwords = False  # Supabase hashes; a sign-in here only waits on the network

    def __init__(self, config: SupabaseConfig) -> None:
        self.config = config
        self._jwks_lock = threading.Lock()
        self._jwks: jwt.PyJWKClient | None = None

    # --- tokens ---------------------------------------------------------------------------

    def verify(self, token: Any) -> VerifiedToken:
        claims = checked_claims(token, self._decode)
        user_id = subject(claims)
        email = claims.get("email")
        return VerifiedToken(
            user_id=user_id,
            claims=claims,
            external=ExternalUser(
                id=user_id,
                email=email if isinstance(email, str) else None,
                user_metadata=_mapping(claims.get("user_metadata")),
                app_metadata=_mapping(claims.get("app_metadata")),
            ),
        )

    def expiry(self, token: str) -> int:
        return token_expiry(token)

    def set_verified(self, user_id: uuid.UUID, verified: bool) -> None:
        # What the Supabase policies (caller_is_verified) and every later sign-in read.
        _set_app_metadata(self.config, user_id, {"verified": verified})

    def _decode(self, token: str) -> dict[str, Any]:
        header = jwt.get_unverified_header(token)
        alg = header.get("alg")
        options: Any = {"require": list(REQUIRED_CLAIMS)}
        claims: dict[str, Any]
        if alg == "HS256":
            if not self.config.jwt_secret:
                raise jwt.InvalidAlgorithmError("HS256 tokens need SUPABASE_JWT_SECRET")
            claims = jwt.decode(
                token,
                self.config.jwt_secret,
                algorithms=["HS256"],
                audience=AUDIENCE,
                options=options,
            )
            return claims
        if alg in ASYMMETRIC_ALGORITHMS:
            key = self._jwks_client().get_signing_key_from_jwt(token)
            # Only the algorithm the key itself is for: a key never verifies another family.
            if key.algorithm_name != alg:
                raise jwt.InvalidAlgorithmError(f"key {key.key_id} is not an {alg} key")
            claims = jwt.decode(token, key, algorithms=[alg], audience=AUDIENCE, options=options)
            return claims
        raise jwt.InvalidAlgorithmError(f"unsupported token algorithm {alg!r}")

    def _jwks_client(self) -> jwt.PyJWKClient:
        """One PyJWKClient per backend (its key set is cached JWKS_CACHE_SECONDS)."""
        with self._jwks_lock:
            if self._jwks is None:
                self._jwks = jwt.PyJWKClient(
                    self.config.jwks_url,
                    cache_keys=True,
                    lifespan=JWKS_CACHE_SECONDS,
                    timeout=JWKS_TIMEOUT_SECONDS,
                )
            return self._jwks

    # --- password sign-in / sign-up ---------------------------------------------------------

    def sign_in(
        self, *, email: str, password: str, accounts: LocalAccounts, db: Engine | None = None
    ) -> AuthSession:
        """`POST /auth/v1/token?grant_type=password`. SignInRefused when refused."""
        try:
            raw = _sign_in_with_password(self.config, email=email, password=password)
        except AuthRefused as exc:
            raise SignInRefused(_sign_in_refusal(exc)) from None
        return self._checked(raw)

    def sign_up(
        self,
        *,
        email: str,
        password: str,
        display_name: str,
        role: str,
        accounts: LocalAccounts,
        db: Engine | None = None,
    ) -> SignUpResult:
        """`POST /auth/v1/signup` with the display name and role as user_metadata.

        The session is None when the project asks new users to confirm their e-mail first.
        """
        try:
            user, raw = _sign_up(
                self.config,
                email=email,
                password=password,
                data={"display_name": display_name, "role": role},
            )
        except AuthRefused as exc:
            if exc.code in ("user_already_exists", "email_exists"):
                raise SignUpRefused(
                    "An account with this e-mail already exists.", field="email", taken=True
                ) from None
            if exc.code == "weak_password":
                raise SignUpRefused(exc.message, field="password") from None
            if exc.code in ("email_address_invalid", "validation_failed"):
                raise SignUpRefused(exc.message, field="email") from None
            raise SignUpRefused(exc.message) from None
        return SignUpResult(user=user, session=self._checked(raw) if raw is not None else None)

    def _checked(self, session: AuthSession) -> AuthSession:
        # The token Supabase just issued must pass our own verification (same secret / JWKS),
        # or the browser would be signed in with a token every request then refuses.
        if self.verify(session.access_token).user_id != session.user.id:
            raise SignInRefused("Supabase returned a token for another user")
        return session


def _sign_in_refusal(exc: AuthRefused) -> str:
    if exc.code == "email_not_confirmed":
        return "Confirm your e-mail address first (follow the link in the e-mail we sent)."
    if exc.code in (None, "invalid_credentials", "invalid_grant", "user_not_found"):
        return WRONG_CREDENTIALS
    if exc.code in ("over_request_rate_limit", "over_email_send_rate_limit"):
        return "too many sign-in attempts; try again in a minute"
    if exc.code == "user_banned":
        return "this account is suspended"
    return WRONG_CREDENTIALS


def _mapping(value: Any) -> dict[str, Any]:
    return dict(value) if isinstance(value, dict) else {}


# --- supabase-py ------------------------------------------------------------------------------


def _admin_client(config: SupabaseConfig) -> Any:
    from supabase import create_client

    return create_client(config.url, config.require_service_role_key(), options=client_options())


def _set_app_metadata(config: SupabaseConfig, user_id: uuid.UUID, values: dict[str, Any]) -> None:
    """GoTrue's admin API, `PUT /auth/v1/admin/users/{id}` with `{"app_metadata": values}`
    (GoTrue merges the keys into the user's app_metadata)."""
    from supabase_auth.errors import AuthError

    client = _admin_client(config)
    try:
        client.auth.admin.update_user_by_id(str(user_id), {"app_metadata": values})
    except AuthError as exc:
        translated = _translate(exc)
        if isinstance(translated, AuthRefused):
            raise AuthUnavailable(f"Supabase Auth refused the update: {exc}") from exc
        raise translated from exc
    except httpx.HTTPError as exc:
        raise AuthUnavailable(f"Supabase Auth unreachable: {exc}") from exc


def _client(config: SupabaseConfig) -> Any:
    from supabase import create_client

    return create_client(
        config.url,
        config.require_anon_key(),
        options=client_options(),
    )


def _user(raw: Any) -> ExternalUser:
    return ExternalUser(
        id=uuid.UUID(str(raw.id)),
        email=raw.email or None,
        user_metadata=dict(raw.user_metadata or {}),
        app_metadata=dict(raw.app_metadata or {}),
    )


def _session(raw: Any) -> AuthSession:
    return AuthSession(
        access_token=raw.access_token, expires_in=int(raw.expires_in), user=_user(raw.user)
    )


def _translate(exc: Exception) -> Exception:
    from supabase_auth.errors import AuthApiError, AuthError, AuthRetryableError

    if isinstance(exc, AuthRetryableError):
        return AuthUnavailable(f"Supabase Auth unreachable: {exc.message}")
    status = getattr(exc, "status", None)
    if isinstance(status, int) and status >= 500:
        return AuthUnavailable(f"Supabase Auth failed ({status}): {exc}")
    if isinstance(exc, AuthApiError | AuthError):
        return AuthRefused(exc.message, code=exc.code, status=status)
    return exc


def _sign_in_with_password(config: SupabaseConfig, *, email: str, password: str) -> AuthSession:
    from supabase_auth.errors import AuthError

    client = _client(config)
    try:
        response = client.auth.sign_in_with_password({"email": email, "password": password})
    except AuthError as exc:
        raise _translate(exc) from exc
    if response.session is None:
        raise AuthRefused("Supabase Auth returned no session", code=None, status=None)
    return _session(response.session)


def _sign_up(
    config: SupabaseConfig, *, email: str, password: str, data: dict[str, Any]
) -> tuple[ExternalUser, AuthSession | None]:
    from supabase_auth.errors import AuthError

    client = _client(config)
    try:
        response = client.auth.sign_up(
            {"email": email, "password": password, "options": {"data": data}}
        )
    except AuthError as exc:
        raise _translate(exc) from exc
    if response.user is None:
        raise AuthRefused("Supabase Auth returned no user", code=None, status=None)
    session = _session(response.session) if response.session is not None else None
    return _user(response.user), session
