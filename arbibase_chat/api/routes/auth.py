"""Sign up and log in: local accounts, or Supabase Auth when SUPABASE_URL is set.

Either way the answer has the same shape; in Supabase mode `access_token` is the Supabase
Auth access token (send it as `Authorization: Bearer`, like any Supabase client does).

Both are rate limited per client address (and sign-in per account): 429 with Retry-After and
`{"error": "Too many attempts. Try again in 1 minute.", "code": "rate_limited",
"retry_after": 60}` (services/ratelimit.py). The services hash on the worker's password
threads (`run(hashes_passwords=True)` → `aio.call_password`).

Forgotten passwords (local accounts; 503 `password_reset_unavailable` in Supabase mode):
`POST /api/auth/password-reset` answers 202 with the same words whether or not the address
has an account (the e-mail is sent after the response, so its time says nothing either);
limited per client and per address (429). `POST /api/auth/password-reset/confirm` sets the
new password with the e-mail's token: 400 `invalid_reset_token` for a token that is unknown,
expired, used or voided; 422 for a password that breaks the sign-up rules.
"""

from __future__ import annotations

from fastapi import APIRouter, BackgroundTasks

from arbibase_chat.api import errors
from arbibase_chat.api.deps import ClientAddress, Db, run
from arbibase_chat.api.schemas import (
    LoginIn,
    MessageOut,
    PasswordResetConfirmIn,
    PasswordResetIn,
    SignupIn,
    TokenOut,
)
from arbibase_chat.mail import password_reset
from arbibase_chat.models import UserPublic
from arbibase_chat.services import identity, password_resets
from arbibase_chat.services.errors import InvalidResetToken

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


@router.post(
    "/password-reset", status_code=202, response_model=MessageOut, name="request_password_reset"
)
async def request_password_reset(
    body: PasswordResetIn, db: Db, client: ClientAddress, background: BackgroundTasks
) -> MessageOut:
    """E-mail a link to reset the password, if the address has an account (the answer is the
    same either way). The link works once, for PASSWORD_RESET_TTL_SECONDS."""
    mail = await run(password_resets.request_reset, email=body.email, client=client, db=db)
    if mail is not None:
        background.add_task(password_reset.deliver_logged, mail)
    return MessageOut(message=password_resets.SENT)


@router.post(
    "/password-reset/confirm",
    response_model=MessageOut,
    name="confirm_password_reset",
    responses={400: errors.described("The reset token is unknown, expired or used.")},
)
async def confirm_password_reset(body: PasswordResetConfirmIn, db: Db) -> MessageOut:
    """Set a new password with the token of a reset e-mail (then log in with it)."""
    try:
        await run(
            password_resets.reset_password,
            hashes_passwords=True,
            token=body.token,
            new_password=body.password,
            db=db,
        )
    except errors.ApiError as exc:
        if exc.body.get("code") == InvalidResetToken.code:
            raise errors.ApiError(400, exc.body) from None
        raise
    return MessageOut(message="Password changed. Log in with the new password.")
