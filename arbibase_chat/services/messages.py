"""Messages: send (idempotent on client_msg_id) and keyset-paginated history.

A send is three steps a caller can also take apart: `validate_draft` (raw input, no
database), the participant check, and `append_in` (inside the caller's transaction), so that
another command can append in the same transaction as its own writes (services/opening.py).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, bindparam, exists, insert, select, update
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased
from sqlmodel import Session, col

from arbibase_chat import links
from arbibase_chat.db import utcnow
from arbibase_chat.models import (
    MessagePublic,
    MessagingAttachment,
    MessagingMessage,
    MessagingThread,
    Participant,
)
from arbibase_chat.services import (
    _access,
    attachments,
    email_outbox,
    policy,
    ratelimit,
    validation,
)
from arbibase_chat.services._tx import Outbox, reading, transaction
from arbibase_chat.services.errors import Conflict, Invalid, NotFound, RateLimited
from arbibase_chat.services.events import MessageCreated
from arbibase_chat.services.reads import advance_cursor

ACTIVE_CONFLICT = "Another active thread already exists for this property and pair"

log = logging.getLogger(__name__)

T, P, M = MessagingThread, Participant, MessagingMessage
SENDABLE_KINDS = ("text", "offer")
MAX_METADATA_BYTES = validation.MAX_JSON_BYTES


def to_public(
    message: MessagingMessage, attachment: MessagingAttachment | None = None
) -> MessagePublic:
    if message.deleted_at is not None:
        attachment = None  # a tombstone shows no file (services/message_edits.py)
    return MessagePublic(
        attachment=attachments.to_public(attachment) if attachment is not None else None,
        id=message.id,
        thread_id=message.thread_id,
        sender_id=message.sender_id,
        body=message.body,
        attachment_url=_shown_link(message),
        seen_by=[uuid.UUID(u) for u in message.seen_by or []],
        created_at=message.created_at,
        seq=message.seq,
        kind=message.kind,  # type: ignore[arg-type]
        client_msg_id=message.client_msg_id,
        metadata=_shown_metadata(message),
        edited_at=message.edited_at,
        deleted_at=message.deleted_at,
    )


def _shown_link(message: MessagingMessage) -> str | None:
    """A stored attachment link as it can be opened: one stored before the link rules (e.g.
    "/\\host", which a browser opens on another host) or by plain SQL is not shown."""
    url = message.attachment_url
    if url is None:
        return None
    try:
        return validation.link_url(url, field="attachment_url", site_path=links.ATTACHMENT_PATH)
    except Invalid as exc:
        log.warning("message %s: stored attachment_url %s; not shown", message.id, exc.message)
        return None


def _shown_metadata(message: MessagingMessage) -> dict[str, Any] | None:
    """Stored metadata as it can be shown: a row that breaks the rules (written before they
    existed, or by plain SQL) shows `{}` instead of failing the whole page."""
    meta = message.meta
    if meta is None:
        return None
    problem = (
        validation.json_problem(meta, strict=False)
        if isinstance(meta, dict)
        else "must be an object"
    )
    if problem is None:
        return meta
    log.warning("message %s: stored metadata %s; shown as {}", message.id, problem)
    return {}


def _find_retry(
    session: Session, *, thread_id: uuid.UUID, sender_id: uuid.UUID, client_msg_id: str
) -> MessagingMessage | None:
    keys = {"thread": thread_id, "sender": sender_id, "client_msg_id": client_msg_id}
    # Nearly every send is a first try: a Core probe first, the ORM row only for a retry.
    if session.connection().execute(_RETRY_PROBE, keys).first() is None:
        return None
    return session.scalar(
        select(M).where(
            col(M.thread_id) == thread_id,
            col(M.sender_id) == sender_id,
            col(M.client_msg_id) == client_msg_id,
        )
    )


# The send's hot path runs prebuilt Core statements: building and ORM-executing them cost
# more CPU than the database spent on them (bench/README.md, issue #14).
_RETRY_PROBE = select(col(M.id)).where(
    col(M.thread_id) == bindparam("thread"),
    col(M.sender_id) == bindparam("sender"),
    col(M.client_msg_id) == bindparam("client_msg_id"),
)
_NEXT_SEQ = (
    update(T)
    .where(col(T.id) == bindparam("thread"))
    .values(last_seq=col(T.last_seq) + 1, last_message_at=bindparam("at"))
    .returning(col(T.last_seq))
)
_NEXT_SEQ_REVIVING = _NEXT_SEQ.values(status="active")
_MESSAGES = MessagingMessage.__table__  # type: ignore[attr-defined]
# (column key, model attribute): `meta` is stored in the column "metadata".
_MESSAGE_FIELDS = [
    (column.key, sa_inspect(M).get_property_by_column(column).key) for column in _MESSAGES.columns
]
_INSERT_MESSAGE = insert(_MESSAGES)


@dataclass(frozen=True)
class SendFacts:
    """What a send's checks ask besides the thread, read with it (`_SEND_FACTS`)."""

    already_stored: bool  # the sender stored this client_msg_id in the thread before
    verified: bool  # the sender's account
    operator_tier: str  # the thread's operator's


