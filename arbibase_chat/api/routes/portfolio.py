"""The Portfolio page's per-property message summary."""

from __future__ import annotations

from fastapi import APIRouter

from arbibase_chat.api.deps import CurrentUser, Db, run
from arbibase_chat.api.schemas import PortfolioList, PortfolioUnread
from arbibase_chat.services import portfolio as portfolio_service
from arbibase_chat.services import reads

router = APIRouter(prefix="/api/portfolio", tags=["portfolio"])


@router.get("/unread", response_model=PortfolioUnread, name="portfolio_unread")
async def portfolio_unread(user_id: CurrentUser, db: Db) -> PortfolioUnread:
    """Per property I negotiate on: thread count, message count, unread count, latest activity."""
    return PortfolioUnread(data=await run(reads.unread_by_property, user_id=user_id, db=db))


@router.get("", response_model=PortfolioList, name="portfolio")
async def portfolio(user_id: CurrentUser, db: Db) -> PortfolioList:
    """Each property I negotiate on (owners: each I own), with its deal: the fields of
    `/api/portfolio/unread` plus city, stage, the latest offer, and what needs me. Properties
    that need me (unread, or an offer waiting for my answer) come first."""
    return PortfolioList(data=await run(portfolio_service.portfolio, user_id=user_id, db=db))
