"""Apply a hub update to one browser session's state (and mark read when it is watching)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import reflex as rx

from arbibase_chat import aio
from arbibase_chat.pages.inbox import InboxState
from arbibase_chat.pages.thread import ChatState
from arbibase_chat.realtime.hub import Deliver, TypingUpdate, Update, hub
from arbibase_chat.services import reads
from arbibase_chat.services.errors import DomainError


def make_deliver(app: rx.App) -> Deliver:
    async def deliver(token: str, update: Update) -> None:
        namespace = app.event_namespace
        if namespace is None or token not in namespace.token_to_sid:
            # Not connected to this worker (tab closed or reconnecting): when its page loads
            # again it catches up from the newest message it holds.
            return
        mark_read = False
        async with app.modify_state(rx.BaseStateToken(ident=token, cls=InboxState)) as root:
            chat = await root.get_state(ChatState)
            if isinstance(update, TypingUpdate):
                await chat.apply(update)
                return
            (await root.get_state(InboxState)).apply(update)
            mark_read = await chat.apply(update)
        if mark_read:
            # Outside the state lock; the read event comes back through the hub.
            with contextlib.suppress(DomainError):
                await aio.call(reads.mark_read, user_id=update.user_id, thread_id=update.thread_id)

    return deliver


@contextlib.asynccontextmanager
async def lifespan(app: rx.App) -> AsyncIterator[None]:
    """Lifespan task: run this worker's hub while the app runs."""
    unsubscribe = hub.start(make_deliver(app))
    task = asyncio.create_task(hub.run(), name="realtime-hub")
    try:
        yield
    finally:
        unsubscribe()
        task.cancel()
