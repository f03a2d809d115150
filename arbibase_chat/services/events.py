"""Domain events, published only after the transaction that caused them has committed.

One small interface: `subscribe(handler)` and the services' `publish(events)`. The realtime
hub subscribes once per worker and forwards to connected sessions. Handlers run in the thread
that committed, so they must be quick and thread-safe (e.g. `loop.call_soon_threadsafe`).
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from arbibase_chat.models import MessagePublic

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class MessageCreated:
    thread_id: uuid.UUID
    message_id: uuid.UUID
    seq: int
    sender_id: uuid.UUID
    participant_ids: tuple[uuid.UUID, ...]
    # The stored message, when the event stays in this process (saves the hub a read). Never
    # sent between processes: Redis and NOTIFY carry ids only, and the hub reads the rest.
    message: MessagePublic | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class ThreadUpdated:
    thread_id: uuid.UUID
    participant_ids: tuple[uuid.UUID, ...]
    changed: tuple[str, ...] = field(default=())


@dataclass(frozen=True, slots=True)
class ReadUpdated:
    thread_id: uuid.UUID
    user_id: uuid.UUID
    last_read_seq: int
    participant_ids: tuple[uuid.UUID, ...]


@dataclass(frozen=True, slots=True)
class MessagesChanged:
    """Stored messages of a thread changed in place (edited, deleted, re-linked).

    services/message_edits.py publishes it after an edit or a delete; the Postgres listener
    raises it when any client changed a message (0003's NOTIFY). Views holding the thread
    reload their window.
    """

    thread_id: uuid.UUID
    participant_ids: tuple[uuid.UUID, ...]


@dataclass(frozen=True, slots=True)
class AccountUpdated:
    """A user's account changed (verified, staff, tier) or a verification claim of theirs was
    submitted or decided: their open pages re-read who they are (SessionState) and their claim.
    `participant_ids` is `(user_id,)`: the one user whose sessions care."""

    user_id: uuid.UUID
    participant_ids: tuple[uuid.UUID, ...]


ThreadEvent = MessageCreated | ThreadUpdated | ReadUpdated | MessagesChanged
DomainEvent = ThreadEvent | AccountUpdated


def account_updated(user_id: uuid.UUID) -> AccountUpdated:
    return AccountUpdated(user_id=user_id, participant_ids=(user_id,))


Handler = Callable[[DomainEvent], None]

_handlers: list[Handler] = []
_lock = threading.Lock()


def subscribe(handler: Handler) -> Callable[[], None]:
    """Register a handler; returns a function that unregisters it."""
    with _lock:
        _handlers.append(handler)

    def unsubscribe() -> None:
        with _lock:
            if handler in _handlers:
                _handlers.remove(handler)

    return unsubscribe


def publish(events: Iterable[DomainEvent]) -> None:
    """Hand committed events to every subscriber. A failing one is logged: the write happened."""
    with _lock:
        handlers = list(_handlers)
    for event in events:
        for handler in handlers:
            try:
                handler(event)
            except Exception:
                log.exception("event handler %r failed on %r", handler, event)
