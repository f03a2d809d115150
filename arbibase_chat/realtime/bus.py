"""Redis pub/sub between workers: every worker's hub hears every event and typing signal.

Used when REDIS_URL is set. On SQLite the services' post-commit events travel here (the
database cannot notify); on Postgres the database's NOTIFY carries them (pg_listener.py) and
only typing signals, which are never stored, use this channel. Messages are small JSON
documents with ids only; a worker that misses some while Redis is away resyncs its sessions
when the subscription comes back.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from dataclasses import fields
from typing import Any

import redis.asyncio as aioredis

from arbibase_chat.realtime.hub import Hub, TypingSignal
from arbibase_chat.services import events

log = logging.getLogger(__name__)

Item = events.DomainEvent | TypingSignal
LOCAL_ONLY = frozenset({"message"})  # objects that stay in their process: ids only on the wire
_TYPES: dict[str, type[Any]] = {
    cls.__name__: cls
    for cls in (
        events.MessageCreated,
        events.ThreadUpdated,
        events.ReadUpdated,
        events.MessagesChanged,
        events.AccountUpdated,
        TypingSignal,
    )
}


def encode(item: Item) -> str:
    doc: dict[str, Any] = {"type": type(item).__name__}
    for f in fields(item):
        if f.name in LOCAL_ONLY:
            continue
        value = getattr(item, f.name)
        if isinstance(value, uuid.UUID):
            value = str(value)
        elif isinstance(value, tuple):
            value = [str(v) if isinstance(v, uuid.UUID) else v for v in value]
        doc[f.name] = value
    return json.dumps(doc, separators=(",", ":"))


def decode(raw: str | bytes) -> Item:
    doc = json.loads(raw)
    cls = _TYPES[doc.pop("type")]
    kwargs: dict[str, Any] = {}
    for f in fields(cls):
        if f.name in LOCAL_ONLY:
            continue
        value = doc[f.name]
        if f.name == "participant_ids":
            value = tuple(uuid.UUID(v) for v in value)
        elif f.name == "changed":
            value = tuple(value)
        elif f.name.endswith("_id") or f.name == "to_user":
            value = uuid.UUID(value)
        kwargs[f.name] = value
    item: Item = cls(**kwargs)
    return item


class RedisBus:
    """One publisher and one subscriber connection per worker."""

    def __init__(self, url: str, hub: Hub, channel: str, *, carries_events: bool = True) -> None:
        self._url = url
        self._hub = hub
        self._channel = channel
        # Only when stored changes travel here can a gap lose any (typing is ephemeral).
        self._resync_on_reconnect = carries_events
        self._outgoing: asyncio.Queue[str] = asyncio.Queue()
        self._loop: asyncio.AbstractEventLoop | None = None
        self.subscribed = asyncio.Event()

    def publish(self, item: Item) -> None:
        """Queue for every worker; thread-safe (services publish from the committing thread)."""
        loop = self._loop
        if loop is None:
            return
        raw = encode(item)
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._outgoing.put_nowait(raw)
        else:
            loop.call_soon_threadsafe(self._outgoing.put_nowait, raw)

    async def run(self) -> None:
        """Publish and subscribe until cancelled; reconnect with backoff when Redis goes away."""
        self._loop = asyncio.get_running_loop()
        # Named, so an operator can tell the bus's connections apart in CLIENT LIST.
        client = aioredis.Redis.from_url(self._url, client_name=f"arbibase-bus:{self._channel}")
        try:
            await asyncio.gather(self._send(client), self._listen(client))
        finally:
            await client.aclose()

    async def _send(self, client: aioredis.Redis) -> None:
        while True:
            raw = await self._outgoing.get()
            delay = 0.05
            while True:
                try:
                    await client.publish(self._channel, raw)
                    break
                except (aioredis.ConnectionError, aioredis.TimeoutError, OSError) as exc:
                    log.warning("realtime bus: publish failed (%s); retrying", exc)
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 2.0)

    async def _listen(self, client: aioredis.Redis) -> None:
        delay = 0.05
        while True:
            try:
                async with client.pubsub() as pubsub:
                    await pubsub.subscribe(self._channel)
                    # Whatever was sent while we were away is lost: sessions catch up
                    # themselves (a no-op at the first start, with no session registered).
                    if self._resync_on_reconnect:
                        self._hub.resync()
                    delay = 0.05
                    self.subscribed.set()
                    async for message in pubsub.listen():
                        if message.get("type") != "message":
                            continue
                        try:
                            self._hub.receive(decode(message["data"]))
                        except (KeyError, ValueError, TypeError):
                            log.warning("realtime bus: ignoring malformed %r", message["data"])
            except (aioredis.ConnectionError, aioredis.TimeoutError, OSError) as exc:
                self.subscribed.clear()
                log.warning("realtime bus: subscription lost (%s); reconnecting", exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)
