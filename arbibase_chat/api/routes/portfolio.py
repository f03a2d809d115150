"""The Portfolio page's per-property message summary."""

from __future__ import annotations

from fastapi import APIRouter

from arbibase_chat.api.deps import CurrentUser, Db, run
from arbibase_chat.api.schemas import PortfolioUnread
from arbibase_chat.services import reads

router = APIRouter(prefix="/api/portfolio", tags=["portfolio"])


@router.get("/unread", response_model=PortfolioUnread, name="portfolio_unread")
async def portfolio_unread(user_id: CurrentUser, db: Db) -> PortfolioUnread:
    """Per property I negotiate on: thread count, message count, unread count, latest activity."""
    return PortfolioUnread(data=await run(reads.unread_by_property, user_id=user_id, db=db))
