"""The hub routes committed events to the right sessions with exactly what changed."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from arbibase_chat import aio
from arbibase_chat.realtime.hub import Hub
from arbibase_chat.realtime.updates import TypingUpdate, UserUpdate
from arbibase_chat.services import messages, reads, threads
from tests import factories
from tests.factories import Pair
from tests.realtime.conftest import Recorder


@pytest.fixture
async def running(db):
    hub = Hub(db=db)
    recorder = Recorder()
    unsubscribe = hub.start(recorder)
    task = asyncio.create_task(hub.run())
    yield hub, recorder
    unsubscribe()
    task.cancel()


async def test_message_reaches_both_parties_tabs_with_the_right_changes(running, db):
    hub, rec = running
    pair = Pair(db)
    stranger = factories.user(db, "operator")
    await hub.drained()  # the thread's creation is not what this test is about
    hub.register("op-tab", pair.operator.id)
    hub.register("owner-tab-1", pair.owner.id)
    hub.register("owner-tab-2", pair.owner.id)
    hub.register("stranger-tab", stranger.id)
    hub.open("owner-tab-1", pair.thread_id)
    sent = await aio.call(
        messages.send_message, user_id=pair.operator.id, thread_id=pair.thread_id, body="hi", db=db
    )
    await rec.wait_for(3)
    await hub.drained()
    assert rec.to("stranger-tab") == []
    mine = rec.to("op-tab")
    assert len(mine) == 1 and isinstance(mine[0], UserUpdate)
    assert mine[0].message is not None and mine[0].message.id == sent.id
    assert mine[0].unread_total is None  # my own message does not change my unread total
    for tab in ("owner-tab-1", "owner-tab-2"):
        (update,) = rec.to(tab)
        assert isinstance(update, UserUpdate)
        assert update.unread_total == 1
        assert update.thread is not None and update.thread.unread_count == 1
        assert update.message is not None and update.message.body == "hi"


async def test_reads_move_seen_for_the_other_side_without_queries(running, db):
    hub, rec = running
    pair = Pair(db)
    await aio.call(
        messages.send_message, user_id=pair.operator.id, thread_id=pair.thread_id, body="x", db=db
    )
    await hub.drained()
    hub.register("op-tab", pair.operator.id)
    hub.register("owner-tab", pair.owner.id)
    await aio.call(reads.mark_read, user_id=pair.owner.id, thread_id=pair.thread_id, db=db)
    await rec.wait_for(2)
    (theirs,) = rec.to("op-tab")
    assert isinstance(theirs, UserUpdate) and theirs.seen_seq == 1 and theirs.thread is None
    (own,) = rec.to("owner-tab")
    assert isinstance(own, UserUpdate) and own.unread_total == 0 and own.thread is not None


async def test_status_changes_refresh_rows_and_forgotten_tabs_get_nothing(running, db):
    hub, rec = running
    pair = Pair(db)
    await hub.drained()
    hub.register("op-tab", pair.operator.id)
    hub.register("owner-tab", pair.owner.id)
    hub.forget("owner-tab")
    # The owner's archive is theirs alone: the operator's tab hears nothing of it, and the
    # owner's forgotten tab gets nothing either.
    await aio.call(
        threads.update_thread,
        status="archived",
        user_id=pair.owner.id,
        thread_id=pair.thread_id,
        db=db,
    )
    await hub.drained()
    assert rec.to("owner-tab") == [] and rec.to("op-tab") == []
    await aio.call(
        threads.update_thread,
        status="archived",
        user_id=pair.operator.id,
        thread_id=pair.thread_id,
        db=db,
    )
    await rec.wait_for(1)
    await hub.drained()
    assert rec.to("owner-tab") == []
    (update,) = rec.to("op-tab")
    assert isinstance(update, UserUpdate) and update.thread is not None
    assert update.thread.status == "archived" and update.unread_total is None


async def test_typing_goes_only_to_tabs_showing_the_thread_and_expires(running, db, monkeypatch):
    from arbibase_chat.realtime import hub as hub_module

    monkeypatch.setattr(hub_module, "TYPING_SECONDS", 0.1)
    hub, rec = running
    thread_id, owner = uuid.uuid4(), uuid.uuid4()
    hub.register("watching", owner)
    hub.register("elsewhere", owner)
    hub.open("watching", thread_id)
    hub.typing(thread_id=thread_id, to_user=owner, name="Alice")
    hub.typing(thread_id=thread_id, to_user=owner, name="Alice")  # refreshes, no second notice
    await rec.wait_for(2)
    assert rec.to("elsewhere") == []
    assert rec.to("watching") == [
        TypingUpdate(thread_id, "Alice"),
        TypingUpdate(thread_id, ""),
    ]


async def test_a_visible_reader_gets_the_message_read_and_the_sender_seen_in_one_push(running, db):
    hub, rec = running
    pair = Pair(db)
    await hub.drained()
    hub.register("op-tab", pair.operator.id)
    hub.register("owner-tab", pair.owner.id)
    hub.register("owner-inbox", pair.owner.id)
    hub.open("owner-tab", pair.thread_id)
    hub.set_visible("owner-tab", True)
    sent = await aio.call(
        messages.send_message, user_id=pair.operator.id, thread_id=pair.thread_id, body="hi", db=db
    )
    await rec.wait_for(3)
    await hub.drained()
    # One push per tab: the read's own event came back and was folded in, not pushed again.
    (mine,) = rec.to("op-tab")
    assert isinstance(mine, UserUpdate) and mine.message is not None and mine.message.id == sent.id
    assert mine.seen_seq == sent.seq
    for tab in ("owner-tab", "owner-inbox"):
        (theirs,) = rec.to(tab)
        assert isinstance(theirs, UserUpdate) and theirs.message is not None
        assert theirs.read_to == sent.seq and theirs.unread_total in (None, 0)
        assert theirs.thread is not None and theirs.thread.unread_count == 0
    assert (await aio.call(reads.unread_total, user_id=pair.owner.id, db=db)) == 0
    # Hidden: the message stays unread and is pushed as such.
    hub.set_visible("owner-tab", False)
    await aio.call(
        messages.send_message, user_id=pair.operator.id, thread_id=pair.thread_id, body="2", db=db
    )
    await rec.wait_for(6)
    await hub.drained()
    later = rec.to("owner-tab")[-1]
    assert isinstance(later, UserUpdate) and later.read_to is None
    assert later.thread is not None and later.thread.unread_count == 1
    assert (await aio.call(reads.unread_total, user_id=pair.owner.id, db=db)) == 1


async def test_a_resync_reaches_every_session_a_few_at_a_time_and_retries_once(db):
    from arbibase_chat.realtime import hub as hub_module
    from arbibase_chat.realtime.updates import Resync

    hub = Hub(db=db)
    running_now, most = 0, 0
    got: list[tuple[str, object]] = []
    failed_once: set[str] = set()

    async def slow_push(token: str, updates) -> None:  # a tab's catch-up holding its lock
        nonlocal running_now, most
        running_now += 1
        most = max(most, running_now)
        try:
            await asyncio.sleep(0.01)
            if token == "tab-3" and token not in failed_once:
                failed_once.add(token)
                raise RuntimeError("lock expired")
            got.extend((token, update) for update in updates)
        finally:
            running_now -= 1

    unsubscribe = hub.start(slow_push)
    task = asyncio.create_task(hub.run())
    try:
        users = [uuid.uuid4() for _ in range(40)]
        for i, user in enumerate(users):
            hub.register(f"tab-{i}", user)
        hub.resync()
        await hub.drained()
    finally:
        unsubscribe()
        task.cancel()
    assert most == hub_module.RESYNC_CONCURRENCY
    assert sorted(t for t, _ in got) == sorted(f"tab-{i}" for i in range(40))
    assert all(isinstance(u, Resync) for _, u in got)


async def test_a_slow_tab_holds_up_no_one_and_gets_what_it_missed_in_order_in_one_update(db):
    """Each tab has its own lane: routing goes on while one tab's state is busy, and what
    queued up for that tab meanwhile arrives as one batch, in the order it was routed."""
    hub = Hub(db=db)
    slow_tab_free = asyncio.Event()
    batches: list[tuple[str, list]] = []
    arrived = asyncio.Event()

    async def push(token: str, updates) -> None:
        if token == "slow":
            await slow_tab_free.wait()  # its state is locked by something long
        batches.append((token, list(updates)))
        arrived.set()

    unsubscribe = hub.start(push)
    task = asyncio.create_task(hub.run())
    try:
        busy, other = Pair(db), Pair(db)
        await hub.drained()
        hub.register("slow", busy.owner.id)
        hub.register("fast", other.owner.id)
        for body in ("one", "two", "three"):
            await aio.call(
                messages.send_message,
                user_id=busy.operator.id,
                thread_id=busy.thread_id,
                body=body,
                db=db,
            )
        await aio.call(
            messages.send_message,
            user_id=other.operator.id,
            thread_id=other.thread_id,
            body="meanwhile",
            db=db,
        )
        async with asyncio.timeout(5):
            while not any(token == "fast" for token, _ in batches):
                arrived.clear()
                await arrived.wait()
        assert [token for token, _ in batches] == ["fast"]  # the slow tab is still busy
        slow_tab_free.set()
        await hub.drained()
    finally:
        unsubscribe()
        task.cancel()
    slow = [updates for token, updates in batches if token == "slow"]
    # The first update went in alone; the two routed while it was stuck came as one.
    bodies = [[u.message.body for u in updates if u.message] for updates in slow]
    assert bodies[:2] == [["one"], ["two", "three"]]
    # The badge ends on the stored count. (The first total, read while "two" and "three"
    # were stored but not yet routed, counted them already; their folds added them again,
    # and the total read again afterwards put it right.)
    totals = [u.unread_total for updates in slow for u in updates if u.unread_total is not None]
    assert totals[-1] == 3
