"""The chat room hub style: per-process registry + app.modify_state per member token
(HubRoom), and the same hub fed over a Redis pub/sub bus that every worker's hub hears
(BusRoom, as arbibase_chat/realtime/bus.py). The rx.SharedState room is in shared.py, imported
only when the server runs the shared variant (any SharedState subclass changes how every
event of the app is processed).

Every line a client says is ``"<client> <seq> <send time> ..."``; both variants keep the last
WINDOW lines in ``items`` and send the whole list on each change (as ChatState.items does).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
from collections.abc import AsyncIterator, Coroutine
from typing import Any

import reflex as rx

WINDOW = 200
log = logging.getLogger("sharedbench")

#: Hub style: room -> client tokens that joined it, in this worker process only.
ROOMS: dict[str, set[str]] = {}
BUS_ROOMS: dict[str, set[str]] = {}
BUS_CHANNEL = "sharedbench:bus"
_TASKS: set[asyncio.Task[Any]] = set()
_bus: dict[str, Any] = {}  # "redis": the publisher client of this worker


def _app() -> rx.App:
    from sharedbench.sharedbench import app

    return app


def _window(items: list[str], line: str) -> list[str]:
    return [*items[-(WINDOW - 1) :], line]


class Meta(rx.State):
    """Which worker process holds this client's socket (events run where the socket is)."""

    pid: int = 0
    asked: int = 0

    @rx.event
    def whoami(self) -> None:
        self.pid = os.getpid()
        self.asked += 1


def _connected(app: rx.App, token: str) -> bool:
    """O(1) "socket on this worker" check, as arbibase_chat/realtime/delivery.py does."""
    namespace = app.event_namespace
    if namespace is None:
        return False
    manager = namespace._token_manager
    record = manager.token_to_socket.get(token)
    return record is not None and record.instance_id == manager.instance_id


async def _push_one(app: rx.App, token: str, line: str, cls: type[rx.State]) -> None:
    if not _connected(app, token):
        return  # closed or reconnecting: dropped (the product's page catches up on load)
    async with app.modify_state(rx.BaseStateToken(ident=token, cls=cls)) as root:
        room = await root.get_state(cls)
        room.items = _window(room.items, line)  # type: ignore[attr-defined]


async def hub_push(room: str, line: str, skip: str | None = None, bus: bool = False) -> int:
    """Push one line to every member of `room` registered in this process except `skip`."""
    app = _app()
    registry, cls = (BUS_ROOMS, BusRoom) if bus else (ROOMS, HubRoom)
    tokens = [t for t in registry.get(room, ()) if t != skip]
    results = await asyncio.gather(
        *(_push_one(app, t, line, cls) for t in tokens), return_exceptions=True
    )
    for r in results:
        if isinstance(r, BaseException):
            log.warning("hub push failed: %r", r)
    return len(tokens)


def _spawn(coro: Coroutine[Any, Any, Any]) -> None:
    task = asyncio.create_task(coro)
    _TASKS.add(task)
    task.add_done_callback(_TASKS.discard)


class HubRoom(rx.State):
    """(a) hub style: each client has its own copy; the sender's worker pushes to the others."""

    items: list[str] = []
    _room: str = ""

    @rx.event
    async def join(self, room: str) -> None:
        token = self.router.session.client_token
        if self._room and self._room != room:
            ROOMS.get(self._room, set()).discard(token)
        self._room = room
        ROOMS.setdefault(room, set()).add(token)
        meta = await self.get_state(Meta)
        meta.pid = os.getpid()

    @rx.event
    def say(self, text: str) -> None:
        self.items = _window(self.items, text)
        _spawn(hub_push(self._room, text, skip=self.router.session.client_token))


async def _publish(room: str, line: str, skip: str) -> None:
    client = _bus.get("redis")
    if client is None:  # no Redis: this worker is the only hub
        await hub_push(room, line, skip, bus=True)
        return
    await client.publish(BUS_CHANNEL, json.dumps({"room": room, "line": line, "skip": skip}))


class BusRoom(rx.State):
    """(a') hub style over a Redis bus: the sender's worker publishes; every worker's hub
    pushes to the members registered with it."""

    items: list[str] = []
    _room: str = ""

    @rx.event
    async def join(self, room: str) -> None:
        token = self.router.session.client_token
        if self._room and self._room != room:
            BUS_ROOMS.get(self._room, set()).discard(token)
        self._room = room
        BUS_ROOMS.setdefault(room, set()).add(token)
        meta = await self.get_state(Meta)
        meta.pid = os.getpid()

    @rx.event
    def say(self, text: str) -> None:
        self.items = _window(self.items, text)
        _spawn(_publish(self._room, text, self.router.session.client_token))


@contextlib.asynccontextmanager
async def bus_lifespan(app: rx.App) -> AsyncIterator[None]:
    """This worker's bus subscriber (only with REDIS_URL)."""
    url = os.environ.get("REDIS_URL")
    if not url:
        yield
        return
    import redis.asyncio as aioredis

    publisher = aioredis.Redis.from_url(url)
    subscriber = aioredis.Redis.from_url(url)
    pubsub = subscriber.pubsub()
    await pubsub.subscribe(BUS_CHANNEL)

    async def listen() -> None:
        async for msg in pubsub.listen():
            if msg.get("type") != "message":
                continue
            item = json.loads(msg["data"])
            _spawn(hub_push(item["room"], item["line"], item["skip"], bus=True))

    task = asyncio.create_task(listen())
    _bus["redis"] = publisher
    try:
        yield
    finally:
        _bus.pop("redis", None)
        task.cancel()
        with contextlib.suppress(BaseException):
            await task
        await pubsub.aclose()
        await subscriber.aclose()
        await publisher.aclose()
