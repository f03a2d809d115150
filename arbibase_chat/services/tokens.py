"""Access tokens, through the configured auth backend (`adapters/auth.py`, `get_auth()`).

Local mode: the app issues tokens shaped like Supabase's (sub, role="authenticated", aud,
exp) itself, signed HS256 with JWT_SECRET. Supabase mode (SUPABASE_URL set): the tokens are
Supabase Auth's; the app only verifies them (`adapters/supabase_auth.py`: the project's JWT
secret or its JWKS). Either way a token must have `aud="authenticated"`, an `exp` in the
future, `role="authenticated"` and a uuid `sub`: the user id.

Verifying with the JWKS may fetch it over HTTP: in Supabase mode call these from a worker
thread (`aio.call`), never on the event loop.
"""

from __future__ import annotations

import uuid
from typing import Any

from arbibase_chat.adapters.auth import (
    AUDIENCE,
    ISSUER,
    MAX_TOKEN_CHARS,
    AuthUnavailable,
    InvalidToken,
    VerifiedToken,
    get_auth,
    issue_local_token,
)
from arbibase_chat.config import get_settings
from arbibase_chat.services.errors import AuthenticationFailed, Unavailable

__all__ = [
    "AUDIENCE",
    "ISSUER",
    "MAX_TOKEN_CHARS",
    "VerifiedToken",
    "expiry",
    "issue_access_token",
    "verify_token",
]


def issue_access_token(
    *, user_id: uuid.UUID, email: str | None = None, ttl_seconds: int | None = None
) -> str:
    """A local-mode token (Supabase mode gets its tokens from Supabase Auth)."""
    settings = get_settings()
    return issue_local_token(
        secret=settings.signing_secret(),
        ttl_seconds=ttl_seconds or settings.access_token_ttl_seconds,
        user_id=user_id,
        email=email,
    )


def verify_token(*, token: Any) -> VerifiedToken:
    """The user id and claims of a valid token of the configured mode: AuthenticationFailed
    for any other, Unavailable when the signing keys cannot be fetched."""
    try:
        return get_auth().verify(token)
    except InvalidToken as exc:
        raise AuthenticationFailed(exc.message) from None
    except AuthUnavailable as exc:
        raise Unavailable(exc.message) from None


def expiry(token: str) -> int:
    """The `exp` of a token that was already verified (reads it; does not verify); 0 if none."""
    return get_auth().expiry(token)
