"""Offers: made inside a thread, versioned by counters, decided once.

The state machine, enforced here (and by the database's trigger, alembic 0007):

    sent ──► accepted | declined | countered | withdrawn | expired

- Only an open (`sent`) version is actionable, and a thread has at most one: the latest.
- The party who did not make it accepts, declines (optional reason) or counters it; a counter
  is version n+1 linked to its parent, and the parent becomes `countered`.
- Its maker withdraws it. At `expires_at` it expires (the sweep in arbibase_chat/maintenance.py
  announces it; acting on it later is refused either way).
- An illegal step is `OfferConflict` (409) with a stable code; a stranger gets NotFound; an
  unverified owner VerifyOwnership (services/policy.py, action `offer`).

Every change is a message in the thread (the offer itself, or a system message), posted in
the same transaction, so the realtime path that carries messages carries offers too.
Two parties acting at once: both lock the thread row first (Postgres) or write one after the
other (SQLite), and the loser's conditional update finds the offer no longer open.

The operator's ROI snapshot (`messaging_offer_numbers`) is frozen on the server from the
inputs when the offer is made; the owner sees it only when the operator shared it.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel
from sqlalchemy import func, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from arbibase_chat.db import utcnow
from arbibase_chat.models import (
    MessagingMessage,
    MessagingOffer,
    MessagingOfferNumbers,
    MessagingThread,
    Property,
    ThreadTag,
    User,
)
from arbibase_chat.services import (
    _access,
    attachments,
    deals,
    messages,
    offer_pdf,
    offer_terms,
    policy,
    ratelimit,
    roi,
    threads,
    validation,
)
from arbibase_chat.services._tx import Outbox, reading, transaction
from arbibase_chat.services.errors import Invalid, NotFound
from arbibase_chat.services.errors import StepConflict as OfferConflict
from arbibase_chat.services.events import ThreadUpdated

Offer, N, T, M = MessagingOffer, MessagingOfferNumbers, MessagingThread, MessagingMessage
OFFER_NOT_FOUND = "offer not found"
OFFER_SENT_TAG = "Offer Sent"
MAX_MESSAGE_CHARS = 2_000
MAX_REASON_CHARS = 500


class OfferChange(BaseModel):
    field: str
    label: str
    before: str
    after: str


class OfferPublic(BaseModel):
    """One version as its viewer may see it (the numbers only if theirs, or shared)."""

    id: uuid.UUID
    thread_id: uuid.UUID
    property_id: uuid.UUID
    version: int
    parent_id: uuid.UUID | None
    made_by: uuid.UUID
    made_by_role: str
    terms: dict[str, Any]
    headline: str
    status: str
    expires_at: datetime
    created_at: datetime
    decided_by: uuid.UUID | None
    decided_at: datetime | None
    reason: str | None
    message_id: uuid.UUID | None
    # What this version changed from the one it counters.
    changes: list[OfferChange]
    # The operator's ROI snapshot: to the operator always, to the owner when shared.
    roi: dict[str, Any] | None
    numbers_shared: bool
    # What the viewer may do with it now: "accept", "decline", "counter", "withdraw".
    actions: list[str]


@dataclass(frozen=True)
class OfferSent:
    offer_id: uuid.UUID
    thread_id: uuid.UUID
    message_id: uuid.UUID
    version: int
    status: str


# --- reading ----------------------------------------------------------------------------------


def _actions(offer: MessagingOffer, *, viewer: uuid.UUID, now: datetime) -> list[str]:
    if offer.status != "sent" or offer.expires_at <= now:
        return []
    if offer.made_by == viewer:
        return ["withdraw"]
    return ["accept", "decline", "counter"]


def _public(
    session: Session,
    offers: list[MessagingOffer],
    *,
    thread: MessagingThread,
    viewer: uuid.UUID,
) -> list[OfferPublic]:
    ids = [o.id for o in offers]
    numbers = {n.offer_id: n for n in session.scalars(select(N).where(col(N.offer_id).in_(ids)))}
    parents_needed = {o.parent_id for o in offers if o.parent_id is not None} - set(ids)
    by_id = {o.id: o for o in offers}
    if parents_needed:
        for earlier in session.scalars(select(Offer).where(col(Offer.id).in_(parents_needed))):
            by_id[earlier.id] = earlier
    now = utcnow()
    # An owner not verified yet reads offers but answers none (policy.py: `offer`).
    may_act = policy.may(
        "offer",
        is_owner=viewer == thread.owner_id,
        verified=bool(session.scalar(select(col(User.verified)).where(col(User.id) == viewer))),
    )
    result = []
    for offer in offers:
        parent = by_id.get(offer.parent_id) if offer.parent_id else None
        changes = offer_terms.diff(parent.terms, offer.terms) if parent is not None else []
        snapshot = numbers.get(offer.id)
        visible = snapshot is not None and (snapshot.operator_id == viewer or snapshot.shared)
        result.append(
            OfferPublic(
                id=offer.id,
                thread_id=offer.thread_id,
                property_id=thread.property_id,
                version=offer.version,
                parent_id=offer.parent_id,
                made_by=offer.made_by,
                made_by_role="operator" if offer.made_by == thread.operator_id else "owner",
                terms=dict(offer.terms),
                headline=offer_terms.headline(offer.terms),
                status=offer.status,
                expires_at=offer.expires_at,
                created_at=offer.created_at,
                decided_by=offer.decided_by,
                decided_at=offer.decided_at,
                reason=offer.reason,
                message_id=offer.message_id,
                changes=[OfferChange(**c.as_dict()) for c in changes],
                roi=dict(snapshot.roi) if visible and snapshot is not None else None,
                numbers_shared=bool(snapshot and snapshot.shared),
                actions=_actions(offer, viewer=viewer, now=now) if may_act else [],
            )
        )
    return result


def _participant_offer(
    session: Session, *, user_id: uuid.UUID, offer_id: uuid.UUID
) -> tuple[MessagingOffer, MessagingThread]:
    thread_id = session.scalar(select(col(Offer.thread_id)).where(col(Offer.id) == offer_id))
    if thread_id is None:
        raise NotFound(OFFER_NOT_FOUND)
    try:
        thread, _ = _access.participant_thread(session, user_id=user_id, thread_id=thread_id)
    except NotFound:
        raise NotFound(OFFER_NOT_FOUND) from None  # a stranger: the same as a missing id
    offer = session.get(Offer, offer_id)
    if offer is None:
        raise NotFound(OFFER_NOT_FOUND)
    return offer, thread


def get_offer(*, user_id: uuid.UUID, offer_id: Any, db: Engine | None = None) -> OfferPublic:
    oid = validation.as_uuid(offer_id, field="offer_id")
    with reading(db, as_user=user_id) as session:
        offer, thread = _participant_offer(session, user_id=user_id, offer_id=oid)
        return _public(session, [offer], thread=thread, viewer=user_id)[0]


def list_offers(
    *, user_id: uuid.UUID, thread_id: Any, db: Engine | None = None
) -> list[OfferPublic]:
    """Every version in a thread, oldest first."""
    tid = validation.as_uuid(thread_id, field="thread_id")
    with reading(db, as_user=user_id) as session:
        thread, _ = _access.participant_thread(session, user_id=user_id, thread_id=tid)
        rows = list(
            session.scalars(
                select(Offer).where(col(Offer.thread_id) == thread.id).order_by(col(Offer.version))
            )
        )
        return _public(session, rows, thread=thread, viewer=user_id)


# --- making -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Draft:
    terms: dict[str, Any]
    note: str
    client_msg_id: str | None


def _validate(terms: Any, message: Any, client_msg_id: Any) -> _Draft:
    clean = offer_terms.validate(terms)
    note = validation.clean_text(
        message, field="message", max_chars=MAX_MESSAGE_CHARS, required=False
    )
    return _Draft(clean, note, validation.client_msg_id(client_msg_id))


def _name(session: Session, user_id: uuid.UUID) -> str:
    return session.scalar(select(col(User.display_name)).where(col(User.id) == user_id)) or "?"


def _open_offer(session: Session, thread_id: uuid.UUID) -> MessagingOffer | None:
    return session.scalar(
        select(Offer).where(col(Offer.thread_id) == thread_id, col(Offer.status) == "sent")
    )


def _next_version(session: Session, thread_id: uuid.UUID) -> int:
    latest = session.scalar(
        select(func.max(col(Offer.version))).where(col(Offer.thread_id) == thread_id)
    )
    return int(latest or 0) + 1


def _by_client_msg_id(
    session: Session, *, thread_id: uuid.UUID, user_id: uuid.UUID, client_msg_id: str | None
) -> MessagingOffer | None:
    """The offer a retried request (same clientMsgId) already made."""
    if client_msg_id is None:
        return None
    return session.scalar(
        select(Offer)
        .join(M, col(M.id) == col(Offer.message_id))
        .where(
            col(M.thread_id) == thread_id,
            col(M.sender_id) == user_id,
            col(M.client_msg_id) == client_msg_id,
        )
    )


@dataclass(frozen=True)
class _Pdf:
    attachment_id: uuid.UUID
    key: str
    size: int
    filename: str


def _store_pdf(thread_id: uuid.UUID, summary: offer_pdf.Summary) -> _Pdf:
    data = offer_pdf.render(summary)
    attachment_id = uuid.uuid4()
    key = attachments.put_generated(thread_id=thread_id, attachment_id=attachment_id, data=data)
    kind = "Counter-offer" if summary.counter else "Offer"
    filename = f"{kind} v{summary.version} - {summary.property_title[:120]}.pdf"
    return _Pdf(attachment_id, key, len(data), filename)


def _write_version(
    session: Session,
    outbox: Outbox,
    *,
    user_id: uuid.UUID,
    thread: MessagingThread,
    draft: _Draft,
    version: int,
    parent: MessagingOffer | None,
    pdf: _Pdf,
    now: datetime,
    numbers: tuple[dict[str, Any], dict[str, Any], bool] | None = None,
) -> tuple[MessagingOffer, uuid.UUID]:
    """Inside the caller's transaction: the version, its PDF, its message, tag and stage."""
    offer = Offer(
        thread_id=thread.id,
        version=version,
        parent_id=parent.id if parent else None,
        made_by=user_id,
        terms=draft.terms,
        status="sent",
        expires_at=now + timedelta(days=draft.terms["expiresInDays"]),
        created_at=now,
    )
    session.add(offer)
    session.flush()
    if numbers is not None:
        inputs, snapshot, shared = numbers
        session.add(
            N(offer_id=offer.id, operator_id=user_id, inputs=inputs, roi=snapshot, shared=shared)
        )
    session.add(
        attachments.generated_row(
            attachment_id=pdf.attachment_id,
            thread_id=thread.id,
            uploader_id=user_id,
            filename=pdf.filename,
            size=pdf.size,
            storage_key=pdf.key,
        )
    )
    session.flush()
    body = draft.note or default_body(version, offer_terms.headline(draft.terms))
    message = messages.append_in(
        session,
        outbox,
        user_id=user_id,
        thread=thread,
        draft=messages.Draft(
            text=body,
            attachment_url=None,
            attachment_id=pdf.attachment_id,
            client_msg_id=draft.client_msg_id,
            kind="offer",
            meta={"offer_id": str(offer.id), "version": version},
        ),
    )
    offer.message_id = message.id
    session.add(offer)
    changed = ["stage"]
    if parent is None and _add_tag(session, thread_id=thread.id, user_id=user_id):
        changed.append("tags")
    deals.follow_offers(session, thread=thread, latest=offer)
    outbox.append(
        ThreadUpdated(
            thread_id=thread.id,
            participant_ids=_access.participants_of(thread),
            changed=tuple(changed),
        )
    )
    session.flush()
    return offer, message.id


