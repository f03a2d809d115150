"""The Portfolio: each property I negotiate on (an owner: each property I own), with its deal.

One row per property: the unread summary of `reads.unread_by_property` (threads, messages,
unread, last activity) plus the deal — the stage and the latest offer of its most recently
active negotiation — and whether it needs me (unread messages, or an open offer waiting for
my answer). Properties that need me come first, then by latest activity. Owners also see the
properties nobody has contacted yet, so the page is their list of listings too.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import col

from arbibase_chat.models import MessagingOffer, MessagingThread, Participant, Property, User
from arbibase_chat.services import _access
from arbibase_chat.services._tx import reading
from arbibase_chat.services.reads import UNREAD

T, P, Offer = MessagingThread, Participant, MessagingOffer


class PortfolioItem(BaseModel):
    # The same numbers as GET /api/portfolio/unread...
    property_id: uuid.UUID
    property_title: str
    thread_count: int
    message_count: int
    unread_count: int
    last_message_at: datetime | None
    # ...and the deal.
    city: str
    monthly_rent_cents: int | None
    stage: str | None
    thread_id: uuid.UUID | None  # the negotiation a click opens (the most recently active)
    latest_offer_rent: float | None
    latest_offer_status: str | None
    offers_awaiting_me: int
    needs_attention: bool


def portfolio(*, user_id: uuid.UUID, db: Engine | None = None) -> list[PortfolioItem]:
    with reading(db, as_user=user_id) as session:
        role = session.scalar(select(col(User.role)).where(col(User.id) == user_id))
        # Per property: counts over my threads (as in reads.unread_by_property).
        counts = {
            pid: (threads, int(messages), int(unread), last)
            for pid, threads, messages, unread, last in session.execute(
                select(
                    col(T.property_id),
                    func.count(col(T.id)),
                    func.coalesce(func.sum(col(T.last_seq)), 0),
                    func.coalesce(func.sum(UNREAD), 0),
                    func.max(col(T.last_message_at)),
                )
                .select_from(P)
                .join(T, col(T.id) == col(P.thread_id))
                .where(_access.is_mine(user_id))
                .group_by(col(T.property_id))
            )
        }
        # The most recently active thread of each property: its stage and the click target.
        ranked = (
            select(
                col(T.property_id).label("property_id"),
                col(T.id).label("thread_id"),
                col(T.stage).label("stage"),
                func.row_number()
                .over(
                    partition_by=col(T.property_id),
                    order_by=(col(T.last_message_at).desc(), col(T.id).desc()),
                )
                .label("n"),
            )
            .select_from(P)
            .join(T, col(T.id) == col(P.thread_id))
            .where(_access.is_mine(user_id))
            .subquery()
        )
        leading = {
            pid: (tid, stage)
            for pid, tid, stage in session.execute(
                select(ranked.c.property_id, ranked.c.thread_id, ranked.c.stage).where(
                    ranked.c.n == 1
                )
            )
        }
        # The latest offer made on each property (any of my threads).
        offers_ranked = (
            select(
                col(T.property_id).label("property_id"),
                col(Offer.terms).label("terms"),
                col(Offer.status).label("status"),
                func.row_number()
                .over(
                    partition_by=col(T.property_id),
                    order_by=(col(Offer.created_at).desc(), col(Offer.version).desc()),
                )
                .label("n"),
            )
            .select_from(P)
            .join(T, col(T.id) == col(P.thread_id))
            .join(Offer, col(Offer.thread_id) == col(T.id))
            .where(_access.is_mine(user_id))
            .subquery()
        )
        latest = {
            pid: (terms, status)
            for pid, terms, status in session.execute(
                select(
                    offers_ranked.c.property_id, offers_ranked.c.terms, offers_ranked.c.status
                ).where(offers_ranked.c.n == 1)
            )
        }
        awaiting = dict(
            session.execute(
                select(col(T.property_id), func.count(col(Offer.id)))
                .select_from(P)
                .join(T, col(T.id) == col(P.thread_id))
                .join(Offer, col(Offer.thread_id) == col(T.id))
                .where(
                    _access.is_mine(user_id),
                    col(Offer.status) == "sent",
                    col(Offer.made_by) != user_id,
                )
                .group_by(col(T.property_id))
            ).all()
        )
        wanted = set(counts)
        properties_query = select(Property)
        if role == "owner":
            properties_query = properties_query.where(col(Property.owner_id) == user_id)
        elif not wanted:
            return []
        else:
            properties_query = properties_query.where(col(Property.id).in_(wanted))
        props = {p.id: p for p in session.scalars(properties_query)}
    items = []
    for pid, prop in props.items():
        threads, messages, unread, last = counts.get(pid, (0, 0, 0, None))
        thread_id, stage = leading.get(pid, (None, None))
        terms, status = latest.get(pid, (None, None))
        rent = terms.get("monthlyRent") if isinstance(terms, dict) else None
        waiting = int(awaiting.get(pid, 0))
        items.append(
            PortfolioItem(
                property_id=pid,
                property_title=prop.title,
                thread_count=threads,
                message_count=messages,
                unread_count=unread,
                last_message_at=last,
                city=prop.city,
                monthly_rent_cents=prop.monthly_rent_cents,
                stage=stage,
                thread_id=thread_id,
                latest_offer_rent=float(rent) if isinstance(rent, int | float) else None,
                latest_offer_status=status,
                offers_awaiting_me=waiting,
                needs_attention=unread > 0 or waiting > 0,
            )
        )

    def order(item: PortfolioItem) -> tuple[bool, float, str]:
        # Needing me first; then the latest activity; never-contacted listings last.
        stamp = item.last_message_at.timestamp() if item.last_message_at else float("-inf")
        return (not item.needs_attention, -stamp, item.property_title)

    items.sort(key=order)
    return items
