"""The one participant check. A stranger is told NotFound, exactly as for a missing id."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from arbibase_chat.models import MessagingThread, Participant
from arbibase_chat.services import validation
from arbibase_chat.services.errors import NotFound

THREAD_NOT_FOUND = "thread not found"


def participant_thread(
    session: Session, *, user_id: uuid.UUID, thread_id: Any, for_update: bool = False
) -> tuple[MessagingThread, Participant]:
    tid = validation.as_uuid(thread_id, field="thread_id")
    query = (
        select(MessagingThread, Participant)
        .join(Participant, col(Participant.thread_id) == col(MessagingThread.id))
        .where(col(MessagingThread.id) == tid, col(Participant.user_id) == user_id)
    )
    if for_update:
        query = query.with_for_update(of=MessagingThread)
    row = session.execute(query).first()
    if row is None:
        raise NotFound(THREAD_NOT_FOUND)
    return row[0], row[1]


def participants_of(thread: MessagingThread) -> tuple[uuid.UUID, uuid.UUID]:
    return (thread.operator_id, thread.owner_id)