# Read along with the locked thread, in its statement: a send then makes three round trips
# fewer than asking each apart (the retry probe, the sender's verified flag, the tier).
_SEND_FACTS = (
    exists()
    .where(
        col(M.thread_id) == col(T.id),
        col(M.sender_id) == bindparam("me"),
        col(M.client_msg_id) == bindparam("client_msg_id"),
    )
    .label("already_stored"),
    policy.VERIFIED.label("verified"),
    policy.OPERATOR_TIER.label("operator_tier"),
)


@dataclass(frozen=True)
class Draft:
    """A message as validated (`validate_draft`), before it has a thread, a number or an id."""

    text: str  # "" when the message is only a file
    attachment_url: str | None
    attachment_id: uuid.UUID | None
    client_msg_id: str | None
    kind: str
    meta: dict[str, Any] | None


def validate_draft(
    *,
    body: Any,
    attachment_url: Any = None,
    client_msg_id: Any = None,
    kind: Any = "text",
    metadata: Any = None,
    attachment_id: Any = None,
) -> Draft:
    """The validation boundary of a send: raw input from the API or a page (hence `Any`)."""
    url = validation.link_url(
        attachment_url, field="attachment_url", site_path=links.ATTACHMENT_PATH
    )
    file_id = (
        None if attachment_id is None else validation.as_uuid(attachment_id, field="attachment_id")
    )
    if file_id is not None and url is not None:
        raise Invalid("Give attachment_id or attachment_url, not both", field="attachment_id")
    text = validation.clean_text(
        body,
        field="body",
        max_chars=validation.MAX_MESSAGE_CHARS,
        required=url is None and file_id is None,
    )
    retry_key = validation.client_msg_id(client_msg_id)
    chosen_kind = validation.choice(kind, field="kind", allowed=SENDABLE_KINDS)
    meta = validation.json_object(metadata, field="metadata")
    return Draft(
        text=text,
        attachment_url=url,
        attachment_id=file_id,
        client_msg_id=retry_key,
        kind=chosen_kind,
        meta=meta,
    )


def system_draft(text: str, meta: dict[str, Any]) -> Draft:
    """A system message the services write themselves (already clean; never from input)."""
    return Draft(
        text=text,
        attachment_url=None,
        attachment_id=None,
        client_msg_id=None,
        kind="system",
        meta=meta,
    )


