"""Sign up and log in (local accounts; Supabase tokens come with the Supabase issue)."""

from __future__ import annotations

from fastapi import APIRouter

from arbibase_chat.api.deps import Db, run
from arbibase_chat.api.schemas import LoginIn, SignupIn, TokenOut
from arbibase_chat.config import get_settings
from arbibase_chat.models import UserPublic
from arbibase_chat.services import accounts, tokens

router = APIRouter(prefix="/api/auth", tags=["auth"])


@router.post("/signup", status_code=201, response_model=UserPublic, name="signup")
async def signup(body: SignupIn, db: Db) -> UserPublic:
    """Create a local account. Owners start unverified (they can read, not reply)."""
    return await run(
        accounts.sign_up,
        email=body.email,
        password=body.password,
        display_name=body.display_name,
        role=body.role,
        db=db,
    )


@router.post("/login", response_model=TokenOut, name="login")
async def login(body: LoginIn, db: Db) -> TokenOut:
    """Exchange email and password for an access token (send it as `Authorization: Bearer`)."""
    user = await run(accounts.authenticate, email=body.email, password=body.password, db=db)
    return TokenOut(
        access_token=tokens.issue_access_token(user_id=user.id, email=user.email),
        expires_in=get_settings().access_token_ttl_seconds,
        user=user,
    )
