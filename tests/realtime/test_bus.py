"""The Redis bus: two workers' hubs (two buses, two hubs) hear each other's events and typing."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis
from sqlalchemy.engine import Engine

from arbibase_chat import aio
from arbibase_chat.realtime import bus as busmod
from arbibase_chat.realtime.bus import RedisBus
from arbibase_chat.realtime.hub import Hub
from arbibase_chat.realtime.updates import Resync, TypingSignal, TypingUpdate, UserUpdate
from arbibase_chat.services import events, messages
from tests.factories import Pair
from tests.realtime.conftest import Recorder


def test_every_item_survives_the_wire():
    a, b, t = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    items: list[busmod.Item] = [
        events.MessageCreated(
            thread_id=t, message_id=uuid.uuid4(), seq=7, sender_id=a, participant_ids=(a, b)
        ),
        events.ThreadUpdated(thread_id=t, participant_ids=(a, b), changed=("status", "tags")),
        events.ReadUpdated(thread_id=t, user_id=b, last_read_seq=3, participant_ids=(a, b)),
        events.MessagesChanged(thread_id=t, participant_ids=(a, b)),
        TypingSignal(thread_id=t, to_user=b, name="Alice"),
    ]
    for item in items:
        assert busmod.decode(busmod.encode(item)) == item
    with pytest.raises(KeyError):
        busmod.decode('{"type": "Nope"}')


@contextlib.asynccontextmanager
async def worker(
    db: Engine, redis_url: str, channel: str, *, local: bool
) -> AsyncIterator[tuple[Hub, Recorder]]:
    """One worker's realtime side as delivery.lifespan wires it on SQLite + Redis."""
    hub = Hub(db=db)
    recorder = Recorder()
    bus = RedisBus(redis_url, hub, channel=channel)
    stop = hub.start(recorder, local_events=False, publish_typing=bus.publish)
    # Only one "worker" publishes the process's commits (both run in this one test process).
    unsubscribe = events.subscribe(bus.publish) if local else (lambda: None)
    tasks = [asyncio.create_task(hub.run()), asyncio.create_task(bus.run())]
    try:
        async with asyncio.timeout(5):
            await bus.subscribed.wait()
        yield hub, recorder
    finally:
        unsubscribe()
        stop()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def test_an_event_committed_on_one_worker_reaches_tabs_on_the_other(
    db: Engine, redis_url: str, channel: str
):
    pair = Pair(db)
    async with (
        worker(db, redis_url, channel, local=True) as (hub_a, rec_a),
        worker(db, redis_url, channel, local=False) as (hub_b, rec_b),
    ):
        hub_a.register("operator-tab", pair.operator.id)
        hub_b.register("owner-tab", pair.owner.id)
        hub_b.open("owner-tab", pair.thread_id)
        sent = await aio.call(
            messages.send_message,
            user_id=pair.operator.id,
            thread_id=pair.thread_id,
            body="across workers",
            db=db,
        )
        await rec_b.wait_for(1)
        await rec_a.wait_for(1)
        (update,) = rec_b.to("owner-tab")
        assert isinstance(update, UserUpdate) and update.message is not None
        assert update.message.id == sent.id and update.unread_total == 1
        assert rec_a.to("owner-tab") == []  # worker A has no such tab

        # Typing started on worker A shows on worker B's tab, and stops there too.
        hub_a.typing(thread_id=pair.thread_id, to_user=pair.owner.id, name="Alice")
        await rec_b.wait_for(2)
        hub_a.stopped_typing(thread_id=pair.thread_id, to_user=pair.owner.id)
        await rec_b.wait_for(3)
        typing = [u for u in rec_b.to("owner-tab") if isinstance(u, TypingUpdate)]
        assert [u.name for u in typing] == ["Alice", ""]


async def test_a_worker_whose_subscription_drops_resyncs_its_sessions(
    db: Engine, redis_url: str, channel: str
):
    pair = Pair(db)
    async with (
        worker(db, redis_url, channel, local=True) as (hub_a, rec_a),
        worker(db, redis_url, channel, local=False) as (hub_b, rec_b),
    ):
        hub_a.register("operator-tab", pair.operator.id)
        hub_b.register("owner-tab", pair.owner.id)
        admin = aioredis.Redis.from_url(redis_url)
        try:
            # Cut one worker's subscriber connection (this test's channel only): whatever was
            # published meanwhile is lost to it, so its tabs are told to catch up.
            (victim,) = [
                c
                for c in await admin.client_list()
                if c.get("name") == f"arbibase-bus:{channel}" and c.get("sub") == "1"
            ][:1]
            assert await admin.client_kill_filter(_id=victim["id"]) == 1
        finally:
            await admin.aclose()
        async with asyncio.timeout(5):
            while not any(isinstance(u, Resync) for _, u in rec_a.got + rec_b.got):
                await asyncio.sleep(0.02)
        resynced = [t for t, u in rec_a.got + rec_b.got if isinstance(u, Resync)]
        assert len(resynced) == 1  # only the worker that lost its subscription
        # Live again afterwards, on both workers.
        await aio.call(
            messages.send_message,
            user_id=pair.operator.id,
            thread_id=pair.thread_id,
            body="after the drop",
            db=db,
        )
        for rec, tab in ((rec_a, "operator-tab"), (rec_b, "owner-tab")):
            async with asyncio.timeout(5):
                while not any(
                    isinstance(u, UserUpdate) and u.message and u.message.body == "after the drop"
                    for u in rec.to(tab)
                ):
                    await asyncio.sleep(0.02)
