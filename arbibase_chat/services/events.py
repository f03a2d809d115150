"""Domain events, published only after the transaction that caused them has committed.

One small interface: `subscribe(handler)` and the services' `publish(events)`. The realtime
hub subscribes once per worker and forwards to connected sessions. Handlers run in the thread
that committed, so they must be quick and thread-safe (e.g. `loop.call_soon_threadsafe`).

`subscribe_committing(handler)` sees the same events just before the COMMIT is sent: for
what must be in place when the commit's own NOTIFY arrives (it can arrive on the listener's
connection before the committing thread is back from COMMIT). Such a handler must not act
on an event as if it happened: the transaction may still roll back.
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
_committing_handlers: list[Handler] = []
_lock = threading.Lock()


def subscribe(handler: Handler) -> Callable[[], None]:
    """Register a handler of committed events; returns a function that unregisters it."""
    return _add(_handlers, handler)


def subscribe_committing(handler: Handler) -> Callable[[], None]:
    """Register a handler of events about to be committed (see the module's docstring)."""
    return _add(_committing_handlers, handler)


def _add(handlers: list[Handler], handler: Handler) -> Callable[[], None]:
    with _lock:
        handlers.append(handler)

    def unsubscribe() -> None:
        with _lock:
            if handler in handlers:
                handlers.remove(handler)

    return unsubscribe


def publish(events: Iterable[DomainEvent]) -> None:
    """Hand committed events to every subscriber. A failing one is logged: the write happened."""
    _run(_handlers, events)


def committing(events: Iterable[DomainEvent]) -> None:
    """Hand the events of a transaction about to commit to the `subscribe_committing`
    handlers. A failing one is logged: the commit goes ahead."""
    _run(_committing_handlers, events)


def _run(registered: list[Handler], events: Iterable[DomainEvent]) -> None:
    with _lock:
        handlers = list(registered)
    if not handlers:
        return
    for event in events:
        for handler in handlers:
            try:
                handler(event)
            except Exception:
                log.exception("event handler %r failed on %r", handler, event)