def default_body(version: int, headline: str) -> str:
    """An offer message's text when its maker wrote no note (inbox previews show it)."""
    return f"{'Counter-offer' if version > 1 else 'Offer'} v{version}: {headline}"


def _add_tag(session: Session, *, thread_id: uuid.UUID, user_id: uuid.UUID) -> bool:
    """The thread gets the tag "Offer Sent" (once; never over the tag limit)."""
    tags = set(
        session.scalars(select(col(ThreadTag.tag)).where(col(ThreadTag.thread_id) == thread_id))
    )
    if OFFER_SENT_TAG in tags or len(tags) >= threads.MAX_TAGS_PER_THREAD:
        return False
    session.add(ThreadTag(thread_id=thread_id, tag=OFFER_SENT_TAG, created_by=user_id))
    return True


def send_offer(
    *,
    user_id: uuid.UUID,
    property_id: Any,
    terms: Any,
    roi_inputs: Any = None,
    share_numbers: Any = False,
    message: Any = None,
    client_msg_id: Any = None,
    db: Engine | None = None,
) -> OfferSent:
    """ROI "Send Offer": the operator's thread with the property's owner (opened if there is
    none) and an offer in it, in one transaction; the PDF summary attached; "Offer Sent".

    `roi_inputs`: the ROI calculator's inputs (services/roi.py keys); the snapshot is computed
    here, never taken from the client. A retry with the same `client_msg_id` returns the
    offer the first request made.
    """
    pid = validation.as_uuid(property_id, field="property_id")
    draft = _validate(terms, message, client_msg_id)
    if not isinstance(share_numbers, bool):
        raise Invalid("share must be true or false", field="share_numbers")
    numbers = None
    if roi_inputs is not None:
        if not isinstance(roi_inputs, Mapping):
            raise Invalid("roi must be an object of calculator inputs", field="roi")
        result = roi.compute(roi_inputs)
        numbers = (result.inputs.as_dict(), result.as_dict(), share_numbers)
    ratelimit.check_send(user_id=user_id)
    with reading(db, as_user=user_id) as session:
        prop = session.get(Property, pid)
        if prop is None:
            raise NotFound("Property not found")
        policy.require_account(session, user_id=user_id, action="start_negotiation")
        owner_id = prop.owner_id
        existing = session.scalar(
            select(col(T.id)).where(
                col(T.property_id) == pid,
                col(T.operator_id) == user_id,
                col(T.owner_id) == owner_id,
                col(T.status) == "active",
            )
        )
        title = prop.title
        address = ", ".join(p for p in (prop.address, prop.city, prop.state) if p)
        operator_name, owner_name = _name(session, user_id), _name(session, owner_id)
    opening = threads.validate_opening(user_id=user_id, property_id=pid, owner_id=owner_id)
    for attempt in (1, 2):
        thread_id = existing or uuid.uuid4()
        now = utcnow()
        pdf = None
        try:
            with transaction(db, as_user=user_id) as (session, outbox):
                opened = threads.get_or_create_in(
                    session, outbox, user_id=user_id, opening=opening, new_id=thread_id
                )
                if opened.id != thread_id:
                    existing = opened.id
                    raise _ThreadMoved
                thread, _ = _access.participant_thread(
                    session, user_id=user_id, thread_id=opened.id, for_update=True
                )
                first = _by_client_msg_id(
                    session,
                    thread_id=thread.id,
                    user_id=user_id,
                    client_msg_id=draft.client_msg_id,
                )
                if first is not None:
                    return _sent(first)
                _require_open_thread(session, user_id=user_id, thread=thread)
                if _open_offer(session, thread.id) is not None:
                    raise OfferConflict(
                        "This negotiation already has an open offer: withdraw it or wait for "
                        "the owner's answer",
                        code="offer_open",
                    )
                version = _next_version(session, thread.id)
                expires = now + timedelta(days=draft.terms["expiresInDays"])
                pdf = _store_pdf(
                    thread.id,
                    offer_pdf.Summary(
                        property_title=title,
                        property_address=address,
                        operator_name=operator_name,
                        owner_name=owner_name,
                        version=version,
                        terms=draft.terms,
                        made_at=now,
                        expires_at=expires,
                        counter=False,
                        shared_roi=numbers[1] if numbers and numbers[2] else None,
                    ),
                )
                offer, message_id = _write_version(
                    session,
                    outbox,
                    user_id=user_id,
                    thread=thread,
                    draft=draft,
                    version=version,
                    parent=None,
                    pdf=pdf,
                    now=now,
                    numbers=numbers,
                )
                sent = OfferSent(offer.id, thread.id, message_id, version, offer.status)
            return sent
        except _ThreadMoved:
            continue
        except IntegrityError:
            # A concurrent opener of the same thread, or a concurrent offer in it: the second
            # pass finds theirs (and answers offer_open, or the retried offer).
            if pdf is not None:
                attachments.discard_generated(pdf.key)
            if attempt == 2:
                raise OfferConflict(
                    "Another offer was made in this negotiation at the same time",
                    code="offer_open",
                ) from None
            existing = None
        except BaseException:
            if pdf is not None:
                attachments.discard_generated(pdf.key)
            raise
    raise OfferConflict("The negotiation changed while the offer was made; try again", code="retry")


