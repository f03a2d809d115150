"""Apply hub updates to browser sessions' state, and wire this worker's event sources.

Sources, chosen once per worker at start (one path per deployment, never two for the same
event): Postgres → the LISTEN connection (pg_listener.py) carries every stored change from
any client, and Redis (when set) carries typing between workers; SQLite + Redis → the Redis
bus carries the services' events and typing; SQLite alone (one worker) → in-process events.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator

import reflex as rx

from arbibase_chat import aio
from arbibase_chat.config import get_settings
from arbibase_chat.db import get_engine
from arbibase_chat.pages.inbox import InboxState
from arbibase_chat.pages.thread import ChatState
from arbibase_chat.realtime.bus import RedisBus
from arbibase_chat.realtime.hub import Deliver, Resync, TypingUpdate, Update, hub
from arbibase_chat.realtime.pg_listener import PgListener, libpq_dsn
from arbibase_chat.services import events, reads
from arbibase_chat.services.errors import DomainError

MARK_READ_DELAY_SECONDS = 0.2


def _connected(app: rx.App, token: str) -> bool:
    namespace = app.event_namespace
    if namespace is None:
        return False
    # `token_to_sid` copies every connection into a new dict on each access (measured: 8 % of
    # the worker's CPU at 1,000 sessions); the token manager's own mapping is a plain lookup.
    # With Redis it may also hold sockets of other workers: those are their hubs' business.
    manager = namespace._token_manager
    record = manager.token_to_socket.get(token)
    return record is not None and record.instance_id == manager.instance_id


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
                await chat._apply(update)
                return
            inbox = await root.get_state(InboxState)
            if isinstance(update, Resync):
                await inbox._resync(update.user_id)
                mark_read = await chat._resync(update.user_id)
                thread_id = chat.open_id
            else:
                inbox._apply(update)
                mark_read = await chat._apply(update)
                thread_id = str(update.thread_id)
        if not mark_read:
            return
        key = (str(update.user_id), thread_id)
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
    """Lifespan task: run this worker's hub, fed by the sources this deployment has."""
    settings = get_settings()
    engine = get_engine()
    on_postgres = engine.dialect.name == "postgresql"
    bus = (
        RedisBus(
            settings.redis_url,
            hub,
            channel=settings.realtime_channel,
            carries_events=not on_postgres,
        )
        if settings.redis_url
        else None
    )
    unsubscribe = hub.start(
        make_deliver(app),
        local_events=bus is None and not on_postgres,
        publish_typing=bus.publish if bus else None,
    )
    tasks = [asyncio.create_task(hub.run(), name="realtime-hub")]
    if on_postgres:
        tasks.append(asyncio.create_task(PgListener(libpq_dsn(engine), hub).run()))
    if bus is not None:
        tasks.append(asyncio.create_task(bus.run(), name="realtime-bus"))
        if not on_postgres:
            unsubscribe_bus = events.subscribe(bus.publish)
    try:
        yield
    finally:
        unsubscribe()
        if bus is not None and not on_postgres:
            unsubscribe_bus()
        for task in tasks:
            task.cancel()
