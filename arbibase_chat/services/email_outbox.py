"""The e-mail bridge's durable outbox (issue #12, part 2): what is owed, claimed, sent once.

A message in a thread whose operator's plan includes `email_fallback` makes an e-mail due to
the other participant EMAIL_NOTIFY_DELAY_SECONDS later: `enqueue_in` writes the row in the
message's own transaction, so a message is never stored without its e-mail being owed (and a
rolled-back send owes nothing). One *pending* row per (thread, recipient) batches what
arrives until it is sent (the partial unique index; later messages find the row and add
nothing). Whether the e-mail is still wanted — read meanwhile, muted, opted out, no longer
Premium — is decided when it is due, by the dispatcher.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from arbibase_chat.config import get_settings
from arbibase_chat.db import utcnow
from arbibase_chat.models import (
    EmailOutbox,
    MessagingAttachment,
    MessagingMessage,
    MessagingOffer,
    MessagingThread,
    Participant,
    Property,
    User,
)
from arbibase_chat.services import email_tokens, mutes, notification_settings, offer_terms, policy
from arbibase_chat.services._tx import transaction

O = EmailOutbox  # noqa: E741 (the table, as T / P / M elsewhere)


def _insert_pending(dialect: str) -> Any:
    """INSERT ... ON CONFLICT DO NOTHING on the one-pending-row index (both dialects)."""
    table = O.__table__  # type: ignore[attr-defined]
    return postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)


def enqueue_in(
    session: Session,
    *,
    thread: MessagingThread,
    sender_id: uuid.UUID,
    seq: int,
    now: datetime,
    operator_tier: str | None = None,
) -> None:
    """Inside the message's transaction: owe the other party an e-mail about message `seq`.

    Nothing when the thread's plan has no e-mail fallback. Under RLS the sender may only insert
    a fresh pending row for the other participant (alembic 0010): the columns written here.
    `operator_tier`: the thread's operator's tier if the caller read it already."""
    tier = operator_tier or policy.operator_tier(session, thread)
    if "email_fallback" not in policy.tier_features(tier):
        return
    due = now + timedelta(seconds=get_settings().email_notify_delay_seconds)
    dialect = session.get_bind().dialect.name
    for recipient in (thread.operator_id, thread.owner_id):
        if recipient == sender_id:
            continue
        statement = (
            _insert_pending(dialect)
            .values(
                id=uuid.uuid4(),
                thread_id=thread.id,
                user_id=recipient,
                first_seq=seq,
                due_at=due,
                state="pending",
                created_at=now,
            )
            # No conflict target: naming the partial index would need SELECT on the outbox,
            # which a sender must not have. The only other unique key is the fresh id.
            .on_conflict_do_nothing()
        )
        session.execute(statement)


# --- the dispatcher's side: claim, decide, record -----------------------------------------------

M, P, T = MessagingMessage, Participant, MessagingThread
ELEVATED_REASON = "email-outbox"
# How many of the unread messages an e-mail shows (the rest are counted).
RECAP_MESSAGES = 5
MAX_NOTE_CHARS = 300
# A failed send waits RETRY_BASE_SECONDS x 4^(attempts-1) before the next try, at most an hour.
RETRY_BASE_SECONDS = 30.0
MAX_RETRY_SECONDS = 3600.0
# Why a claimed e-mail was not sent (the row's `note`).
SKIP_NOTES = ("read", "covered", "muted", "opted_out", "not_premium", "stranger")


@dataclass(frozen=True)
class Claimed:
    """One outbox row a worker claimed; `claimed_at` names the claim (a later claim of the same
    row by another worker has a later one, and only the current claim may record an outcome)."""

    id: uuid.UUID
    thread_id: uuid.UUID
    user_id: uuid.UUID
    first_seq: int
    attempts: int
    claimed_at: datetime


@dataclass(frozen=True)
class ShownMessage:
    seq: int
    sender_name: str
    text: str
    kind: str
    created_at: datetime


@dataclass(frozen=True)
class ShownOffer:
    offer_id: uuid.UUID
    version: int
    headline: str
    # (label, value) in card order.
    rows: tuple[tuple[str, str], ...]
    made_by_name: str
    expires_at: datetime
    # What the recipient may do with it ("accept", "decline", "counter"); none if it is theirs.
    actions: tuple[str, ...]


@dataclass(frozen=True)
class Outgoing:
    """Everything one e-mail shows, read for its recipient when it was due."""

    claim: Claimed
    recipient_email: str
    recipient_name: str
    counterparty_name: str
    property_title: str
    property_address: str
    # The newest unread messages, oldest first (at most RECAP_MESSAGES), and how many in all.
    messages: tuple[ShownMessage, ...]
    unread_count: int
    # The newest message this e-mail covers: a later e-mail starts after it.
    through_seq: int
    offer: ShownOffer | None
    # The recipient's reply / unsubscribe token for this thread (email_tokens.py).
    token: str


def _due(now: datetime, lease: timedelta) -> ColumnElement[bool]:
    return or_(
        and_(col(O.state) == "pending", col(O.due_at) <= now),
        # Claimed by a worker that died (or hung) between claim and send.
        and_(
            col(O.state) == "sending",
            col(O.claimed_at).is_not(None),
            col(O.claimed_at) < now - lease,
        ),
    )


def claim_due(
    *, limit: int, now: datetime | None = None, db: Engine | None = None
) -> list[Claimed]:
    """Claim up to `limit` due e-mails for this worker, oldest due first, in one transaction.

    On PostgreSQL the rows are locked with FOR UPDATE SKIP LOCKED, so any number of workers
    claim disjoint sets at once; SQLite runs one write transaction at a time. A claimed row is
    `sending` with `claimed_at` = now and one more attempt. A row still `sending` after
    EMAIL_CLAIM_LEASE_SECONDS was claimed by a worker that never finished: it is claimed
    again, unless it has used every attempt (then it is `failed`)."""
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
        raise ValueError("limit must be a positive int")
    settings = get_settings()
    now = now or utcnow()
    lease = timedelta(seconds=settings.email_claim_lease_seconds)
    claimed: list[Claimed] = []
    with transaction(db, elevated=ELEVATED_REASON) as (session, _):
        rows = session.execute(
            select(
                col(O.id),
                col(O.thread_id),
                col(O.user_id),
                col(O.first_seq),
                col(O.attempts),
                col(O.state),
            )
            .where(_due(now, lease))
            .order_by(col(O.due_at))
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).all()
        exhausted = [
            r.id for r in rows if r.state == "sending" and r.attempts >= settings.email_max_attempts
        ]
        if exhausted:
            session.execute(
                update(O)
                .where(col(O.id).in_(exhausted))
                .values(state="failed", note="the worker sending it stopped; no attempts left")
                .execution_options(synchronize_session=False)
            )
        live = [r for r in rows if r.id not in set(exhausted)]
        if live:
            session.execute(
                update(O)
                .where(col(O.id).in_([r.id for r in live]))
                .values(state="sending", claimed_at=now, attempts=col(O.attempts) + 1)
                .execution_options(synchronize_session=False)
            )
        claimed = [
            Claimed(r.id, r.thread_id, r.user_id, r.first_seq, r.attempts + 1, now) for r in live
        ]
    return claimed


def _still_mine(claim: Claimed) -> ColumnElement[bool]:
    return and_(
        col(O.id) == claim.id,
        col(O.state) == "sending",
        col(O.claimed_at) == claim.claimed_at,
    )


def _finish(session: Session, claim: Claimed, **values: Any) -> bool:
    # Core-style (no ORM session to keep in step): one UPDATE by primary key and claim.
    result = session.execute(
        update(O)
        .where(_still_mine(claim))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]  # an UPDATE's CursorResult


def _note(text: str) -> str:
    return text[:MAX_NOTE_CHARS]


def _back_to_pending(
    session: Session,
    claim: Claimed,
    *,
    due_at: datetime,
    first_seq: int,
    note: str | None,
    attempts: int | None = None,
) -> str | None:
    """Put a claimed row back in the queue ("pending"). If a newer message already queued
    another pending row for the same recipient and thread (the one-pending-row index), that
    row takes over: it starts at the earlier message and this one is closed ("merged").
    None: the claim was no longer ours."""
    values: dict[str, Any] = {
        "state": "pending",
        "due_at": due_at,
        "first_seq": first_seq,
        "claimed_at": None,
        "note": note,
    }
    if attempts is not None:
        values["attempts"] = attempts
    try:
        with session.begin_nested():
            return "pending" if _finish(session, claim, **values) else None
    except IntegrityError:
        pass  # a newer pending row holds the one-pending slot: merge into it below
    session.execute(
        update(O)
        .where(
            col(O.thread_id) == claim.thread_id,
            col(O.user_id) == claim.user_id,
            col(O.state) == "pending",
            col(O.first_seq) > first_seq,
        )
        .values(first_seq=first_seq)
        .execution_options(synchronize_session=False)
    )
    merged = _note("merged into the pending e-mail" + (f"; {note}" if note else ""))
    return "merged" if _finish(session, claim, state="skipped", note=merged) else None


def _skip(session: Session, claim: Claimed, note: str) -> None:
    _finish(session, claim, state="skipped", note=note)


def _message_text(message: MessagingMessage, filename: str | None) -> str:
    body = (message.body or "").strip()
    if filename:
        return f"{body}\n[file: {filename}]" if body else f"[file: {filename}]"
    return body or "(no text)"


@dataclass(frozen=True)
class _Person:
    email: str
    name: str
    tier: str
    verified: bool


def _offer_shown(
    session: Session,
    *,
    thread: MessagingThread,
    recipient: uuid.UUID,
    people: dict[uuid.UUID, _Person],
    now: datetime,
) -> ShownOffer | None:
    """The thread's open offer, as the recipient may act on it (none: nothing open)."""
    offer = session.scalar(
        select(MessagingOffer).where(
            col(MessagingOffer.thread_id) == thread.id,
            col(MessagingOffer.status) == "sent",
            col(MessagingOffer.expires_at) > now,
        )
    )
    if offer is None:
        return None
    rows = tuple(
        (offer_terms.LABELS[key].capitalize(), offer_terms.show(key, offer.terms.get(key)))
        for key in offer_terms.KEYS
        if key != "expiresInDays" and offer_terms.worth_showing(key, offer.terms.get(key))
    )
    # The same rule the app applies (policy `offer`): an unverified owner answers no offer.
    may_act = offer.made_by != recipient and policy.may(
        "offer", is_owner=recipient == thread.owner_id, verified=people[recipient].verified
    )
    maker = people.get(offer.made_by)
    return ShownOffer(
        offer_id=offer.id,
        version=offer.version,
        headline=offer_terms.headline(offer.terms),
        rows=rows,
        made_by_name=maker.name if maker else "?",
        expires_at=offer.expires_at,
        actions=("accept", "decline", "counter") if may_act else (),
    )


