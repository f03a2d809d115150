"""Thread commands: get-or-create, and changes of status, subject and tags.

Status (issue #13): archive is personal (`messaging_participants.archived_at`, my inbox only;
a new message clears it for both); close / reopen is shared (`messaging_threads.status`) and
posts a system message both parties see, in the same transaction. Tags are one per thread
whatever their case (the first spelling stays).

Writes only; what a thread looks like in the inbox (listing, search, one row) is the read
model in `inbox.py`, which the commands use to answer with the changed row.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from arbibase_chat.db import utcnow
from arbibase_chat.models import (
    THREAD_STATUSES,
    MessagingThread,
    Participant,
    Property,
    ThreadOpened,
    ThreadPublic,
    ThreadTag,
    User,
)
from arbibase_chat.services import _access, inbox, messages, policy, validation
from arbibase_chat.services._tx import Outbox, reading, transaction
from arbibase_chat.services.errors import Conflict, Invalid, NotFound
from arbibase_chat.services.events import ThreadUpdated

MAX_TAGS_PER_THREAD = 20
ACTIVE_CONFLICT = messages.ACTIVE_CONFLICT

T, P = MessagingThread, Participant


# --- get or create --------------------------------------------------------------------------


@dataclass(frozen=True)
class Opening:
    """Which negotiation to open, as validated (`validate_opening`)."""

    property_id: uuid.UUID
    owner_id: uuid.UUID
    subject: str | None


def validate_opening(
    *, user_id: uuid.UUID, property_id: Any, owner_id: Any, subject: Any = None
) -> Opening:
    """The validation boundary of get-or-create: raw input (hence `Any`) to an `Opening`."""
    pid = validation.as_uuid(property_id, field="property_id")
    oid = validation.as_uuid(owner_id, field="owner_id")
    clean_subject = (
        validation.clean_text(
            subject, field="subject", max_chars=200, required=False, single_line=True
        )
        or None
    )
    if oid == user_id:
        raise Invalid("You cannot open a thread with yourself", field="owner_id")
    return Opening(property_id=pid, owner_id=oid, subject=clean_subject)


def get_or_create_in(
    session: Session,
    outbox: Outbox,
    *,
    user_id: uuid.UUID,
    opening: Opening,
    new_id: uuid.UUID | None = None,
) -> ThreadOpened:
    """Inside the caller's transaction: the pair's active thread, or a new one.

    A concurrent creator of the same active thread makes the commit fail (IntegrityError,
    partial unique index); the caller retries the whole transaction once. `new_id`: the id a
    new thread gets (a caller that stored a file under the thread's folder beforehand).
    """
    pid, oid = opening.property_id, opening.owner_id
    prop = session.get(Property, pid)
    if prop is None:
        raise NotFound("Property not found")
    if prop.owner_id != oid:
        raise Invalid("owner_id is not the owner of this property", field="owner_id")
    policy.require_account(session, user_id=user_id, action="start_negotiation")
    existing = session.scalar(
        select(col(T.id)).where(
            col(T.property_id) == pid,
            col(T.operator_id) == user_id,
            col(T.owner_id) == oid,
            col(T.status) == "active",
        )
    )
    if existing is not None:
        # Opening it again brings it back into my inbox if I had archived it.
        if _set_archived(session, thread_id=existing, user_id=user_id, archived=False):
            outbox.append(
                ThreadUpdated(thread_id=existing, participant_ids=(user_id,), changed=("archived",))
            )
        return ThreadOpened(id=existing, created=False)
    now = utcnow()
    thread = T(
        id=new_id or uuid.uuid4(),
        property_id=pid,
        operator_id=user_id,
        owner_id=oid,
        subject=opening.subject,
        last_message_at=now,
        created_at=now,
    )
    session.add(thread)
    session.flush()
    session.add_all(
        [
            P(thread_id=thread.id, user_id=user_id, role="operator", last_message_at=now),
            P(thread_id=thread.id, user_id=oid, role="owner", last_message_at=now),
        ]
    )
    session.flush()
    outbox.append(
        ThreadUpdated(
            thread_id=thread.id,
            participant_ids=_access.participants_of(thread),
            changed=("created",),
        )
    )
    return ThreadOpened(id=thread.id, created=True)


def get_or_create_thread(
    *,
    user_id: uuid.UUID,
    property_id: Any,
    owner_id: Any,
    subject: Any = None,
    db: Engine | None = None,
) -> ThreadOpened:
    """The caller is the operator; returns the pair's active thread or opens one."""
    opening = validate_opening(
        user_id=user_id, property_id=property_id, owner_id=owner_id, subject=subject
    )
    for attempt in (1, 2):
        try:
            with transaction(db, as_user=user_id) as (session, outbox):
                opened = get_or_create_in(session, outbox, user_id=user_id, opening=opening)
            return opened
        except IntegrityError:
            # A concurrent creator committed the same active thread first (partial unique
            # index); the second pass returns theirs.
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


# --- changing -------------------------------------------------------------------------------


def update_thread(
    *,
    user_id: uuid.UUID,
    thread_id: Any,
    status: str | None = None,
    subject: Any = None,
    add_tags: Iterable[Any] = (),
    remove_tags: Iterable[Any] = (),
    db: Engine | None = None,
) -> ThreadPublic:
    """Change status / subject / tags in one transaction (who may: services/policy.py).

    `status`: "archived" archives the thread for me only; "active" un-archives it for me and
    reopens it if it was closed (shared); "closed" closes it for both. Closing and reopening
    post a system message in the thread."""
    if status is not None:
        status = validation.choice(status, field="status", allowed=THREAD_STATUSES)
    new_subject = None
    if subject is not None:
        new_subject = validation.clean_text(
            subject, field="subject", max_chars=200, required=False, single_line=True
        )
    to_add = _unique_tags(validation.tag(t, field="add_tags") for t in add_tags)
    to_remove = _unique_tags(validation.tag(t, field="remove_tags") for t in remove_tags)
    # Compared as stored (after cleaning, any case): which of the two the caller meant is
    # unknowable.
    removing_keys = {t.lower() for t in to_remove}
    both = [t for t in to_add if t.lower() in removing_keys]
    if both:
        raise Invalid(f"A tag cannot be added and removed at once: {both[0]!r}", field="add_tags")
    tid = validation.as_uuid(thread_id, field="thread_id")
    try:
        with transaction(db, as_user=user_id) as (session, outbox):
            thread, _ = _access.participant_thread(
                session, user_id=user_id, thread_id=tid, for_update=True
            )
            asked: list[policy.ThreadAction] = []
            if status is not None:
                asked.append("change_status")
            if subject is not None:
                asked.append("rename")
            if to_add or to_remove:
                asked.append("tag")
            for action in asked:
                policy.require_in_thread(session, user_id=user_id, thread=thread, action=action)
            changed: list[str] = []
            if status is not None:
                mine_changed = _set_archived(
                    session, thread_id=thread.id, user_id=user_id, archived=status == "archived"
                )
                if status != "archived" and _set_shared_status(
                    session, outbox, thread=thread, user_id=user_id, status=status
                ):
                    changed.append("status")
                elif mine_changed:
                    # Personal: only my own tabs hear of it.
                    outbox.append(
                        ThreadUpdated(
                            thread_id=thread.id, participant_ids=(user_id,), changed=("archived",)
                        )
                    )
            if new_subject is not None and (new_subject or None) != thread.subject:
                thread.subject = new_subject or None
                changed.append("subject")
            if (to_add or to_remove) and _change_tags(session, thread, user_id, to_add, to_remove):
                changed.append("tags")
            session.add(thread)
            session.flush()
            if changed:
                outbox.append(
                    ThreadUpdated(
                        thread_id=thread.id,
                        participant_ids=_access.participants_of(thread),
                        changed=tuple(changed),
                    )
                )
            result = inbox.read_thread_in(session, user_id=user_id, thread_id=thread.id)
    except IntegrityError:
        raise Conflict(ACTIVE_CONFLICT, field="status") from None
    return result


def _set_archived(
    session: Session, *, thread_id: uuid.UUID, user_id: uuid.UUID, archived: bool
) -> bool:
    """Archive (or un-archive) the thread for `user_id` alone. True when something changed."""
    now = utcnow()
    result = session.execute(
        update(P)
        .where(
            col(P.thread_id) == thread_id,
            _access.is_mine(user_id),
            col(P.archived_at).is_(None) if archived else col(P.archived_at).is_not(None),
        )
        .values(archived_at=now if archived else None)
    )
    return bool(getattr(result, "rowcount", 0))


def _set_shared_status(
    session: Session,
    outbox: Outbox,
    *,
    thread: MessagingThread,
    user_id: uuid.UUID,
    status: str,
) -> bool:
    """Close or reopen the thread for both, with a system message saying who did it."""
    before = thread.status
    if status == before:
        return False
    if status == "active" and before == "archived":
        # Archived for both before revision 0011 (or by a direct client): only back, silently.
        if _other_active_exists(session, thread):
            raise Conflict(ACTIVE_CONFLICT, field="status")
        thread.status = "active"
        return True
    if status == "active" and _other_active_exists(session, thread):
        raise Conflict(ACTIVE_CONFLICT, field="status")
    name = session.scalar(select(col(User.display_name)).where(col(User.id) == user_id))
    verb = "closed" if status == "closed" else "reopened"
    draft = messages.system_draft(f"{name} {verb} the conversation", {"status": status})
    if status == "closed":
        # Posted while the thread is still open, as the closer's own message (their cursor
        # moves past it); then the thread closes (append_in expired `status`: set it after).
        messages.append_in(session, outbox, user_id=user_id, thread=thread, draft=draft)
        thread.status = "closed"
    else:
        thread.status = "active"
        session.add(thread)
        session.flush()
        messages.append_in(session, outbox, user_id=user_id, thread=thread, draft=draft)
        thread.status = "active"
    return True


def _unique_tags(tags: Iterable[str]) -> list[str]:
    """Tags in order, the first spelling of each whatever its case."""
    seen: dict[str, str] = {}
    for tag in tags:
        seen.setdefault(tag.lower(), tag)
    return list(seen.values())


def _other_active_exists(session: Session, thread: MessagingThread) -> bool:
    return (
        session.scalar(
            select(col(T.id)).where(
                col(T.property_id) == thread.property_id,
                col(T.operator_id) == thread.operator_id,
                col(T.owner_id) == thread.owner_id,
                col(T.status) == "active",
                col(T.id) != thread.id,
            )
        )
        is not None
    )


def _change_tags(
    session: Session,
    thread: MessagingThread,
    user_id: uuid.UUID,
    to_add: list[str],
    to_remove: list[str],
) -> bool:
    # Stored spelling by its lower case: a tag is the same tag whatever its case.
    current = {
        tag.lower(): tag
        for tag in session.scalars(
            select(col(ThreadTag.tag)).where(col(ThreadTag.thread_id) == thread.id)
        ).all()
    }
    removing = [current[t.lower()] for t in to_remove if t.lower() in current]
    adding = [t for t in to_add if t.lower() not in current]
    if len(current) - len(removing) + len(adding) > MAX_TAGS_PER_THREAD:
        raise Invalid(f"A thread can have at most {MAX_TAGS_PER_THREAD} tags", field="tags")
    for tag in removing:
        row = session.get(ThreadTag, (thread.id, tag))
        if row is not None:
            session.delete(row)
    for tag in adding:
        session.add(ThreadTag(thread_id=thread.id, tag=tag, created_by=user_id))
    return bool(removing or adding)


# --- what the thread's plan includes ---------------------------------------------------------


@dataclass(frozen=True)
class ThreadFeatures:
    """The thread's plan (its operator's tier), what it includes, and for each feature it does
    not, the one line that says so to this viewer (services/policy.py)."""

    tier: str
    features: tuple[str, ...]
    missing: dict[str, str]


def thread_features(
    *, user_id: uuid.UUID, thread_id: Any, db: Engine | None = None
) -> ThreadFeatures:
    tid = validation.as_uuid(thread_id, field="thread_id")
    with reading(db, as_user=user_id) as session:
        thread, _ = _access.participant_thread(session, user_id=user_id, thread_id=tid)
        tier = policy.operator_tier(session, thread)
    included = policy.tier_features(tier)
    is_operator = user_id == thread.operator_id
    return ThreadFeatures(
        tier=tier,
        features=tuple(f for f in policy.FEATURES if f in included),
        missing={
            f: policy.upgrade_message(f, is_operator=is_operator)
            for f in policy.FEATURES
            if f not in included
        },
    )
