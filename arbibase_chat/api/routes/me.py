"""The caller's own account."""

from __future__ import annotations

from fastapi import APIRouter

from arbibase_chat.api.deps import CurrentUser, Db, run
from arbibase_chat.api.errors import ApiError, unauthorized
from arbibase_chat.models import UserPublic
from arbibase_chat.services import accounts

router = APIRouter(prefix="/api", tags=["me"])


@router.get("/me", response_model=UserPublic, name="me")
async def me(user_id: CurrentUser, db: Db) -> UserPublic:
    try:
        return await run(accounts.get_user, user_id=user_id, db=db)
    except ApiError as exc:
        if exc.status == 404:  # a valid token for an account that no longer exists
            raise unauthorized() from None
        raise