def append_in(
    session: Session,
    outbox: Outbox,
    *,
    user_id: uuid.UUID,
    thread: MessagingThread,
    draft: Draft,
    announce: bool = False,
    facts: SendFacts | None = None,
) -> MessagePublic:
    """Inside the caller's transaction: append `draft` to `thread` as `user_id`.

    `thread` comes from the participant check (`_access.participant_thread`, for_update) in
    the same transaction. A retry with the same client_msg_id returns the first message and
    writes nothing. The commit can still fail with IntegrityError (a concurrent delivery of
    the same client_msg_id; reviving an archived thread while another is active).

    `announce=True`: a system message (`system_draft`) telling of something that happened
    (an offer expired, a deal stage was set): no closed-thread or policy check (the caller
    made its own), and the sender's read cursor stays where it was — they have not seen it.

    `facts`: what the checks below ask, if the caller read it with the thread (the send).
    """
    if announce:
        if draft.kind != "system":
            raise ValueError("only system messages are announced")
    elif draft.client_msg_id is not None and (facts is None or facts.already_stored):
        first = _find_retry(
            session, thread_id=thread.id, sender_id=user_id, client_msg_id=draft.client_msg_id
        )
        if first is not None:
            return to_public(first, attachments_of(session, [first.id]).get(first.id))
    if not announce:
        if thread.status == "closed":
            raise Invalid("This thread is closed; reopen it to send messages", field="status")
        policy.require_in_thread(
            session,
            user_id=user_id,
            thread=thread,
            action="send",
            verified=facts.verified if facts is not None else None,
        )
        # File sharing follows the operator's plan. An offer's own PDF is part of the offer
        # (every plan); an uploaded file could only be uploaded under the same rule.
        if draft.attachment_url is not None or (
            draft.attachment_id is not None and draft.kind != "offer"
        ):
            policy.require_feature(session, user_id=user_id, thread=thread, feature="attachments")
    url = draft.attachment_url
    attachment = None
    if draft.attachment_id is not None:
        attachment = attachments.claim_for_message(
            session, attachment_id=draft.attachment_id, thread_id=thread.id, user_id=user_id
        )
        url = attachments.to_public(attachment).url
    first_event = len(outbox)
    now = utcnow()
    # One statement takes the next number and moves the thread to the top; on
    # Postgres its row lock queues concurrent senders of this thread.
    # The statements below are Core (no autoflush): write the caller's pending ORM changes
    # first, as an ORM statement here would have, or the expire below would discard them.
    session.flush()
    conn = session.connection()
    # (A thread archived before 0011, or by a direct client, becomes active again.)
    next_seq = _NEXT_SEQ_REVIVING if thread.status == "archived" else _NEXT_SEQ
    seq = conn.execute(next_seq, {"thread": thread.id, "at": now}).scalar_one()
    # Both participant rows follow the thread's number in the database (alembic 0015): their
    # copies of last_seq and last_message_at, and a new message brings the thread back into
    # both inboxes (archive is per participant).
    message = M(
        thread_id=thread.id,
        seq=seq,
        sender_id=user_id,
        body=draft.text or None,
        attachment_url=url,
        kind=draft.kind,
        client_msg_id=draft.client_msg_id,
        meta=draft.meta,
        seen_by=[],
        created_at=now,
    )
    conn.execute(_INSERT_MESSAGE, {key: getattr(message, name) for key, name in _MESSAGE_FIELDS})
    # The e-mail this message may owe the other party, in the same transaction (Premium).
    email_outbox.enqueue_in(
        session,
        thread=thread,
        sender_id=user_id,
        seq=seq,
        now=now,
        operator_tier=facts.operator_tier if facts is not None else None,
    )
    if attachment is not None:
        attachment.message_id = message.id
        session.add(attachment)
    # The UPDATE above moved these columns behind the ORM's back: drop the stale
    # values (reloaded only if something reads them; nothing below does).
    session.expire(thread, ["last_seq", "last_message_at", "status"])
    if not announce:
        # Replying means I have read everything before my own message.
        advance_cursor(
            session, outbox, thread=thread, user_id=user_id, to_seq=seq, own_message=True
        )
    result = to_public(message, attachment)
    # The message comes before the cursor move it caused (and after any earlier event of
    # the caller's transaction, e.g. the thread's creation).
    outbox.insert(
        first_event,
        MessageCreated(
            thread_id=thread.id,
            message_id=message.id,
            seq=seq,
            sender_id=user_id,
            participant_ids=_access.participants_of(thread),
            message=result,
        ),
    )
    return result


def send_message(
    *,
    user_id: uuid.UUID,
    thread_id: Any,
    body: Any,
    attachment_url: Any = None,
    client_msg_id: Any = None,
    kind: Any = "text",
    metadata: Any = None,
    attachment_id: Any = None,
    db: Engine | None = None,
) -> MessagePublic:
    """Append a message. A retry with the same client_msg_id returns the first message.

    `attachment_id`: a file the sender uploaded to this thread (services/attachments.py); the
    message gets its URL. Sends are rate limited per user (services/ratelimit.py). Every
    argument but `user_id` and `db` is raw input, validated here.
    """
    draft = validate_draft(
        body=body,
        attachment_url=attachment_url,
        client_msg_id=client_msg_id,
        kind=kind,
        metadata=metadata,
        attachment_id=attachment_id,
    )
    retry_key = draft.client_msg_id
    try:
        ratelimit.check_send(user_id=user_id)
    except RateLimited:
        # A retry of a message that is already stored gets its answer, not a refusal.
        stored = (
            _stored_retry(validation.as_uuid(thread_id, field="thread_id"), user_id, retry_key, db)
            if retry_key
            else None
        )
        if stored is None:
            raise
        return stored
    tid = validation.as_uuid(thread_id, field="thread_id")
    try:
        with transaction(db, as_user=user_id) as (session, outbox):
            thread, (stored, verified, tier) = _access.participant_thread_with(
                session,
                user_id=user_id,
                thread_id=tid,
                columns=_SEND_FACTS,
                params={"me": user_id, "client_msg_id": retry_key},
                for_update=True,
            )
            facts = SendFacts(
                already_stored=bool(stored), verified=bool(verified), operator_tier=tier or "beta"
            )
            result = append_in(
                session, outbox, user_id=user_id, thread=thread, draft=draft, facts=facts
            )
        return result
    except IntegrityError:
        # Two sends of the same client_msg_id raced: the loser returns the winner's row.
        winner = _stored_retry(tid, user_id, retry_key, db) if retry_key else None
        if winner is None:
            # The other unique rule: reviving an archived thread while another is active.
            raise Conflict(ACTIVE_CONFLICT, field="status") from None
        return winner


