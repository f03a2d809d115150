"""Access tokens shaped like Supabase's (sub, role="authenticated", aud, exp), signed HS256."""

from __future__ import annotations

import time
import uuid
from typing import Any

import jwt

from arbibase_chat.config import get_settings
from arbibase_chat.services.errors import AuthenticationFailed

AUDIENCE = "authenticated"
ISSUER = "arbibase_chat"


def issue_access_token(
    *, user_id: uuid.UUID, email: str | None = None, ttl_seconds: int | None = None
) -> str:
    settings = get_settings()
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": str(user_id),
        "role": "authenticated",
        "aud": AUDIENCE,
        "iss": ISSUER,
        "iat": now,
        "exp": now + (ttl_seconds or settings.access_token_ttl_seconds),
    }
    if email:
        claims["email"] = email
    return jwt.encode(claims, settings.signing_secret(), algorithm="HS256")


def verify_access_token(token: Any) -> uuid.UUID:
    """The user id in a valid token; AuthenticationFailed for anything else."""
    if not isinstance(token, str) or not token or len(token) > 4096:
        raise AuthenticationFailed("missing or malformed access token")
    try:
        claims = jwt.decode(
            token,
            get_settings().signing_secret(),
            algorithms=["HS256"],
            audience=AUDIENCE,
            options={"require": ["sub", "exp", "aud"]},
        )
    except jwt.PyJWTError:
        raise AuthenticationFailed("invalid or expired access token") from None
    if claims.get("role") != "authenticated":
        raise AuthenticationFailed("token is not a user token")
    try:
        return uuid.UUID(str(claims["sub"]))
    except ValueError:
        raise AuthenticationFailed("invalid subject in access token") from None