class _ThreadMoved(Exception):
    """The pair's active thread is not the one the attempt prepared for (opened meanwhile)."""


def _sent(offer: MessagingOffer) -> OfferSent:
    assert offer.message_id is not None
    return OfferSent(offer.id, offer.thread_id, offer.message_id, offer.version, offer.status)


def _require_open_thread(session: Session, *, user_id: uuid.UUID, thread: MessagingThread) -> None:
    if thread.status == "closed":
        raise OfferConflict("This negotiation is closed; reopen it first", code="thread_closed")
    policy.require_in_thread(session, user_id=user_id, thread=thread, action="offer")


# --- deciding ---------------------------------------------------------------------------------


def _locked(
    session: Session, *, user_id: uuid.UUID, offer_id: uuid.UUID
) -> tuple[MessagingOffer, MessagingThread]:
    """The offer and its thread, the thread row locked (every step on a thread queues here)."""
    offer, thread = _participant_offer(session, user_id=user_id, offer_id=offer_id)
    thread, _ = _access.participant_thread(
        session, user_id=user_id, thread_id=thread.id, for_update=True
    )
    session.refresh(offer)  # what the lock's winner wrote, not what we read before it
    return offer, thread


def _require_open(offer: MessagingOffer, *, now: datetime) -> None:
    if offer.status == "countered":
        raise OfferConflict(
            f"Offer v{offer.version} was countered: only the latest version can be answered",
            code="not_latest",
        )
    if offer.status != "sent":
        raise OfferConflict(
            f"Offer v{offer.version} is already {offer.status}", code="offer_closed"
        )
    if offer.expires_at <= now:
        raise OfferConflict(f"Offer v{offer.version} has expired", code="offer_expired")


