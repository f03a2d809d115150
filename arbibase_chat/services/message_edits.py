"""Editing and deleting one's own messages, within the edit window (issue #12, part 5).

Only the sender, only a `text` message (offers are withdrawn, system messages are a record:
409 `not_editable`), only within MESSAGE_EDIT_WINDOW_SECONDS of sending it (409
`edit_window_closed`), never after a delete (409 `message_deleted`), in a thread not closed
(409 `thread_closed`), and an owner only once verified (403 `verify_ownership`, as a send). A
stranger gets NotFound. A message holding only a file can be deleted, not edited.

An edit replaces the text and stamps `edited_at`; a delete leaves a tombstone for both parties:
`deleted_at` stamped, body, link and metadata cleared. The file of a deleted message stays
linked to it (the row and the object are the audit's) but is hidden: the message shows no
attachment and `_access.participant_attachment` no longer finds it, so its URL answers 404.
Every edit and the delete keep the previous text in `messaging_message_edits` (written here on
SQLite; on PostgreSQL by alembic 0009's trigger, for every writer).

After the commit `MessagesChanged` reloads the thread's open views (on PostgreSQL the same
news comes from 0003's NOTIFY trigger, the deployment's one event source).
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from arbibase_chat.config import get_settings
from arbibase_chat.db import utcnow
from arbibase_chat.models import (
    MessagePublic,
    MessagingMessage,
    MessagingMessageEdit,
    MessagingThread,
)
from arbibase_chat.services import _access, messages, policy, validation
from arbibase_chat.services._tx import Outbox, reading, transaction
from arbibase_chat.services.errors import EditConflict, NotFound
from arbibase_chat.services.events import MessagesChanged

M = MessagingMessage
EDITABLE_KINDS = ("text",)


def edit_window() -> timedelta:
    return timedelta(seconds=get_settings().message_edit_window_seconds)


def editable_until(created_at: datetime) -> datetime:
    return created_at + edit_window()


def may_change(message: MessagePublic, *, me: str, now: datetime | None = None) -> bool:
    """For a view (no database): may `me` still edit or delete this message? The service
    decides again when asked; this only hides the menu."""
    return (
        str(message.sender_id) == me
        and message.kind in EDITABLE_KINDS
        and message.deleted_at is None
        and (now or utcnow()) <= editable_until(message.created_at)
    )


def edit_message(
    *,
    user_id: uuid.UUID,
    thread_id: Any,
    message_id: Any,
    body: Any,
    db: Engine | None = None,
) -> MessagePublic:
    """Replace the text of my own text message; the same text again changes nothing."""
    text = validation.clean_text(
        body, field="body", max_chars=validation.MAX_MESSAGE_CHARS, required=True
    )
    tid = validation.as_uuid(thread_id, field="thread_id")
    mid = validation.as_uuid(message_id, field="message_id")
    with transaction(db, as_user=user_id) as (session, outbox):
        thread, message = _changeable(session, user_id=user_id, thread_id=tid, message_id=mid)
        if message.body is None:
            raise EditConflict(
                "A file without text can be deleted, not edited", code="not_editable"
            )
        if message.body == text:
            return messages.to_public(message, _file(session, message))
        _audit(session, message, user_id=user_id, action="edit")
        message.body = text
        message.edited_at = utcnow()
        result = _save(session, outbox, thread, message)
    return result


def delete_message(
    *, user_id: uuid.UUID, thread_id: Any, message_id: Any, db: Engine | None = None
) -> MessagePublic:
    """Leave a tombstone of my own text message: `deleted_at`, no text, no file, no metadata."""
    tid = validation.as_uuid(thread_id, field="thread_id")
    mid = validation.as_uuid(message_id, field="message_id")
    with transaction(db, as_user=user_id) as (session, outbox):
        thread, message = _changeable(session, user_id=user_id, thread_id=tid, message_id=mid)
        _audit(session, message, user_id=user_id, action="delete")
        message.deleted_at = utcnow()
        message.body = None
        message.attachment_url = None
        message.meta = None
        result = _save(session, outbox, thread, message)
    return result


def list_edits(
    *, user_id: uuid.UUID, thread_id: Any, message_id: Any, db: Engine | None = None
) -> list[MessagingMessageEdit]:
    """The audit of one message, oldest first, for a participant of its thread (support,
    tests; not shown in the UI)."""
    tid = validation.as_uuid(thread_id, field="thread_id")
    mid = validation.as_uuid(message_id, field="message_id")
    with reading(db, as_user=user_id) as session:
        _access.participant_thread(session, user_id=user_id, thread_id=tid)
        rows = session.scalars(
            select(MessagingMessageEdit)
            .where(
                col(MessagingMessageEdit.message_id) == mid,
                col(MessagingMessageEdit.thread_id) == tid,
            )
            .order_by(col(MessagingMessageEdit.edited_at), col(MessagingMessageEdit.action))
        )
        return list(rows)


# --- inside the transaction ---------------------------------------------------------------


def _in_thread(
    session: Session, *, user_id: uuid.UUID, thread_id: uuid.UUID, message_id: uuid.UUID
) -> tuple[MessagingThread, MessagingMessage]:
    """The thread (the participant check) and the message in it, row-locked (edits of one
    message queue). A message of another thread, mine or not, is NotFound here."""
    thread, _ = _access.participant_thread(session, user_id=user_id, thread_id=thread_id)
    message = session.scalar(
        select(M).where(col(M.id) == message_id, col(M.thread_id) == thread.id).with_for_update()
    )
    if message is None:
        raise NotFound(_access.MESSAGE_NOT_FOUND)
    return thread, message


def _changeable(
    session: Session, *, user_id: uuid.UUID, thread_id: uuid.UUID, message_id: uuid.UUID
) -> tuple[MessagingThread, MessagingMessage]:
    thread, message = _in_thread(
        session, user_id=user_id, thread_id=thread_id, message_id=message_id
    )
    if message.sender_id != user_id:
        raise EditConflict("Only its sender can change a message", code="not_sender")
    # Changing what one said is saying something: the rule of a send (an unverified owner: 403).
    policy.require_in_thread(session, user_id=user_id, thread=thread, action="send")
    if message.deleted_at is not None:
        raise EditConflict("This message was deleted", code="message_deleted")
    if message.kind not in EDITABLE_KINDS:
        raise EditConflict(
            "Offers are withdrawn, not edited; system messages never change", code="not_editable"
        )
    if utcnow() > editable_until(message.created_at):
        minutes = get_settings().message_edit_window_seconds // 60
        raise EditConflict(
            f"Messages can be changed for {minutes} minutes after sending",
            code="edit_window_closed",
        )
    if thread.status == "closed":
        raise EditConflict("This negotiation is closed; reopen it first", code="thread_closed")
    return thread, message


def _audit(session: Session, message: MessagingMessage, *, user_id: uuid.UUID, action: str) -> None:
    # On PostgreSQL alembic 0009's trigger writes the row (for every writer, and `authenticated`
    # may not); elsewhere there is no trigger.
    if session.get_bind().dialect.name == "postgresql":
        return
    session.add(
        MessagingMessageEdit(
            message_id=message.id,
            thread_id=message.thread_id,
            editor_id=user_id,
            action=action,
            previous_body=message.body,
            edited_at=utcnow(),
        )
    )


def _save(
    session: Session, outbox: Outbox, thread: MessagingThread, message: MessagingMessage
) -> MessagePublic:
    session.add(message)
    session.flush()
    # The database may have stamped the time itself (0009's trigger: now()).
    session.refresh(message)
    outbox.append(
        MessagesChanged(thread_id=thread.id, participant_ids=_access.participants_of(thread))
    )
    return messages.to_public(message, _file(session, message))


def _file(session: Session, message: MessagingMessage) -> Any:
    return messages.attachments_of(session, [message.id]).get(message.id)
