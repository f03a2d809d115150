"""A negotiation's deal stage: derived from its offers, hand-set only for the last steps.

    inquiry → offer_sent → countered → agreed → lease_drafted → signed
                                                       (or lost, with a reason)

Up to `agreed` the stage follows the thread's latest offer (`follow_offers`, called in the
same transaction as every offer step): open v1 of a round → offer_sent, an open counter →
countered, accepted → agreed, declined / withdrawn / expired → back to inquiry (talking, no
live offer). Nobody types those. What the platform cannot see happen is set by a party
(`set_stage`): the lease drafted (after agreed), signed (after drafted), the deal lost (any
time before signed, with a reason), or resumed after it was lost (the derived stage again).
Each hand-set step is a system message both parties see.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from arbibase_chat.models import MessagingOffer, MessagingThread, User
from arbibase_chat.services import _access, messages, policy, validation
from arbibase_chat.services._tx import transaction
from arbibase_chat.services.errors import Invalid, StepConflict
from arbibase_chat.services.events import ThreadUpdated

T, Offer = MessagingThread, MessagingOffer
STAGE_LABELS = {
    "inquiry": "Inquiry",
    "offer_sent": "Offer sent",
    "countered": "Countered",
    "agreed": "Agreed",
    "lease_drafted": "Lease drafted",
    "signed": "Signed",
    "lost": "Lost",
}
# The hand-set steps: the stage each may follow ("resume" follows only `lost`).
HAND_SET = ("lease_drafted", "signed", "lost", "resume")
MAX_REASON_CHARS = 500


def derived(latest: MessagingOffer | None) -> str:
    """The stage the offers alone give."""
    if latest is None:
        return "inquiry"
    if latest.status == "sent":
        return "offer_sent" if latest.parent_id is None else "countered"
    if latest.status == "accepted":
        return "agreed"
    return "inquiry"


def _latest(session: Session, thread_id: uuid.UUID) -> MessagingOffer | None:
    return session.scalar(
        select(Offer)
        .where(col(Offer.thread_id) == thread_id)
        .order_by(col(Offer.version).desc())
        .limit(1)
    )


def follow_offers(session: Session, *, thread: MessagingThread, latest: MessagingOffer) -> str:
    """Inside an offer step's transaction: the thread's stage from its latest offer."""
    stage = derived(latest)
    session.execute(
        update(T)
        .where(col(T.id) == thread.id)
        .values(stage=stage, stage_reason=None, stage_changed_by=None)
    )
    session.expire(thread, ["stage", "stage_reason", "stage_changed_by"])
    return stage


def _next(current: str, step: str, latest: MessagingOffer | None) -> str:
    if step == "lease_drafted" and current == "agreed":
        return "lease_drafted"
    if step == "signed" and current == "lease_drafted":
        return "signed"
    if step == "lost" and current not in ("signed", "lost"):
        return "lost"
    if step == "resume" and current == "lost":
        return derived(latest)
    need = {
        "lease_drafted": "once the offer is agreed",
        "signed": "once the lease is drafted",
        "lost": "before the lease is signed",
        "resume": "after it was marked lost",
    }[step]
    raise StepConflict(
        f"The deal is {STAGE_LABELS[current].lower()}: this step comes {need}",
        code="stage_order",
        field="stage",
    )


def set_stage(
    *, user_id: uuid.UUID, thread_id: Any, stage: Any, reason: Any = None, db: Engine | None = None
) -> str:
    """A party sets one of the last steps (or resumes a lost deal); returns the new stage."""
    tid = validation.as_uuid(thread_id, field="thread_id")
    step = validation.choice(stage, field="stage", allowed=HAND_SET)
    why = (
        validation.clean_text(reason, field="reason", max_chars=MAX_REASON_CHARS, required=False)
        or None
    )
    if step == "lost" and why is None:
        raise Invalid("Say why the deal was lost", field="reason")
    with transaction(db, as_user=user_id) as (session, outbox):
        thread, _ = _access.participant_thread(
            session, user_id=user_id, thread_id=tid, for_update=True
        )
        policy.require_in_thread(session, user_id=user_id, thread=thread, action="set_stage")
        new = _next(thread.stage, step, _latest(session, thread.id))
        session.execute(
            update(T)
            .where(col(T.id) == thread.id)
            .values(
                stage=new, stage_reason=why if new == "lost" else None, stage_changed_by=user_id
            )
        )
        session.expire(thread, ["stage", "stage_reason", "stage_changed_by"])
        name = session.scalar(select(col(User.display_name)).where(col(User.id) == user_id))
        text = {
            "lease_drafted": f"{name} marked the lease as drafted.",
            "signed": f"{name} marked the lease as signed.",
            "lost": f"{name} marked this deal as lost. Reason: {why}",
        }.get(new if step != "resume" else "", f"{name} resumed the negotiation.")
        messages.append_in(
            session,
            outbox,
            user_id=user_id,
            thread=thread,
            draft=messages.system_draft(text, {"stage": new}),
        )
        outbox.append(
            ThreadUpdated(
                thread_id=thread.id,
                participant_ids=_access.participants_of(thread),
                changed=("stage",),
            )
        )
        return new
