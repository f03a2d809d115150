"""Live views: the page states the realtime path pushes to, and what pages tell it.

A page state that shows live data decorates itself with `@live_view` and implements two
backend-only methods (never event handlers: the browser must not call them):

    async def _live_apply(self, update: Update) -> str | None
    async def _live_resync(self, user_id: uuid.UUID) -> str | None

Each returns the id of a thread the tab now shows unread messages of in a visible tab (the
delivery marks it read), or None. `realtime/delivery.py` applies every update to every
registered view of the session, in registration order; it names no page, so a new live page
(the Portfolio, say) needs no edit under realtime/.

Pages tell the hub which user a tab belongs to, which thread it shows and who is typing
through the functions below, which forward to the worker's hub once it is attached
(`realtime/hub.py` attaches itself when imported). Pages import this module and
`realtime/updates.py`, never the hub, so there is no import cycle between pages and realtime.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Sequence
from typing import Protocol, TypeVar

from arbibase_chat.models import ThreadPublic
from arbibase_chat.realtime.updates import Update


class LiveView(Protocol):
    async def _live_apply(self, update: Update) -> str | None: ...

    async def _live_resync(self, user_id: uuid.UUID) -> str | None: ...


class Presence(Protocol):
    """What the hub needs to know about tabs (implemented by realtime.hub.Hub)."""

    def register(self, token: str, user_id: uuid.UUID) -> None: ...

    def open(self, token: str, thread_id: uuid.UUID | None) -> None: ...

    def forget(self, token: str) -> None: ...

    def set_visible(self, token: str, visible: bool) -> None: ...

    def learn(
        self,
        user_id: uuid.UUID,
        *,
        rows: Sequence[ThreadPublic] = (),
        total: int | None = None,
        read_at: tuple[float, float] | None = None,
    ) -> None: ...

    def delivers_to(self, token: str) -> bool: ...

    def typing(self, *, thread_id: uuid.UUID, to_user: uuid.UUID, name: str) -> None: ...

    def stopped_typing(self, *, thread_id: uuid.UUID, to_user: uuid.UUID) -> None: ...


ViewClass = TypeVar("ViewClass", bound=type)
_views: list[type] = []
_presence: Presence | None = None
# (tab, client_msg_id) -> resolved when the hub's push put that own message into the tab
_own_sends: dict[tuple[str, str], asyncio.Future[None]] = {}


def live_view(cls: ViewClass) -> ViewClass:
    """Class decorator: pushed updates reach this state in every connected session."""
    if cls not in _views:
        _views.append(cls)
    return cls


def registered() -> tuple[type, ...]:
    return tuple(_views)


def attach(presence: Presence) -> None:
    global _presence
    _presence = presence


# --- what pages call -------------------------------------------------------------------------
# Without an attached hub (a state exercised outside the app) these do nothing: no tab is
# connected then, so there is nobody to push to.


def register(token: str, user_id: uuid.UUID) -> None:
    """This tab (client token) belongs to `user_id` and shows live data."""
    if _presence is not None:
        _presence.register(token, user_id)


def show_thread(token: str, thread_id: uuid.UUID | None) -> None:
    """This tab shows `thread_id` now (None: no thread)."""
    if _presence is not None:
        _presence.open(token, thread_id)


def set_visible(token: str, visible: bool) -> None:
    """The tab is in front or hidden: a visible tab showing a thread reads its new messages
    as they arrive (the hub marks them read before pushing)."""
    if _presence is not None:
        _presence.set_visible(token, visible)


def read_thread(user_id: uuid.UUID, row: ThreadPublic) -> None:
    """A page of a registered tab of `user_id` just read this inbox row: the hub keeps it
    if it holds none (the first message in that thread then needs no read)."""
    if _presence is not None:
        _presence.learn(user_id, rows=(row,))


def read_total(user_id: uuid.UUID, total: int) -> None:
    """A page of a registered tab of `user_id` has just read their unread total (call right
    after the read returned: it is stamped now)."""
    if _presence is not None:
        _presence.learn(user_id, total=total, read_at=read_clock())


def read_clock() -> tuple[float, float]:
    """Now, as `Hub.learn` takes a read's time (monotonic, wall clock)."""
    return time.monotonic(), time.time()


def expect_own(token: str, client_msg_id: str) -> asyncio.Future[None] | None:
    """Before sending from this tab: a future the hub resolves once its push has put the
    stored message into the tab, so the send need not update the tab a second time. None
    when no running hub delivers to the tab (the sender then shows the message itself)."""
    if _presence is None or not _presence.delivers_to(token):
        return None
    future = asyncio.get_running_loop().create_future()
    _own_sends[(token, client_msg_id)] = future
    return future


def drop_own(token: str, client_msg_id: str) -> None:
    _own_sends.pop((token, client_msg_id), None)


def delivered_own(token: str, client_msg_id: str) -> None:
    """The hub's push of the tab's own message was applied (realtime/delivery.py)."""
    future = _own_sends.pop((token, client_msg_id), None)
    if future is not None and not future.done():
        future.set_result(None)


def leave(token: str) -> None:
    """This tab shows nothing live any more (signed out, or another user)."""
    if _presence is not None:
        _presence.forget(token)


def typing(*, thread_id: uuid.UUID, to_user: uuid.UUID, name: str) -> None:
    if _presence is not None:
        _presence.typing(thread_id=thread_id, to_user=to_user, name=name)


def stopped_typing(*, thread_id: uuid.UUID, to_user: uuid.UUID) -> None:
    if _presence is not None:
        _presence.stopped_typing(thread_id=thread_id, to_user=to_user)
