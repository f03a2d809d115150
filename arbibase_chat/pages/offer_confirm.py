"""`/offers/<offer_id>?action=accept|decline|counter`: where an e-mail's offer links land.

Link scanners and mail previews open links, so loading the page changes nothing: it shows the
offer (terms, status, what the viewer may do) and, for accept / decline, a confirm button; a
counter is made in the conversation (its dialog), linked from here. Not signed in: the login
page, then back here (`?next=`). The view is in `offer_confirm_view.py`.

The offer is the one in the page's URL, read by `load`; `confirm` takes only the form's
optional reason: the offer and the action are what this tab loaded, identity is
SessionState's, and the service decides again whether this user may take the step.
"""

from __future__ import annotations

from typing import Any

import reflex as rx

from arbibase_chat import aio, routes
from arbibase_chat.pages.inbox import InboxState
from arbibase_chat.pages.thread_deal import card_view
from arbibase_chat.services import offers
from arbibase_chat.services.errors import DomainError, Invalid, NotFound
from arbibase_chat.session import SessionState, user_view

DONE = {"accept": "You accepted this offer.", "decline": "You declined this offer."}


@user_view
class OfferConfirmState(rx.State):
    loaded: bool = False
    found: bool = False
    offer_id: str = ""
    thread_id: str = ""
    version: int = 0
    headline: str = ""
    status: str = ""
    made_by: str = ""  # "operator" | "owner"
    rows: list[list[str]] = []
    changes: list[str] = []
    expires: str = ""
    # The step the link asked for (accept / decline / counter; "" for none), and whether the
    # viewer may take it now (the service said so when the page loaded).
    action: str = ""
    allowed: bool = False
    busy: bool = False
    done: str = ""
    error: str = ""

    # --- backend only -----------------------------------------------------------------------

    def _show(self, offer: offers.OfferPublic, zone: Any) -> None:
        card = card_view(offer)
        self.found = True
        self.offer_id = str(offer.id)
        self.thread_id = str(offer.thread_id)
        self.version = offer.version
        self.headline = offer.headline
        self.status = offer.status
        self.made_by = offer.made_by_role
        self.rows = card.rows
        self.changes = card.changes
        self.expires = offer.expires_at.astimezone(zone).strftime("%b %-d, %Y %H:%M")
        self.allowed = self.action in offer.actions

    # --- events the browser may send ----------------------------------------------------------

    @rx.event
    async def load(self):
        """Show the offer of the URL; change nothing."""
        session = await self.get_state(SessionState)
        params = self.router.page.params
        raw_id = params.get("offer_id", "")
        raw_action = params.get("action", "")
        offer_id = raw_id if isinstance(raw_id, str) else ""
        action = raw_action if raw_action in routes.OFFER_ACTIONS else ""
        user_id = await session._current_user_id()
        if user_id is None:
            return rx.redirect(routes.login_then(routes.offer_page(offer_id, action or None)))
        await (await self.get_state(InboxState))._load_badge(user_id)
        self.reset()
        self.action = action
        try:
            offer = await aio.call(offers.get_offer, user_id=user_id, offer_id=offer_id)
        except (NotFound, Invalid):
            self.loaded = True  # "Offer not found" (a stranger's offer too)
            return None
        except DomainError as exc:
            self.loaded = True
            self.error = exc.message
            return None
        self._show(offer, session._zone())
        self.loaded = True
        return None

    @rx.event
    async def confirm(self, form_data: dict[str, Any]):
        """Take the step the link asked for (accept, or decline with an optional reason)."""
        session = await self.get_state(SessionState)
        user_id = await session._current_user_id()
        if user_id is None:
            return rx.redirect(routes.login_then(routes.offer_page(self.offer_id)))
        if not self.found or self.busy or self.action not in DONE:
            return None
        reason = form_data.get("reason") if isinstance(form_data, dict) else None
        self.busy = True
        self.error = ""
        try:
            if self.action == "accept":
                offer = await aio.call(offers.accept_offer, user_id=user_id, offer_id=self.offer_id)
            else:
                offer = await aio.call(
                    offers.decline_offer, user_id=user_id, offer_id=self.offer_id, reason=reason
                )
        except DomainError as exc:
            self.error = exc.message
            return None
        finally:
            self.busy = False
        self._show(offer, session._zone())
        self.done = DONE[self.action]
        return None
