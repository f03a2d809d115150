"""What a page read after registering its tab spares the hub's first event (`Hub.learn`)."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest

from arbibase_chat import aio
from arbibase_chat.realtime import views
from arbibase_chat.realtime.hub import Hub
from arbibase_chat.realtime.updates import UserUpdate
from arbibase_chat.services import inbox, messages, reads
from tests.factories import Pair
from tests.realtime.conftest import Recorder


@pytest.fixture
def reads_made(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """The hub's own reads, by service name."""
    made: Counter[str] = Counter()
    real = aio.call_realtime

    async def counting(service: Any, /, **kwargs: Any) -> Any:
        made[service.__name__] += 1
        return await real(service, **kwargs)

    monkeypatch.setattr(aio, "call_realtime", counting)
    return made


async def test_the_first_message_after_a_page_read_needs_no_read_of_its_own(
    db, reads_made, monkeypatch
):
    from arbibase_chat.realtime import hub as hub_module

    # A message within TRANSIT_SECONDS of the page's read has its total read again (the next
    # test): this one comes after it.
    monkeypatch.setattr(hub_module, "TRANSIT_SECONDS", 0.0)
    hub, rec = Hub(db=db), Recorder()
    unsubscribe = hub.start(rec)
    task = asyncio.create_task(hub.run())
    try:
        pair = Pair(db)
        await hub.drained()
        hub.register("op-tab", pair.operator.id)
        hub.register("owner-tab", pair.owner.id)
        for user in (pair.operator.id, pair.owner.id):
            row = await aio.call(inbox.get_thread, user_id=user, thread_id=pair.thread_id, db=db)
            total = await aio.call(reads.unread_total, user_id=user, db=db)
            hub.learn(user, rows=[row], total=total, read_at=views.read_clock())
        sent = await aio.call(
            messages.send_message,
            user_id=pair.operator.id,
            thread_id=pair.thread_id,
            body="hi",
            db=db,
        )
        await rec.wait_for(2)
        await hub.drained()
        assert reads_made == Counter()  # without the pages' rows: 2 get_thread, 1 unread_total
        (theirs,) = rec.to("owner-tab")
        assert isinstance(theirs, UserUpdate) and theirs.message is not None
        assert theirs.message.id == sent.id and theirs.unread_total == 1
        fresh = await aio.call(
            inbox.get_thread, user_id=pair.owner.id, thread_id=pair.thread_id, db=db
        )
        assert theirs.thread == fresh
        (mine,) = rec.to("op-tab")
        assert isinstance(mine, UserUpdate) and mine.thread == await aio.call(
            inbox.get_thread, user_id=pair.operator.id, thread_id=pair.thread_id, db=db
        )
    finally:
        unsubscribe()
        task.cancel()


async def test_a_held_row_is_not_replaced_and_a_user_with_no_tab_here_is_not_kept(db):
    hub = Hub(db=db)
    pair = Pair(db)
    before = await aio.call(
        inbox.get_thread, user_id=pair.owner.id, thread_id=pair.thread_id, db=db
    )
    hub.learn(pair.owner.id, rows=[before], total=0, read_at=views.read_clock())
    assert hub._rows.row(pair.owner.id, pair.thread_id) is None  # no tab: nothing keeps it
    assert hub._rows.total(pair.owner.id) is None
    hub.register("owner-tab", pair.owner.id)
    await aio.call(
        messages.send_message, user_id=pair.operator.id, thread_id=pair.thread_id, body="1", db=db
    )
    after = await aio.call(inbox.get_thread, user_id=pair.owner.id, thread_id=pair.thread_id, db=db)
    hub.learn(pair.owner.id, rows=[after], total=1, read_at=views.read_clock())
    hub.learn(pair.owner.id, rows=[before], total=0, read_at=views.read_clock())  # a slower page
    assert hub._rows.row(pair.owner.id, pair.thread_id) == after
    assert hub._rows.total(pair.owner.id) == 1


async def test_a_total_read_after_an_event_still_queued_is_read_again(db, monkeypatch):
    """The page read the row before a message and the total after it, and the hub routes the
    message later: the fold counts the message twice, and the hub reads the total again."""
    from arbibase_chat.realtime import hub as hub_module

    monkeypatch.setattr(hub_module, "TOTAL_RECHECK_SECONDS", 0.05)
    pair = Pair(db)
    hub, rec = Hub(db=db), Recorder()
    unsubscribe = hub.start(rec)  # events queue up from here; nothing routes them yet
    hub.register("owner-tab", pair.owner.id)
    stale = await aio.call(inbox.get_thread, user_id=pair.owner.id, thread_id=pair.thread_id, db=db)
    await aio.call(
        messages.send_message, user_id=pair.operator.id, thread_id=pair.thread_id, body="1", db=db
    )
    total = await aio.call(reads.unread_total, user_id=pair.owner.id, db=db)
    assert total == 1
    hub.learn(pair.owner.id, rows=[stale], total=total, read_at=views.read_clock())
    task = asyncio.create_task(hub.run())
    try:
        await rec.wait_for(2)  # the message, counted twice; then the total read again
        await hub.drained()
        totals = [u.unread_total for u in rec.to("owner-tab") if isinstance(u, UserUpdate)]
        assert totals == [2, 1]
    finally:
        unsubscribe()
        task.cancel()