def prepare(
    *, claim: Claimed, now: datetime | None = None, db: Engine | None = None
) -> Outgoing | None:
    """Decide whether a claimed e-mail is still wanted and read what it shows (one elevated
    transaction). None: nothing to send — the row is closed as `skipped` with the reason,
    put back in the queue, or no longer this worker's claim.

    Never to a stranger (the recipient must still be a participant of the thread), never below
    Premium, never when muted or opted out, never about messages already read or already
    shown in an earlier e-mail. Issues the recipient's reply / unsubscribe token."""
    now = now or utcnow()
    delay = timedelta(seconds=get_settings().email_notify_delay_seconds)
    with transaction(db, elevated=ELEVATED_REASON) as (session, _):
        if session.scalar(select(col(O.id)).where(_still_mine(claim))) is None:
            return None  # another worker took it over after our lease ran out
        thread = session.get(T, claim.thread_id)
        me = session.scalar(
            select(P).where(col(P.thread_id) == claim.thread_id, col(P.user_id) == claim.user_id)
        )
        if (
            thread is None
            or me is None
            or claim.user_id not in (thread.operator_id, thread.owner_id)
        ):
            _skip(session, claim, "stranger")
            return None
        # Both participants in one read: names, addresses, the operator's tier (the thread's
        # plan follows it, as policy.operator_tier says), the recipient's verification.
        people = {
            row.id: _Person(row.email, row.display_name, row.tier or "beta", row.verified)
            for row in session.execute(
                select(
                    col(User.id),
                    col(User.email),
                    col(User.display_name),
                    col(User.tier),
                    col(User.verified),
                ).where(col(User.id).in_((thread.operator_id, thread.owner_id)))
            )
        }
        if claim.user_id not in people:
            _skip(session, claim, "stranger")
            return None
        operator = people.get(thread.operator_id)
        if "email_fallback" not in policy.tier_features(operator.tier if operator else "beta"):
            _skip(session, claim, "not_premium")
            return None
        if mutes.is_muted(me.muted_until, now):
            _skip(session, claim, "muted")
            return None
        if not notification_settings.email_enabled_in(session, claim.user_id):
            _skip(session, claim, "opted_out")
            return None
        covered = (
            session.scalar(
                select(func.max(col(O.through_seq))).where(
                    col(O.thread_id) == claim.thread_id,
                    col(O.user_id) == claim.user_id,
                    col(O.state) == "sent",
                )
            )
            or 0
        )
        start = max(me.last_read_seq, covered)
        unread = and_(
            col(M.thread_id) == claim.thread_id,
            col(M.seq) > start,
            col(M.sender_id) != claim.user_id,
            col(M.deleted_at).is_(None),
        )
        count, oldest_seq, newest_seq, oldest_at = session.execute(
            select(
                func.count(),
                func.min(col(M.seq)),
                func.max(col(M.seq)),
                func.min(col(M.created_at)),
            ).where(unread)
        ).one()
        if not count:
            _skip(session, claim, "covered" if covered > me.last_read_seq else "read")
            return None
        oldest_at = _aware(oldest_at)
        if me.last_read_seq >= claim.first_seq and oldest_at + delay > now:
            # They read part of the batch meanwhile: what is left gets its own full delay.
            # Not a failed attempt: the claim's attempt is given back.
            _back_to_pending(
                session,
                claim,
                due_at=oldest_at + delay,
                first_seq=oldest_seq,
                note=None,
                attempts=claim.attempts - 1,
            )
            return None
        recent = list(
            session.execute(
                select(M, col(MessagingAttachment.filename))
                .outerjoin(MessagingAttachment, col(MessagingAttachment.message_id) == col(M.id))
                .where(unread)
                .order_by(col(M.seq).desc())
                .limit(RECAP_MESSAGES)
            ).all()
        )
        recent.reverse()
        other = thread.owner_id if claim.user_id == thread.operator_id else thread.operator_id
        recipient = people[claim.user_id]
        names = {uid: person.name for uid, person in people.items()}
        prop = session.get(Property, thread.property_id)
        place = ", ".join(p for p in (prop.address, prop.city) if p) if prop else ""
        token = email_tokens.issue_in(session, user_id=claim.user_id, thread_id=thread.id, now=now)
        return Outgoing(
            claim=claim,
            recipient_email=recipient.email,
            recipient_name=recipient.name,
            counterparty_name=names.get(other, "?"),
            property_title=prop.title if prop else (thread.subject or "Your negotiation"),
            property_address=place,
            messages=tuple(
                ShownMessage(
                    seq=m.seq,
                    sender_name=names.get(m.sender_id, "?"),
                    text=_message_text(m, filename),
                    kind=m.kind,
                    created_at=m.created_at,
                )
                for m, filename in recent
            ),
            unread_count=count,
            through_seq=newest_seq,
            offer=_offer_shown(
                session, thread=thread, recipient=claim.user_id, people=people, now=now
            ),
            token=token,
        )