def _decide(
    session: Session,
    outbox: Outbox,
    *,
    offer: MessagingOffer,
    thread: MessagingThread,
    status: str,
    actor: uuid.UUID | None,
    reason: str | None,
    now: datetime,
) -> None:
    """Move an open offer to `status` (only if still open) and update the thread's stage."""
    changed = session.execute(  # type: ignore[attr-defined]  # an UPDATE's CursorResult
        update(Offer)
        .where(col(Offer.id) == offer.id, col(Offer.status) == "sent")
        .values(status=status, decided_by=actor, decided_at=now, reason=reason)
    ).rowcount
    if changed != 1:
        raise OfferConflict(f"Offer v{offer.version} is no longer open", code="offer_closed")
    session.refresh(offer)
    deals.follow_offers(session, thread=thread, latest=offer)
    outbox.append(
        ThreadUpdated(
            thread_id=thread.id, participant_ids=_access.participants_of(thread), changed=("stage",)
        )
    )


def _system(
    session: Session,
    outbox: Outbox,
    *,
    thread: MessagingThread,
    sender: uuid.UUID,
    text: str,
    offer: MessagingOffer,
    announce: bool = False,
) -> None:
    messages.append_in(
        session,
        outbox,
        user_id=sender,
        thread=thread,
        draft=messages.system_draft(
            text, {"offer_id": str(offer.id), "version": offer.version, "status": offer.status}
        ),
        announce=announce,
    )


