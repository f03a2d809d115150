"""Offers: Send Offer, one version, a thread's versions, and the steps of the state machine;
the deal stage's hand-set steps.

An illegal step is 409 with a code (`offer_open`, `offer_closed`, `offer_expired`,
`not_latest`, `own_offer`, `not_maker`, `thread_closed`, `stage_order`); a stranger gets 404;
an unverified owner 403 `verify_ownership`.
"""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from arbibase_chat import aio
from arbibase_chat.api.deps import CurrentUser, Db, run
from arbibase_chat.api.schemas import (
    OfferChangeOut,
    OfferCounterIn,
    OfferCreated,
    OfferCreateIn,
    OfferDeclineIn,
    OfferList,
    OfferOut,
    StageIn,
    StageOut,
)
from arbibase_chat.services import deals, offers

router = APIRouter(tags=["offers"])


def _out(offer: offers.OfferPublic) -> OfferOut:
    return OfferOut(
        offerId=offer.id,
        threadId=offer.thread_id,
        propertyId=offer.property_id,
        version=offer.version,
        parentId=offer.parent_id,
        madeBy=offer.made_by,
        madeByRole=offer.made_by_role,  # type: ignore[arg-type]
        terms=offer.terms,
        headline=offer.headline,
        status=offer.status,
        expiresAt=offer.expires_at,
        createdAt=offer.created_at,
        decidedBy=offer.decided_by,
        decidedAt=offer.decided_at,
        reason=offer.reason,
        messageId=offer.message_id,
        changes=[OfferChangeOut(**c.model_dump()) for c in offer.changes],
        roi=offer.roi,
        numbersShared=offer.numbers_shared,
        actions=offer.actions,
    )


def _created(sent: offers.OfferSent) -> OfferCreated:
    return OfferCreated(
        offerId=sent.offer_id,
        threadId=sent.thread_id,
        messageId=sent.message_id,
        version=sent.version,
        status=sent.status,
    )


@router.post("/api/offers", status_code=201, response_model=OfferCreated, name="send_offer")
async def send_offer(body: OfferCreateIn, user_id: CurrentUser, db: Db) -> OfferCreated:
    """Get-or-create my thread with the property's owner and post an offer in it, in one
    transaction, with its PDF summary attached (operators only)."""
    sent = await run(
        offers.send_offer,
        gate=aio.sends,
        user_id=user_id,
        property_id=body.propertyId,
        terms=body.terms.model_dump(exclude_none=True),
        roi_inputs=body.roi.model_dump(exclude_none=True) if body.roi is not None else None,
        share_numbers=body.shareNumbers,
        message=body.message,
        client_msg_id=body.clientMsgId,
        db=db,
    )
    return _created(sent)


@router.get("/api/offers/{offerId}", response_model=OfferOut, name="get_offer")
async def get_offer(offerId: uuid.UUID, user_id: CurrentUser, db: Db) -> OfferOut:
    return _out(await run(offers.get_offer, user_id=user_id, offer_id=offerId, db=db))


@router.get("/api/messages/threads/{threadId}/offers", response_model=OfferList, name="list_offers")
async def list_offers(threadId: uuid.UUID, user_id: CurrentUser, db: Db) -> OfferList:
    """Every version of every offer in the thread, oldest first."""
    items = await run(offers.list_offers, user_id=user_id, thread_id=threadId, db=db)
    return OfferList(data=[_out(o) for o in items])


@router.post("/api/offers/{offerId}/accept", response_model=OfferOut, name="accept_offer")
async def accept_offer(offerId: uuid.UUID, user_id: CurrentUser, db: Db) -> OfferOut:
    return _out(await run(offers.accept_offer, user_id=user_id, offer_id=offerId, db=db))


@router.post("/api/offers/{offerId}/decline", response_model=OfferOut, name="decline_offer")
async def decline_offer(
    offerId: uuid.UUID, user_id: CurrentUser, db: Db, body: OfferDeclineIn | None = None
) -> OfferOut:
    reason = body.reason if body is not None else None
    return _out(
        await run(offers.decline_offer, user_id=user_id, offer_id=offerId, reason=reason, db=db)
    )


@router.post("/api/offers/{offerId}/withdraw", response_model=OfferOut, name="withdraw_offer")
async def withdraw_offer(offerId: uuid.UUID, user_id: CurrentUser, db: Db) -> OfferOut:
    return _out(await run(offers.withdraw_offer, user_id=user_id, offer_id=offerId, db=db))


@router.post(
    "/api/offers/{offerId}/counter",
    status_code=201,
    response_model=OfferCreated,
    name="counter_offer",
)
async def counter_offer(
    offerId: uuid.UUID, body: OfferCounterIn, user_id: CurrentUser, db: Db
) -> OfferCreated:
    """Version n+1 of the offer, from the party who did not make version n."""
    sent = await run(
        offers.counter_offer,
        gate=aio.sends,
        user_id=user_id,
        offer_id=offerId,
        terms=body.terms.model_dump(exclude_none=True),
        message=body.message,
        client_msg_id=body.clientMsgId,
        db=db,
    )
    return _created(sent)


@router.post(
    "/api/messages/threads/{threadId}/stage", response_model=StageOut, name="set_deal_stage"
)
async def set_deal_stage(
    threadId: uuid.UUID, body: StageIn, user_id: CurrentUser, db: Db
) -> StageOut:
    """The deal's last steps, set by a party (the earlier ones follow the offers)."""
    stage = await run(
        deals.set_stage,
        user_id=user_id,
        thread_id=threadId,
        stage=body.stage,
        reason=body.reason,
        db=db,
    )
    return StageOut(stage=stage)  # type: ignore[arg-type]
