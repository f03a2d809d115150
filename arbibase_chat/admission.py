"""Admission before the state lock: an overloaded worker refuses a send at the socket.

`aio.sends` bounds the message writes in flight, but it is reached only inside the send
handler, after Reflex has loaded and locked the tab's state and shown the pending bubble: at
several times capacity those state updates are what the worker's CPU goes to, and the queue of
events waiting for state locks (and their latency) keeps growing although sends are refused.

So the worker's socket handler (`EventNamespace.on_event`) is wrapped: a `ChatState.send`
event that arrives while MAX_SENDS_IN_FLIGHT sends are already admitted and not finished is
answered at once with one socket frame (the "busy" toast; assets/chat.js then shows the text
as "Not sent" with Retry, which reuses the send's id) and never reaches Reflex's event queue:
no state is loaded, locked or sent. Every other event passes untouched.

A send holds a place from admission until `finished` (ChatState.send's `finally`). Between
admission and `started` (the handler's first line) its place is "waiting". An admitted event
Reflex never runs (its socket went away, a reconnect superseded it) must not hold its place
for long, and background handlers start as soon as Reflex dequeues them: a place still
waiting after WAITING_TTL_SECONDS is given back. A started send is counted exactly (its
`finally` always runs), however long its store takes.
"""

from __future__ import annotations

import collections
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import reflex as rx
from reflex.event import Event
from reflex.state import StateUpdate

from arbibase_chat.aio import BUSY
from arbibase_chat.config import get_settings

log = logging.getLogger(__name__)

WAITING_TTL_SECONDS = 5.0
LOG_EVERY_SECONDS = 10.0


class Admission:
    """This worker's admitted sends (one event loop per worker: no lock needed)."""

    def __init__(self, limit: Callable[[], int], ttl: float = WAITING_TTL_SECONDS) -> None:
        self._limit = limit
        self._ttl = ttl
        self._waiting: collections.deque[float] = collections.deque()  # admitted, not started
        self.running = 0  # started, not finished
        self.refused = 0
        self.never_started = 0  # waiting places given back after the TTL
        self._logged_at = -LOG_EVERY_SECONDS
        self.admitted_total = 0
        self.finished_total = 0

    def in_flight(self) -> int:
        cutoff = time.monotonic() - self._ttl
        while self._waiting and self._waiting[0] < cutoff:
            self._waiting.popleft()
            self.never_started += 1
        return len(self._waiting) + self.running

    def admit(self) -> bool:
        limit = self._limit()
        if not limit:  # no bound: nothing to count (and nothing would ever prune the places)
            return True
        if self.in_flight() >= limit:
            self.refused += 1
            now = time.monotonic()
            if now - self._logged_at >= LOG_EVERY_SECONDS:
                # An operator should see a worker turning sends away (at most every 10 s).
                self._logged_at = now
                log.warning(
                    "admission: %d sends refused as busy so far (%d running, %d waiting to "
                    "start, MAX_SENDS_IN_FLIGHT=%d; %d admitted, %d finished, %d never started)",
                    self.refused,
                    self.running,
                    len(self._waiting),
                    limit,
                    self.admitted_total,
                    self.finished_total,
                    self.never_started,
                )
            return False
        self._waiting.append(time.monotonic())
        self.admitted_total += 1
        return True

    def started(self) -> None:
        """An admitted send's handler runs (its place stops waiting: the oldest, they are
        alike). Called for every send, also when no bound is set."""
        if self._waiting:
            self._waiting.popleft()
        self.running += 1

    def finished(self) -> None:
        """A started send is over."""
        self.finished_total += 1
        self.running = max(0, self.running - 1)


sends = Admission(lambda: get_settings().max_sends_in_flight)

_SEND_EVENT = ""


def _is_send(data: Any) -> bool:
    return isinstance(data, dict) and data.get("name") == _SEND_EVENT


def install(app: rx.App, send_handler: str) -> None:
    """Wrap `app`'s socket event handler; `send_handler` is the send event's full name
    (`ChatState.send`'s, e.g. "reflex___state____state.….chat_state.send")."""
    global _SEND_EVENT
    _SEND_EVENT = send_handler
    namespace = app.event_namespace
    if namespace is None:  # no backend in this process (export)
        return
    on_event: Callable[[str, Any], Awaitable[None]] = namespace.on_event
    busy = StateUpdate(events=Event.from_event_type(rx.toast.error(BUSY)))

    async def admitted_on_event(sid: str, data: Any) -> None:
        if _is_send(data) and not sends.admit():
            # Straight back on this socket: nothing of the tab's state is touched.
            await namespace.emit("event", busy, to=sid)
            return
        await on_event(sid, data)

    # python-socketio looks the handler up on the instance ("on_" + event name).
    namespace.on_event = admitted_on_event  # type: ignore[method-assign]