def _expire_if_due(*, user_id: uuid.UUID, offer_id: uuid.UUID, db: Engine | None) -> None:
    """An offer found past its time is expired (and announced) before anyone acts on it."""
    with reading(db, as_user=user_id) as session:
        offer, _ = _participant_offer(session, user_id=user_id, offer_id=offer_id)
        due = offer.status == "sent" and offer.expires_at <= utcnow()
    if due:
        expire_due(db=db, only=offer_id)


def _expire_in(
    session: Session,
    outbox: Outbox,
    *,
    offer: MessagingOffer,
    thread: MessagingThread,
    now: datetime,
) -> None:
    """Nobody decided: the offer ran out. Told in the thread as if by its maker, unread."""
    _decide(
        session,
        outbox,
        offer=offer,
        thread=thread,
        status="expired",
        actor=None,
        reason=None,
        now=now,
    )
    _system(
        session,
        outbox,
        thread=thread,
        sender=offer.made_by,
        text=f"Offer v{offer.version} expired without an answer.",
        offer=offer,
        announce=True,
    )


def _act(
    *,
    user_id: uuid.UUID,
    offer_id: Any,
    step: str,
    reason: Any = None,
    db: Engine | None,
) -> OfferPublic:
    oid = validation.as_uuid(offer_id, field="offer_id")
    why = (
        validation.clean_text(reason, field="reason", max_chars=MAX_REASON_CHARS, required=False)
        or None
    )
    _expire_if_due(user_id=user_id, offer_id=oid, db=db)
    with transaction(db, as_user=user_id) as (session, outbox):
        offer, thread = _locked(session, user_id=user_id, offer_id=oid)
        _require_open_thread(session, user_id=user_id, thread=thread)
        now = utcnow()
        _require_open(offer, now=now)
        mine = offer.made_by == user_id
        if step == "withdraw" and not mine:
            raise OfferConflict(
                "Only the party who made an offer can withdraw it", code="not_maker"
            )
        if step != "withdraw" and mine:
            raise OfferConflict(
                "The other party answers this offer; you can withdraw it", code="own_offer"
            )
        status = {"accept": "accepted", "decline": "declined", "withdraw": "withdrawn"}[step]
        _decide(
            session,
            outbox,
            offer=offer,
            thread=thread,
            status=status,
            actor=user_id,
            reason=why,
            now=now,
        )
        name = _name(session, user_id)
        text = {
            "accepted": f"{name} accepted offer v{offer.version}: {offer_terms.headline(offer.terms)}.",
            "declined": f"{name} declined offer v{offer.version}."
            + (f" Reason: {why}" if why else ""),
            "withdrawn": f"{name} withdrew offer v{offer.version}.",
        }[status]
        _system(session, outbox, thread=thread, sender=user_id, text=text, offer=offer)
        return _public(session, [offer], thread=thread, viewer=user_id)[0]


