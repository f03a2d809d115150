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

A send counts from admission until `finished` (pages/thread_send.py, when its store is over).
An admitted event that never reaches the handler (its state could not be loaded) would hold a
place forever, so places also lapse after ADMITTED_TTL_SECONDS.
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

ADMITTED_TTL_SECONDS = 30.0
LOG_EVERY_SECONDS = 10.0


class Admission:
    """This worker's admitted sends (one event loop per worker: no lock needed)."""

    def __init__(self, limit: Callable[[], int], ttl: float = ADMITTED_TTL_SECONDS) -> None:
        self._limit = limit
        self._ttl = ttl
        self._admitted: collections.deque[float] = collections.deque()
        self.refused = 0
        self._logged_at = -LOG_EVERY_SECONDS
        self.admitted_total = 0
        self.finished_total = 0

    def in_flight(self) -> int:
        cutoff = time.monotonic() - self._ttl
        while self._admitted and self._admitted[0] < cutoff:
            self._admitted.popleft()
        return len(self._admitted)

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
                    "admission: %d sends refused as busy so far (%d admitted in flight, "
                    "MAX_SENDS_IN_FLIGHT=%d; %d admitted, %d finished)",
                    self.refused,
                    len(self._admitted),
                    limit,
                    self.admitted_total,
                    self.finished_total,
                )
            return False
        self._admitted.append(time.monotonic())
        self.admitted_total += 1
        return True

    def finished(self) -> None:
        """One admitted send is over (the oldest place is freed: they are alike)."""
        self.finished_total += 1
        if self._admitted:
            self._admitted.popleft()


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
