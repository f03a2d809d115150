"""Sign up and log in: local accounts, or Supabase Auth when SUPABASE_URL is set.

Either way the answer has the same shape; in Supabase mode `access_token` is the Supabase
Auth access token (send it as `Authorization: Bearer`, like any Supabase client does).

Both are rate limited per client address (and sign-in per account): 429 with Retry-After and
`{"error": "Too many attempts. Try again in 1 minute.", "code": "rate_limited",
"retry_after": 60}` (services/ratelimit.py). The services hash on the worker's password
threads (`run(hashes_passwords=True)` → `aio.call_password`).
"""

from __future__ import annotations

from fastapi import APIRouter

from arbibase_chat.api.deps import ClientAddress, Db, run
from arbibase_chat.api.schemas import LoginIn, SignupIn, TokenOut
from arbibase_chat.models import UserPublic
from arbibase_chat.services import identity

router = APIRouter(prefix="/api/auth", tags=["auth"])


@router.post("/signup", status_code=201, response_model=UserPublic, name="signup")
async def signup(body: SignupIn, db: Db, client: ClientAddress) -> UserPublic:
    """Create an account. Owners start unverified (they can read, not reply)."""
    signed_up = await run(
        identity.password_sign_up,
        hashes_passwords=True,
        email=body.email,
        password=body.password,
        display_name=body.display_name,
        role=body.role,
        client=client,
        db=db,
    )
    return signed_up.user


@router.post("/login", response_model=TokenOut, name="login")
async def login(body: LoginIn, db: Db, client: ClientAddress) -> TokenOut:
    """Exchange email and password for an access token (send it as `Authorization: Bearer`)."""
    signed_in = await run(
        identity.password_sign_in,
        hashes_passwords=True,
        email=body.email,
        password=body.password,
        client=client,
        db=db,
    )
    return TokenOut(
        access_token=signed_in.access_token, expires_in=signed_in.expires_in, user=signed_in.user
    )
