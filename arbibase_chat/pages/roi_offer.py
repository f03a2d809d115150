"""Send Offer from the ROI Calculator: the terms form's submit, on RoiState.

`offers.send_offer` gets the property the calculator was opened for, the typed terms, and the
calculator's current validated inputs (the ROI snapshot is computed again on the server and
frozen with the offer; the owner sees it only when "share my numbers" is ticked). On success
the operator lands in the negotiation, where the offer card already is.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import reflex as rx

from arbibase_chat import aio, routes
from arbibase_chat.db import utcnow
from arbibase_chat.services import offer_terms, offers
from arbibase_chat.services.errors import DomainError

if TYPE_CHECKING:
    from arbibase_chat.pages.roi import RoiState


def default_start() -> str:
    """The first of the month after next: a realistic move-in date to start from."""
    first = utcnow().date().replace(day=1)
    return (first + timedelta(days=62)).replace(day=1).isoformat()


def terms_from_form(form: dict[str, Any]) -> dict[str, Any]:
    terms: dict[str, Any] = {}
    for key in offer_terms.KEYS:
        value = form.get(key)
        if key == "subletClause":
            terms[key] = value in ("on", "true", True)
        elif isinstance(value, str) and value.strip():
            terms[key] = value.strip().replace("$", "").replace(",", "")
    if terms.get("model") != "revenue_share":
        terms.pop("revenueSharePct", None)
    return terms


async def send(state: RoiState, form: Any) -> Any:
    user_id = await state._user_id()
    if user_id is None:
        return rx.redirect(routes.LOGIN)
    if not isinstance(form, dict) or not state.property_id:
        return None
    inputs = state._inputs()
    if inputs is None:
        state.offer_error = "Fix the calculator's highlighted fields first."
        return None
    state.offer_error = state.offer_field = ""
    try:
        sent = await aio.call(
            offers.send_offer,
            user_id=user_id,
            property_id=uuid.UUID(state.property_id),
            terms=terms_from_form(form),
            roi_inputs=inputs,
            share_numbers=form.get("shareNumbers") in ("on", "true", True),
            message=form.get("message") or None,
            client_msg_id=state._offer_key,
        )
    except DomainError as exc:
        state.offer_error, state.offer_field = exc.message, exc.field or ""
        return None
    state._offer_key = uuid.uuid4().hex  # the next offer is a new one
    return [
        rx.toast.success(f"Offer v{sent.version} sent."),
        rx.redirect(routes.thread(str(sent.thread_id))),
    ]
