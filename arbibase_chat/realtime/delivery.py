"""Apply hub updates to browser sessions' live views, and wire this worker's event sources.

Every state registered with `realtime.views.live_view` gets each update of its session (the
module names no page).

Sources, chosen once per worker at start (one path per deployment, never two for the same
event): Postgres → the LISTEN connection (pg_listener.py) carries every stored change from
any client, and Redis (when set) carries typing between workers; SQLite + Redis → the Redis
bus carries the services' events and typing; SQLite alone (one worker) → in-process events.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Sequence
from typing import cast

import reflex as rx

from arbibase_chat import aio
from arbibase_chat.config import get_settings
from arbibase_chat.db import get_engine
from arbibase_chat.realtime import views
from arbibase_chat.realtime.bus import RedisBus
from arbibase_chat.realtime.hub import PushToSession, hub
from arbibase_chat.realtime.pg_listener import PgListener, libpq_dsn
from arbibase_chat.realtime.reflex_sockets import connected_here
from arbibase_chat.realtime.updates import AccountChanged, Resync, Update, UserUpdate
from arbibase_chat.services import events, reads
from arbibase_chat.services.errors import DomainError

MARK_READ_DELAY_SECONDS = 0.2


def make_push_to_session(app: rx.App) -> PushToSession:
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

    async def push_to_session(token: str, updates: Sequence[Update]) -> None:
        if not connected_here(app, token):
            # Tab closed or reconnecting: drop it; when its page loads again it registers
            # anew and catches up from the newest message it holds.
            hub.forget(token)
            return
        live = views.registered()
        if not live:
            return
        to_mark: set[tuple[str, str]] = set()  # (user, thread) now shown unread, visibly
        async with app.modify_state(rx.BaseStateToken(ident=token, cls=live[0])) as root:
            shown = [cast(views.LiveView, await root.get_state(cls)) for cls in live]
            for update in updates:
                for view in shown:
                    if isinstance(update, Resync):
                        thread_id = await view._live_resync(update.user_id)
                    else:
                        thread_id = await view._live_apply(update)
                    if thread_id and isinstance(update, Resync | UserUpdate | AccountChanged):
                        to_mark.add((str(update.user_id), thread_id))
        for update in updates:
            if not isinstance(update, UserUpdate) or (own := update.message) is None:
                continue
            if own.sender_id == update.user_id and own.client_msg_id:
                views.delivered_own(token, own.client_msg_id)  # the send needs no update
        for key in to_mark:
            if key in marking:
                marking[key] = True  # the running task marks once more
                continue
            # Off the hub's turn: routing the next event must not wait for this write.
            marking[key] = False
            task = asyncio.create_task(mark_read_soon(*key))
            tasks.add(task)
            task.add_done_callback(tasks.discard)

    return push_to_session


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
        make_push_to_session(app),
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
