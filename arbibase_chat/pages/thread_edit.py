"""Editing and deleting my own messages in the open thread (issue #12, part 5).

The bodies of ChatState's `start_edit` / `save_edit` / `ask_delete` / `confirm_delete`
(pages/thread.py keeps the thin event surface). The browser names a message id; whose message
it is, its kind and its window are the service's to decide (services/message_edits.py), with
the identity from SessionState. The answer replaces the bubble at once; the other party's
views reload on the `MessagesChanged` the service publishes (or 0003's NOTIFY on PostgreSQL).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import reflex as rx

from arbibase_chat import aio, routes
from arbibase_chat.components.message_bubble import MessageView
from arbibase_chat.services import message_edits
from arbibase_chat.services.errors import DomainError
from arbibase_chat.services.validation import MAX_MESSAGE_CHARS

if TYPE_CHECKING:
    from arbibase_chat.pages.thread import ChatState


def _held(chat: ChatState, message_id: Any) -> MessageView | None:
    """One of my stored, changeable bubbles in the window (else the menu was forged or stale:
    nothing opens)."""
    if not isinstance(message_id, str) or not message_id:
        return None
    for view in chat._on_screen():
        if view.id == message_id and view.status == "sent" and view.mine and view.editable:
            return view
    return None


def start_edit(chat: ChatState, message_id: Any) -> None:
    view = _held(chat, message_id)
    if view is None:
        return
    chat.edit_text = "".join(s.text for s in view.segments)
    chat.editing_id = view.id


def ask_delete(chat: ChatState, message_id: Any) -> None:
    view = _held(chat, message_id)
    if view is not None:
        chat.deleting_id = view.id


async def save_edit(chat: ChatState, form_data: Any) -> Any:
    message_id, chat.editing_id = chat.editing_id, ""
    body = form_data.get("body") if isinstance(form_data, dict) else None
    if not message_id or not isinstance(body, str):
        return None
    if len(body) > MAX_MESSAGE_CHARS:
        return rx.toast.error(f"Messages are limited to {MAX_MESSAGE_CHARS:,} characters.")
    return await _change(chat, message_edits.edit_message, message_id, body=body)


async def confirm_delete(chat: ChatState) -> Any:
    message_id, chat.deleting_id = chat.deleting_id, ""
    if not message_id:
        return None
    return await _change(chat, message_edits.delete_message, message_id)


async def _change(chat: ChatState, command: Any, message_id: str, **args: Any) -> Any:
    user_id = await chat._user()
    if user_id is None:
        return rx.redirect(routes.LOGIN)
    try:
        stored = await aio.call(
            command, user_id=user_id, thread_id=chat.open_id, message_id=message_id, **args
        )
    except DomainError as exc:
        return rx.toast.error(exc.message)
    window = chat._window()
    (view,) = chat._views([stored])
    if window.replace_stored(view):
        await chat._keep(window)
    return None
