"""Access tokens.

Local mode: the app issues tokens shaped like Supabase's (sub, role="authenticated", aud,
exp) itself, signed HS256 with JWT_SECRET.

Supabase mode (SUPABASE_URL set): the tokens are Supabase Auth's; the app only verifies
them. HS256 tokens with SUPABASE_JWT_SECRET (the project's legacy/shared secret), RS256 and
ES256 tokens with the project's public keys from its JWKS (SUPABASE_JWKS_URL, default
`<SUPABASE_URL>/auth/v1/.well-known/jwks.json`), fetched by PyJWT's PyJWKClient and cached
(5 minutes; an unknown `kid` refetches at most every 30 s). Either way a token must have
`aud="authenticated"`, an `exp` in the future, `role="authenticated"` (so the anon and
service-role keys, which are JWTs too, are refused) and a uuid `sub`: the user id.

Verifying with the JWKS may fetch it over HTTP: in Supabase mode call these from a worker
thread (`aio.call`), never on the event loop.
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

import jwt

from arbibase_chat.adapters import SupabaseConfig, supabase_config
from arbibase_chat.config import get_settings
from arbibase_chat.services.errors import AuthenticationFailed, Unavailable

AUDIENCE = "authenticated"
ISSUER = "arbibase_chat"
ASYMMETRIC_ALGORITHMS = ("RS256", "ES256")
MAX_TOKEN_CHARS = 8192
JWKS_CACHE_SECONDS = 300
JWKS_TIMEOUT_SECONDS = 5


@dataclass(frozen=True)
class VerifiedToken:
    user_id: uuid.UUID
    claims: dict[str, Any]


def issue_access_token(
    *, user_id: uuid.UUID, email: str | None = None, ttl_seconds: int | None = None
) -> str:
    """A local-mode token (Supabase mode gets its tokens from Supabase Auth)."""
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


def verify_token(*, token: Any) -> VerifiedToken:
    """The user id and claims of a valid token of the configured mode."""
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_CHARS:
        raise AuthenticationFailed("missing or malformed access token")
    config = supabase_config()
    try:
        if config is None:
            claims = jwt.decode(
                token,
                get_settings().signing_secret(),
                algorithms=["HS256"],
                audience=AUDIENCE,
                options={"require": ["sub", "exp", "aud"]},
            )
        else:
            claims = _decode_supabase(token, config)
    except jwt.PyJWKClientConnectionError as exc:
        raise Unavailable(f"Supabase signing keys could not be fetched: {exc}") from None
    except jwt.PyJWTError:
        raise AuthenticationFailed("invalid or expired access token") from None
    if claims.get("role") != "authenticated":
        raise AuthenticationFailed("token is not a user token")
    try:
        user_id = uuid.UUID(str(claims["sub"]))
    except ValueError:
        raise AuthenticationFailed("invalid subject in access token") from None
    return VerifiedToken(user_id=user_id, claims=claims)


def expiry(token: str) -> int:
    """The `exp` of a token that was already verified (reads it; does not verify); 0 if none."""
    try:
        exp = jwt.decode(token, options={"verify_signature": False}).get("exp")
    except jwt.PyJWTError:
        return 0
    return exp if isinstance(exp, int) else 0


def _decode_supabase(token: str, config: SupabaseConfig) -> dict[str, Any]:
    header = jwt.get_unverified_header(token)
    alg = header.get("alg")
    options: Any = {"require": ["sub", "exp", "aud"]}
    if alg == "HS256":
        if not config.jwt_secret:
            raise jwt.InvalidAlgorithmError("HS256 tokens need SUPABASE_JWT_SECRET")
        return jwt.decode(
            token, config.jwt_secret, algorithms=["HS256"], audience=AUDIENCE, options=options
        )
    if alg in ASYMMETRIC_ALGORITHMS:
        key = _jwks_client(config.jwks_url).get_signing_key_from_jwt(token)
        # Only the algorithm the key itself is for: a key never verifies another family.
        if key.algorithm_name != alg:
            raise jwt.InvalidAlgorithmError(f"key {key.key_id} is not an {alg} key")
        return jwt.decode(token, key, algorithms=[alg], audience=AUDIENCE, options=options)
    raise jwt.InvalidAlgorithmError(f"unsupported token algorithm {alg!r}")


_jwks_lock = threading.Lock()
_jwks_clients: dict[str, jwt.PyJWKClient] = {}


def _jwks_client(url: str) -> jwt.PyJWKClient:
    """One cached PyJWKClient per JWKS URL (its key set is cached JWKS_CACHE_SECONDS)."""
    with _jwks_lock:
        client = _jwks_clients.get(url)
        if client is None:
            client = jwt.PyJWKClient(
                url,
                cache_keys=True,
                lifespan=JWKS_CACHE_SECONDS,
                timeout=JWKS_TIMEOUT_SECONDS,
            )
            _jwks_clients[url] = client
        return client
