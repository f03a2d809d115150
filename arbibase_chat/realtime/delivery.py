"""Apply a hub update to one browser session's state (and mark read when it is watching)."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator

import reflex as rx

from arbibase_chat import aio
from arbibase_chat.pages.inbox import InboxState
from arbibase_chat.pages.thread import ChatState
from arbibase_chat.realtime.hub import Deliver, TypingUpdate, Update, hub
from arbibase_chat.services import reads
from arbibase_chat.services.errors import DomainError

MARK_READ_DELAY_SECONDS = 0.2


def _connected(app: rx.App, token: str) -> bool:
    namespace = app.event_namespace
    if namespace is None:
        return False
    # `token_to_sid` copies every connection into a new dict on each access (measured: 8 % of
    # the worker's CPU at 1,000 sessions); the token manager's own mapping is a plain lookup.
    return token in namespace._token_manager.token_to_socket


def make_deliver(app: rx.App) -> Deliver:
    # (user, thread) → "another message arrived while marking": one write covers a burst.
    marking: dict[tuple[str, str], bool] = {}
    tasks: set[asyncio.Task[None]] = set()

    async def mark_read_soon(user_id: str, thread_id: str) -> None:
        key = (user_id, thread_id)
        try:
            while True:
                marking[key] = False
                await asyncio.sleep(MARK_READ_DELAY_SECONDS)
                with contextlib.suppress(DomainError):
                    await aio.call(reads.mark_read, user_id=uuid.UUID(user_id), thread_id=thread_id)
                if not marking[key]:
                    return
        finally:
            marking.pop(key, None)

    async def deliver(token: str, update: Update) -> None:
        if not _connected(app, token):
            # Tab closed or reconnecting: drop it; when its page loads again it registers
            # anew and catches up from the newest message it holds.
            hub.forget(token)
            return
        mark_read = False
        async with app.modify_state(rx.BaseStateToken(ident=token, cls=InboxState)) as root:
            chat = await root.get_state(ChatState)
            if isinstance(update, TypingUpdate):
                await chat.apply(update)
                return
            (await root.get_state(InboxState)).apply(update)
            mark_read = await chat.apply(update)
        if not mark_read:
            return
        key = (str(update.user_id), str(update.thread_id))
        if key in marking:
            marking[key] = True  # the running task marks once more
            return
        # Off the hub's turn: routing the next event must not wait for this write.
        marking[key] = False
        task = asyncio.create_task(mark_read_soon(*key))
        tasks.add(task)
        task.add_done_callback(tasks.discard)

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
