"""Password sign-in and sign-up through Supabase Auth (GoTrue), with supabase-py.

Each call makes its own short-lived client with the anon key (a supabase-py client holds the
session it signed in, so one shared client would mix users), with no refresh timer and no
persisted session: the app keeps only the access token, in the same cookie / Bearer header
as in local mode. These functions block (HTTP): call them from a worker thread, as the
services are (`aio.call`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from arbibase_chat.adapters import SupabaseConfig, client_options


class AuthRefused(Exception):
    """Supabase Auth answered with an error (wrong password, user exists, weak password...)."""

    def __init__(self, message: str, *, code: str | None, status: int | None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status


class AuthUnavailable(Exception):
    """Supabase Auth could not be reached or answered with a server error."""


@dataclass(frozen=True)
class SupabaseUser:
    """The parts of a Supabase Auth user (or of its access token's claims) the app uses."""

    id: uuid.UUID
    email: str | None
    user_metadata: dict[str, Any] = field(default_factory=dict)
    app_metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SupabaseSession:
    access_token: str
    expires_in: int
    user: SupabaseUser


def _client(config: SupabaseConfig) -> Any:
    from supabase import create_client

    return create_client(
        config.url,
        config.require_anon_key(),
        options=client_options(),
    )


def _user(raw: Any) -> SupabaseUser:
    return SupabaseUser(
        id=uuid.UUID(str(raw.id)),
        email=raw.email or None,
        user_metadata=dict(raw.user_metadata or {}),
        app_metadata=dict(raw.app_metadata or {}),
    )


def _session(raw: Any) -> SupabaseSession:
    return SupabaseSession(
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


def sign_in_with_password(config: SupabaseConfig, *, email: str, password: str) -> SupabaseSession:
    """`POST /auth/v1/token?grant_type=password`: the session, or AuthRefused."""
    from supabase_auth.errors import AuthError

    client = _client(config)
    try:
        response = client.auth.sign_in_with_password({"email": email, "password": password})
    except AuthError as exc:
        raise _translate(exc) from exc
    if response.session is None:
        raise AuthRefused("Supabase Auth returned no session", code=None, status=None)
    return _session(response.session)


def sign_up(
    config: SupabaseConfig, *, email: str, password: str, data: dict[str, Any]
) -> tuple[SupabaseUser, SupabaseSession | None]:
    """`POST /auth/v1/signup` with `data` as user_metadata.

    The session is None when the project asks new users to confirm their e-mail first.
    """
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