def _stored_retry(
    thread_id: uuid.UUID, user_id: uuid.UUID, retry_key: str, db: Engine | None
) -> MessagePublic | None:
    """The message already stored under this client_msg_id (a retried send), if any."""
    with reading(db, as_user=user_id) as session:
        thread, _ = _access.participant_thread(session, user_id=user_id, thread_id=thread_id)
        first = _find_retry(
            session, thread_id=thread.id, sender_id=user_id, client_msg_id=retry_key
        )
        if first is None:
            return None
        return to_public(first, attachments_of(session, [first.id]).get(first.id))


def list_messages(
    *,
    user_id: uuid.UUID,
    thread_id: Any,
    before: Any = None,
    after: Any = None,
    limit: int | None = None,
    db: Engine | None = None,
) -> list[MessagePublic]:
    """A page of history, oldest first.

    No anchor: the newest page. `before=<message id>`: the page just older than it (scrolling
    up). `after=<message id>`: the messages newer than it (reconnect catch-up).
    """
    size = validation.page_limit(limit)
    if before is not None and after is not None:
        raise Invalid("Give before or after, not both", field="before")
    tid = validation.as_uuid(thread_id, field="thread_id")
    anchor = None
    query = _access.thread_messages(user_id, tid)
    newest_first = True
    if before is not None:
        anchor = validation.as_uuid(before, field="before")
        query = query.where(col(M.seq) < _anchor_seq(tid, anchor).scalar_subquery())
    elif after is not None:
        anchor = validation.as_uuid(after, field="after")
        query = query.where(col(M.seq) > _anchor_seq(tid, anchor).scalar_subquery())
        newest_first = False
    order = col(M.seq).desc() if newest_first else col(M.seq).asc()
    with reading(db, as_user=user_id) as session:
        # One statement for a page (the access check and the anchor ride in it).
        rows = list(session.scalars(query.order_by(order).limit(size)))
        if not rows:
            # None: an empty page, or a thread or an anchor that is not the caller's. The
            # checks tell which, with their own 404s.
            thread, _ = _access.participant_thread(session, user_id=user_id, thread_id=tid)
            if anchor is not None:
                _seq_of(session, thread.id, anchor)
        files = attachments_of(session, [m.id for m in rows if m.attachment_url])
    if newest_first:
        rows.reverse()
    return [to_public(m, files.get(m.id)) for m in rows]


# The anchor's own alias of the table, so that inside a page's query it is not correlated
# with the page's rows. Built once: a fresh alias per call cost more CPU than the page's query.
_ANCHOR = aliased(M, name="anchor")


def _anchor_seq(thread_id: uuid.UUID, message_id: uuid.UUID) -> Select[int]:
    """The number of the anchor message in this thread (no row when it is not)."""
    return select(col(_ANCHOR.seq)).where(
        col(_ANCHOR.id) == message_id, col(_ANCHOR.thread_id) == thread_id
    )


def _seq_of(session: Session, thread_id: uuid.UUID, message_id: uuid.UUID) -> int:
    seq = session.scalar(_anchor_seq(thread_id, message_id))
    if seq is None:
        raise NotFound("Message not found in this thread")
    return seq


def get_message(*, user_id: uuid.UUID, message_id: Any, db: Engine | None = None) -> MessagePublic:
    """One message, for a participant of its thread (NotFound for anyone else)."""
    mid = validation.as_uuid(message_id, field="message_id")
    with reading(db, as_user=user_id) as session:
        message = _access.participant_message(session, user_id=user_id, message_id=mid)
        return to_public(message, attachments_of(session, [message.id]).get(message.id))


def attachments_of(
    session: Session, message_ids: list[uuid.UUID]
) -> dict[uuid.UUID, MessagingAttachment]:
    """The files behind a page of messages: one query (unique index on message_id)."""
    if not message_ids:
        return {}
    rows = session.scalars(
        select(MessagingAttachment).where(col(MessagingAttachment.message_id).in_(message_ids))
    )
    return {row.message_id: row for row in rows if row.message_id is not None}