def _aware(value: datetime) -> datetime:
    # An aggregate's value skips the column type: SQLite gives a naive (UTC) datetime or text.
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def mark_sent(
    *, claim: Claimed, message_id: str, through_seq: int, db: Engine | None = None
) -> bool:
    """Record the send (only if the claim is still this worker's). False: it was not."""
    with transaction(db, elevated=ELEVATED_REASON) as (session, _):
        return _finish(
            session,
            claim,
            state="sent",
            sent_at=utcnow(),
            email_message_id=message_id[:255],
            through_seq=through_seq,
            note=None,
        )


def mark_skipped(*, claim: Claimed, note: str, db: Engine | None = None) -> bool:
    with transaction(db, elevated=ELEVATED_REASON) as (session, _):
        return _finish(session, claim, state="skipped", note=_note(note))


def retry_delay(attempts: int) -> timedelta:
    """How long a failed send waits before its next attempt (`attempts` made so far)."""
    return timedelta(seconds=min(RETRY_BASE_SECONDS * 4 ** max(attempts - 1, 0), MAX_RETRY_SECONDS))


def mark_failed_or_retry(
    *, claim: Claimed, error: str, now: datetime | None = None, db: Engine | None = None
) -> str | None:
    """A send failed: back in the queue after a backoff, or `failed` once EMAIL_MAX_ATTEMPTS
    attempts were made. Returns the row's new state (None: the claim was no longer ours)."""
    now = now or utcnow()
    note = _note(error or "send failed")
    with transaction(db, elevated=ELEVATED_REASON) as (session, _):
        if claim.attempts >= get_settings().email_max_attempts:
            return "failed" if _finish(session, claim, state="failed", note=note) else None
        return _back_to_pending(
            session,
            claim,
            due_at=now + retry_delay(claim.attempts),
            first_seq=claim.first_seq,
            note=note,
        )
