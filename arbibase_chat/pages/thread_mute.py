"""Muting the open thread (issue #12, part 3): the header's bell menu, "For 1 hour / For 1 day
/ Until I unmute" and "Unmute".

The bodies of ChatState's `mute` / `unmute` (pages/thread.py keeps the thin event surface) and
what the header shows. The browser names only a duration; the thread is the tab's own
`open_id` and the service (services/mutes.py) checks that it is mine, with the identity from
SessionState. A muted thread gives no notification, e-mail or sound and is left out of the
navbar total; the service's ThreadUpdated brings the change to my other tabs and inbox rows.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import reflex as rx

from arbibase_chat import aio, routes
from arbibase_chat.models import MUTED_FOREVER
from arbibase_chat.pages.inbox import InboxState
from arbibase_chat.services import mutes
from arbibase_chat.services.errors import DomainError

if TYPE_CHECKING:
    from arbibase_chat.pages.thread import ChatState

_LABELS = {"1h": "For 1 hour", "1d": "For 1 day", "forever": "Until I unmute"}
#: The menu: (duration, label) for each of the service's choices, in its order.
MUTE_MENU = tuple((choice, _LABELS[choice]) for choice in mutes.MUTE_CHOICES)


def header_fields(muted_until: datetime | None) -> dict[str, Any]:
    """ChatState's mute fields for a thread row: `muted_until` is an ISO time the browser
    shows in its own time zone ("" when not muted, or muted until I unmute)."""
    if not mutes.is_muted(muted_until):
        return {"muted_until": "", "muted_forever": False}
    assert muted_until is not None
    if muted_until >= MUTED_FOREVER:
        return {"muted_until": "", "muted_forever": True}
    return {"muted_until": muted_until.isoformat(), "muted_forever": False}


async def mute(chat: ChatState, duration: Any) -> Any:
    """Mute for one of the menu's durations; anything else (a forged menu) does nothing."""
    if not isinstance(duration, str) or duration not in mutes.MUTE_CHOICES:
        return None
    return await _set(chat, duration)


async def unmute(chat: ChatState) -> Any:
    return await _set(chat, None)


async def _set(chat: ChatState, duration: str | None) -> Any:
    user_id = await chat._user()
    if user_id is None:
        return rx.redirect(routes.LOGIN)
    if not chat.open_id:
        return None
    try:
        until = await aio.call(
            mutes.set_mute, user_id=user_id, thread_id=chat.open_id, duration=duration
        )
    except DomainError as exc:
        return rx.toast.error(exc.message)
    for name, value in header_fields(until).items():
        if getattr(chat, name) != value:
            setattr(chat, name, value)
    # This tab's list and navbar total follow at once, whichever way the service's event
    # travels (or whether it reaches this worker at all).
    await (await chat.get_state(InboxState))._live_resync(user_id)
    return None
