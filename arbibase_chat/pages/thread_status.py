"""The open thread's status (issue #13): Archive / Unarchive are mine alone and immediate (the
toast offers Undo); Close / Reopen are shared, so they ask first.

The bodies of ChatState's `set_status` / `confirm_status` / `cancel_status` (pages/thread.py
keeps the thin event surface). The browser names only a status; the thread is the tab's own
`open_id`, the identity comes from SessionState, and services/threads.py checks the rest and
posts the close / reopen message both parties see.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import reflex as rx
from reflex_components_sonner.toast import ToastAction

if TYPE_CHECKING:
    from arbibase_chat.pages.thread import ChatState

#: Statuses that change the thread for both parties, hence confirmed first.
SHARED = ("closed", "active")


def needs_confirmation(current: str, wanted: str) -> bool:
    """Closing, and reopening a closed thread, act for both: ask. Archive / unarchive: mine."""
    return wanted == "closed" or (wanted == "active" and current == "closed")


async def set_status(chat: ChatState, status: Any) -> Any:
    if not isinstance(status, str) or status not in ("active", "archived", "closed"):
        return None  # a forged menu
    if status == chat.status:
        return None
    if needs_confirmation(chat.status, status):
        chat.confirm_status_to = status
        return None
    return await _apply(chat, status)


async def confirm(chat: ChatState) -> Any:
    status, chat.confirm_status_to = chat.confirm_status_to, ""
    if status not in SHARED:
        return None
    return await _apply(chat, status)


def cancel(chat: ChatState) -> None:
    chat.confirm_status_to = ""


async def _apply(chat: ChatState, status: str) -> Any:
    error = await chat._update(status=status)
    if error is not None:
        return error
    if status == "archived":
        return rx.toast.success(
            "Archived for you. The other party's inbox is unchanged.",
            action=ToastAction(label="Undo", on_click=type(chat).set_status("active")),
            id="archived-toast",
        )
    return None
