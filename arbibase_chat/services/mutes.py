"""Per-thread mute (issue #12, part 3): mine only, for 1 hour, 1 day, or until I unmute.

A muted thread sends me no desktop notification, no sound and no e-mail, and its unread
messages stay out of my navbar total (`reads.unread_total`); the row keeps its own badge. The
other party notices nothing. An e-mail's one-click unsubscribe (RFC 8058) mutes until unmuted.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, or_, update
from sqlalchemy.engine import Engine
from sqlmodel import col

from arbibase_chat.db import utcnow
from arbibase_chat.models import MUTED_FOREVER, Participant
from arbibase_chat.services import _access, validation
from arbibase_chat.services._tx import transaction
from arbibase_chat.services.events import ThreadUpdated

P = Participant
# The choices the UI and the API offer, and how long each lasts (None: until unmuted).
MUTE_CHOICES: tuple[str, ...] = ("1h", "1d", "forever")
_DURATIONS: dict[str, timedelta | None] = {
    "1h": timedelta(hours=1),
    "1d": timedelta(days=1),
    "forever": None,
}


def is_muted(muted_until: datetime | None, now: datetime | None = None) -> bool:
    return muted_until is not None and muted_until > (now or utcnow())


def not_muted(now: datetime) -> ColumnElement[bool]:
    """SQL: the participant row is not muted at `now`."""
    return or_(col(P.muted_until).is_(None), col(P.muted_until) <= now)


def until(duration: Any, now: datetime | None = None) -> datetime | None:
    """The end of a mute chosen now (None: not muted). Raw input: validated here."""
    if duration is None or duration == "":
        return None
    choice = validation.choice(duration, field="duration", allowed=MUTE_CHOICES)
    length = _DURATIONS[choice]
    return MUTED_FOREVER if length is None else (now or utcnow()) + length


def set_mute(
    *, user_id: uuid.UUID, thread_id: Any, duration: Any, db: Engine | None = None
) -> datetime | None:
    """Mute my thread for `duration` ("1h", "1d", "forever"), or unmute it (None or "").

    Returns the end of the mute. Allowed in any thread of mine, closed or not: it changes
    nothing the other party sees."""
    tid = validation.as_uuid(thread_id, field="thread_id")
    muted_until = until(duration)
    with transaction(db, as_user=user_id) as (session, outbox):
        _access.participant_thread(session, user_id=user_id, thread_id=tid)
        session.execute(
            update(P)
            .where(col(P.thread_id) == tid, _access.is_mine(user_id))
            .values(muted_until=muted_until)
        )
        # Only my own tabs hear of it (the row's bell, the navbar total).
        outbox.append(ThreadUpdated(thread_id=tid, participant_ids=(user_id,), changed=("muted",)))
    return muted_until
