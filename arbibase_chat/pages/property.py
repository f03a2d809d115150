"""One property's page: its details; for an operator "Message owner" (the pair's active thread,
opened if there is none) and "Calculate ROI"; for its owner, how many operators negotiate on it.
The view is in `property_view.py`.

The property is the one in the page's URL (read by `load`); `message_owner` takes no argument,
so a forged event can only ask for the thread with the owner of the property this tab shows.
"""

from __future__ import annotations

import uuid

import reflex as rx

from arbibase_chat import aio, routes
from arbibase_chat.components.property_card import area_label, place_label, rent_label
from arbibase_chat.pages.inbox import InboxState
from arbibase_chat.services import properties, threads
from arbibase_chat.services.errors import DomainError, Invalid, NotFound
from arbibase_chat.session import SessionState, user_view


@user_view
class PropertyState(rx.State):
    loaded: bool = False
    found: bool = False
    shown_id: str = ""  # the URL's id, once it named a property
    title: str = ""
    address: str = ""
    place: str = ""
    rent: str = ""
    bedrooms: str = ""
    bathrooms: str = ""
    area: str = ""
    owner_name: str = ""
    listed_on: str = ""
    is_mine: bool = False
    negotiations: int = 0
    opening: bool = False
    _owner_id: str = ""

    # --- backend only -----------------------------------------------------------------------

    def _route_property_id(self) -> str:
        return str(self.router.page.params.get("property_id", "") or "")

    def _show(self, details: properties.PropertyDetails, *, me: uuid.UUID) -> None:
        self.shown_id = str(details.id)
        self._owner_id = str(details.owner_id)
        self.title = details.title
        self.address = details.address
        self.place = place_label(details.city, details.state)
        self.rent = rent_label(details.monthly_rent_cents)
        self.bedrooms = "—" if details.bedrooms is None else str(details.bedrooms)
        self.bathrooms = "—" if details.bathrooms is None else f"{details.bathrooms:g}"
        self.area = area_label(details.square_feet) or "—"
        self.owner_name = details.owner_display_name
        self.is_mine = details.owner_id == me
        self.negotiations = details.negotiations or 0
        self.found = True

    # --- events the browser may send ----------------------------------------------------------

    @rx.event
    async def load(self):
        session = await self.get_state(SessionState)
        user_id = await session._current_user_id()
        if user_id is None:
            return rx.redirect(routes.LOGIN)
        await (await self.get_state(InboxState))._load_badge(user_id)
        self.reset()
        try:
            details = await aio.call(
                properties.get_property_details,
                user_id=user_id,
                property_id=self._route_property_id(),
            )
        except (NotFound, Invalid):
            self.loaded = True  # shows "Property not found"
            return None
        except DomainError as exc:
            self.loaded = True
            return rx.toast.error(exc.message)
        self._show(details, me=user_id)
        self.listed_on = details.created_at.astimezone(session._zone()).strftime("%b %-d, %Y")
        self.loaded = True
        return None

    @rx.event
    async def message_owner(self):
        """The operator's active thread with this property's owner (opened if none)."""
        user_id = await (await self.get_state(SessionState))._current_user_id()
        if user_id is None:
            return rx.redirect(routes.LOGIN)
        if not self.found or self.opening:
            return None
        self.opening = True
        try:
            opened = await aio.call(
                threads.get_or_create_thread,
                user_id=user_id,
                property_id=self.shown_id,
                owner_id=self._owner_id,
            )
        except DomainError as exc:
            return rx.toast.error(exc.message)
        finally:
            self.opening = False
        return rx.redirect(routes.thread(str(opened.id)))
