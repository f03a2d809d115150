"""The Portfolio page's state: each property with its deal, unread first; live.

Operators see the properties they negotiate on; owners the properties they own (those nobody
contacted yet too). The numbers are `services.portfolio.portfolio`'s, the same as
`GET /api/portfolio`. A pushed message or offer step for this user reloads them (one query
per push, for the tabs showing this page only).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import reflex as rx

from arbibase_chat import aio, routes
from arbibase_chat.pages.inbox import InboxState
from arbibase_chat.realtime import views as live
from arbibase_chat.realtime.updates import Update, UserUpdate
from arbibase_chat.services import offer_terms
from arbibase_chat.services import portfolio as portfolio_service
from arbibase_chat.services.errors import DomainError
from arbibase_chat.session import SessionState, user_view


@dataclass
class PortfolioCard:
    property_id: str = ""
    title: str = ""
    city: str = ""
    asked_rent: str = ""
    stage: str = ""
    latest_offer: str = ""
    latest_offer_status: str = ""
    thread_count: int = 0
    message_count: int = 0
    unread_count: int = 0
    awaiting: int = 0
    last_message_at: str = ""
    href: str = ""  # the negotiation to open, or the listing when there is none
    needs_attention: bool = False

    @classmethod
    def from_item(cls, item: portfolio_service.PortfolioItem) -> PortfolioCard:
        return cls(
            property_id=str(item.property_id),
            title=item.property_title,
            city=item.city,
            asked_rent=(
                offer_terms.show("monthlyRent", item.monthly_rent_cents / 100)
                if item.monthly_rent_cents is not None
                else ""
            ),
            stage=item.stage or "",
            latest_offer=(
                offer_terms.show("monthlyRent", item.latest_offer_rent)
                if item.latest_offer_rent is not None
                else ""
            ),
            latest_offer_status=item.latest_offer_status or "",
            thread_count=item.thread_count,
            message_count=item.message_count,
            unread_count=item.unread_count,
            awaiting=item.offers_awaiting_me,
            last_message_at=item.last_message_at.isoformat() if item.last_message_at else "",
            href=(
                routes.thread(str(item.thread_id))
                if item.thread_id
                else routes.property_page(str(item.property_id))
            ),
            needs_attention=item.needs_attention,
        )


@live.live_view
@user_view
class PortfolioState(rx.State):
    cards: list[PortfolioCard] = []
    loaded: bool = False
    _viewer: str = ""

    @rx.var
    def attention_count(self) -> int:
        return sum(1 for c in self.cards if c.needs_attention)

    @rx.var
    def agreed_count(self) -> int:
        return sum(1 for c in self.cards if c.stage in ("agreed", "lease_drafted", "signed"))

    async def _user(self) -> uuid.UUID | None:
        return await (await self.get_state(SessionState))._current_user_id()

    async def _reload(self, user_id: uuid.UUID) -> None:
        try:
            items = await aio.call(portfolio_service.portfolio, user_id=user_id)
        except DomainError:
            items = []
        cards = [PortfolioCard.from_item(i) for i in items]
        if cards != self.cards:
            self.cards = cards
        self.loaded = True

    @rx.event
    async def load(self):
        user_id = await self._user()
        if user_id is None:
            return rx.redirect(routes.LOGIN)
        self._viewer = str(user_id)
        live.register(self.router.session.client_token, user_id)
        # The navbar's unread badge, live, without loading the inbox list.
        await (await self.get_state(InboxState))._load_badge(user_id)
        await self._reload(user_id)
        return None

    async def _live_apply(self, update: Update) -> str | None:
        if not isinstance(update, UserUpdate) or not self.loaded:
            return None
        if self._viewer != str(update.user_id) or update.thread is None:
            return None
        if self.router.page.path != routes.PORTFOLIO:
            return None  # this tab shows another page: reloaded when it comes back
        await self._reload(update.user_id)
        return None

    async def _live_resync(self, user_id: uuid.UUID) -> str | None:
        if self._viewer == str(user_id) and self.loaded:
            await self._reload(user_id)
        return None