def accept_offer(*, user_id: uuid.UUID, offer_id: Any, db: Engine | None = None) -> OfferPublic:
    return _act(user_id=user_id, offer_id=offer_id, step="accept", db=db)


def decline_offer(
    *, user_id: uuid.UUID, offer_id: Any, reason: Any = None, db: Engine | None = None
) -> OfferPublic:
    return _act(user_id=user_id, offer_id=offer_id, step="decline", reason=reason, db=db)


def withdraw_offer(*, user_id: uuid.UUID, offer_id: Any, db: Engine | None = None) -> OfferPublic:
    return _act(user_id=user_id, offer_id=offer_id, step="withdraw", db=db)


def counter_offer(
    *,
    user_id: uuid.UUID,
    offer_id: Any,
    terms: Any,
    message: Any = None,
    client_msg_id: Any = None,
    db: Engine | None = None,
) -> OfferSent:
    """Version n+1 from the party who did not make version n; n becomes `countered`."""
    oid = validation.as_uuid(offer_id, field="offer_id")
    draft = _validate(terms, message, client_msg_id)
    ratelimit.check_send(user_id=user_id)
    _expire_if_due(user_id=user_id, offer_id=oid, db=db)
    with reading(db, as_user=user_id) as session:
        offer, thread = _participant_offer(session, user_id=user_id, offer_id=oid)
        prop = session.get(Property, thread.property_id)
        title = prop.title if prop else "Property"
        address = ", ".join(p for p in (prop.address, prop.city, prop.state) if p) if prop else ""
        operator_name = _name(session, thread.operator_id)
        owner_name = _name(session, thread.owner_id)
        thread_id, version = thread.id, offer.version + 1
    now = utcnow()
    pdf = _store_pdf(
        thread_id,
        offer_pdf.Summary(
            property_title=title,
            property_address=address,
            operator_name=operator_name,
            owner_name=owner_name,
            version=version,
            terms=draft.terms,
            made_at=now,
            expires_at=now + timedelta(days=draft.terms["expiresInDays"]),
            counter=True,
        ),
    )
    try:
        with transaction(db, as_user=user_id) as (session, outbox):
            offer, thread = _locked(session, user_id=user_id, offer_id=oid)
            first = _by_client_msg_id(
                session, thread_id=thread.id, user_id=user_id, client_msg_id=draft.client_msg_id
            )
            if first is not None:
                attachments.discard_generated(pdf.key)
                return _sent(first)
            _require_open_thread(session, user_id=user_id, thread=thread)
            _require_open(offer, now=now)
            if offer.made_by == user_id:
                raise OfferConflict(
                    "You made this offer: withdraw it and send a new one instead",
                    code="own_offer",
                )
            if offer_terms.diff(offer.terms, draft.terms) == []:
                raise Invalid("A counter-offer must change at least one term", field="terms")
            _decide(
                session,
                outbox,
                offer=offer,
                thread=thread,
                status="countered",
                actor=user_id,
                reason=None,
                now=now,
            )
            new, message_id = _write_version(
                session,
                outbox,
                user_id=user_id,
                thread=thread,
                draft=draft,
                version=offer.version + 1,
                parent=offer,
                pdf=pdf,
                now=now,
            )
            return OfferSent(new.id, thread.id, message_id, new.version, new.status)
    except BaseException:
        attachments.discard_generated(pdf.key)
        raise


