"""Send Offer from the ROI Calculator: the terms form's submit, on RoiState.

`offers.send_offer` gets the property the calculator was opened for, the typed terms, and the
calculator's current validated inputs (the ROI snapshot is computed again on the server and
frozen with the offer; the owner sees it only when "share my numbers" is ticked). On success
the operator lands in the negotiation, where the offer card already is.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

import reflex as rx

from arbibase_chat import aio, routes
from arbibase_chat.pages import thread_deal
from arbibase_chat.services import offers
from arbibase_chat.services.errors import DomainError

if TYPE_CHECKING:
    from arbibase_chat.pages.roi import RoiState


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
            terms=thread_deal.terms_from_form(form),
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
