"""What a pushed update does to the open thread (ChatState's `_live_apply` / `_live_resync`,
registered with realtime/views.py): header, Seen, typing, new or reloaded messages.

Each returns the thread to mark read when the tab shows the other side's new messages in a
visible tab, else None; the delivery does the marking.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from arbibase_chat import aio
from arbibase_chat.pages import thread_deal
from arbibase_chat.pages.thread_window import PAGE
from arbibase_chat.realtime.updates import AccountChanged, TypingUpdate, Update, UserUpdate
from arbibase_chat.services import inbox
from arbibase_chat.services.errors import DomainError

if TYPE_CHECKING:
    from arbibase_chat.pages.thread import ChatState


async def resync(chat: ChatState, user_id: uuid.UUID) -> str | None:
    """Events may have been missed: refresh the header, catch up from the newest held."""
    if not chat.open_id or chat._me != str(user_id):
        return None
    window = chat._window()
    try:
        chat._apply_header(
            await aio.call(inbox.get_thread, user_id=user_id, thread_id=chat.open_id)
        )
        await thread_deal.load_offers(chat, user_id)
        window.items = thread_deal.decorate(window.items, chat._cards)
        await chat._catch_up(user_id, window)
    except DomainError:
        return None
    await chat._keep(window)
    return chat.open_id if chat.tab_visible else None


async def apply(chat: ChatState, update: Update) -> str | None:
    if isinstance(update, AccountChanged):
        # My account changed (e.g. my tier, from billing): what the thread allows follows.
        if chat.open_id and chat._me == str(update.user_id):
            await chat._load_plan(update.user_id)
        return None
    if not isinstance(update, UserUpdate | TypingUpdate):
        return None
    if str(update.thread_id) != chat.open_id or not chat._me:
        return None
    if isinstance(update, TypingUpdate):
        if chat.typing_name != update.name:
            chat.typing_name = update.name
        return None
    if update.user_id != uuid.UUID(chat._me):
        return None  # pushed for a user this tab no longer shows
    if update.thread is not None:
        chat._apply_header(update.thread)
    if update.seen_seq is not None:
        chat._see(update.seen_seq)
    window = chat._window()
    if update.reload:
        window.replace_newest(chat._views(await chat._page(update.user_id)), page=PAGE)
    message = update.message
    if thread_deal.touches_offers(message):
        # A step on an offer (or the stage): the cards and the deal panel first, so the new
        # message already merges with its card.
        await thread_deal.load_offers(chat, update.user_id)
        window.items = thread_deal.decorate(window.items, chat._cards)
    if message is not None:
        await chat._merge_in_order(update.user_id, window, [message])
        if str(message.sender_id) != chat._me and chat.typing_name:
            chat.typing_name = ""
    await chat._keep(window)
    theirs = message is not None and str(message.sender_id) != chat._me
    if theirs and update.read_to is not None and message is not None:
        theirs = message.seq > update.read_to  # the hub read it for this visible tab already
    return chat.open_id if theirs and chat.tab_visible else None