# --- expiry -----------------------------------------------------------------------------------

EXPIRE_BATCH = 100


def expire_due(
    *, db: Engine | None = None, now: datetime | None = None, only: uuid.UUID | None = None
) -> int:
    """Expire every open offer past its time and announce it in its thread; returns how many.

    Runs for no user (arbibase_chat/maintenance.py every minute; `only=<id>` before someone
    acts on an offer found due): elevated, documented in _tx.ELEVATED.
    """
    done = 0
    while True:
        moment = now or utcnow()
        with transaction(db, elevated="expire-offers") as (session, outbox):
            query = select(Offer).where(
                col(Offer.status) == "sent", col(Offer.expires_at) <= moment
            )
            if only is not None:
                query = query.where(col(Offer.id) == only)
            due = list(session.scalars(query.order_by(col(Offer.expires_at)).limit(EXPIRE_BATCH)))
            for offer in due:
                # The thread's lock first, as every other step on it takes it.
                thread = session.scalar(
                    select(T).where(col(T.id) == offer.thread_id).with_for_update()
                )
                session.refresh(offer)
                if thread is None or offer.status != "sent":
                    continue
                _expire_in(session, outbox, offer=offer, thread=thread, now=moment)
                done += 1
        if len(due) < EXPIRE_BATCH:
            return done
