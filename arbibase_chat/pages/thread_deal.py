"""The deal in the open thread: offer cards, their steps, the header's deal panel, the stage.

The bodies of ChatState's offer and stage handlers (pages/thread.py keeps the thin event
surface). Offer cards are the offer messages of the window decorated from the thread's
offers (`services.offers.list_offers`, read as the viewer: the owner gets the operator's
numbers only when shared). A message claiming to be an offer whose offer row does not point
back at it stays a plain bubble, so a forged `kind: offer` shows nothing actionable.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import reflex as rx

from arbibase_chat import aio, routes
from arbibase_chat.components.message_bubble import MessageView
from arbibase_chat.components.offer_card import OfferCardView
from arbibase_chat.models import MessagePublic
from arbibase_chat.services import deals, offer_pdf, offer_terms, offers, properties
from arbibase_chat.services.errors import DomainError

if TYPE_CHECKING:
    from arbibase_chat.pages.thread import ChatState

STEP_DONE = {
    "accept": "Offer accepted.",
    "decline": "Offer declined.",
    "withdraw": "Offer withdrawn.",
}


def card_view(offer: offers.OfferPublic) -> OfferCardView:
    """One version as a card (the note is the message's: `decorate` adds it)."""
    rows = [
        [offer_terms.LABELS[key].capitalize(), offer_terms.show(key, offer.terms.get(key))]
        for key in offer_terms.KEYS
        if key != "expiresInDays" and offer_terms.worth_showing(key, offer.terms.get(key))
    ]
    numbers = []
    if offer.roi:
        for key, label, unit in offer_pdf.SHARED_FIGURES:
            numbers.append([label, offer_pdf.figure(offer.roi.get(key), unit)])
    return OfferCardView(
        id=str(offer.id),
        version=offer.version,
        status=offer.status,
        headline=offer.headline,
        by=offer.made_by_role,
        rows=rows,
        changes=[f"{c.label} {c.before} → {c.after}" for c in offer.changes],
        actions=list(offer.actions),
        expires_at=offer.expires_at.isoformat(),
        reason=offer.reason or "",
        numbers=numbers,
    )


def decorate(views: list[MessageView], cards: dict[str, OfferCardView]) -> list[MessageView]:
    """Offer messages get their card (by message id); others are returned as they are."""
    out = []
    for view in views:
        card = cards.get(view.id) if view.kind == "offer" else None
        if card is None:
            out.append(view)
            continue
        # The note the maker wrote; the text sent without one only repeats the headline.
        text = "".join(segment.text for segment in view.segments)
        note = "" if text == offers.default_body(card.version, card.headline) else text
        out.append(replace(view, offer=replace(card, note=note)))
    return out


def touches_offers(message: MessagePublic | None) -> bool:
    """Does this message change what the cards show (an offer, or a step on one)?"""
    return (
        message is not None
        and message.kind in ("offer", "system")
        and isinstance(message.metadata, dict)
        and ("offer_id" in message.metadata or "stage" in message.metadata)
    )


async def load_offers(chat: ChatState, user_id: uuid.UUID) -> None:
    """Read the thread's offers into the backend cache and the header's latest offer."""
    try:
        listed = await aio.call(offers.list_offers, user_id=user_id, thread_id=chat.open_id)
    except DomainError:
        listed = []
    chat._cards = {str(o.message_id): card_view(o) for o in listed if o.message_id}
    chat._terms = {str(o.id): dict(o.terms) for o in listed}
    latest = listed[-1] if listed else None
    headline = latest.headline if latest else ""
    status = latest.status if latest else ""
    waiting = bool(latest and latest.actions and latest.actions != ["withdraw"])
    rent = offer_terms.show("monthlyRent", latest.terms.get("monthlyRent")) if latest else ""
    for name, value in (
        ("latest_offer", headline),
        ("latest_offer_rent", rent),
        ("latest_offer_status", status),
        ("offer_waiting", waiting),
    ):
        if getattr(chat, name) != value:
            setattr(chat, name, value)


async def load_property(chat: ChatState, user_id: uuid.UUID, property_id: uuid.UUID) -> None:
    try:
        prop = await aio.call(properties.get_property, user_id=user_id, property_id=property_id)
    except DomainError:
        return
    parts = [prop.address, prop.city, prop.state or ""]
    chat.property_id = str(prop.id)
    chat.property_address = ", ".join(p for p in parts if p)
    chat.property_rent = (
        offer_terms.show("monthlyRent", prop.monthly_rent_cents / 100)
        if prop.monthly_rent_cents is not None
        else ""
    )
    facts = []
    if prop.bedrooms is not None:
        facts.append(f"{prop.bedrooms} bd")
    if prop.bathrooms is not None:
        facts.append(f"{prop.bathrooms:g} ba")
    chat.property_facts = " · ".join(facts)


def redecorate(chat: ChatState) -> None:
    """The cards changed: apply them to the offer messages already in the window."""
    chat._show(decorate(chat._on_screen(), chat._cards))


async def _user(chat: ChatState) -> uuid.UUID | None:
    return await chat._user()


async def step(chat: ChatState, action: Any, offer_id: Any, reason: Any = None) -> Any:
    """Accept, decline or withdraw; the card and the header follow from the reply."""
    user_id = await _user(chat)
    if user_id is None:
        return rx.redirect(routes.LOGIN)
    service = {
        "accept": offers.accept_offer,
        "decline": offers.decline_offer,
        "withdraw": offers.withdraw_offer,
    }.get(action if isinstance(action, str) else "")
    if service is None or not isinstance(offer_id, str):
        return None
    extra = {"reason": reason} if action == "decline" else {}
    try:
        await aio.call(service, user_id=user_id, offer_id=offer_id, **extra)
    except DomainError as exc:
        await refresh(chat, user_id)
        return rx.toast.error(exc.message)
    await refresh(chat, user_id)
    return rx.toast.success(STEP_DONE[action])


async def refresh(chat: ChatState, user_id: uuid.UUID) -> None:
    await load_offers(chat, user_id)
    redecorate(chat)


def counter_defaults(chat: ChatState, offer_id: str) -> dict[str, str]:
    """The counter form starts from the version it answers."""
    terms = chat._terms.get(offer_id, {})
    return {key: _as_text(terms.get(key)) for key in offer_terms.KEYS}


def _as_text(value: Any) -> str:
    """A term as a form field shows it: 2400.0 → "2400", None → ""."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def terms_from_form(form: dict[str, Any]) -> dict[str, Any]:
    """An offer form's strings as terms input (the counter dialog, the ROI page's Send Offer):
    a ticked checkbox is "on", a typed "$2,400" loses its "$"; the service validates the rest."""
    terms: dict[str, Any] = {}
    for key in offer_terms.KEYS:
        value = form.get(key)
        if key == "subletClause":
            terms[key] = value in ("on", "true", True)
            continue
        if isinstance(value, str) and value.strip():
            terms[key] = value.strip().removeprefix("$")
    if terms.get("model") != "revenue_share":
        terms.pop("revenueSharePct", None)
    return terms


async def counter(chat: ChatState, form: Any) -> Any:
    user_id = await _user(chat)
    if user_id is None:
        return rx.redirect(routes.LOGIN)
    if not isinstance(form, dict) or not isinstance(form.get("offer_id"), str):
        return None
    try:
        await aio.call(
            offers.counter_offer,
            user_id=user_id,
            offer_id=form["offer_id"],
            terms=terms_from_form(form),
            message=form.get("message") or None,
        )
    except DomainError as exc:
        chat.counter_error = exc.message
        return None
    chat.counter_for, chat.counter_error = "", ""
    await refresh(chat, user_id)
    return rx.toast.success("Counter-offer sent.")


async def set_stage(chat: ChatState, form: Any) -> Any:
    user_id = await _user(chat)
    if user_id is None:
        return rx.redirect(routes.LOGIN)
    if not isinstance(form, dict):
        return None
    try:
        stage = await aio.call(
            deals.set_stage,
            user_id=user_id,
            thread_id=chat.open_id,
            stage=form.get("stage"),
            reason=form.get("reason") or None,
        )
    except DomainError as exc:
        return rx.toast.error(exc.message)
    chat.lost_open = False
    chat.stage = stage
    return None
