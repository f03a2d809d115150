"""What the realtime path hands to a live view: plain values, no behaviour.

Pages import these types (and `realtime/views.py`), never the hub: realtime/ names no page,
and a new live page needs no edit under realtime/.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from arbibase_chat.models import MessagePublic, ThreadPublic


@dataclass(frozen=True, slots=True)
class UserUpdate:
    """What one committed event means for one user (shared by all that user's tabs).

    Only what changed is filled in: None means "unchanged", so nothing is queried for it.
    """

    user_id: uuid.UUID
    thread_id: uuid.UUID
    thread: ThreadPublic | None = None  # the user's fresh inbox row for the thread
    unread_total: int | None = None
    message: MessagePublic | None = None  # message_created
    seen_seq: int | None = None  # the other side has read up to here (read_updated)
    reload: bool = False  # stored messages changed in place: reload the open window
    read_to: int | None = None  # my own cursor moved to here (the hub may have read for me)


@dataclass(frozen=True, slots=True)
class TypingUpdate:
    thread_id: uuid.UUID
    name: str  # "" when the typing stopped


@dataclass(frozen=True, slots=True)
class Resync:
    """Events may have been missed (the database listener reconnected): catch up on all."""

    user_id: uuid.UUID


@dataclass(frozen=True, slots=True)
class TypingSignal:
    """Someone is typing (name) or stopped (""): travels between workers, never stored."""

    thread_id: uuid.UUID
    to_user: uuid.UUID
    name: str


@dataclass(frozen=True, slots=True)
class AccountChanged:
    """The user's account or verification claim changed (AccountUpdated): re-read it."""

    user_id: uuid.UUID


Update = UserUpdate | TypingUpdate | Resync | AccountChanged
